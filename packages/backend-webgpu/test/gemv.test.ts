import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '@mamba3/tensor';
import type { HalfStorage } from '@mamba3/tensor';
import { engine, floatToBf16, floatToHalf, halfToFloat } from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/** The float of bf16 bits. */
function bf16(v: number): number {
  return new Float32Array(new Uint32Array([floatToBf16(v) << 16]).buffer)[0];
}

function f16(v: number): number {
  return halfToFloat(floatToHalf(v));
}

/**
 * Shapes [M, K, N] that take every branch of the decode GEMV: straight-line loads, a guarded tail,
 * the unrolled loop, 1/2/4/8 output rows a workgroup, two and four output rows a thread for a wide
 * single row (2,113 and 33,797 outputs: the last thread's later rows lie past N), the residual
 * loaded first (up to 4 rows), and batched rows in chunks (8 in one chunk, 24 in three of 8, 32 in
 * two of 16).
 */
const CASES: readonly (readonly [number, number, number])[] = [
  [1, 768, 50],
  [3, 200, 45],
  [2, 4104, 33],
  [4, 64, 7],
  [1, 96, 2200],
  [1, 64, 2113],
  [1, 64, 33797],
  [8, 64, 40],
  [24, 96, 20],
  [32, 136, 33],
];

interface Case {
  M: number;
  K: number;
  N: number;
  a: number[];
  w: number[];
  g: number[];
  r: number[];
}

function makeCase(rng: ops.Rng, [M, K, N]: readonly [number, number, number]): Case {
  const draw = (n: number) => Array.from({ length: n }, () => rng.normal());
  return { M, K, N, a: draw(M * K), w: draw(N * K), g: draw(K), r: draw(M * N) };
}

/** y = rmsNorm(a)·g·Wᵀ + r (norm/residual optional) in float64, with W's values mapped by `q`. */
function reference(c: Case, fused: boolean, q: (v: number) => number): { y: Float64Array; mag: Float64Array } {
  const y = new Float64Array(c.M * c.N);
  const mag = new Float64Array(c.M * c.N);
  for (let m = 0; m < c.M; m++) {
    const row = c.a.slice(m * c.K, (m + 1) * c.K);
    const scale = fused ? 1 / Math.sqrt(row.reduce((s, v) => s + v * v, 0) / c.K + 1e-5) : 1;
    for (let n = 0; n < c.N; n++) {
      let s = 0;
      let t = 0;
      for (let k = 0; k < c.K; k++) {
        const x = row[k] * scale * (fused ? c.g[k] : 1);
        s += x * q(c.w[n * c.K + k]);
        t += Math.abs(x * c.w[n * c.K + k]);
      }
      y[m * c.N + n] = s + (fused ? c.r[m * c.N + n] : 0);
      mag[m * c.N + n] = t;
    }
  }
  return { y, mag };
}

/**
 * linear(a, W) and the fused rmsNorm-linear-residual, twice each (only the fused one with
 * `fusedOnly`); W in 16 bits (`uploadHalf`, rounded by `q`) when `storage` is given.
 */
async function run(be: WebGPUBackend, c: Case, storage?: HalfStorage, fusedOnly = false): Promise<{ plain: Float32Array[]; fused: Float32Array[] }> {
  const w = ops.keep(
    storage
      ? engine.makeTensor(be, be.uploadHalf!(Float32Array.from(c.w, storage === 'bfloat16' ? bf16 : f16), [c.N, c.K], storage), [c.N, c.K], 'float32')
      : ops.tensor(c.w, [c.N, c.K], { backend: be }),
  );
  const g = ops.keep(ops.tensor(c.g, [c.K], { backend: be }));
  const out = { plain: [] as Float32Array[], fused: [] as Float32Array[] };
  for (let i = 0; i < 2; i++) {
    const [p, f] = ops.tidy(() => {
      const a = ops.tensor(c.a, [c.M, c.K], { backend: be });
      const r = ops.tensor(c.r, [c.M, c.N], { backend: be });
      return [fusedOnly ? null : ops.linear(a, w), ops.fusedLinear(a, w, { norm: { weight: g, eps: 1e-5 }, residual: r })];
    });
    if (p) out.plain.push((await p.data()) as Float32Array);
    out.fused.push((await f.data()) as Float32Array);
    ops.dispose(p ? [p, f] : [f]);
  }
  ops.dispose([w, g]);
  return out;
}

(SKIP_WEBGPU ? describe.skip : describe)(`webgpu decode GEMV${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  let bf: WebGPUBackend;
  let half: WebGPUBackend;
  beforeAll(async () => {
    // gemvMaxRows 128: the batched chunks below (24 and 32 rows) take the GEMV, not the tiled kernel.
    be = await makeBackend({ name: 'webgpu-gemv', gemvMaxRows: 128 });
    // Every tensor of uploadHalf in 16 bits (small test weights included).
    bf = await makeBackend({ name: 'webgpu-gemv-bf16', halfMinElements: 0, gemvMaxRows: 128 });
    half = await makeBackend({ name: 'webgpu-gemv-f16', halfMinElements: 0, gemvMaxRows: 128 });
  });
  afterAll(() => {
    be?.dispose();
    bf?.dispose();
    half?.dispose();
  });

  it('float32 weights: linear and fused rmsNorm-linear-residual match float64, every shape branch', async () => {
    const rng = new ops.Rng(21);
    for (const shape of CASES) {
      const c = makeCase(rng, shape);
      const got = await run(be, c);
      for (const [fused, outs] of [[false, got.plain], [true, got.fused]] as const) {
        const { y, mag } = reference(c, fused, (v) => v);
        for (const o of outs) o.forEach((v, i) => expect(Math.abs(v - y[i]), `${shape} fused=${fused} [${i}]`).toBeLessThan(4e-7 * mag[i] + 1e-5));
      }
    }
    expect(be.stats().cacheBytes).toBe(0);
  });

  it('bfloat16 weights (uploadHalf): read packed, equal to float64 with bf16-rounded weights, half the bytes', async () => {
    const rng = new ops.Rng(22);
    for (const shape of CASES) {
      const c = makeCase(rng, shape);
      const before = bf.memoryBytes();
      const got = await run(bf, c, 'bfloat16');
      expect(bf.memoryBytes()).toBe(before);
      for (const [fused, outs] of [[false, got.plain], [true, got.fused]] as const) {
        const exact = reference(c, fused, (v) => v);
        const rounded = reference(c, fused, bf16);
        for (const o of outs) o.forEach((v, i) => expect(Math.abs(v - rounded.y[i]), `${shape} fused=${fused} bf16 [${i}]`).toBeLessThan(4e-7 * rounded.mag[i] + 1e-5));
        // And it did change: bf16 rounding is visible against float32 weights somewhere.
        expect(outs[0].some((v, i) => Math.abs(v - exact.y[i]) > 1e-6 * exact.mag[i])).toBe(true);
      }
    }
    // The GEMV read the pairs themselves: no 16-bit copy is cached beside them.
    expect(bf.stats().cacheBytes).toBe(0);
  });

  it('float16 weights (uploadHalf): equal to float64 with f16-rounded weights', async () => {
    const rng = new ops.Rng(23);
    for (const shape of CASES) {
      const c = makeCase(rng, shape);
      const got = await run(half, c, 'float16');
      for (const [fused, outs] of [[false, got.plain], [true, got.fused]] as const) {
        const { y, mag } = reference(c, fused, f16);
        for (const o of outs) o.forEach((v, i) => expect(Math.abs(v - y[i]), `${shape} fused=${fused} f16 [${i}]`).toBeLessThan(4e-7 * mag[i] + 1e-5));
      }
    }
}, 300_000); // lavapipe compiles the unpack2x16float kernels slowly (~70 s on a loaded 2-core VM)

  it('one row at 64 and 128 lanes an output (subgroup sums and the workgroup tree): float32 and bfloat16 match float64', async () => {
    // Single-row shapes only (more rows keep 32 lanes): straight-line loads with a guarded tail,
    // the unrolled loop (4,104 and 8,200 long K), 2 and 4 output rows a thread, 4 rows a
    // workgroup (clamped to 2 at 128 lanes). The default ('auto': 128 lanes for rows of 64 loads
    // or more but the widest output) runs with subgroup sums in the tests above (1 × 768 × 50);
    // here 128 also through the workgroup tree.
    const shapes = [[1, 768, 50], [1, 96, 2200], [1, 64, 33797], [1, 4104, 33], [1, 8200, 9]] as const;
    for (const [lanes, noSubgroups] of [[64, false], [128, true]] as const) {
      const f = await makeBackend({ name: `webgpu-gemv-l${lanes}`, gemvLanes: lanes, noSubgroups });
      const h = await makeBackend({ name: `webgpu-gemv-l${lanes}-bf16`, gemvLanes: lanes, noSubgroups, halfMinElements: 0 });
      const rng = new ops.Rng(25);
      for (const shape of shapes) {
        const c = makeCase(rng, shape);
        for (const [be2, storage, q] of [[f, undefined, (v: number) => v], [h, 'bfloat16', bf16]] as const) {
          const got = await run(be2, c, storage);
          for (const [fused, outs] of [[false, got.plain], [true, got.fused]] as const) {
            const { y, mag } = reference(c, fused, q);
            for (const o of outs) o.forEach((v, i) => expect(Math.abs(v - y[i]), `${shape} lanes ${lanes} ${storage ?? 'f32'} fused=${fused} [${i}]`).toBeLessThan(4e-7 * mag[i] + 1e-5));
          }
        }
      }
      f.dispose();
      h.dispose();
    }
  }, 600_000); // lavapipe compiles each new kernel in seconds on a loaded 2-core VM

  it('batched chunks: 1, 2 (default) and 4 output rows per thread give the same bits (f32, bf16, ragged N)', async () => {
    // Two chunks of 16 rows and N = 33: the last thread's second to fourth rows are past N. The
    // fused kernel only (its main loop is the plain one's, plus the norm and residual per row):
    // each new backend compiles its kernels anew, seconds each on lavapipe.
    const c = makeCase(new ops.Rng(24), [32, 136, 33]);
    const results: Float32Array[][] = [];
    for (const T of [1, 2, 4] as const) {
      // T = 2 is the default: the backends above (their pipelines are compiled already).
      const [f, h] = T === 2 ? [be, bf] : [await makeBackend({ name: `webgpu-gemv-t${T}`, gemvRowsPerThread: T, gemvMaxRows: 128 }), await makeBackend({ name: `webgpu-gemv-t${T}-bf16`, gemvRowsPerThread: T, halfMinElements: 0, gemvMaxRows: 128 })];
      const f32 = await run(f, c, undefined, true);
      const b16 = await run(h, c, 'bfloat16', true);
      results.push([f32.fused[0], b16.fused[0]]);
      if (T !== 2) {
        f.dispose();
        h.dispose();
      }
    }
    for (const outs of results.slice(1)) outs.forEach((o, k) => expect(Array.from(o), `output ${k}`).toEqual(Array.from(results[0][k])));
  }, 600_000); // lavapipe compiles each new kernel in seconds on a loaded 2-core VM
});
