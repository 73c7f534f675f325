import type { KernelTensor } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** The Mamba-3 chunked scan's inputs (the contract: @mamba3/core's ops/mamba3/types.ts). */
export interface ScanKernelInputs {
  C: KernelTensor;
  B: KernelTensor;
  x: KernelTensor;
  adt: KernelTensor;
  dt: KernelTensor;
  trap: KernelTensor;
  initialSsm?: KernelTensor;
  initialK?: KernelTensor;
  initialV?: KernelTensor;
}

/** The Mamba-3 recurrent step's inputs (same contract). */
export interface StepKernelInputs {
  C: KernelTensor;
  B: KernelTensor;
  x: KernelTensor;
  adt: KernelTensor;
  dt: KernelTensor;
  trap: KernelTensor;
  ssm: KernelTensor;
  prevK: KernelTensor;
  prevV: KernelTensor;
}

/** Threads split (batch, head) pairs; below this much state work one thread runs it all. */
function scanWork(b: number, L: number, R: number, H: number, P: number, N: number): number {
  return b * L * R * H * P * N;
}

/** The Mamba-3 chunked scan, as the exact sequential recurrence (assembly/mamba3.ts). */
export function mamba3ChunkScan(ctx: WasmContext, i: ScanKernelInputs): { y: WasmStorage; finalSsm: WasmStorage } {
  const [b, L, R, H, N] = i.C.shape;
  const P = i.x.shape[4];
  const y = ctx.alloc(b * L * R * H * P);
  const finalSsm = ctx.alloc(b * H * P * N);
  const opt = (t: KernelTensor | undefined): number => (t ? ctx.ptr(t) : 0);
  ctx.run(
    'mamba3Scan',
    [ctx.ptr(i.C), ctx.ptr(i.B), ctx.ptr(i.x), ctx.ptr(i.adt), ctx.ptr(i.dt), ctx.ptr(i.trap), opt(i.initialSsm), opt(i.initialK), opt(i.initialV), y.ptr, finalSsm.ptr, b, L, R, H, P, N],
    scanWork(b, L, R, H, P, N) / 4,
  );
  return { y, finalSsm };
}

/** One recurrent step: the same kernel over a sequence of one. */
export function mamba3StepScan(ctx: WasmContext, i: StepKernelInputs): { y: WasmStorage; ssm: WasmStorage } {
  const [b, R, H, N] = i.C.shape;
  const P = i.x.shape[3];
  const y = ctx.alloc(b * R * H * P);
  const ssm = ctx.alloc(b * H * P * N);
  ctx.run(
    'mamba3Scan',
    [ctx.ptr(i.C), ctx.ptr(i.B), ctx.ptr(i.x), ctx.ptr(i.adt), ctx.ptr(i.dt), ctx.ptr(i.trap), ctx.ptr(i.ssm), ctx.ptr(i.prevK), ctx.ptr(i.prevV), y.ptr, ssm.ptr, b, 1, R, H, P, N],
    scanWork(b, 1, R, H, P, N) / 4,
  );
  return { y, ssm };
}
