import type { KernelTensor, Shape } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/*
 * Layout ops as copies of contiguous runs inside the WebAssembly memory (TypedArray.set is a
 * memmove): a slice or concat of the model's activations moves long runs, where an element loop
 * would cost more than the math around it.
 */

/** x[begin : begin + size] per dim. */
export function slice(ctx: WasmContext, x: KernelTensor, begin: readonly number[], size: readonly number[]): WasmStorage {
  const r = x.shape.length;
  let total = 1;
  for (const d of size) total *= d;
  const out = ctx.alloc(total, x.dtype);
  if (total === 0) return out;
  // The run: trailing dims taken whole, times the first partial dim from the end.
  let d = r - 1;
  let run = 1;
  while (d >= 0 && size[d] === x.shape[d]) run *= size[d--];
  if (d >= 0) run *= size[d];
  const src = ctx.heap.view(x.storage as WasmStorage, x.dtype, x.size);
  const dst = ctx.heap.view(out, x.dtype, total);
  const stride = new Array<number>(r);
  let acc = 1;
  for (let k = r - 1; k >= 0; k--) {
    stride[k] = acc;
    acc *= x.shape[k];
  }
  const runs = total / run;
  const idx = new Array<number>(Math.max(d, 0)).fill(0);
  for (let i = 0; i < runs; i++) {
    let off = d >= 0 ? begin[d] * stride[d] : 0;
    for (let k = 0; k < d; k++) off += (begin[k] + idx[k]) * stride[k];
    for (let k = d + 1; k < r; k++) off += begin[k] * stride[k];
    dst.set(src.subarray(off, off + run), i * run);
    for (let k = d - 1; k >= 0; k--) {
      if (++idx[k] < size[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

export function concat(ctx: WasmContext, xs: readonly KernelTensor[], axis: number, outShape: Shape): WasmStorage {
  let total = 1;
  for (const d of outShape) total *= d;
  const dtype = xs[0].dtype;
  const out = ctx.alloc(total, dtype);
  if (total === 0) return out;
  let outer = 1;
  for (let d = 0; d < axis; d++) outer *= outShape[d];
  const rowOut = total / outer;
  const dst = ctx.heap.view(out, dtype, total);
  let offset = 0;
  for (const x of xs) {
    if (x.size === 0) continue;
    const row = x.size / outer;
    const src = ctx.heap.view(x.storage as WasmStorage, dtype, x.size);
    for (let o = 0; o < outer; o++) dst.set(src.subarray(o * row, (o + 1) * row), o * rowOut + offset);
    offset += row;
  }
  return out;
}
