import type { BinaryOp, DType, KernelTensor, Shape, TypedArray, UnaryOp } from '@mamba3/tensor';
import { shapesEqual } from '@mamba3/tensor';
import { alloc, arr, forEachRun } from './util.js';

const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sign: Math.sign,
  exp: Math.exp,
  expm1: Math.expm1,
  log: Math.log,
  log1p: Math.log1p,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  sigmoid: (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|)
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
  silu: (x) => (x >= 0 ? x / (1 + Math.exp(-x)) : (x * Math.exp(x)) / (1 + Math.exp(x))),
  tanh: Math.tanh,
  relu: (x) => (x > 0 ? x : 0),
  sin: Math.sin,
  cos: Math.cos,
  floor: Math.floor,
  ceil: Math.ceil,
  round: Math.round,
};

export function unary(op: UnaryOp, x: KernelTensor): TypedArray {
  const src = arr(x);
  const out = alloc(x.dtype, x.shape);
  const f = UNARY[op];
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return out;
}

const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  maximum: (a, b) => (a >= b || Number.isNaN(a) ? a : b),
  minimum: (a, b) => (a <= b || Number.isNaN(a) ? a : b),
  equal: (a, b) => (a === b ? 1 : 0),
  notEqual: (a, b) => (a !== b ? 1 : 0),
  less: (a, b) => (a < b ? 1 : 0),
  lessEqual: (a, b) => (a <= b ? 1 : 0),
  greater: (a, b) => (a > b ? 1 : 0),
  greaterEqual: (a, b) => (a >= b ? 1 : 0),
};

/** Integer division truncates toward zero, like C. */
const intDiv = (a: number, b: number): number => (b === 0 ? 0 : Math.trunc(a / b));

export function binary(op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): TypedArray {
  const out = alloc(a.dtype, outShape);
  const f = a.dtype === 'int32' && op === 'div' ? intDiv : BINARY[op];
  const av = arr(a);
  const bv = arr(b);
  if (shapesEqual(a.shape, b.shape)) {
    // The common cases get loops the JIT can specialise.
    if (op === 'add') for (let i = 0; i < out.length; i++) out[i] = av[i] + bv[i];
    else if (op === 'mul') for (let i = 0; i < out.length; i++) out[i] = av[i] * bv[i];
    else if (op === 'sub') for (let i = 0; i < out.length; i++) out[i] = av[i] - bv[i];
    else for (let i = 0; i < out.length; i++) out[i] = f(av[i], bv[i]);
    return out;
  }
  if (b.size === 1 && shapesEqual(a.shape, outShape)) {
    const s = bv[0];
    if (op === 'add') for (let i = 0; i < out.length; i++) out[i] = av[i] + s;
    else if (op === 'mul') for (let i = 0; i < out.length; i++) out[i] = av[i] * s;
    else for (let i = 0; i < out.length; i++) out[i] = f(av[i], s);
    return out;
  }
  forEachRun(outShape, [a.shape, b.shape], (o, [ao, bo], n, [as, bs]) => {
    for (let i = 0; i < n; i++) out[o + i] = f(av[ao + i * as], bv[bo + i * bs]);
  });
  return out;
}

export function where(cond: KernelTensor, a: KernelTensor, b: KernelTensor, outShape: Shape): TypedArray {
  const out = alloc(a.dtype, outShape);
  const cv = arr(cond);
  const av = arr(a);
  const bv = arr(b);
  forEachRun(outShape, [cond.shape, a.shape, b.shape], (o, [co, ao, bo], n, [cs, as, bs]) => {
    for (let i = 0; i < n; i++) out[o + i] = cv[co + i * cs] !== 0 ? av[ao + i * as] : bv[bo + i * bs];
  });
  return out;
}

export function cast(x: KernelTensor, dtype: DType): TypedArray {
  const src = arr(x);
  const out = alloc(dtype, x.shape);
  if (dtype === 'int32') for (let i = 0; i < src.length; i++) out[i] = Math.trunc(src[i]);
  else out.set(src);
  return out;
}
