import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { MATMUL_TILE_VARIANTS } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';
import { pickVariant } from '../src/kernels/matmul.js';
import { variantName } from '../src/kernels/matmul-tiled.wgsl.js';

/** [batch of A, batch of B, M, K, N, transA, transB]: batch dims broadcast like numpy. */
type Case = readonly [readonly number[], readonly number[], number, number, number, boolean, boolean];

/**
 * Ragged and aligned sizes (vec4 reads on and off for each operand), every transpose, K shorter
 * than one k-step and many k-steps (the double buffer), and batched products with broadcast.
 * Unbatched plain-A x Wᵀ products need M > 16 (fewer rows take the decode GEMV: gemvMaxRows).
 */
const CASES: readonly Case[] = [
  [[], [], 130, 20, 129, false, false],
  [[], [], 129, 17, 131, true, true],
  [[], [], 133, 5, 70, false, true],
  [[], [], 67, 100, 72, true, false],
  [[], [], 200, 48, 132, false, true],
  [[], [], 68, 64, 36, true, true],
  [[], [], 9, 37, 67, false, false],
  [[2, 3], [3], 37, 24, 20, false, true],
  [[1], [2], 16, 33, 12, true, false],
  [[3], [1], 70, 8, 65, false, false],
];

/** Each case on `backend` against a float64 product of the same random values. */
async function expectProductsMatch(backend: WebGPUBackend, rng: ops.Rng, label: string, cases: readonly Case[] = CASES): Promise<void> {
  for (const [ba, bb, M, K, N, transA, transB] of cases) {
    const sa = [...ba, ...(transA ? [K, M] : [M, K])];
    const sb = [...bb, ...(transB ? [N, K] : [K, N])];
    const av = Array.from({ length: ops.sizeOf(sa) }, () => rng.normal());
    const bv = Array.from({ length: ops.sizeOf(sb) }, () => rng.normal());
    const a = ops.tensor(av, sa, { backend });
    const b = ops.tensor(bv, sb, { backend });
    const c = ops.matmul(a, b, { transposeA: transA, transposeB: transB });
    const got = await c.data();
    const batch = c.shape.slice(0, -2);
    const nb = ops.sizeOf(batch);
    // Broadcast index of each operand's batch for output batch z (row-major, size-1 dims repeat).
    const pick = (own: readonly number[], z: number) => {
      let idx = 0;
      let stride = 1;
      let rem = z;
      for (let d = batch.length - 1; d >= 0; d--) {
        const c0 = rem % batch[d];
        rem = Math.floor(rem / batch[d]);
        const od = d - (batch.length - own.length);
        if (od >= 0) {
          if (own[od] !== 1) idx += c0 * stride;
          stride *= own[od];
        }
      }
      return idx;
    };
    const tag = `${label} A${JSON.stringify(sa)}${transA ? 'ᵀ' : ''} B${JSON.stringify(sb)}${transB ? 'ᵀ' : ''}`;
    for (let z = 0; z < nb; z++) {
      const oa = pick(ba, z) * M * K;
      const ob = pick(bb, z) * K * N;
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let want = 0;
          for (let k = 0; k < K; k++) want += av[oa + (transA ? k * M + m : m * K + k)] * bv[ob + (transB ? n * K + k : k * N + n)];
          const diff = Math.abs(got[(z * M + m) * N + n] - want);
          if (!(diff < 1e-5 * Math.sqrt(K) + 1e-4 * Math.abs(want))) expect.fail(`${tag} [${z}, ${m}, ${n}]: got ${got[(z * M + m) * N + n]}, want ${want}`);
        }
      }
    }
    ops.dispose([a, b, c]);
  }
}

describe.skipIf(SKIP_WEBGPU)(`register-tiled matmul against float64 ${SKIP_WEBGPU ? SKIP_REASON : ''}`, () => {
  // Each forced variant on a subset (lavapipe compiles every pipeline, 1-3 s each): ragged edges,
  // both transposes aligned, batched with broadcast; the warp layout and unrolled twins (the same
  // code but for the invocation layout, the k loop) on one of the first two, taking turns. The
  // variants 'auto' picks also run every case below.
  const core = [0, 5, 7].map((i) => CASES[i]);
  let twin = 0;
  for (const [name, v] of Object.entries(MATMUL_TILE_VARIANTS)) {
    const cases = v.unroll || v.warp ? [core[twin++ % 2]] : core;
    it(`tile variant ${name}, forced: ${v.unroll || v.warp ? (cases[0] === core[0] ? 'ragged edges' : 'transposes') : 'ragged edges, transposes, batches with broadcast'}`, async () => {
      const be = await makeBackend({ name: `webgpu-${name}`, matmulTile: name });
      try {
        await expectProductsMatch(be, new ops.Rng(5), name, cases);
        expect(be.stats().pipelines, name).toBeGreaterThan(0);
      } finally {
        be.dispose();
      }
    });
  }

  describe("'auto' (the default)", () => {
    let be: WebGPUBackend;
    beforeAll(async () => {
      be = await makeBackend({ name: 'webgpu-auto' });
    });
    afterAll(() => be?.dispose());
    CASES.forEach((c, i) => {
      it(`case ${i}: A${JSON.stringify(c[0])} B${JSON.stringify(c[1])} M${c[2]} K${c[3]} N${c[4]}${c[5] ? ' transA' : ''}${c[6] ? ' transB' : ''}`, async () => {
        await expectProductsMatch(be, new ops.Rng(6 + i), 'auto', [c]);
      });
    });
  });

  it('thin products split K over workgroups and sum the parts (batched-decode rows through the tiled kernel)', async () => {
    // gemvMaxRows 0: every x·Wᵀ takes the tiled kernel; these give a handful of output tiles, so K
    // is split (ragged K, a plain and a transposed A included).
    const be = await makeBackend({ name: 'webgpu-no-gemv', gemvMaxRows: 0 });
    try {
      const thin: Case[] = [
        [[], [], 32, 300, 100, false, true],
        [[], [], 8, 301, 70, false, true],
        [[], [], 40, 256, 36, true, false],
      ];
      const before = be.stats().dispatches;
      await expectProductsMatch(be, new ops.Rng(9), 'split K', [thin[0]]);
      // The partial products, then their sum: two dispatches for one matmul.
      expect(be.stats().dispatches - before).toBe(2);
      await expectProductsMatch(be, new ops.Rng(10), 'split K', thin.slice(1));
      // 128 rows: 32×64 tiles would give 16 workgroups unsplit (K 100 is too short to split them)
      // and read the weight four times; the thin rule takes 128×64 tiles once over the rows and
      // splits K instead: two dispatches.
      const tall = be.stats().dispatches;
      await expectProductsMatch(be, new ops.Rng(11), 'thin, 128 rows', [[[], [], 128, 100, 256, false, true]]);
      expect(be.stats().dispatches - tall).toBe(2);
    } finally {
      be.dispose();
    }
    await expect(makeBackend({ gemvMaxRows: -1 })).rejects.toThrow(/gemvMaxRows must be a whole number of rows \(0 or more\), got -1/);
  });

  it('an unknown matmulTile is a clear error at creation', async () => {
    await expect(makeBackend({ matmulTile: '96x96x8-6x6' })).rejects.toThrow(UnsupportedError);
    await expect(makeBackend({ matmulTile: '96x96x8-6x6' })).rejects.toThrow(/matmulTile '96x96x8-6x6' is not a tile variant; use 'auto', 'legacy', 64, 128 or one of 128x128x8-8x8/);
  });
});

describe("'auto''s tile for x·Wᵀ (the rule, no device)", () => {
  // 32 KiB of workgroup memory: what the backend requests (every adapter offers it; the default limit is half).
  const rt = { limits: { maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupStorageSize: 32768 } as GPUSupportedLimits, matmulTile: 'auto' as const, splitKWorkgroups: 528 };
  const xwt = (M: number, N: number, K: number) => ({ M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] });
  const pick = (M: number, N: number, K: number, rowNorm: boolean, nBatch = 1) => variantName(pickVariant(rt, xwt(M, N, K), nBatch, rowNorm));

  it('prefill rows: 64×128 where it costs less by whole waves or by the busiest SM, else 128×128 (the timed choices)', () => {
    // out_proj (N 768, K 1,536) with its residual: 64×128 at 2048 and 8192 rows.
    expect(pick(8192, 768, 1536, false)).toBe('64x128x8-8x8wu');
    expect(pick(2048, 768, 1536, false)).toBe('64x128x8-8x8wu');
    // Mamba-3's in_proj (N 3,432) with the norm: 64×128 at 512 rows (216 workgroups, one wave),
    // 128×128 at 1,024 (432 workgroups of 64×128 would take two waves of 396).
    expect(pick(512, 3432, 768, true)).toBe('64x128x8-8x8wu');
    expect(pick(1024, 3432, 768, true)).toBe('128x128x8-8x8wu');
    // Mamba-1's (N 3,072): 384 workgroups of 64×128 at 1,024 rows fill one wave.
    expect(pick(1024, 3072, 768, true)).toBe('64x128x8-8x8wu');
    expect(pick(2048, 3072, 768, true)).toBe('64x128x8-8x8wu');
    // At 8192 rows: 64×128 for Mamba-3's (9 waves of 396 against 7 of 264); a tie for Mamba-1's
    // (8 waves against 6) goes to 128×128, which timed 3% ahead.
    expect(pick(8192, 3432, 768, true)).toBe('64x128x8-8x8wu');
    expect(pick(8192, 3072, 768, true)).toBe('128x128x8-8x8wu');
    // Where the counts disagree: at 2,048 rows 864 workgroups of 64×128 take three waves of 396
    // (432 of 128×128 two of 264), but the busiest SM gets 7 of them (8,192 outputs each) against
    // 4 of 128×128 (16,384 each): 64×128, which timed 8% ahead (277 against 301 µs on an H200).
    expect(pick(2048, 3432, 768, true)).toBe('64x128x8-8x8wu');
    expect(pick(2048, 3352, 768, true)).toBe('64x128x8-8x8wu');
    // Mamba-1's at 2,560 rows: the waves favour 128×128 and the busiest SM ties (302 against 305 µs).
    expect(pick(2560, 3072, 768, true)).toBe('128x128x8-8x8wu');
  });

  it('too few tiles for a wave: 64×128 with its K split without the norm, a smaller tile unsplit with it', () => {
    // out_proj (N 768, K 1,536) at 512-1,280 rows: 48-120 tiles of 64×128, split (tiling).
    for (const M of [512, 1024, 1280]) expect(pick(M, 768, 1536, false)).toBe('64x128x8-8x8wu');
    expect(pick(1024, 768, 1536, true)).toBe('64x64x16-4x4w');
    // K too short to split (Mamba-1's dt_proj, K 48: 6 slices): the smaller tiles as before.
    expect(pick(512, 1536, 48, false)).toBe('32x64x16-4x4w');
  });

  it("thin rows (batched decode) keep the rule of before: the norm and the residual do not change them", () => {
    for (const [M, N] of [[32, 768], [128, 768], [128, 50280], [64, 3432]]) expect(pick(M, N, 1536, false)).toBe(pick(M, N, 1536, true));
    // Batch 128's head (N 50,280): 128×128 tiles, unsplit, as before.
    expect(pick(128, 50280, 768, true)).toBe('128x128x8-8x8wu');
  });
});
