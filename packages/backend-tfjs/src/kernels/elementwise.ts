import type { BinaryOp, DType, KernelTensor, Shape, UnaryOp } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input, tfDtype } from '../tf.js';
import { broadcastLowered } from './broadcast.js';

type Unary = (tf: Tf, x: TfTensor) => TfTensor;

const UNARY: Record<UnaryOp, Unary> = {
  neg: (tf, x) => tf.neg(x),
  abs: (tf, x) => tf.abs(x),
  sign: (tf, x) => tf.sign(x),
  exp: (tf, x) => tf.exp(x),
  expm1: (tf, x) => tf.expm1(x),
  log: (tf, x) => tf.log(x),
  log1p: (tf, x) => tf.log1p(x),
  sqrt: (tf, x) => tf.sqrt(x),
  rsqrt: (tf, x) => tf.rsqrt(x),
  square: (tf, x) => tf.square(x),
  reciprocal: (tf, x) => tf.reciprocal(x),
  sigmoid: (tf, x) => tf.sigmoid(x),
  softplus: (tf, x) => tf.softplus(x),
  silu: (tf, x) => tf.mul(x, tf.sigmoid(x)),
  tanh: (tf, x) => tf.tanh(x),
  relu: (tf, x) => tf.relu(x),
  sin: (tf, x) => tf.sin(x),
  cos: (tf, x) => tf.cos(x),
  floor: (tf, x) => tf.floor(x),
  ceil: (tf, x) => tf.ceil(x),
  // tf.round rounds halves to even; ours (like Math.round) rounds them up.
  round: (tf, x) => tf.floor(tf.add(x, tf.scalar(0.5))),
};

export function unary(tf: Tf, op: UnaryOp, x: KernelTensor): TfTensor {
  const out = UNARY[op](tf, input(tf, x));
  // Some tfjs kernels (relu, sign on int32 in places) widen to float32; keep the input's dtype.
  return out.dtype === x.dtype ? out : tf.cast(out, tfDtype(x.dtype));
}

type Binary = (tf: Tf, a: TfTensor, b: TfTensor) => TfTensor;

const ARITHMETIC: Record<'add' | 'sub' | 'mul' | 'pow' | 'maximum' | 'minimum', Binary> = {
  add: (tf, a, b) => tf.add(a, b),
  sub: (tf, a, b) => tf.sub(a, b),
  mul: (tf, a, b) => tf.mul(a, b),
  pow: (tf, a, b) => tf.pow(a, b),
  maximum: (tf, a, b) => tf.maximum(a, b),
  minimum: (tf, a, b) => tf.minimum(a, b),
};

// tfjs comparisons return bool; ours return 1/0 in the inputs' dtype (cast after).
const COMPARE: Record<'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual', Binary> = {
  equal: (tf, a, b) => tf.equal(a, b),
  notEqual: (tf, a, b) => tf.notEqual(a, b),
  less: (tf, a, b) => tf.less(a, b),
  lessEqual: (tf, a, b) => tf.lessEqual(a, b),
  greater: (tf, a, b) => tf.greater(a, b),
  greaterEqual: (tf, a, b) => tf.greaterEqual(a, b),
};

/**
 * int32 division truncating toward zero, and 0 for a zero divisor (tfjs's int division floors).
 * |a| floorDiv |b| is the truncated magnitude; the sign comes from the operands' signs.
 */
function intDiv(tf: Tf, a: TfTensor, b: TfTensor): TfTensor {
  const nonZero = tf.cast(tf.notEqual(b, tf.scalar(0, 'int32')), 'int32');
  const safeB = tf.sub(tf.add(b, tf.scalar(1, 'int32')), nonZero); // b, or 1 where b == 0
  const magnitude = tf.floorDiv(tf.abs(a), tf.abs(safeB));
  return tf.mul(tf.mul(magnitude, tf.mul(tf.sign(a), tf.sign(safeB))), nonZero);
}

export function binary(tf: Tf, op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): TfTensor {
  return broadcastLowered(tf, [input(tf, a), input(tf, b)], outShape, (ta, tb) => {
    if (op === 'div') return a.dtype === 'int32' ? intDiv(tf, ta, tb) : tf.div(ta, tb);
    if (op in COMPARE) return tf.cast(COMPARE[op as keyof typeof COMPARE](tf, ta, tb), tfDtype(a.dtype));
    const out = ARITHMETIC[op as keyof typeof ARITHMETIC](tf, ta, tb);
    return out.dtype === a.dtype ? out : tf.cast(out, tfDtype(a.dtype));
  });
}

export function where(tf: Tf, cond: KernelTensor, a: KernelTensor, b: KernelTensor, outShape: Shape): TfTensor {
  return broadcastLowered(tf, [input(tf, cond), input(tf, a), input(tf, b)], outShape, (c, ta, tb) => {
    const shape = lowerShape([c, ta, tb]);
    // Broadcast explicitly: not every tfjs backend's Select broadcasts its operands.
    const grow = (t: TfTensor): TfTensor => (t.shape.length === shape.length && t.shape.every((d, i) => d === shape[i]) ? t : tf.broadcastTo(t, shape));
    return tf.where(grow(tf.notEqual(c, tf.scalar(0, tfDtype(cond.dtype)))), grow(ta), grow(tb));
  });
}

/** The broadcast shape of already rank-lowered operands. */
function lowerShape(xs: readonly TfTensor[]): number[] {
  const r = Math.max(...xs.map((x) => x.shape.length));
  return Array.from({ length: r }, (_, i) => Math.max(...xs.map((x) => x.shape[x.shape.length - r + i] ?? 1)));
}

export function cast(tf: Tf, x: KernelTensor, dtype: DType): TfTensor {
  const t = input(tf, x);
  // float -> int32 truncates toward zero on every tfjs backend, as ours does.
  return x.dtype === dtype ? tf.clone(t) : tf.cast(t, tfDtype(dtype));
}
