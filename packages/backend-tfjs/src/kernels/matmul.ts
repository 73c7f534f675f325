import type { KernelTensor, Shape } from '@mamba3/tensor';
import { sizeOf } from '@mamba3/tensor';
import type { Tf, TfTensor } from '../tf.js';
import { input } from '../tf.js';

/**
 * Batched matmul with NumPy batch broadcasting. tfjs's BatchMatMul broadcasts only a batch of 1
 * against any batch, so other mixes ([2,1] against [1,5]) are broadcast here first.
 */
export function matmul(tf: Tf, a: KernelTensor, b: KernelTensor, transA: boolean, transB: boolean, outShape: Shape): TfTensor {
  const ta = input(tf, a);
  const tb = input(tf, b);
  const r = outShape.length;
  const [M, N] = [outShape[r - 2], outShape[r - 1]];
  // A plain matrix on the right (the projection case): fold a's batch into its rows, one 2-d product.
  if (b.shape.length === 2 && !transA) {
    const K = a.shape[a.shape.length - 1];
    const flat = tf.matMul(tf.reshape(ta, [-1, K]), tb, false, transB);
    return tf.reshape(flat, [...outShape]);
  }
  const batch = outShape.slice(0, r - 2);
  const outBatch = sizeOf(batch);
  const to3d = (t: TfTensor, x: KernelTensor): TfTensor => {
    const rows = x.shape[x.shape.length - 2];
    const cols = x.shape[x.shape.length - 1];
    const own = sizeOf(x.shape.slice(0, -2));
    if (own === outBatch || own === 1) return tf.reshape(t, [own, rows, cols]);
    return tf.reshape(tf.broadcastTo(t, [...batch, rows, cols]), [outBatch, rows, cols]);
  };
  const out = tf.matMul(to3d(ta, a), to3d(tb, b), transA, transB);
  return tf.reshape(out, [...batch, M, N]);
}
