import type { KernelTensor, Shape } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input, tfDtype } from '../tf.js';
import type { Traits } from './quirks.js';
import { padAny, sliceAny, transposeAny } from './quirks.js';

export function transpose(tf: Tf, x: KernelTensor, perm: readonly number[], traits: Traits): TfTensor {
  return transposeAny(tf, input(tf, x), [...perm], traits);
}

export function slice(tf: Tf, x: KernelTensor, begin: readonly number[], size: readonly number[]): TfTensor {
  return sliceAny(tf, input(tf, x), begin, size);
}

export function concat(tf: Tf, xs: readonly KernelTensor[], axis: number): TfTensor {
  return tf.concat(xs.map((x) => input(tf, x)), axis);
}

export function pad(tf: Tf, x: KernelTensor, paddings: readonly (readonly [number, number])[], value: number): TfTensor {
  return padAny(tf, input(tf, x), paddings, value);
}

export function gather(tf: Tf, x: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): TfTensor {
  const out = tf.gather(input(tf, x), input(tf, indices), axis);
  return tf.reshape(out, [...outShape]);
}

/**
 * Sums `updates` into zeros of `outShape` at the rows `indices` name along `axis`, through
 * scatterND (which adds repeated indices): the indexed axis is brought to the front, the rest
 * flattened into one column axis, and the result put back.
 */
export function scatterAdd(tf: Tf, updates: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape, traits: Traits): TfTensor {
  const nIdx = indices.size;
  if (nIdx === 0 || updates.size === 0) return tf.zeros([...outShape], tfDtype(updates.dtype));
  const pre = sizeOf(outShape.slice(0, axis));
  const post = sizeOf(outShape.slice(axis + 1));
  const rows = outShape[axis];
  let u = tf.reshape(input(tf, updates), [pre, nIdx, post]);
  if (pre > 1) u = transposeAny(tf, u, [1, 0, 2], traits);
  const idx = tf.reshape(input(tf, indices), [nIdx, 1]);
  let out = tf.scatterND(idx, tf.reshape(u, [nIdx, pre * post]), [rows, pre * post]);
  if (pre > 1) out = transposeAny(tf, tf.reshape(out, [rows, pre, post]), [1, 0, 2], traits);
  return tf.reshape(out, [...outShape]);
}
