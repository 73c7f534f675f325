import type { KernelTensor, Shape } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/*
 * Layout ops as row copies inside the WebAssembly memory (memory.copy per contiguous run, in
 * assembly/elementwise.ts copyRows): slices and concats of activations move long runs.
 */

/** x[begin : begin + size] per dim. */
export function slice(ctx: WasmContext, x: KernelTensor, begin: readonly number[], size: readonly number[]): WasmStorage {
  const r = x.shape.length;
  let total = 1;
  for (const d of size) total *= d;
  const out = ctx.alloc(total, x.dtype);
  if (total === 0) return out;
  // The run: trailing dims taken whole, times the first partial dim from the end (d).
  let d = r - 1;
  let run = 1;
  while (d >= 0 && size[d] === x.shape[d]) run *= size[d--];
  if (d < 0) {
    ctx.run('copyRows', [ctx.ptr(x), 0, out.ptr, 0, 1, total], total);
    return out;
  }
  run *= size[d];
  const stride = new Array<number>(r);
  let acc = 1;
  for (let k = r - 1; k >= 0; k--) {
    stride[k] = acc;
    acc *= x.shape[k];
  }
  // Rows: dim d−1 (one kernel call per index of the dims before it, usually one or a batch).
  const rowDim = d - 1;
  const rows = rowDim >= 0 ? size[rowDim] : 1;
  const ss = rowDim >= 0 ? stride[rowDim] : 0;
  let base = begin[d] * stride[d];
  for (let k = d + 1; k < r; k++) base += begin[k] * stride[k];
  if (rowDim >= 0) base += begin[rowDim] * stride[rowDim];
  const outerDims = Math.max(rowDim, 0);
  let outer = 1;
  for (let k = 0; k < outerDims; k++) outer *= size[k];
  const idx = new Array<number>(outerDims).fill(0);
  const src = ctx.ptr(x);
  for (let i = 0; i < outer; i++) {
    let off = base;
    for (let k = 0; k < outerDims; k++) off += (begin[k] + idx[k]) * stride[k];
    ctx.run('copyRows', [src + 4 * off, ss, out.ptr + 4 * i * rows * run, run, rows, run], rows * run);
    for (let k = outerDims - 1; k >= 0; k--) {
      if (++idx[k] < size[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function concat(ctx: WasmContext, xs: readonly KernelTensor[], axis: number, outShape: Shape): WasmStorage {
  let total = 1;
  for (const d of outShape) total *= d;
  const out = ctx.alloc(total, xs[0].dtype);
  if (total === 0) return out;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= outShape[d];
  const rowOut = total / outer;
  let offset = 0;
  for (const x of xs) {
    if (x.size === 0) continue;
    const row = x.size / outer;
    ctx.run('copyRows', [ctx.ptr(x), row, out.ptr + 4 * offset, rowOut, outer, row], x.size);
    offset += row;
  }
  return out;
}

/**
 * x.shape[:axis] + indices.shape + x.shape[axis+1:] as row copies (assembly/half.ts gatherRows):
 * an embedding lookup reads only its rows, 16-bit tables decoded row by row (never unpacked whole).
 */
export function gather(ctx: WasmContext, x: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): WasmStorage {
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= x.shape[d];
  let row = 1;
  for (let d = axis + 1; d < x.shape.length; d++) row *= x.shape[d];
  const total = outer * indices.size * row;
  const out = ctx.alloc(total, x.dtype);
  if (total === 0) return out;
  const s = ctx.raw(x);
  ctx.run('gatherRows', [s.ptr, ctx.ptr(indices), out.ptr, outer, indices.size, x.shape[axis], row, s.half], total);
  return out;
}
