import type { KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { stridesOf } from '@mamba3/tensor';
import { alloc, aroundAxis, arr } from './util.js';

export function transpose(x: KernelTensor, perm: readonly number[], outShape: Shape): TypedArray {
  const src = arr(x);
  const out = alloc(x.dtype, outShape);
  const inStrides = stridesOf(x.shape);
  const strides = perm.map((a) => inStrides[a]);
  const rank = outShape.length;
  const total = out.length;
  if (total === 0) return out;
  const n = outShape[rank - 1];
  const s = strides[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  let off = 0;
  for (let o = 0; o < total; o += n) {
    for (let i = 0; i < n; i++) out[o + i] = src[off + i * s];
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < outShape[d]) break;
      off -= strides[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function slice(x: KernelTensor, begin: readonly number[], size: readonly number[]): TypedArray {
  const src = arr(x);
  const out = alloc(x.dtype, size);
  const total = out.length;
  if (total === 0) return out;
  const rank = size.length;
  const strides = stridesOf(x.shape);
  let off = 0;
  for (let d = 0; d < rank; d++) off += begin[d] * strides[d];
  const n = size[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < total; o += n) {
    out.set(src.subarray(off, off + n), o);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < size[d]) break;
      off -= strides[d] * size[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function concat(xs: readonly KernelTensor[], axis: number, outShape: Shape): TypedArray {
  const out = alloc(xs[0].dtype, outShape);
  const [outer, total, inner] = aroundAxis(outShape, axis);
  let offset = 0;
  for (const x of xs) {
    const src = arr(x);
    const run = x.shape[axis] * inner;
    for (let o = 0; o < outer; o++) out.set(src.subarray(o * run, (o + 1) * run), o * total * inner + offset * inner);
    offset += x.shape[axis];
  }
  return out;
}

export function pad(x: KernelTensor, paddings: readonly (readonly [number, number])[], value: number, outShape: Shape): TypedArray {
  const out = alloc(x.dtype, outShape);
  if (value !== 0) out.fill(value);
  if (x.size === 0) return out;
  const src = arr(x);
  const rank = x.shape.length;
  if (rank === 0) {
    out[0] = src[0];
    return out;
  }
  const outStrides = stridesOf(outShape);
  let off = 0;
  for (let d = 0; d < rank; d++) off += paddings[d][0] * outStrides[d];
  const n = x.shape[rank - 1];
  const idx = new Array<number>(rank).fill(0);
  for (let i = 0; i < src.length; i += n) {
    out.set(src.subarray(i, i + n), off);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      off += outStrides[d];
      if (idx[d] < x.shape[d]) break;
      off -= outStrides[d] * x.shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function gather(x: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): TypedArray {
  const src = arr(x);
  const ids = arr(indices);
  const out = alloc(x.dtype, outShape);
  const [outer, dim, inner] = aroundAxis(x.shape, axis);
  const n = ids.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const from = o * dim * inner + ids[j] * inner;
      out.set(src.subarray(from, from + inner), (o * n + j) * inner);
    }
  }
  return out;
}

export function scatterAdd(updates: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): TypedArray {
  const src = arr(updates);
  const ids = arr(indices);
  const out = alloc(updates.dtype, outShape);
  const [outer, dim, inner] = aroundAxis(outShape, axis);
  const n = ids.length;
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < n; j++) {
      const to = o * dim * inner + ids[j] * inner;
      const from = (o * n + j) * inner;
      for (let i = 0; i < inner; i++) out[to + i] += src[from + i];
    }
  }
  return out;
}

