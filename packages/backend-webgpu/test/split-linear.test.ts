import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

// fusedLinear beyond gemvMaxRows rows (batched decode's in_proj and out_proj): the tiled product
// splits K, and the split's sum applies the norm's 1/RMS and the residual.
(SKIP_WEBGPU ? describe.skip : describe)(`webgpu fusedLinear through the K split${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-split-linear' });
  });
  afterAll(() => be?.dispose());

  it('batched-decode out_proj (fusedLinear, 40 rows, residual): the K split\'s sum adds the residual, two dispatches, the composite\'s bits', async () => {
    const rng = new ops.Rng(41);
    const draw = (n: number) => Array.from({ length: n }, () => rng.normal());
    const [M, K, N] = [40, 1536, 96];
    const x = ops.tensor(draw(M * K), [M, K], { backend: be });
    const w = ops.tensor(draw(N * K), [N, K], { backend: be });
    const r = ops.tensor(draw(M * N), [M, N], { backend: be });
    const before = be.stats().dispatches;
    const fused = ops.fusedLinear(x, w, { residual: r });
    expect(be.stats().dispatches - before, 'split product and its sum with the residual').toBe(2);
    const composite = ops.tidy(() => ops.add(ops.linear(x, w), r));
    expect(Array.from(await fused.data())).toEqual(Array.from(await composite.data()));
    ops.dispose([x, w, r, fused, composite]);
  });

  it('batched-decode in_proj (fusedLinear, 40-128 rows, norm): the product scales by the norm weight, the split\'s sum by each row\'s 1/RMS; two dispatches', async () => {
    const rng = new ops.Rng(43);
    const draw = (n: number) => Array.from({ length: n }, () => rng.normal());
    // K 768 (vec4 reads) and 770 (scalar reads); N 300 (a 256-output block spans two rows) and 37
    // (up to eight); 128 and 120 rows take 128×64 tiles (the thin rule; 120 leaves the last tile
    // ragged). Rows scaled 1-7x, so a row given another's 1/RMS is off by a large factor.
    // The rows' sums of squares through subgroups (where the adapter has them) and through a tree.
    const main = be;
    const tree = await makeBackend({ name: 'webgpu-tree', noSubgroups: true });
    const shapes = [[40, 768, 300], [40, 770, 37], [128, 768, 300], [120, 770, 256]] as const;
    for (const [[M, K, N], be] of [...shapes.map((s) => [s, main] as const), ...shapes.slice(0, 2).map((s) => [s, tree] as const)]) {
      const [xs, ws, gs, rs] = [draw(M * K).map((v, i) => v * (1 + (Math.floor(i / K) % 7))), draw(N * K), draw(K), draw(M * N)];
      const x = ops.tensor(xs, [M, K], { backend: be });
      const w = ops.tensor(ws, [N, K], { backend: be });
      const g = ops.tensor(gs, [K], { backend: be });
      const r = ops.tensor(rs, [M, N], { backend: be });
      for (const residual of [null, r]) {
        const before = be.stats().dispatches;
        const fused = ops.fusedLinear(x, w, { norm: { weight: g, eps: 1e-5 }, ...(residual ? { residual } : {}) });
        expect(be.stats().dispatches - before, `M ${M} K ${K} N ${N}: split product and its sum`).toBe(2);
        const composite = ops.tidy(() => {
          const y = ops.linear(ops.rmsNorm(x, g, 1e-5), w);
          return residual ? ops.add(y, residual) : y;
        });
        // Against float64: the fused path's error is float32 rounding, within twice the
        // composite's (they sum in different orders), far below a wrong row's 1/RMS. The composite
        // shares the workgroup reduction (its rmsNorm), so it is held to float32 rounding too
        // (1e-4; both measure 1-2e-5 here): a broken shared reduction fails both, not neither.
        const want = normLinear64(xs, ws, gs, residual ? rs : null, M, N, K, 1e-5);
        const err = (got: ArrayLike<number>) => maxRelErr(got, want);
        const [fusedErr, compositeErr] = [err(await fused.data()), err(await composite.data())];
        expect(compositeErr, `M ${M} K ${K} N ${N} residual ${!!residual}: composite against float64`).toBeLessThan(1e-4);
        expect(fusedErr, `M ${M} K ${K} N ${N} residual ${!!residual}: fused against float64 (composite ${compositeErr})`).toBeLessThan(Math.max(2 * compositeErr, 1e-6));
        ops.dispose([fused, composite]);
      }
      ops.dispose([x, w, g, r]);
    }
    tree.dispose();
  });
});

// fusedLinear over many rows (prefill's in_proj and out_proj): with tiles enough the product does
// not split, and its own writes scale each row by 1/RMS (from the squares it sums while fetching
// x) and add the residual: one dispatch. With few tiles it splits K as the thin products do.
(SKIP_WEBGPU ? describe.skip : describe)(`webgpu fusedLinear over prefill-sized rows, split or whole${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-tiled-linear' });
  });
  afterAll(() => be?.dispose());

  it('prefill-sized rows: norm and residual fused (unsplit: one dispatch), against float64; the residual alone gives the composite\'s bits', async () => {
    const rng = new ops.Rng(47);
    const draw = (n: number) => Array.from({ length: n }, () => rng.normal());
    // [M, K, N, dispatches with the residual, with the norm too]. 2,050 rows (the last tile
    // ragged; 260 tiles), K 256 (vec4 reads) and 258 (scalar: the norm falls back to the
    // composite, the residual still fuses); rows scaled 1-7x as above. 1,500 rows of 768 outputs:
    // 144 tiles of 64×128, split in two without the norm (splitBelow), whole with it. 300 rows of
    // 768: 30 tiles of 64×128 without the norm, 120 of 32×64 with it: both split.
    const cases = [[2050, 256, 200, 1, 1], [2050, 258, 203, 1, 0], [1500, 64, 768, 2, 1], [300, 256, 768, 2, 2]] as const;
    for (const [M, K, N, residualDispatches, normDispatches] of cases) {
      const [xs, ws, gs, rs] = [draw(M * K).map((v, i) => v * (1 + (Math.floor(i / K) % 7))), draw(N * K), draw(K), draw(M * N)];
      const x = ops.tensor(xs, [M, K], { backend: be });
      const w = ops.tensor(ws, [N, K], { backend: be });
      const g = ops.tensor(gs, [K], { backend: be });
      const r = ops.tensor(rs, [M, N], { backend: be });
      let before = be.stats().dispatches;
      const added = ops.fusedLinear(x, w, { residual: r });
      expect(be.stats().dispatches - before, `M ${M} K ${K} N ${N}: the product (or its split's sum) adds the residual`).toBe(residualDispatches);
      const composite = ops.tidy(() => ops.add(ops.linear(x, w), r));
      const sum = await added.data();
      expect(Array.from(sum)).toEqual(Array.from(await composite.data()));
      const plain = normLinear64(xs, ws, null, rs, M, N, K, 0);
      expect(maxRelErr(sum, plain), `M ${M} K ${K} N ${N}: x·Wᵀ + r against float64`).toBeLessThan(1e-4);
      before = be.stats().dispatches;
      const fused = ops.fusedLinear(x, w, { norm: { weight: g, eps: 1e-5 }, residual: r });
      if (normDispatches) expect(be.stats().dispatches - before, `M ${M} K ${K} N ${N}: norm and residual in the product (or its split's sum)`).toBe(normDispatches);
      // Held to the composite's float32 rounding against float64, as the split's test above.
      const normed = ops.tidy(() => ops.add(ops.linear(ops.rmsNorm(x, g, 1e-5), w), r));
      const want = normLinear64(xs, ws, gs, rs, M, N, K, 1e-5);
      const err = (got: ArrayLike<number>) => maxRelErr(got, want);
      const [fusedErr, compositeErr] = [err(await fused.data()), err(await normed.data())];
      expect(compositeErr, `M ${M} K ${K} N ${N}: composite against float64`).toBeLessThan(1e-4);
      expect(fusedErr, `M ${M} K ${K} N ${N}: fused against float64 (composite ${compositeErr})`).toBeLessThan(Math.max(2 * compositeErr, 1e-6));
      ops.dispose([x, w, g, r, added, composite, fused, normed]);
    }
  });

  it("a tile with no room for the rows' sums beside it (128×128×16: 32 KiB staged) falls back to the composite for the norm", async () => {
    const big = await makeBackend({ name: 'webgpu-tiled-linear-bk16', matmulTile: '128x128x16-8x8wu' });
    const rng = new ops.Rng(53);
    const draw = (n: number) => Array.from({ length: n }, () => rng.normal());
    // 17 × 16 tiles of 128 × 128: enough workgroups that the product does not split K, with the
    // norm or without (splitBelow).
    const [M, K, N] = [2050, 128, 2000];
    const [xs, ws, gs, rs] = [draw(M * K), draw(N * K), draw(K), draw(M * N)];
    const [x, w, g, r] = [ops.tensor(xs, [M, K], { backend: big }), ops.tensor(ws, [N, K], { backend: big }), ops.tensor(gs, [K], { backend: big }), ops.tensor(rs, [M, N], { backend: big })];
    const room = big.runtime.limits.maxComputeWorkgroupStorageSize;
    let before = big.stats().dispatches;
    ops.fusedLinear(x, w, { residual: r }).dispose();
    expect(big.stats().dispatches - before, 'unsplit: the product adds the residual').toBe(1);
    before = big.stats().dispatches;
    const fused = ops.fusedLinear(x, w, { norm: { weight: g, eps: 1e-5 }, residual: r });
    // 32 KiB of staged tiles plus 2 KiB of sums: more than a 32 KiB device gives one workgroup.
    if (room < 34816) expect(big.stats().dispatches - before, 'the composite: norm, product, add').toBe(3);
    const want = normLinear64(xs, ws, gs, rs, M, N, K, 1e-5);
    const got = await fused.data();
    expect(maxRelErr(got, want)).toBeLessThan(1e-4);
    ops.dispose([x, w, g, r, fused]);
    big.dispose();
  });
});

/** The largest |got - want| / (1 + |want|): float32 results against a float64 reference. */
function maxRelErr(got: ArrayLike<number>, want: readonly number[]): number {
  return want.reduce((e, v, i) => Math.max(e, Math.abs(got[i] - v) / (1 + Math.abs(v))), 0);
}

/** rmsNorm(x, g)·Wᵀ (+ r) in float64, or x·Wᵀ (+ r) with g null: x [M, K], W [N, K], g [K], r [M, N]. */
function normLinear64(x: number[], w: number[], g: number[] | null, r: number[] | null, M: number, N: number, K: number, eps: number): number[] {
  const out: number[] = [];
  for (let m = 0; m < M; m++) {
    let ss = 0;
    for (let k = 0; k < K; k++) ss += x[m * K + k] ** 2;
    const inv = g ? 1 / Math.sqrt(ss / K + eps) : 1;
    for (let n = 0; n < N; n++) {
      let acc = 0;
      for (let k = 0; k < K; k++) acc += x[m * K + k] * inv * (g ? g[k] : 1) * w[n * K + k];
      out.push(acc + (r ? r[m * N + n] : 0));
    }
  }
  return out;
}
