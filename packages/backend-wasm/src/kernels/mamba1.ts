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

/** The Mamba-1 decode step's conv inputs (the contract: @mamba3/core's mamba1/step.ts). */
export interface Mamba1ConvStepKernelInputs {
  xz: KernelTensor;
  conv: KernelTensor;
  convWeight: KernelTensor;
  convBias?: KernelTensor;
}

/** The step's dt_proj + scan + gate inputs (the contract: @mamba3/core's mamba1/step.ts). */
export interface Mamba1StepScanKernelInputs {
  xz: KernelTensor;
  x: KernelTensor;
  dbc: KernelTensor;
  dtWeight: KernelTensor;
  dtBias: KernelTensor;
  ALog: KernelTensor;
  D: KernelTensor;
  h: KernelTensor;
}

/** The conv step and SiLU (assembly/mamba1step.ts): x [b, E] and the rolled conv state [b, E, K]. */
export function mamba1ConvStep(ctx: WasmContext, i: Mamba1ConvStepKernelInputs): { x: WasmStorage; conv: WasmStorage } {
  const [b, E, K] = i.conv.shape;
  const x = ctx.alloc(b * E);
  const conv = ctx.alloc(b * E * K);
  // Weights are read as stored (16-bit ones decoded in the kernel); activations as f32.
  const w = ctx.raw(i.convWeight);
  const bias = i.convBias ? ctx.raw(i.convBias) : null;
  ctx.run('mamba1ConvStep', [ctx.ptr(i.xz), ctx.ptr(i.conv), w.ptr, bias ? bias.ptr : 0, x.ptr, conv.ptr, b, E, K, w.half, bias ? bias.half : 0], b * E * K);
  return { x, conv };
}

/**
 * dt_proj, softplus, the scan step, D and the z gate in one kernel (assembly/mamba1step.ts):
 * y [b, E] and the next state [b, E, N]. Each state element costs two exps (A = −exp(A_log) is
 * recomputed, not cached, so the kernel never holds stale weights): about as much work as eight
 * elements of an elementwise op, which is how it counts against the parallel threshold.
 */
export function mamba1StepScan(ctx: WasmContext, i: Mamba1StepScanKernelInputs): { y: WasmStorage; state: WasmStorage } {
  const [b, E, N] = i.h.shape;
  const R = i.dtWeight.shape[1];
  const y = ctx.alloc(b * E);
  const state = ctx.alloc(b * E * N);
  const acts = [i.xz, i.x, i.dbc].map((t) => ctx.ptr(t));
  const h = ctx.ptr(i.h);
  const [dtW, dtBias, ALog, D] = [i.dtWeight, i.dtBias, i.ALog, i.D].map((t) => ctx.raw(t));
  ctx.run('mamba1StepScan', [...acts, dtW.ptr, dtBias.ptr, ALog.ptr, D.ptr, h, y.ptr, state.ptr, b, E, N, R, dtW.half, dtBias.half, ALog.half, D.half], 8 * b * E * N);
  return { y, state };
}
