/*
 * Broadcast products the scans need, each with a form for backends where broadcasting is slow
 * (Traits.jsKernels: tfjs-cpu): there the broadcast operand is a K=1 (or K=2) matmul, whose single
 * product (or one-rounding sum) gives bit-identical results at a fraction of the cost.
 */
import type { Tf, TfTensor } from '../tf.js';
import type { Traits } from './quirks.js';

/** x [B, M, K] times s [B, M] per row. */
export function scaleRows(tf: Tf, x: TfTensor, s: TfTensor, traits: Traits): TfTensor {
  const [B, M, K] = x.shape;
  if (!traits.jsKernels) return tf.mul(x, tf.reshape(s, [B, M, 1]));
  return tf.reshape(tf.matMul(tf.reshape(s, [B * M, 1, 1]), tf.reshape(x, [B * M, 1, K])), [B, M, K]);
}

/** x ([M, K] shared, or [B, M, K]) times s [B, K] per column: [B, M, K]. */
export function scaleCols(tf: Tf, x: TfTensor, s: TfTensor, traits: Traits): TfTensor {
  const [M, K] = x.shape.slice(-2);
  const B = s.shape[0];
  if (!traits.jsKernels) return tf.mul(x, tf.reshape(s, [B, 1, K]));
  // x broadcasts as a suffix, which tfjs-cpu handles on its fast path.
  return tf.mul(tf.matMul(tf.ones([1, M, 1]), tf.reshape(s, [B, 1, K])), x);
}

/** a[:, :, None] − b[:, None, :] for a [B, M], b [B, K]: [B, M, K]. */
export function outerDiff(tf: Tf, a: TfTensor, b: TfTensor, traits: Traits): TfTensor {
  const [B, M] = a.shape;
  const K = (b.shape as number[])[1];
  if (!traits.jsKernels) return tf.sub(tf.reshape(a, [B, M, 1]), tf.reshape(b, [B, 1, K]));
  // [a, 1] @ [1; −b]: a·1 and 1·(−b) are exact, so the sum rounds once, like the subtraction.
  const left = tf.stack([a, tf.onesLike(a)], 2);
  const right = tf.stack([tf.onesLike(b), tf.neg(b)], 1);
  return tf.matMul(left, right);
}

/**
 * The same broadcast at the lowest rank: output axes of size 1 dropped, and neighbouring axes
 * merged while every operand either spans both or broadcasts over both. Returns each operand's
 * shape, then the output's. tfjs-webgpu's binary shaders fail above rank 4 in places (its
 * shared-memory path indexes a rank-5 coordinate struct), and tfjs-cpu pays per index dimension.
 */
export function lowerBroadcast(shapes: readonly (readonly number[])[], out: readonly number[]): number[][] {
  const r = out.length;
  const padded = shapes.map((s) => [...Array<number>(r - s.length).fill(1), ...s]);
  const lowered: number[][] = [...shapes.map(() => [] as number[]), []];
  let prev = '';
  for (let a = 0; a < r; a++) {
    if (out[a] === 1) continue;
    const spans = padded.map((s) => s[a] === out[a]);
    const key = spans.map((x) => (x ? '1' : '0')).join('');
    const o = lowered[lowered.length - 1];
    if (key === prev) {
      o[o.length - 1] *= out[a];
      spans.forEach((x, i) => {
        if (x) lowered[i][lowered[i].length - 1] *= out[a];
      });
    } else {
      o.push(out[a]);
      spans.forEach((x, i) => lowered[i].push(x ? out[a] : 1));
      prev = key;
    }
  }
  return lowered;
}

/** Reshapes operands to their lowest-rank broadcast, applies `op`, and restores the output shape. */
export function broadcastLowered(tf: Tf, xs: readonly TfTensor[], out: readonly number[], op: (...ys: TfTensor[]) => TfTensor): TfTensor {
  const shapes = lowerBroadcast(xs.map((x) => x.shape), out);
  const ys = xs.map((x, i) => (shapes[i].length === x.shape.length && shapes[i].every((d, k) => d === x.shape[k]) ? x : tf.reshape(x, shapes[i])));
  return tf.reshape(op(...ys), [...out]);
}
