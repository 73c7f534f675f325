import type { ArgReduceOp, KernelTensor, ReduceOp, Shape, TypedArray } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import { transpose } from './layout.js';
import { alloc, aroundAxis, arr } from './util.js';

/** Reduces `axes` (sorted): moves them last (one transpose when needed), then reduces rows. */
export function reduce(op: ReduceOp, x: KernelTensor, axes: readonly number[], outShape: Shape): TypedArray {
  const rank = x.shape.length;
  const trailing = axes.every((a, i) => a === rank - axes.length + i);
  let src = arr(x);
  if (!trailing) {
    const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    src = transpose(x, perm, perm.map((a) => x.shape[a]));
  }
  const rowLen = axes.reduce((n, a) => n * x.shape[a], 1);
  const rows = sizeOf(outShape);
  const out = alloc(x.dtype, outShape);
  for (let r = 0; r < rows; r++) {
    const base = r * rowLen;
    let acc: number;
    switch (op) {
      case 'sum':
      case 'mean':
        acc = 0;
        for (let i = 0; i < rowLen; i++) acc += src[base + i];
        if (op === 'mean') acc /= rowLen;
        break;
      case 'prod':
        acc = 1;
        for (let i = 0; i < rowLen; i++) acc *= src[base + i];
        break;
      case 'max':
        acc = -Infinity;
        for (let i = 0; i < rowLen; i++) {
          const v = src[base + i];
          if (v > acc || Number.isNaN(v)) acc = v;
          if (Number.isNaN(acc)) break;
        }
        break;
      case 'min':
        acc = Infinity;
        for (let i = 0; i < rowLen; i++) {
          const v = src[base + i];
          if (v < acc || Number.isNaN(v)) acc = v;
          if (Number.isNaN(acc)) break;
        }
        break;
    }
    out[r] = acc;
  }
  return out;
}

export function argReduce(op: ArgReduceOp, x: KernelTensor, axis: number, outShape: Shape): TypedArray {
  const [outer, dim, inner] = aroundAxis(x.shape, axis);
  const src = arr(x);
  const out = alloc('int32', outShape);
  const better = op === 'argmax' ? (v: number, best: number) => v > best : (v: number, best: number) => v < best;
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      let best = src[base];
      let at = 0;
      for (let d = 1; d < dim; d++) {
        const v = src[base + d * inner];
        if (better(v, best)) {
          best = v;
          at = d;
        }
      }
      out[o * inner + i] = at;
    }
  }
  return out;
}

export function cumsum(x: KernelTensor, axis: number, exclusive: boolean, reverse: boolean): TypedArray {
  const [outer, dim, inner] = aroundAxis(x.shape, axis);
  const src = arr(x);
  const out = alloc(x.dtype, x.shape);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * dim * inner + i;
      let acc = 0;
      for (let s = 0; s < dim; s++) {
        const d = reverse ? dim - 1 - s : s;
        const at = base + d * inner;
        if (exclusive) {
          out[at] = acc;
          acc += src[at];
        } else {
          acc += src[at];
          out[at] = acc;
        }
      }
    }
  }
  return out;
}
