import type { KernelTensor } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';
import { unaryInto } from './elementwise.js';

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
 * y [b, E] and the next state [b, E, N]. A = −exp(A_log) is computed once per A_log tensor (as
 * the composite computes it: the exp kernel, then neg) and kept with it (`WasmContext.derived`),
 * so a step costs one exp per state element, not two. That exp is about as much work as four
 * elements of an elementwise op, which is how the step counts against the parallel threshold.
 */
export function mamba1StepScan(ctx: WasmContext, i: Mamba1StepScanKernelInputs): { y: WasmStorage; state: WasmStorage } {
  const [b, E, N] = i.h.shape;
  const R = i.dtWeight.shape[1];
  const A = ctx.derived(i.ALog, 'mamba1.A', () => {
    const a = ctx.heap.alloc(E * N * 4, false);
    unaryInto(ctx, 'exp', ctx.ptr(i.ALog), a.ptr, E * N);
    unaryInto(ctx, 'neg', a.ptr, a.ptr, E * N);
    return a;
  });
  const y = ctx.alloc(b * E);
  const state = ctx.alloc(b * E * N);
  const acts = [i.xz, i.x, i.dbc, i.h].map((t) => ctx.ptr(t));
  // Small weights are read as stored (16-bit ones decoded in the kernel).
  const [dtW, dtBias, D] = [i.dtWeight, i.dtBias, i.D].map((t) => ctx.raw(t));
  const [xz, x, dbc, h] = acts;
  ctx.run('mamba1StepScan', [xz, x, dbc, dtW.ptr, dtBias.ptr, A.ptr, D.ptr, h, y.ptr, state.ptr, b, E, N, R, dtW.half, dtBias.half, D.half], 4 * b * E * N);
  return { y, state };
}
