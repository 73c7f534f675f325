/** @mamba3/tensor/testing: the backend conformance suite and the naive reference backend. */
export { describeConformance, describeMismatch, DEFAULT_TOLERANCE, FLOAT32_GRAD_TOLERANCE } from './conformance.js';
export type { ConformanceOptions, ConformanceKit, Tolerance, InputSpec } from './conformance.js';
export { createReferenceBackend, REFERENCE_UNARY, REFERENCE_BINARY } from './reference.js';
export { OBJECT_MEMBER_VALUES } from './hostile.js';
