import type { KernelTensor } from '@mamba3/tensor';
import type { GPUStorage } from '../runtime.js';

/** The GPU buffer behind a kernel tensor (storage this backend made). */
export function buf(x: KernelTensor): GPUBuffer {
  return (x.storage as GPUStorage).buffer;
}

/** Workgroups needed for `n` invocations of `wg` each. */
export function groupsFor(n: number, wg: number): number {
  return Math.ceil(n / wg);
}
