import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor, UnaryOp } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { matmul, Rng, tensor, tidy } from '@mamba3/tensor';
import { createWasmBackend } from '../src/index.js';

/*
 * Shapes the conformance suite's small cases do not reach: packed tiles with row and column
 * edges, K across the 256-deep blocks, decode rows against both weight layouts; and the
 * vectorised exp/log family over wide input ranges against Math.
 */
const SEED = 1234;

function refMatmul(a: Float32Array, b: Float32Array, M: number, N: number, K: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[ta ? k * M + i : i * K + k] * b[tb ? j * K + k : k * N + j];
      out[i * N + j] = s;
    }
  return out;
}

for (const threads of [1, 2]) {
  describe(`wasm kernels, ${threads} thread(s)`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await createWasmBackend({ name: `wasm-kernels-${threads}`, threads, alwaysParallel: threads > 1 });
    });
    afterAll(() => backend.dispose?.());

    it('matmul: tile edges, deep K, decode rows, every transpose', () => {
      const rng = new Rng(SEED);
      const shapes: [number, number, number][] = [[1, 37, 300], [3, 64, 17], [4, 9, 513], [5, 8, 1], [13, 29, 257], [64, 70, 40], [33, 1, 19], [128, 136, 260]];
      for (const [M, N, K] of shapes) {
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            const av = Float32Array.from({ length: M * K }, () => rng.normal());
            const bv = Float32Array.from({ length: K * N }, () => rng.normal());
            const got = tidy(() => matmul(tensor(av, ta ? [K, M] : [M, K], { backend }), tensor(bv, tb ? [N, K] : [K, N], { backend }), { transposeA: ta, transposeB: tb }).dataSync());
            const want = refMatmul(av, bv, M, N, K, ta, tb);
            let worst = 0;
            for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-3 + Math.sqrt(K)));
            expect(worst, `M ${M} N ${N} K ${K} transA ${ta} transB ${tb}`).toBeLessThan(1e-5);
          }
      }
    });

    it('exp, log, expm1, log1p, tanh, sigmoid, softplus, silu over wide ranges', () => {
      const xs = Float32Array.from({ length: 4001 }, (_, i) => -90 + (180 * i) / 4000);
      const pos = Float32Array.from({ length: 4001 }, (_, i) => Math.exp(-80 + (160 * i) / 4000));
      const cases: [UnaryOp, Float32Array, (v: number) => number][] = [
        ['exp', xs, Math.exp], ['expm1', xs, Math.expm1], ['tanh', xs, Math.tanh], ['sigmoid', xs, (v) => 1 / (1 + Math.exp(-v))],
        ['softplus', xs, (v) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)))], ['silu', xs, (v) => v / (1 + Math.exp(-v))],
        ['log', pos, Math.log], ['log1p', pos, Math.log1p],
      ];
      for (const [op, input, f] of cases) {
        const got = tidy(() => (ops[op] as (x: Tensor) => Tensor)(tensor(input, [input.length], { backend })).dataSync());
        for (let i = 0; i < input.length; i++) {
          const want = Math.fround(f(Math.fround(input[i])));
          if (!Number.isFinite(want)) {
            expect(got[i], `${op}(${input[i]})`).toBe(want);
            continue;
          }
          expect(Math.abs(got[i] - want), `${op}(${input[i]}) = ${got[i]}, want ${want}`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-30);
        }
      }
    });
  });
}
