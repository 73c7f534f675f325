import type { KernelTensor } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input } from '../tf.js';

export function softmax(tf: Tf, x: KernelTensor): TfTensor {
  return tf.softmax(input(tf, x));
}

export function logSoftmax(tf: Tf, x: KernelTensor): TfTensor {
  return tf.logSoftmax(input(tf, x));
}

/** x / sqrt(mean(x², last axis) + eps). */
function normalize(tf: Tf, x: TfTensor, eps: number): TfTensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(x, tf.rsqrt(tf.add(ms, tf.scalar(eps))));
}

export function rmsNorm(tf: Tf, x: KernelTensor, weight: KernelTensor | null, eps: number): TfTensor {
  const y = normalize(tf, input(tf, x), eps);
  return weight ? tf.mul(y, input(tf, weight)) : y;
}

/** The official RMSNormGated: norm over groups of the last axis, gated by silu(z) before or after. */
export function gatedRmsNorm(
  tf: Tf,
  x: KernelTensor,
  z: KernelTensor,
  weight: KernelTensor | null,
  eps: number,
  groupSize: number,
  normBeforeGate: boolean,
): TfTensor {
  const tx = input(tf, x);
  const tz = input(tf, z);
  const gate = tf.mul(tz, tf.sigmoid(tz));
  const src = normBeforeGate ? tx : tf.mul(tx, gate);
  const dim = x.shape[x.shape.length - 1];
  const grouped = tf.reshape(src, [...x.shape.slice(0, -1), dim / groupSize, groupSize]);
  let y = tf.reshape(normalize(tf, grouped, eps), [...x.shape]);
  if (weight) y = tf.mul(y, input(tf, weight));
  return normBeforeGate ? tf.mul(y, gate) : y;
}
