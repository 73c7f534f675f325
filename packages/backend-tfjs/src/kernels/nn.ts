import type { KernelTensor } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input } from '../tf.js';

// Norms and softmaxes work on 2-d (or 3-d) views of their input: the math is per row, and some
// tfjs-webgpu shaders fail above rank 4 (a [dim] weight broadcast against a rank-5 tensor).

/** x as [rows, last]. */
function rows(tf: Tf, x: KernelTensor): TfTensor {
  const last = x.shape.length ? x.shape[x.shape.length - 1] : 1;
  const lead = x.shape.slice(0, -1).reduce((a, d) => a * d, 1);
  return tf.reshape(input(tf, x), [lead, last]);
}

export function softmax(tf: Tf, x: KernelTensor): TfTensor {
  return tf.reshape(tf.softmax(rows(tf, x)), [...x.shape]);
}

export function logSoftmax(tf: Tf, x: KernelTensor): TfTensor {
  return tf.reshape(tf.logSoftmax(rows(tf, x)), [...x.shape]);
}

/** x / sqrt(mean(x², last axis) + eps). */
function normalize(tf: Tf, x: TfTensor, eps: number): TfTensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(x, tf.rsqrt(tf.add(ms, tf.scalar(eps))));
}

export function rmsNorm(tf: Tf, x: KernelTensor, weight: KernelTensor | null, eps: number): TfTensor {
  const y = normalize(tf, rows(tf, x), eps);
  return tf.reshape(weight ? tf.mul(y, input(tf, weight)) : y, [...x.shape]);
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
  const tx = rows(tf, x);
  const tz = rows(tf, z);
  const [n, dim] = tx.shape;
  const gate = tf.mul(tz, tf.sigmoid(tz));
  const src = normBeforeGate ? tx : tf.mul(tx, gate);
  let y = tf.reshape(normalize(tf, tf.reshape(src, [n, dim / groupSize, groupSize]), eps), [n, dim]);
  if (weight) y = tf.mul(y, input(tf, weight));
  return tf.reshape(normBeforeGate ? tf.mul(y, gate) : y, [...x.shape]);
}
