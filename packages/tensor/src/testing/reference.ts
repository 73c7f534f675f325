/**
 * A deliberately naive backend: every op element by element through multi-indices, written
 * apart from the CPU backend's kernels so each checks the other. Slow; for tests only.
 */
import type { ArgReduceOp, Backend, BinaryOp, KernelTensor, ReduceOp, UnaryOp } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { allocArray } from '../dtype.js';
import type { Shape } from '../shape.js';
import { sizeOf, stridesOf } from '../shape.js';

const data = (x: KernelTensor): TypedArray => x.storage as TypedArray;

function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: Shape): number {
  let off = 0;
  for (let d = 0; d < shape.length; d++) off = off * shape[d] + idx[d];
  return off;
}

/** The element of `x` that a broadcast to `outShape` puts at `outIdx`. */
function broadcastRead(x: KernelTensor, outIdx: readonly number[]): number {
  const lead = outIdx.length - x.shape.length;
  const idx = x.shape.map((d, i) => (d === 1 ? 0 : outIdx[lead + i]));
  return data(x)[ravel(idx, x.shape)];
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

export const REFERENCE_UNARY: Record<UnaryOp, (v: number) => number> = {
  neg: (v) => -v,
  abs: (v) => Math.abs(v),
  sign: (v) => Math.sign(v),
  exp: (v) => Math.exp(v),
  expm1: (v) => Math.expm1(v),
  log: (v) => Math.log(v),
  log1p: (v) => Math.log1p(v),
  sqrt: (v) => Math.sqrt(v),
  rsqrt: (v) => 1 / Math.sqrt(v),
  square: (v) => v * v,
  reciprocal: (v) => 1 / v,
  sigmoid,
  softplus: (v) => (v > 30 ? v : Math.log(1 + Math.exp(v))),
  silu: (v) => v * sigmoid(v),
  tanh: (v) => Math.tanh(v),
  relu: (v) => Math.max(v, 0),
  sin: (v) => Math.sin(v),
  cos: (v) => Math.cos(v),
  floor: (v) => Math.floor(v),
  ceil: (v) => Math.ceil(v),
  round: (v) => Math.round(v),
};

export const REFERENCE_BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: (a, b) => a ** b,
  maximum: (a, b) => Math.max(a, b),
  minimum: (a, b) => Math.min(a, b),
  equal: (a, b) => Number(a === b),
  notEqual: (a, b) => Number(a !== b),
  less: (a, b) => Number(a < b),
  lessEqual: (a, b) => Number(a <= b),
  greater: (a, b) => Number(a > b),
  greaterEqual: (a, b) => Number(a >= b),
};

function build(dtype: DType, shape: Shape, at: (idx: number[]) => number): TypedArray {
  const out = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const v = at(unravel(i, shape));
    out[i] = dtype === 'int32' ? Math.trunc(v) : v;
  }
  return out;
}

export function createReferenceBackend(name = 'reference'): Backend {
  return {
    name,
    info: { name, dtypes: ['float32', 'int32', 'float64'], syncRead: true, device: 'naive reference' },
    upload: (values, _shape, dtype) => {
      const out = allocArray(dtype, values.length);
      out.set(values);
      return out;
    },
    fill: (shape, dtype, value) => allocArray(dtype, sizeOf(shape)).fill(value),
    read: async (x) => data(x).slice(),
    readSync: (x) => data(x).slice(),
    release: () => {},
    unary: (op, x) => build(x.dtype, x.shape, (idx) => REFERENCE_UNARY[op](data(x)[ravel(idx, x.shape)])),
    binary: (op, a, b, outShape) =>
      build(a.dtype, outShape, (idx) => {
        const va = broadcastRead(a, idx);
        const vb = broadcastRead(b, idx);
        if (op === 'div' && a.dtype === 'int32') return vb === 0 ? 0 : Math.trunc(va / vb);
        return REFERENCE_BINARY[op](va, vb);
      }),
    where: (c, a, b, outShape) => build(a.dtype, outShape, (idx) => (broadcastRead(c, idx) !== 0 ? broadcastRead(a, idx) : broadcastRead(b, idx))),
    cast: (x, dtype) => build(dtype, x.shape, (idx) => data(x)[ravel(idx, x.shape)]),
    matmul: (a, b, ta, tb, outShape) => {
      const r = outShape.length;
      const K = ta ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
      return build(a.dtype, outShape, (idx) => {
        const batch = idx.slice(0, r - 2);
        const [i, j] = [idx[r - 2], idx[r - 1]];
        let s = 0;
        for (let k = 0; k < K; k++) {
          const ai = [...batch.slice(batch.length - (a.shape.length - 2)), ...(ta ? [k, i] : [i, k])];
          const bi = [...batch.slice(batch.length - (b.shape.length - 2)), ...(tb ? [j, k] : [k, j])];
          const av = data(a)[ravel(ai.map((v, d) => (a.shape[d] === 1 ? 0 : v)), a.shape)];
          const bv = data(b)[ravel(bi.map((v, d) => (b.shape[d] === 1 ? 0 : v)), b.shape)];
          s += av * bv;
        }
        return s;
      });
    },
    reduce: (op: ReduceOp, x, axes, outShape) => {
      const values = new Map<number, number[]>();
      for (let i = 0; i < x.size; i++) {
        const idx = unravel(i, x.shape);
        const key = ravel(idx.filter((_, d) => !axes.includes(d)), outShape);
        (values.get(key) ?? values.set(key, []).get(key)!).push(data(x)[i]);
      }
      return build(x.dtype, outShape, (idx) => {
        const vs = values.get(ravel(idx, outShape)) ?? [];
        switch (op) {
          case 'sum':
            return vs.reduce((p, c) => p + c, 0);
          case 'mean':
            return vs.reduce((p, c) => p + c, 0) / vs.length;
          case 'prod':
            return vs.reduce((p, c) => p * c, 1);
          case 'max':
            return Math.max(...vs);
          case 'min':
            return Math.min(...vs);
        }
      });
    },
    argReduce: (op: ArgReduceOp, x, axis, outShape) =>
      build('int32', outShape, (idx) => {
        let best = 0;
        let bestV = Number.NaN;
        for (let k = 0; k < x.shape[axis]; k++) {
          const full = [...idx.slice(0, axis), k, ...idx.slice(axis)];
          const v = data(x)[ravel(full, x.shape)];
          if (k === 0 || (op === 'argmax' ? v > bestV : v < bestV)) {
            best = k;
            bestV = v;
          }
        }
        return best;
      }),
    cumsum: (x, axis, exclusive, reverse) =>
      build(x.dtype, x.shape, (idx) => {
        let s = 0;
        for (let k = 0; k < x.shape[axis]; k++) {
          const include = reverse ? (exclusive ? k > idx[axis] : k >= idx[axis]) : exclusive ? k < idx[axis] : k <= idx[axis];
          if (include) s += data(x)[ravel(idx.map((v, d) => (d === axis ? k : v)), x.shape)];
        }
        return s;
      }),
    transpose: (x, perm, outShape) =>
      build(x.dtype, outShape, (idx) => {
        const src = new Array<number>(perm.length);
        perm.forEach((a, i) => (src[a] = idx[i]));
        return data(x)[ravel(src, x.shape)];
      }),
    slice: (x, begin, size) => build(x.dtype, size, (idx) => data(x)[ravel(idx.map((v, d) => v + begin[d]), x.shape)]),
    concat: (xs, axis, outShape) =>
      build(xs[0].dtype, outShape, (idx) => {
        let k = idx[axis];
        for (const x of xs) {
          if (k < x.shape[axis]) return data(x)[ravel(idx.map((v, d) => (d === axis ? k : v)), x.shape)];
          k -= x.shape[axis];
        }
        throw new Error('concat: index out of range');
      }),
    pad: (x, paddings, value, outShape) =>
      build(x.dtype, outShape, (idx) => {
        const src = idx.map((v, d) => v - paddings[d][0]);
        return src.every((v, d) => v >= 0 && v < x.shape[d]) ? data(x)[ravel(src, x.shape)] : value;
      }),
    gather: (x, indices, axis, outShape) =>
      build(x.dtype, outShape, (idx) => {
        const ir = indices.shape.length;
        const which = data(indices)[ravel(idx.slice(axis, axis + ir), indices.shape)];
        return data(x)[ravel([...idx.slice(0, axis), which, ...idx.slice(axis + ir)], x.shape)];
      }),
    scatterAdd: (updates, indices, axis, outShape) => {
      const out = allocArray(updates.dtype, sizeOf(outShape));
      const ir = indices.shape.length;
      for (let i = 0; i < updates.size; i++) {
        const idx = unravel(i, updates.shape);
        const which = data(indices)[ravel(idx.slice(axis, axis + ir), indices.shape)];
        out[ravel([...idx.slice(0, axis), which, ...idx.slice(axis + ir)], outShape)] += data(updates)[i];
      }
      return out;
    },
  };
}

