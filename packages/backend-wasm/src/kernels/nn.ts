import type { KernelTensor, ReduceOp, Shape } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

const REDUCE_CODES: Partial<Record<ReduceOp, number>> = { sum: 0, mean: 1, max: 2, min: 3 };

function rowsOf(x: KernelTensor): [number, number] {
  const n = x.shape[x.shape.length - 1] ?? 1;
  return [n === 0 ? 0 : x.size / n, n];
}

export function softmax(ctx: WasmContext, x: KernelTensor, log: boolean): WasmStorage {
  if (x.dtype !== 'float32') return ctx.viaCpu((cpu) => (log ? cpu.logSoftmax : cpu.softmax)!(ctx.view(x)));
  const [rows, n] = rowsOf(x);
  const out = ctx.alloc(x.size);
  ctx.run('softmax', [ctx.ptr(x), out.ptr, rows, n, log ? 1 : 0], x.size);
  return out;
}

/** rmsNorm / the gated variant over groups of the last axis, into `out` (a pointer). */
export function rmsNormInto(
  ctx: WasmContext,
  x: KernelTensor,
  z: KernelTensor | null,
  weight: KernelTensor | null,
  eps: number,
  groupSize: number,
  normBeforeGate: boolean,
  out: number,
): void {
  const [rows, n] = rowsOf(x);
  const args = [ctx.ptr(x), z ? ctx.ptr(z) : 0, weight ? ctx.ptr(weight) : 0, out, rows, n, groupSize, eps, normBeforeGate ? 0 : 1];
  ctx.run('rmsNorm', args, x.size);
}

export function rmsNorm(
  ctx: WasmContext,
  x: KernelTensor,
  z: KernelTensor | null,
  weight: KernelTensor | null,
  eps: number,
  groupSize: number,
  normBeforeGate: boolean,
): WasmStorage {
  if (x.dtype !== 'float32' || x.size === 0) {
    const [vx, vz, vw] = ctx.views(x, ...(z ? [z] : []), ...(weight ? [weight] : []));
    const w = weight ? (z ? vw : vz) : null;
    return ctx.viaCpu((cpu) => (z ? cpu.gatedRmsNorm!(vx, vz, w, eps, groupSize, normBeforeGate) : cpu.rmsNorm!(vx, w, eps)));
  }
  const out = ctx.alloc(x.size);
  rmsNormInto(ctx, x, z, weight, eps, groupSize, normBeforeGate, out.ptr);
  return out;
}

/** Reductions over one run of adjacent axes, as [outer, mid, inner] → [outer, inner]; the rest on cpu. */
export function reduce(ctx: WasmContext, op: ReduceOp, x: KernelTensor, axes: readonly number[], outShape: Shape): WasmStorage {
  const code = REDUCE_CODES[op];
  const adjacent = axes.every((a, i) => i === 0 || a === axes[i - 1] + 1);
  let mid = 1;
  for (const a of axes) mid *= x.shape[a];
  if (x.dtype !== 'float32' || code === undefined || !adjacent || axes.length === 0 || x.size === 0) {
    return ctx.viaCpu((cpu) => cpu.reduce(op, ctx.view(x), axes, outShape));
  }
  let outer = 1;
  for (let d = 0; d < axes[0]; d++) outer *= x.shape[d];
  const inner = x.size === 0 ? 0 : x.size / (outer * mid);
  const out = ctx.alloc(outer * inner);
  if (outer * inner > 0) ctx.run('reduce', [code, ctx.ptr(x), out.ptr, outer, mid, inner], x.size);
  return out;
}
