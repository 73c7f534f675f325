import type { KernelTensor } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import type { Shape } from '@mamba3/tensor';
import { GPUStorage } from '../runtime.js';

/** The GPU buffer behind a kernel tensor (storage this backend made). */
export function buf(x: KernelTensor): GPUBuffer {
  return (x.storage as GPUStorage).buffer;
}

export function isGPUStorage(v: unknown): v is GPUStorage {
  return v instanceof GPUStorage;
}

export function bytesOf(shape: Shape): number {
  return sizeOf(shape) * 4;
}

/** Workgroups needed for `n` invocations of `wg` each. */
export function groupsFor(n: number, wg: number): number {
  return Math.ceil(n / wg);
}
