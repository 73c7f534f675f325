import type { KernelTensor } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** The Mamba-1 selective scan's inputs (the contract: @mamba3/core's mamba1/scan.ts); h0 or h is the state before. */
export interface Mamba1ScanKernelInputs {
  u: KernelTensor;
  delta: KernelTensor;
  A: KernelTensor;
  B: KernelTensor;
  C: KernelTensor;
  D: KernelTensor;
  z: KernelTensor;
  deltaBias: KernelTensor;
  h0?: KernelTensor;
}

/**
 * The selective scan over L positions (u [b, L, E]) or one step (u [b, E], `L` 1), as the exact
 * sequential recurrence (assembly/mamba1.ts): y shaped like u and the state after [b, E, N].
 */
export function mamba1Scan(ctx: WasmContext, i: Mamba1ScanKernelInputs): { y: WasmStorage; state: WasmStorage } {
  const step = i.u.shape.length === 2;
  const b = i.u.shape[0];
  const L = step ? 1 : i.u.shape[1];
  const E = i.u.shape[i.u.shape.length - 1];
  const N = i.A.shape[1];
  const y = ctx.alloc(b * L * E);
  const state = ctx.alloc(b * E * N);
  const args = [i.u, i.delta, i.A, i.B, i.C, i.D, i.z, i.deltaBias].map((t) => ctx.ptr(t));
  ctx.run('mamba1Scan', [...args, i.h0 ? ctx.ptr(i.h0) : 0, y.ptr, state.ptr, b, L, E, N], (b * L * E * N) / 4);
  return { y, state };
}
