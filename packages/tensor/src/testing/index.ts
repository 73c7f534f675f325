/** @mamba3/tensor/testing: the backend conformance suite and the naive reference backend. */
export { describeConformance, DEFAULT_TOLERANCE } from './conformance.js';
export type { ConformanceOptions, Tolerance, InputSpec } from './conformance.js';
export { createReferenceBackend, REFERENCE_UNARY, REFERENCE_BINARY } from './reference.js';
export { referenceMamba3Recurrence } from './mamba3-reference.js';
export type { ScanArrays } from './mamba3-reference.js';
