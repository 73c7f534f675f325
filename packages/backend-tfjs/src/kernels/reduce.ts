import type { ArgReduceOp, KernelTensor, ReduceOp, Shape } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input, tfDtype } from '../tf.js';
import type { Traits } from './quirks.js';
import { axesLast, transposeAny } from './quirks.js';

function reduceTf(tf: Tf, op: ReduceOp, t: TfTensor, ax: number[]): TfTensor {
  switch (op) {
    case 'sum':
      return tf.sum(t, ax);
    case 'mean':
      // int32 mean truncates toward zero, like the other backends (tfjs would keep a float).
      return t.dtype === 'int32' ? tf.cast(tf.mean(tf.cast(t, 'float32'), ax), 'int32') : tf.mean(t, ax);
    case 'max':
      return tf.max(t, ax);
    case 'min':
      return tf.min(t, ax);
    case 'prod':
      return tf.prod(t, ax);
  }
}

export function reduce(tf: Tf, op: ReduceOp, x: KernelTensor, axes: readonly number[], outShape: Shape, traits: Traits): TfTensor {
  let t = input(tf, x);
  let ax = [...axes];
  const rank = x.shape.length;
  // tfjs transposes reduced axes inward itself; for int32 on careful backends do it here, safely.
  if (x.dtype === 'int32' && traits.careful && ax.some((a, i) => a !== rank - ax.length + i)) {
    t = transposeAny(tf, t, axesLast(rank, ax), traits);
    ax = ax.map((_, i) => rank - ax.length + i);
  }
  let out = reduceTf(tf, op, t, ax);
  if (out.dtype !== x.dtype) out = tf.cast(out, tfDtype(x.dtype));
  return tf.reshape(out, [...outShape]);
}

/**
 * First index of the extreme along `axis`. Sequential tfjs backends already return the first
 * one on ties; elsewhere the smallest index among positions equal to the extreme is taken
 * explicitly (indices held as float32, exact below 2^24, to stay on well-trodden kernels).
 */
export function argReduce(tf: Tf, op: ArgReduceOp, x: KernelTensor, axis: number, outShape: Shape, traits: Traits): TfTensor {
  const t = input(tf, x);
  if (traits.sequential) {
    const out = op === 'argmax' ? tf.argMax(t, axis) : tf.argMin(t, axis);
    return tf.reshape(out, [...outShape]);
  }
  const n = x.shape[axis];
  const values = x.dtype === 'int32' ? tf.cast(t, 'float32') : t;
  const extreme = op === 'argmax' ? tf.max(values, axis, true) : tf.min(values, axis, true);
  const iota = tf.reshape(tf.range(0, n, 1, 'float32'), x.shape.map((d, i) => (i === axis ? n : 1)));
  const candidates = tf.where(tf.equal(values, extreme), tf.broadcastTo(iota, [...x.shape]), tf.fill([...x.shape], n, 'float32'));
  // All-NaN rows match nothing: clamp so the index stays in range.
  const first = tf.minimum(tf.min(candidates, axis), tf.scalar(n - 1));
  return tf.reshape(tf.cast(first, 'int32'), [...outShape]);
}

export function cumsum(tf: Tf, x: KernelTensor, axis: number, exclusive: boolean, reverse: boolean, traits: Traits): TfTensor {
  const t = input(tf, x);
  if (!traits.careful) {
    const out = tf.cumsum(t, axis, exclusive, reverse);
    return out.dtype === x.dtype ? out : tf.cast(out, tfDtype(x.dtype));
  }
  // Careful path: the axis moved last by us, rows flattened to 2-d, reversal by tf.reverse.
  const rank = x.shape.length;
  const perm = axesLast(rank, [axis]);
  const moved = transposeAny(tf, t, perm, traits);
  const n = x.shape[axis];
  let rows = tf.reshape(moved, [-1, n]);
  if (reverse) rows = tf.reverse(rows, 1);
  let sums = tf.cumsum(rows, 1, exclusive, false);
  if (reverse) sums = tf.reverse(sums, 1);
  const back = tf.reshape(sums, perm.map((p) => x.shape[p]));
  const inverse = perm.map((_, i) => perm.indexOf(i));
  const out = transposeAny(tf, back, inverse, traits);
  return out.dtype === x.dtype ? out : tf.cast(out, tfDtype(x.dtype));
}
