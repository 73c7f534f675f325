import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, HalfStorage, Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { engine, floatToBf16, floatToHalf, halfToFloat, Rng, tensor, tidy } from '@mamba3/tensor';
import { createWasmBackend } from '../src/index.js';

/*
 * 16-bit weights (Backend.uploadHalf): a tensor stored as bfloat16 / float16 goes through every
 * kind of op (the GEMV and packing that decode as they read, the gather of rows, and the central
 * unpack for the rest) and gives exactly what the same backend gives for float32 tensors holding
 * the rounded values.
 */
const SEED = 99;

function rounded(n: number, storage: HalfStorage, rng: Rng, scale = 1): Float32Array {
  const out = new Float32Array(n);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < n; i++) {
    // Some tiny values: float16 subnormals, float32-exact after rounding.
    const v = (i % 17 === 0 ? 1e-6 : scale) * rng.normal();
    if (storage === 'bfloat16') u[i] = floatToBf16(v) << 16;
    else out[i] = halfToFloat(floatToHalf(v));
  }
  return out;
}

for (const threads of [1, 2]) {
  for (const storage of ['bfloat16', 'float16'] as const) {
    describe(`wasm 16-bit storage: ${storage}, ${threads} thread(s)`, () => {
      let backend: Backend;
      beforeAll(async () => {
        backend = await createWasmBackend({ name: `wasm-half-${storage}-${threads}`, threads, alwaysParallel: threads > 1 });
      });
      afterAll(() => backend.dispose?.());

      /** The same rounded values twice: 16-bit storage and float32. */
      const pair = (shape: number[], rng: Rng, scale = 1): [Tensor, Tensor, Float32Array] => {
        const v = rounded(shape.reduce((a, b) => a * b, 1), storage, rng, scale);
        const half = engine.makeTensor(backend, backend.uploadHalf!(v, shape, storage), shape, 'float32');
        return [half, tensor(v, shape, { backend }), v];
      };
      const same = (f: (t: Tensor) => Tensor, half: Tensor, full: Tensor, what: string): void => {
        const got = tidy(() => f(half).dataSync());
        const want = tidy(() => f(full).dataSync());
        expect(Array.from(got), what).toEqual(Array.from(want));
      };
      /** Products: the bf16 GEMV sums even and odd elements apart, so float32 rounding differs (K terms). */
      const close = (got: ArrayLike<number>, want: ArrayLike<number>, K: number, what: string): void => {
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
        expect(worst, what).toBeLessThan(2e-6 * Math.sqrt(K));
      };
      const sameProduct = (f: (t: Tensor) => Tensor, half: Tensor, full: Tensor, K: number, what: string): void => {
        close(tidy(() => f(half).dataSync()), tidy(() => f(full).dataSync()), K, what);
      };

      it('stores two bytes per element and reads back float32', () => {
        const rng = new Rng(SEED);
        const before = backend.memoryBytes!();
        const [half, full, v] = pair([64, 96], rng);
        expect(backend.memoryBytes!() - before).toBe(64 * 96 * 2 + 64 * 96 * 4);
        expect(half.dtype).toBe('float32');
        expect(Array.from(half.dataSync())).toEqual(Array.from(v));
        ops.dispose([half, full]);
      });

      it('matmul: decode rows and packed tiles, either side, any transpose', () => {
        const rng = new Rng(SEED + 1);
        for (const [M, N, K] of [[1, 37, 300], [3, 64, 16], [4, 9, 513], [2, 13, 773], [5, 8, 7], [37, 70, 260]]) {
          const [wh, wf] = pair([N, K], rng);
          const x = tensor(rounded(M * K, storage, rng), [M, K], { backend });
          sameProduct((w) => ops.matmul(x, w, { transposeB: true }), wh, wf, K, `x·Wᵀ M ${M} N ${N} K ${K}`);
          sameProduct((w) => ops.matmul(w, x, { transposeB: true }), wh, wf, K, `W·xᵀ M ${M} N ${N} K ${K}`);
          const [bh, bf] = pair([K, N], rng);
          // x·W with W row-major: packed panels (16-bit) vs the f32 GEMV for few rows: other order.
          sameProduct((b) => ops.matmul(x, b), bh, bf, K, `x·W M ${M}`);
          sameProduct((b) => ops.matmul(b, x, { transposeA: true, transposeB: true }), bh, bf, K, `Wᵀ·xᵀ M ${M}`);
          ops.dispose([wh, wf, x, bh, bf]);
        }
      });

      it('fusedLinear with norm and residual, as the model calls it', () => {
        const rng = new Rng(SEED + 2);
        for (const M of [1, 2, 40]) {
          const [wh, wf] = pair([96, 80], rng);
          const [nh, nf] = pair([80], rng);
          const x = tensor(rounded(M * 80, storage, rng), [M, 80], { backend });
          const r = tensor(rounded(M * 96, storage, rng), [M, 96], { backend });
          const got = tidy(() => ops.fusedLinear(x, wh, { norm: { weight: nh, eps: 1e-5 }, residual: r }).dataSync());
          const want = tidy(() => ops.fusedLinear(x, wf, { norm: { weight: nf, eps: 1e-5 }, residual: r }).dataSync());
          close(got, want, 80, `M ${M}`);
          ops.dispose([wh, wf, nh, nf, x, r]);
        }
      });

      it('gather rows (an embedding lookup) on either axis', () => {
        const rng = new Rng(SEED + 3);
        const [eh, ef] = pair([50, 24], rng);
        const ids = tensor([3, 0, 49, 3, 17], [5], { dtype: 'int32', backend });
        same((e) => ops.gather(e, ids, 0), eh, ef, 'axis 0');
        same((e) => ops.gather(e, tensor([1, 23, 5], [3], { dtype: 'int32', backend }), 1), eh, ef, 'axis 1');
        ops.dispose([eh, ef, ids]);
      });

      it('every other op through the one unpack path', () => {
        const rng = new Rng(SEED + 4);
        const [h, f] = pair([6, 40], rng);
        const [wh, wf] = pair([40], rng);
        const other = tensor(rounded(240, storage, rng), [6, 40], { backend });
        const cases: [string, (t: Tensor) => Tensor][] = [
          ['exp', (t) => ops.exp(t)],
          ['sin', (t) => ops.sin(t)],
          ['add broadcast', (t) => ops.add(t, ops.slice(other, [0, 0], [1, 40]))],
          ['mul by self', (t) => ops.mul(t, t)],
          ['rmsNorm', (t) => ops.rmsNorm(t, null, 1e-5)],
          ['softmax', (t) => ops.softmax(t)],
          ['sum', (t) => ops.sum(t, [1])],
          ['transpose', (t) => ops.transpose(t)],
          ['slice', (t) => ops.slice(t, [1, 3], [4, 30])],
          ['concat', (t) => ops.concat([other, t, t], 1)],
          ['where', (t) => ops.where(ops.greater(other, 0), t, other)],
          ['pow', (t) => ops.pow(ops.abs(t), 1.5)],
          ['cumsum', (t) => ops.cumsum(t, 1)],
        ];
        for (const [what, fn] of cases) same(fn, h, f, what);
        same((w) => ops.rmsNorm(other, w, 1e-5), wh, wf, 'rmsNorm weight');
        ops.dispose([h, f, wh, wf, other]);
      });
    });
  }
}
