import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { BackendError, BackendUnavailableError, UnsupportedError } from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { createWebGPUBackend, DEFAULT_KICK_DISPATCHES } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/** Early submits while `queued` dispatches are encoded with no read waiting: at k, 3k, 7k, ... (k = the first kick). */
function kicksFor(queued: number, k = DEFAULT_KICK_DISPATCHES): number {
  let n = 0;
  for (let at = k, step = k; at <= queued; step *= 2, at += step) n++;
  return n;
}

describe('device acquisition errors (no GPU needed)', () => {
  it('no adapter: BackendUnavailableError saying why and how to get one', async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const err = await createWebGPUBackend({ gpu }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/no WebGPU adapter/);
    expect((err as Error).message).toMatch(/lavapipe|mesa-vulkan-drivers/);
    expect((err as Error).message).toMatch(/XDG_RUNTIME_DIR/);
  });
  it('requestAdapter throwing and requestDevice refusing both become BackendUnavailableError', async () => {
    const throwing = { requestAdapter: async () => Promise.reject(new Error('driver exploded')) } as unknown as GPU;
    await expect(createWebGPUBackend({ gpu: throwing })).rejects.toThrow(/requestAdapter failed: driver exploded/);
    const adapter = {
      info: { vendor: 'fake', architecture: '', device: '', description: '' },
      limits: { maxStorageBufferBindingSize: 1 << 20 },
      features: new Set<string>(),
      requestDevice: async () => Promise.reject(new Error('out of devices')),
    } as unknown as GPUAdapter;
    const err = await createWebGPUBackend({ adapter }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(/\(fake\) refused a device: out of devices/);
  });
  it('importing the package registers webgpu above cpu without touching the GPU', async () => {
    await import('@mamba3/backend-cpu');
    const names = ops.listBackends();
    expect(names).toContain('webgpu');
    expect(names.indexOf('webgpu')).toBeLessThan(names.indexOf('cpu'));
  });
});

(SKIP_WEBGPU ? describe.skip : describe)(`webgpu runtime${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-runtime' });
  });
  afterAll(() => be?.dispose());

  it('tidy/dispose return every byte: memoryBytes back to baseline after loops of ops', async () => {
    await be.sync();
    const baseline = be.memoryBytes();
    for (let i = 0; i < 5; i++) {
      ops.tidy(() => {
        const a = ops.randomNormal([33, 70], { seed: i, backend: be });
        const h = ops.matmul(a, a, { transposeB: true });
        const s = ops.softmax(ops.rmsNorm(h, null));
        // A multi-output chain through the chunked cumsum and a batched matmul (the scan's building blocks).
        const c = ops.cumsum(ops.reshape(a, [3, 11, 70]), 1, { reverse: true });
        const m = ops.matmul(c, ops.slice(a, [0, 0], [5, 70]), { transposeB: true });
        return [ops.sum(s), ops.argMax(h, -1), c, m];
      }).forEach((t: Tensor) => t.dispose());
    }
    await be.sync();
    expect(be.memoryBytes()).toBe(baseline);
    expect(be.stats().pooledBytes).toBeGreaterThan(0);
    be.trimPool();
    expect(be.stats().pooledBytes).toBe(0);
  });

  it('caches pipelines by (kernel, constants): repeating ops compiles nothing new', async () => {
    const run = () =>
      ops.tidy(() => {
        const a = ops.randomNormal([5, 7], { seed: 3, backend: be });
        return ops.sum(ops.exp(ops.matmul(a, a, { transposeA: true })));
      });
    const first = run();
    await first.data();
    first.dispose();
    const s0 = be.stats();
    for (let i = 0; i < 3; i++) {
      const t = run();
      await t.data();
      t.dispose();
    }
    const s1 = be.stats();
    expect(s1.pipelines).toBe(s0.pipelines);
    expect(s1.pipelineMisses).toBe(s0.pipelineMisses);
    expect(s1.pipelineHits).toBeGreaterThan(s0.pipelineHits);
  });

  it('a decode-like sequence of ops is one submission and one small read', async () => {
    // A 3-layer toy decoder: embedding gather, per layer linear + norm + residual + scan step,
    // then an LM head and argmax, read back as one int32.
    const [V, D, H, P, N] = [50, 16, 2, 8, 4];
    const w = (shape: number[], seed: number) => ops.keep(ops.randomNormal(shape, { seed, backend: be, std: 0.3 }));
    const embed = w([V, D], 1);
    const layers = [0, 1, 2].map((l) => ({ inProj: w([2 * D, D], 10 + l), norm: w([D], 20 + l), ssm: w([1, H, P, N], 30 + l) }));
    const head = w([V, D], 2);
    const token = ops.keep(ops.tensor([7], [1], { dtype: 'int32', backend: be }));
    await be.sync();
    const before = be.stats().submits;
    const dispatches0 = be.stats().dispatches;
    const next = ops.tidy(() => {
      let h = ops.gather(embed, token, 0); // [1, D]
      for (const l of layers) {
        const zx = ops.linear(ops.rmsNorm(h, l.norm), l.inProj); // [1, 2D]
        const [x, z] = ops.split(zx, 2, -1);
        // A recurrent state update: S' = α·S + x ⊗ B, y = S'·C (per head).
        const alpha = ops.reshape(ops.exp(ops.neg(ops.softplus(ops.slice(z, [0, 8], [1, H])))), [1, H, 1, 1]);
        const outer = ops.matmul(ops.reshape(x, [1, H, P, 1]), ops.reshape(ops.slice(z, [0, 0], [1, H * N]), [1, H, 1, N]));
        const state = ops.add(ops.mul(l.ssm, alpha), outer);
        const step = { y: ops.matmul(state, ops.reshape(ops.slice(x, [0, 0], [1, H * N]), [1, H, N, 1])) };
        h = ops.add(h, ops.mul(ops.reshape(step.y, [1, D]), ops.silu(z)));
      }
      return ops.argMax(ops.linear(h, head), -1);
    });
    // Nothing is submitted per op: only the early kicks that start an idle GPU (`kickDispatches`),
    // and the read's submission.
    const dispatched = be.stats().dispatches - dispatches0;
    const kicks = kicksFor(dispatched);
    expect(kicks).toBeLessThan(3);
    expect(be.stats().submits - before, 'nothing but the kick is submitted while ops are encoded').toBe(kicks);
    const id = await next.data();
    expect(be.stats().submits - before, 'one submission for the rest of the step').toBe(kicks + 1);
    expect(id).toBeInstanceOf(Int32Array);
    expect(id.length).toBe(1);
    next.dispose();
    ops.dispose([embed, head, token, ...layers.flatMap((l) => [l.inProj, l.norm, l.ssm])]);
  });

  it('early submits: at k, 3k, 7k, 15k queued dispatches (k = 16) while no read waits; none while one does, none while timed (not even a full batch), none when off', async () => {
    const x = ops.keep(ops.ones([64], { backend: be }));
    const chain = (n: number): Tensor => ops.tidy(() => {
      let y = x;
      for (let i = 0; i < n; i++) y = ops.add(y, x);
      return y;
    });
    const submitsOf = (fn: () => void): number => {
      const s0 = be.stats().submits;
      fn();
      return be.stats().submits - s0;
    };
    await be.sync();
    let y = chain(0);
    expect(DEFAULT_KICK_DISPATCHES).toBe(16);
    expect(submitsOf(() => (y = chain(250)))).toBe(kicksFor(250)); // 16, 48, 112, 240
    expect(kicksFor(250)).toBe(4);
    expect(Array.from(await y.data())).toEqual(new Array(64).fill(251));
    y.dispose();
    // A read in flight keeps the GPU busy: nothing is kicked until it resolves.
    const z = chain(3);
    const pending = z.data();
    expect(submitsOf(() => (y = chain(100)))).toBe(0);
    await pending;
    z.dispose();
    y.dispose();
    await be.sync();
    // Timed work is one submission, even past a full batch (512 dispatches).
    if (be.features.has('timestamp-query')) await be.timeGpu(() => expect(submitsOf(() => chain(600).dispose())).toBe(0));
    const off = await createWebGPUBackend({ kickDispatches: 0 });
    const a = ops.keep(ops.ones([8], { backend: off }));
    const s0 = off.stats().submits;
    const b = ops.tidy(() => {
      let t = a;
      for (let i = 0; i < 100; i++) t = ops.add(t, a);
      return t;
    });
    expect(off.stats().submits).toBe(s0);
    ops.dispose([a, b]);
    off.dispose();
    x.dispose();
  });

  it('small-M products (GEMV, split over K, both weight layouts) match a float64 product', async () => {
    await expectMatmulsMatch(be, new ops.Rng(5), [[1, 300, 37, false, false], [3, 520, 600, true, false], [4, 300, 37, false, true], [2, 129, 1100, false, false]]);
  });

  it('without subgroups the GEMV and row kernels reduce with workgroup trees, same results', async () => {
    const plain = await makeBackend({ name: 'webgpu-nosubgroups', noSubgroups: true });
    try {
      const rng = new ops.Rng(11);
      const [M, K, N] = [3, 77, 45];
      const av = Array.from({ length: M * K }, () => rng.normal());
      const wv = Array.from({ length: N * K }, () => rng.normal());
      const zv = Array.from({ length: M * K }, () => rng.normal());
      const results: Float32Array[][] = [];
      for (const b of [plain, be]) {
        const outs = ops.tidy(() => {
          const a = ops.tensor(av, [M, K], { backend: b });
          const z = ops.tensor(zv, [M, K], { backend: b });
          return [
            ops.linear(a, ops.tensor(wv, [N, K], { backend: b })),
            ops.softmax(a),
            ops.logSoftmax(a),
            ops.rmsNorm(a, null),
            ops.gatedRmsNorm(a, z, null, { groupSize: 7, normBeforeGate: false }),
          ];
        });
        results.push((await Promise.all(outs.map((o) => o.data()))) as Float32Array[]);
        ops.dispose(outs);
      }
      results[0].forEach((r, k) => r.forEach((v, i) => expect(Math.abs(v - results[1][k][i]), `output ${k} [${i}]`).toBeLessThan(1e-4)));
    } finally {
      plain.dispose();
    }
  });

  it('the 128x128-tile matmul (forced) matches a float64 product, all transposes, ragged edges', async () => {
    const big = await makeBackend({ name: 'webgpu-tile128', matmulTile: 128 });
    try {
      await expectMatmulsMatch(big, new ops.Rng(9), [[130, 20, 129, false, false], [129, 17, 131, true, true]]);
      expect(big.stats().pipelines).toBeGreaterThan(0);
    } finally {
      big.dispose();
    }
  });

  it('two-pass reductions (few outputs, huge R) and chunked running sums match float64', async () => {
    const rng = new ops.Rng(21);
    const n = 3 * 70001;
    const v = Array.from({ length: n }, () => rng.normal());
    const x = ops.tensor(v, [3, 70001], { backend: be });
    const abs = v.reduce((a, b) => a + Math.abs(b), 0);
    const sums = [0, 1, 2].map((r) => v.slice(r * 70001, (r + 1) * 70001).reduce((a, b) => a + b, 0));
    const got = await ops.sum(x, 1).data();
    sums.forEach((want, r) => expect(Math.abs(got[r] - want)).toBeLessThan(1e-6 * abs));
    expect(Math.abs((await ops.mean(x).data())[0] - sums.reduce((a, b) => a + b) / n)).toBeLessThan(1e-6);
    expect((await ops.max(x, 1).data())[1]).toBe(Math.fround(Math.max(...v.slice(70001, 140002))));
    const ints = ops.tensor(Array.from({ length: 100000 }, (_, i) => (i % 7) - 3), [100000], { dtype: 'int32', backend: be });
    expect((await ops.sum(ints).data())[0]).toBe(Array.from({ length: 100000 }, (_, i) => (i % 7) - 3).reduce((a, b) => a + b));
    // [2, 1000, 3] along axis 1: 16 chunks of 64 per line.
    const c = Array.from({ length: 6000 }, () => rng.normal());
    const ct = ops.tensor(c, [2, 1000, 3], { backend: be });
    for (const [exclusive, reverse] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const out = await ops.cumsum(ct, 1, { exclusive, reverse }).data();
      for (let p = 0; p < 2; p++) {
        for (let q = 0; q < 3; q++) {
          let acc = 0;
          for (let j = 0; j < 1000; j++) {
            const k = reverse ? 999 - j : j;
            const at = (p * 1000 + k) * 3 + q;
            if (!exclusive) acc += c[at];
            expect(Math.abs(out[at] - acc), `cumsum ex ${exclusive} rev ${reverse} at ${at}`).toBeLessThan(1e-4);
            if (exclusive) acc += c[at];
          }
        }
      }
    }
    ops.dispose([x, ints, ct]);
  });

  it('split arg-reductions of long rows: ties across chunks go to the first index, two dispatches', async () => {
    // A 50280-token vocabulary (25 chunks of 2048 a row). Row 0 holds its max at 30001 and 9000,
    // row 1 at 45000 only; row 2's min ties at 2047 and 2048, the first chunk boundary.
    const V = 50280;
    const rows = [new Float32Array(V).fill(-1), new Float32Array(V).fill(-1), new Float32Array(V).fill(1)];
    rows[0][30001] = rows[0][9000] = 5;
    rows[1][45000] = 7;
    rows[1][2] = 6.5;
    rows[2][2048] = rows[2][2047] = -4;
    const flat = new Float32Array(3 * V);
    rows.forEach((r, i) => flat.set(r, i * V));
    const x = ops.tensor(flat, [3, V], { backend: be });
    const d0 = be.stats().dispatches;
    const maxIds = ops.argMax(x, 1);
    expect(be.stats().dispatches - d0).toBe(2);
    expect(Array.from(await maxIds.data())).toEqual([9000, 45000, 0]);
    expect(Array.from(await ops.argMin(x, 1).data())).toEqual([0, 0, 2047]);
    // Along a middle axis ([1, V, 3]: stride 3), the same answers.
    const y = ops.reshape(ops.transpose(x, [1, 0]), [1, V, 3]);
    expect(Array.from(await ops.argMax(y, 1).data())).toEqual([9000, 45000, 0]);
    expect(Array.from(await ops.argMin(y, 1).data())).toEqual([0, 0, 2047]);
    ops.dispose([x, maxIds, y]);
  });

  it('split softmax of long rows: chunks of -Infinity count 0, a row of them alone is NaN as unsplit', async () => {
    // 20000 per row (10 chunks of 2048): row 0 masked (-Infinity) but for its last 3000, row 1 all masked.
    const D = 20000;
    const rng = new ops.Rng(5);
    const v = Array.from({ length: 2 * D }, (_, i) => (i < D - 3000 || i >= D ? -Infinity : rng.normal() * 4));
    const x = ops.tensor(v, [2, D], { backend: be });
    const d0 = be.stats().dispatches;
    const p = ops.softmax(x);
    expect(be.stats().dispatches - d0).toBe(2);
    const got = await p.data();
    const live = v.slice(D - 3000, D);
    const m = Math.max(...live);
    const z = live.reduce((a, b) => a + Math.exp(b - m), 0);
    for (let k = 0; k < D; k++) {
      const want = k < D - 3000 ? 0 : Math.exp(v[k] - m) / z;
      expect(Math.abs(got[k] - want), `softmax[0, ${k}]`).toBeLessThan(1e-6 + 1e-5 * want);
    }
    expect(Number.isNaN(got[D + 7])).toBe(true);
    const lg = await ops.logSoftmax(x).data();
    expect(Math.abs(lg[D - 1] - (v[D - 1] - m - Math.log(z)))).toBeLessThan(1e-4);
    expect(lg[0]).toBe(-Infinity);
    ops.dispose([x, p]);
  });

  it('scatterAdd with many rows (atomic path, float32 and int32) matches float64 sums', async () => {
    const rng = new ops.Rng(31);
    const [J, D, inner] = [500, 37, 5];
    const idx = Array.from({ length: J }, () => rng.int(D));
    const u = Array.from({ length: J * inner }, () => rng.normal());
    const want = new Float64Array(D * inner);
    idx.forEach((d, j) => { for (let q = 0; q < inner; q++) want[d * inner + q] += u[j * inner + q]; });
    const it = ops.tensor(idx, [J], { dtype: 'int32', backend: be });
    const got = await ops.scatterAdd(ops.tensor(u, [J, inner], { backend: be }), it, 0, [D, inner]).data();
    want.forEach((w, k) => expect(Math.abs(got[k] - w)).toBeLessThan(1e-4));
    const ui = u.map((v) => Math.round(v * 10));
    const wantI = new Array<number>(D * inner).fill(0);
    idx.forEach((d, j) => { for (let q = 0; q < inner; q++) wantI[d * inner + q] += ui[j * inner + q]; });
    const gotI = await ops.scatterAdd(ops.tensor(ui, [J, inner], { dtype: 'int32', backend: be }), it, 0, [D, inner]).data();
    expect(Array.from(gotI)).toEqual(wantI);
  });

  it('opt-in f16 weights: reused B operands read from an f16 copy, within f16 rounding; dropped with the weight', async () => {
    const half64 = await makeBackend({ name: 'webgpu-f16', f16: true, matmulTile: 64 });
    const half128 = await makeBackend({ name: 'webgpu-f16-128', f16: true, matmulTile: 128 });
    try {
      if (!half64.f16) return; // the adapter has no shader-f16: the option is a no-op (covered by the default tests)
      const rng = new ops.Rng(41);
      for (const [M, K, N, transB, tile] of [[1, 200, 300, true, 64], [2, 130, 1000, false, 64], [70, 40, 90, false, 64], [300, 64, 300, true, 64], [130, 24, 150, true, 128]] as const) {
        const half = tile === 128 ? half128 : half64;
        const av = Array.from({ length: M * K }, () => rng.normal());
        const wv = Array.from({ length: K * N }, () => rng.normal());
        const a = ops.tensor(av, [M, K], { backend: half });
        const w = ops.tensor(wv, transB ? [N, K] : [K, N], { backend: half });
        const first = await ops.matmul(a, w, { transposeB: transB }).data(); // records w
        const before = half.stats().cacheBytes;
        const second = await ops.matmul(a, w, { transposeB: transB }).data(); // reads the f16 copy
        expect(half.stats().cacheBytes).toBeGreaterThan(before);
        let diff = 0;
        for (let i = 0; i < first.length; i++) diff = Math.max(diff, Math.abs(first[i] - second[i]));
        // f16 keeps 11 significant bits: |Δw| <= 2^-11 |w|, so |Δy| <= 2^-11 Σ|a||w| ~ 5e-4·K.
        expect(diff, `M${M} K${K} N${N}`).toBeGreaterThan(0);
        expect(diff, `M${M} K${K} N${N}`).toBeLessThan(5e-4 * K);
        const cached = half.stats().cacheBytes;
        ops.dispose([a, w]);
        expect(half.stats().cacheBytes).toBeLessThan(cached);
      }
      // The fused decode GEMV (norm prologue, residual epilogue) reads the same f16 copy.
      const K = 96;
      const N = 200;
      const x = ops.tensor(Array.from({ length: K }, () => rng.normal()), [1, K], { backend: half64 });
      const w = ops.tensor(Array.from({ length: N * K }, () => rng.normal()), [N, K], { backend: half64 });
      const g = ops.tensor(Array.from({ length: K }, () => 1 + 0.1 * rng.normal()), [K], { backend: half64 });
      const r = ops.tensor(Array.from({ length: N }, () => rng.normal()), [1, N], { backend: half64 });
      const fused = () => ops.fusedLinear(x, w, { norm: { weight: g }, residual: r }).data();
      const first = await fused();
      const second = await fused();
      let diff = 0;
      for (let i = 0; i < N; i++) diff = Math.max(diff, Math.abs(first[i] - second[i]));
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(5e-4 * K);
      ops.dispose([x, w, g, r]);
    } finally {
      half64.dispose();
      half128.dispose();
    }
  });

  it('large fills (GPU splat) and grids past 65535 workgroups in x', async () => {
    const f = ops.full([70000], 3.5, { backend: be });
    const fi = ops.full([70000], -7, { dtype: 'int32', backend: be });
    const [fv, fiv] = await Promise.all([f.data(), fi.data()]);
    expect(fv.every((v) => v === 3.5)).toBe(true);
    expect(fiv.every((v) => v === -7)).toBe(true);
    // 2^24 + 5 elements: 65537 workgroups of 256, split over y.
    const n = (1 << 24) + 5;
    const big = ops.tidy(() => ops.neg(ops.full([n], 2, { backend: be })));
    const bv = await big.data();
    expect(bv.length).toBe(n);
    expect(bv[0]).toBe(-2);
    expect(bv[n - 1]).toBe(-2);
    expect(bv[65536 * 256 + 3]).toBe(-2);
    // 70000 outputs, a workgroup each.
    const rows = ops.tidy(() => ops.sum(ops.full([70000, 64], 0.5, { backend: be }), 1));
    const rv = await rows.data();
    expect(rv[0]).toBe(32);
    expect(rv[69999]).toBe(32);
    ops.dispose([f, fi, big, rows]);
  });

  it('clamps out-of-range gather indices (documented: GPU kernels cannot throw)', async () => {
    const x = ops.tensor([10, 11, 12, 13], [4, 1], { backend: be });
    const i = ops.tensor([-5, 2, 99], [3], { dtype: 'int32', backend: be });
    const y = ops.gather(x, i, 0);
    expect(Array.from(await y.data())).toEqual([10, 12, 13]);
    ops.dispose([x, i, y]);
  });

  it('a tensor over maxStorageBufferBindingSize is a clear UnsupportedError, not a crash', () => {
    const limit = be.device.limits.maxStorageBufferBindingSize;
    const n = Math.floor(limit / 4) + 1024;
    expect(() => ops.zeros([n], { backend: be })).toThrow(UnsupportedError);
    expect(() => ops.zeros([n], { backend: be })).toThrow(/maxStorageBufferBindingSize/);
  });

  it('int32 matmul is a clear UnsupportedError (the kernels multiply float32)', () => {
    const a = ops.tensor([1, 2, 3, 4], [2, 2], { dtype: 'int32', backend: be });
    expect(() => ops.matmul(a, a)).toThrow(/webgpu matmul: int32 operands are not supported/);
    a.dispose();
  });

  it('reads back int32 and float32 exactly, and dataSync says to read asynchronously', async () => {
    const t = ops.tensor([1, -2, 3], [3], { dtype: 'int32', backend: be });
    expect(Array.from(await t.data())).toEqual([1, -2, 3]);
    expect(() => t.dataSync()).toThrow(/asynchronously/);
    t.dispose();
  });
  it('profile() counts every dispatch per kernel, and the work still computes', async () => {
    if (!be.features.has('timestamp-query')) {
      await expect(be.profile(() => undefined)).rejects.toThrow(/timestamp-query/);
      return;
    }
    const x = ops.tensor([1, 2, 3, 4], [2, 2], { backend: be });
    let y: Tensor | null = null;
    const before = be.stats().dispatches;
    const { kernels, skipped } = await be.profile(() => {
      y = ops.tidy(() => ops.rmsNorm(ops.add(ops.matmul(x, x), 1)));
    });
    const dispatched = be.stats().dispatches - before;
    expect(skipped).toBe(0);
    expect(kernels.reduce((n, k) => n + k.calls, 0)).toBe(dispatched);
    expect(kernels.map((k) => k.kernel)).toEqual(expect.arrayContaining(['rmsNorm']));
    for (const k of kernels) expect(k.ms).toBeGreaterThanOrEqual(0);
    const got = Array.from(await y!.data());
    // rows of x·x + 1 = [[8, 11], [16, 23]], each RMS-normalised.
    const rms = (a: number, b: number) => Math.sqrt((a * a + b * b) / 2 + 1e-5);
    [8 / rms(8, 11), 11 / rms(8, 11), 16 / rms(16, 23), 23 / rms(16, 23)].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 4));
    ops.dispose([x, y!]);
  });

  it('GPU timestamps are not rounded to 65.536 µs steps (Dawn\'s default, turned off in Node)', async () => {
    if (!be.features.has('timestamp-query')) return;
    const x = ops.tensor(Array.from({ length: 64 * 64 }, (_, i) => i % 7), [64, 64], { backend: be });
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await be.timeGpu(() => ops.dispose(ops.matmul(x, x))));
    const step = 0.065536; // ms
    // Rounded timestamps give whole steps; real ones land on a whole step by chance only.
    expect(times.some((t) => Math.abs(t / step - Math.round(t / step)) > 1e-3), `${times}`).toBe(true);
    x.dispose();
  });
});

(SKIP_WEBGPU ? describe.skip : describe)(`device loss${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  it('after the device is lost, ops throw a BackendError naming the loss', async () => {
    const be = await makeBackend({ name: 'webgpu-lost' });
    const a = ops.tensor([1, 2, 3], [3], { backend: be });
    be.device.destroy();
    await be.device.lost;
    expect(() => ops.exp(a)).toThrow(BackendError);
    expect(() => ops.exp(a)).toThrow(/device was lost/);
    await expect(a.data()).rejects.toThrow(/device was lost/);
    a.dispose();
    be.dispose();
  });
});

/** Each product [M, K] x [K, N] (with the given transposes) on `backend` against a float64 product of the same random values. */
async function expectMatmulsMatch(backend: ops.Backend, rng: ops.Rng, cases: readonly (readonly [number, number, number, boolean, boolean])[]): Promise<void> {
  for (const [M, K, N, transA, transB] of cases) {
    const av = Array.from({ length: M * K }, () => rng.normal());
    const bv = Array.from({ length: K * N }, () => rng.normal());
    const a = ops.tensor(av, transA ? [K, M] : [M, K], { backend });
    const b = ops.tensor(bv, transB ? [N, K] : [K, N], { backend });
    const c = ops.matmul(a, b, { transposeA: transA, transposeB: transB });
    const got = await c.data();
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let want = 0;
        for (let k = 0; k < K; k++) want += av[transA ? k * M + m : m * K + k] * bv[transB ? n * K + k : k * N + n];
        expect(Math.abs(got[m * N + n] - want), `M${M} K${K} N${N} [${m}, ${n}]`).toBeLessThan(1e-5 * Math.sqrt(K) + 1e-4 * Math.abs(want));
      }
    }
    ops.dispose([a, b, c]);
  }
}
