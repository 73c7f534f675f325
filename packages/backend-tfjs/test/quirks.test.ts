import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@mamba3/tensor';
import { broadcastLowered, lowerBroadcast } from '../src/kernels/broadcast.js';
import { padAny, sliceAny, transposeAny } from '../src/kernels/quirks.js';

// The rank-lowering rewrites against tfjs's own ops (on its cpu backend), on random shapes with size-1 dims.
const rng = new Rng(2024);
const randomShape = (): number[] => Array.from({ length: 1 + rng.int(6) }, () => (rng.uniform() < 0.3 ? 1 : 1 + rng.int(4)));
const iota = (shape: number[], dtype: 'float32' | 'int32'): tf.Tensor =>
  tf.reshape(tf.range(0, shape.reduce((a, b) => a * b, 1), 1, dtype), shape);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('rank-lowering rewrites', () => {
  it('transposeAny equals tf.transpose (float32, and int32 through the careful path)', () => {
    for (let i = 0; i < 60; i++) {
      const shape = randomShape();
      const perm = [...shape.keys()];
      for (let k = perm.length - 1; k > 0; k--) {
        const j = rng.int(k + 1);
        [perm[k], perm[j]] = [perm[j], perm[k]];
      }
      for (const dtype of ['float32', 'int32'] as const) {
        tf.tidy(() => {
          const x = dtype === 'int32' ? tf.sub(iota(shape, dtype), tf.scalar(2 ** 30, 'int32')) : iota(shape, dtype);
          const got = transposeAny(tf, x, perm, { sequential: true, careful: true, jsKernels: false });
          const want = tf.transpose(x, perm);
          expect(got.shape, `${JSON.stringify(shape)} ${JSON.stringify(perm)}`).toEqual(want.shape);
          expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
        });
      }
    }
  });

  it('padAny and sliceAny equal tf.pad and tf.slice', () => {
    for (let i = 0; i < 60; i++) {
      const shape = randomShape();
      tf.tidy(() => {
        const x = iota(shape, 'float32');
        const paddings = shape.map(() => (rng.uniform() < 0.5 ? [0, 0] : [rng.int(3), rng.int(3)]) as [number, number]);
        expect(Array.from(padAny(tf, x, paddings, -1).dataSync())).toEqual(Array.from(tf.pad(x, paddings, -1).dataSync()));
        const begin = shape.map((d) => (rng.uniform() < 0.5 ? 0 : rng.int(d)));
        const size = shape.map((d, a) => (rng.uniform() < 0.5 ? d - begin[a] : 1 + rng.int(d - begin[a])));
        const got = sliceAny(tf, x, begin, size);
        expect(got.shape).toEqual(size);
        expect(Array.from(got.dataSync())).toEqual(Array.from(tf.slice(x, begin, size).dataSync()));
      });
    }
  });

  it('broadcastLowered equals plain broadcasting, at rank ≤ the distinct broadcast patterns', () => {
    for (let i = 0; i < 60; i++) {
      const out = randomShape();
      const operand = (): number[] => out.slice(rng.int(out.length + 1)).map((d) => (rng.uniform() < 0.4 ? 1 : d));
      const [sa, sb] = [operand(), operand()];
      tf.tidy(() => {
        const a = iota(sa, 'float32');
        const b = tf.add(iota(sb, 'float32'), tf.scalar(0.5));
        const r = Math.max(sa.length, sb.length);
        const dim = (s: number[], k: number): number => s[k - r + s.length] ?? 1;
        const shape = Array.from({ length: r }, (_, k) => Math.max(dim(sa, k), dim(sb, k)));
        const got = broadcastLowered(tf, [a, b], shape, (x, y) => tf.sub(tf.mul(x, y), y));
        const want = tf.sub(tf.mul(a, b), b);
        expect(got.shape).toEqual(want.shape);
        expect(Array.from(got.dataSync())).toEqual(Array.from(want.dataSync()));
      });
    }
    expect(lowerBroadcast([[2, 3, 4, 5, 6], [6]], [2, 3, 4, 5, 6])).toEqual([[120, 6], [1, 6], [120, 6]]);
    expect(lowerBroadcast([[2, 1, 4, 1], [1, 3, 1, 5]], [2, 3, 4, 5])).toEqual([[2, 1, 4, 1], [1, 3, 1, 5], [2, 3, 4, 5]]);
    expect(lowerBroadcast([[], [1, 1]], [1, 1])).toEqual([[], [], []]);
  });
});
