import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HalfStorage, Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { engine, floatToBf16, floatToHalf, halfToFloat, UnsupportedError } from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

// 16-bit storage of float32 tensors (uploadHalf): every op sees float32. Kernels without a packed
// path get a transient float32 copy for the op; the results must equal the same op on a float32
// tensor of the rounded values, bit for bit (the same kernels run on the same numbers).

const round: Record<HalfStorage, (v: number) => number> = {
  bfloat16: (v) => new Float32Array(new Uint32Array([floatToBf16(v) << 16]).buffer)[0],
  float16: (v) => halfToFloat(floatToHalf(v)),
};

function normals(rng: ops.Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

(SKIP_WEBGPU ? describe.skip : describe)(`webgpu 16-bit storage (uploadHalf)${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  let dflt: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-half', halfMinElements: 0 });
    dflt = await makeBackend({ name: 'webgpu-half-default' });
  });
  afterAll(() => {
    be?.dispose();
    dflt?.dispose();
  });

  /** The same values as a 16-bit tensor and as a float32 tensor of the rounded values. */
  const pair = (b: WebGPUBackend, values: Float32Array, shape: number[], storage: HalfStorage): [Tensor, Tensor] => {
    const r = values.map(round[storage]);
    return [ops.keep(engine.makeTensor(b, b.uploadHalf!(r, shape, storage), shape, 'float32')), ops.keep(ops.tensor(r, shape, { backend: b }))];
  };

  for (const storage of ['bfloat16', 'float16'] as const) {
    it(`${storage}: read, add, matmul (either operand, both transposes), transpose, slice, gather, sum equal float32`, async () => {
      const rng = new ops.Rng(storage === 'bfloat16' ? 3 : 4);
      const o = { backend: be };
      // Odd sizes: the last u32 holds one element.
      const [h, f] = pair(be, normals(rng, 33 * 71), [33, 71], storage);
      const base = be.memoryBytes();
      expect(Array.from((await h.data()) as Float32Array)).toEqual(Array.from((await f.data()) as Float32Array));
      const x = ops.tensor(normals(rng, 33 * 71), [33, 71], o);
      const a = ops.tensor(normals(rng, 40 * 33), [40, 33], o);
      const bT = ops.tensor(normals(rng, 50 * 71), [50, 71], o);
      const c = ops.tensor(normals(rng, 71 * 9), [71, 9], o);
      const d = ops.tensor(normals(rng, 33 * 12), [33, 12], o);
      const ids = ops.tensor([0, 32, 5, 5, 17], [5], { ...o, dtype: 'int32' });
      const cases: [string, (w: Tensor) => Tensor][] = [
        ['add', (w) => ops.add(w, x)],
        ['matmul a·W', (w) => ops.matmul(a, w)],
        ['matmul W·c', (w) => ops.matmul(w, c)],
        ['matmul b·Wᵀ (prefill-sized linear)', (w) => ops.matmul(bT, w, { transposeB: true })],
        ['matmul Wᵀ·a', (w) => ops.matmul(w, d, { transposeA: true })],
        ['linear, 1 row (K = 71: the GEMV fallback)', (w) => ops.linear(ops.sliceAxis(x, 0, 0, 1), w)],
        ['transpose', (w) => ops.transpose(w)],
        ['slice', (w) => ops.sliceAxis(w, 1, 3, 40)],
        ['gather rows', (w) => ops.gather(w, ids, 0)],
        ['gather columns', (w) => ops.gather(w, ids, 1)],
        ['sum', (w) => ops.sum(w, -1)],
        ['relu', (w) => ops.relu(w)],
      ];
      for (const [name, fn] of cases) {
        const got = ops.tidy(() => fn(h));
        const want = ops.tidy(() => fn(f));
        expect(Array.from((await got.data()) as Float32Array), name).toEqual(Array.from((await want.data()) as Float32Array));
        ops.dispose([got, want]);
      }
      // gather and the decode GEMV read the pairs themselves: one dispatch each, no unpack first.
      const [g16, g32] = pair(be, normals(rng, 24 * 64), [24, 64], storage);
      const row = ops.tensor(normals(rng, 64), [1, 64], o);
      for (const fn of [() => ops.gather(h, ids, 0), () => ops.linear(row, g16)]) {
        const before = be.stats().dispatches;
        const y = ops.tidy(fn);
        expect(be.stats().dispatches - before).toBe(1);
        y.dispose();
      }
      // The register-tiled product reads W packed too (K a multiple of 4, unbatched): batched
      // decode's products (more rows than the GEMV takes, with and without fusedLinear's norm and
      // residual in the K split's sum) take as many dispatches as with float32 W, and equal them.
      const rows = ops.tensor(normals(rng, 40 * 64), [40, 64], o);
      const gw = ops.tensor(normals(rng, 64), [64], o);
      const res = ops.tensor(normals(rng, 40 * 24), [40, 24], o);
      const tall = ops.tensor(normals(rng, 200 * 64), [200, 64], o);
      const tallRes = ops.tensor(normals(rng, 200 * 24), [200, 24], o);
      const tiled: [string, (w: Tensor) => Tensor][] = [
        ['matmul x·Wᵀ, 40 rows', (w) => ops.matmul(rows, w, { transposeB: true })],
        ['fusedLinear, 40 rows, norm and residual', (w) => ops.fusedLinear(rows, w, { norm: { weight: gw, eps: 1e-5 }, residual: res })],
        // Prefill-sized rows, unsplit: the norm's weight scales W's columns as they are staged.
        ['fusedLinear, 200 rows, norm and residual', (w) => ops.fusedLinear(tall, w, { norm: { weight: gw, eps: 1e-5 }, residual: tallRes })],
      ];
      for (const [name, fn] of tiled) {
        const counts = [g16, g32].map((w) => {
          const before = be.stats().dispatches;
          const y = ops.tidy(() => fn(w));
          return [be.stats().dispatches - before, y] as const;
        });
        expect(counts[0][0], name).toBe(counts[1][0]);
        expect(Array.from((await counts[0][1].data()) as Float32Array), name).toEqual(Array.from((await counts[1][1].data()) as Float32Array));
        ops.dispose([counts[0][1], counts[1][1]]);
      }
      ops.dispose([x, a, bT, c, d, ids, row, g16, g32, rows, gw, res, tall, tallRes]);
      // The transient float32 copies went with their ops.
      expect(be.memoryBytes()).toBe(base);
      ops.dispose([h, f]);
    });
  }

  it('uploadHalf rounds values not yet exact as floatToBf16 / floatToHalf do (ties to even, infinities, NaN, subnormals)', async () => {
    const rng = new ops.Rng(9);
    const edge = [0, -0, 1, -1, 65504, 70000, -70000, 1e-8, 6e-5, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11];
    const values = Float32Array.from([...edge, ...normals(rng, 1001)]);
    for (const storage of ['bfloat16', 'float16'] as const) {
      const t = engine.makeTensor(be, be.uploadHalf!(values, [values.length], storage), [values.length], 'float32');
      const got = Array.from((await t.data()) as Float32Array);
      expect(got).toEqual(Array.from(values, round[storage]));
      t.dispose();
    }
  });

  it('weights MB: a 16-bit tensor holds half the bytes; below halfMinElements it stays float32', async () => {
    const rng = new ops.Rng(5);
    const v = normals(rng, 512 * 256).map(round.bfloat16);
    for (const b of [be, dflt]) {
      const m0 = b.memoryBytes();
      const f = engine.makeTensor(b, b.upload(v, [512, 256], 'float32'), [512, 256], 'float32');
      const m1 = b.memoryBytes();
      const h = engine.makeTensor(b, b.uploadHalf!(v, [512, 256], 'bfloat16'), [512, 256], 'float32');
      const m2 = b.memoryBytes();
      expect(m1 - m0).toBe(512 * 256 * 4);
      expect(m2 - m1).toBe(512 * 256 * 2);
      ops.dispose([f, h]);
    }
    const small = v.subarray(0, 1000);
    const m0 = dflt.memoryBytes();
    const s = engine.makeTensor(dflt, dflt.uploadHalf!(small, [1000], 'bfloat16'), [1000], 'float32');
    expect(dflt.memoryBytes() - m0).toBe(4096); // 4000 bytes of float32 in the 4 KiB size class
    expect(Array.from((await s.data()) as Float32Array)).toEqual(Array.from(small));
    s.dispose();
  });

  it('a captured step reading 16-bit weights (a transient unpack for the matmul, a packed gather) replays as the float32 step does', async () => {
    const rng = new ops.Rng(7);
    const o = { backend: be };
    const [wh, wf] = pair(be, normals(rng, 64).map((v) => v * 0.5), [8, 8], 'bfloat16');
    const [th, tf] = pair(be, normals(rng, 32), [4, 8], 'bfloat16');
    const s0 = normals(rng, 16);
    const inputs = () => [ops.keep(ops.tensor([1, 3], [2], { ...o, dtype: 'int32' })), ops.keep(ops.tensor(s0, [2, 8], o))];
    const step = (w: Tensor, table: Tensor) => (ids: Tensor, s: Tensor): Tensor[] => {
      const emb = ops.gather(table, ids, 0);
      const next = ops.tanh(ops.add(ops.matmul(s, w), ops.mul(emb, ops.tensor([0.5], [1], o))));
      return [ops.argMax(ops.sliceAxis(next, 1, 0, 4), -1), next];
    };
    const feedback = [[0, 0], [1, 1]] as const;
    const half = ops.captureStep(inputs(), step(wh, th), { feedback });
    const full = ops.captureStep(inputs(), step(wf, tf), { feedback });
    expect(half.mode).toBe('recorded');
    for (let run = 0; run < 4; run++) {
      if (run > 0) {
        half.run();
        full.run();
      }
      for (let i = 0; i < 2; i++) expect(Array.from(await half.read(i)), `run ${run} output ${i}`).toEqual(Array.from(await full.read(i)));
    }
    half.dispose();
    full.dispose();
    // A 16-bit tensor cannot be a step input (the graph would write float32 into its pairs).
    expect(() => ops.captureStep([wh], (w: Tensor) => [ops.relu(w)])).toThrow(UnsupportedError);
    ops.dispose([wh, wf, th, tf]);
  });
});
