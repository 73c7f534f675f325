/**
 * @mamba3/core/testing: the golden harness (`describeGolden`: every fixture of this package on a
 * backend), the Mamba-3 conformance groups for `describeConformance`, and the float64 reference
 * recurrence the scans are checked against. Needs vitest and Node (reads fixtures/).
 */
export { describeGolden, goldenFixtures, goldenFixtureBytes, GOLDEN_TOLERANCE } from './golden.js';
export type { GoldenOptions } from './golden.js';
export { mamba3ConformanceGroups } from './conformance.js';
export { referenceMamba3Recurrence } from './mamba3-reference.js';
export type { ScanArrays } from './mamba3-reference.js';
