// The kernel module: every export takes (tid, nt, ...) so one call shape serves the thread pool.
export { packA, packB, gemmPacked, gemvRowMajor, gemvTransB, gemvTransBHalf } from './matmul';
export { unpackHalf, gatherRows } from './half';
export { unary, binary, trig, copyRows } from './elementwise';
export { rmsNorm, softmax, reduce } from './nn';

/** First free byte after the module's own static data: the TypeScript allocator starts here. */
export function heapBase(): usize {
  return __heap_base;
}
export { mamba3Scan } from './mamba3';
export { mamba3Mixer } from './mixer';
export { mamba1Scan } from './mamba1';
export { mamba1ConvStep, mamba1StepScan } from './mamba1step';
