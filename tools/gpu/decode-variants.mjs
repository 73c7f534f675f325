#!/usr/bin/env node
// Writes .gpu/decode-variants.json for kernel-time.mjs: the decode step's kernels of the 130M
// Mamba-3 model (in_proj with the block norm, out_proj with the residual, the LM head with
// norm_f, the mixer step) generated from the built packages with the knobs each exposes (rows
// per workgroup, rows per thread, the residual loaded first, slices per head, subgroup sums, the
// state as vec4s), f32
// and bf16 weights, and the mixer step's register prefetch limit and lanes per state row; batched
// decode's tiled products and their K split's sums; prefill's products at 8192 rows. Run after
// `pnpm build`, on the development machine: `node tools/gpu/decode-variants.mjs [REGEX]`, REGEX
// keeping only the variants whose names match (all of them pass the 64 MiB a device call carries).
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mod = (p) => import(pathToFileURL(join(root, p)).href);
const { decodeGemvWgsl } = await mod('packages/backend-webgpu/dist/kernels/gemv.wgsl.js');
const { COMMON, f32Lit, loopHead } = await mod('packages/backend-webgpu/dist/codegen.js');
const { mixerStepWgsl } = await mod('packages/core/dist/kernels/webgpu/mamba3-mixer-step.wgsl.js');
const { mixerDims } = await mod('packages/core/dist/kernels/webgpu/mamba3-mixer.js');
const { mixerSections } = await mod('packages/core/dist/kernels/webgpu/mamba3-mixer.wgsl.js');
const core = await mod('packages/core/dist/index.js');
const { matmulRegTiledWgsl, runtimeDimsUniform, TILE_VARIANTS } = await mod('packages/backend-webgpu/dist/kernels/matmul-tiled.wgsl.js');
const { splitKReduceWgsl } = await mod('packages/backend-webgpu/dist/kernels/split-k.wgsl.js');

const variants = {};
const grid = (groups) => { const gx = Math.min(groups, 65535); return [gx, Math.ceil(groups / gx), 1]; };
/** A GEMV: bindings A, W (distinct per dispatch), C (distinct), then G and/or Rs. */
function gemvVariant(N, K, { norm, residual, storage = 'f32' }, rows, T, residualFirst = false, lanes = 32) {
  const code = decodeGemvWgsl({ M: 1, N, K, storage, rows, perThread: T, lanes, norm: norm ? { eps: 1e-5 } : undefined, residual: !!residual, residualFirst, subgroups: true });
  const bindings = [{ bytes: K * 4 }, { bytes: (N * K * (storage === 'f32' ? 4 : 2)), distinct: true }, { bytes: N * 4, distinct: true, rw: true }];
  if (norm) bindings.push({ bytes: K * 4 });
  if (residual) bindings.push({ bytes: N * 4 });
  return { code, bindings, grid: grid(Math.ceil(N / (rows * T))) };
}
function gemv(name, N, K, f, rows, T, residualFirst = false) {
  variants[`${name} ${f.storage ?? 'f32'} r${rows} t${T}${residualFirst ? ' rsFirst' : ''}`] = gemvVariant(N, K, f, rows, T, residualFirst);
}
const cfg = core.resolveMamba3Config({ dModel: 768, dState: 128, headdim: 64 });
const d = 768, vocab = 50280;
for (const storage of ['f32', 'bf16']) {
  for (const rows of [1, 2, 4, 8]) for (const T of [1, 2]) gemv('in_proj', cfg.dInProj, d, { norm: true, storage }, rows, T);
  for (const rows of [1, 2, 4]) for (const first of [false, true]) gemv('out_proj', d, cfg.dInner, { residual: true, storage }, rows, 1, first);
  for (const rows of [4, 8]) for (const T of [1, 2, 4]) gemv('lm_head', vocab, d, { norm: true, storage }, rows, T);
}
// The mixer step: SISO and MIMO r4, slices of P per workgroup.
const wgsl = { COMMON, f32Lit, loopHead };
for (const R of [1, 4]) {
  const c = core.resolveMamba3Config({ dModel: 768, dState: 128, headdim: 64, ...(R > 1 ? { isMimo: true, mimoRank: R } : {}) });
  const dims = mixerDims(core.mixerAttrs(c));
  const { H, P, N, A } = dims;
  const sizes = { dtBias: H, BBias: H * R * N, CBias: H * R * N, BNormWeight: N, CNormWeight: N, D: H, mimoX: R > 1 ? H * R * P : 0, mimoZ: R > 1 ? H * R * P : 0, mimoO: R > 1 ? H * R * P : 0, normWeight: 0 };
  const layout = {};
  let total = 0;
  for (const [k, n] of Object.entries(sizes)) { layout[k] = n ? total : -1; total += Math.ceil(n / 4) * 4; }
  const DIN = mixerSections(dims).DIN;
  /** The step of `b` rows at `slices` slices a head: bindings as `mamba3MixerStep` binds them. */
  const mixer = (name, b, slices, sg, tune) => {
    const state = [H * A, H * P * N, R * H * N, H * P].map((n) => n * 4 * b);
    variants[name] = {
      code: mixerStepWgsl(dims, layout, wgsl, slices, sg, tune),
      bindings: [{ bytes: DIN * 4 * b }, { bytes: total * 4, distinct: true }, ...state.map((bytes) => ({ bytes, distinct: true })), { bytes: H * P * 4 * b, distinct: true, rw: true }, ...state.map((bytes) => ({ bytes, distinct: true, rw: true }))],
      grid: [H, b, slices],
    };
  };
  for (const b of [1, 8, 32]) for (const slices of [1, 2, 4, 8, 16]) if (P % slices === 0) for (const sg of [false, true]) mixer(`mixer R${R} b${b} slices${slices}${sg ? ' sg' : ''}`, b, slices, sg);
  // The state as vec4s or scalars, with and without subgroup sums, at the slices the kernel picks.
  for (const [b, slices] of [[1, 4], [8, 2], [32, 1], [32, 2]]) for (const sg of [false, true]) for (const vec4 of [false, true]) {
    mixer(`mixv R${R} b${b} slices${slices}${sg ? ' sg' : ''}${vec4 ? ' vec4' : ' scalar'}`, b, slices, sg, { vec4 });
  }
  // Register prefetch limits and lanes per state row, at the slices the kernel picks (b1: 4, b32: 1).
  for (const [b, slices] of [[1, 4], [32, 1]]) for (const maxPrefetch of [0, 32, 64]) for (const lanes of [8, 16, 32]) {
    mixer(`mixtune R${R} b${b} slices${slices} prefetch${maxPrefetch} lanes${lanes}`, b, slices, false, { maxPrefetch, lanes });
  }
}
// Batched decode's products beyond gemvMaxRows (x·Wᵀ, K split): each tile shape at each split,
// the norm's weight applied to A as it is staged (in_proj) or not (out_proj), and the split's sum
// with the norm's 1/RMS or the residual. Extra skinny shapes beside TILE_VARIANTS' own.
const tiles = {
  ...Object.fromEntries(['32x64x16-4x4w', '32x64x16-4x4', '64x64x16-4x4w', '128x64x8-8x8'].map((n) => [n, TILE_VARIANTS[n]])),
  '32x128x16-4x8w': { BM: 32, BN: 128, BK: 16, TM: 4, TN: 8, warp: true, unroll: false },
  '32x128x16-4x4w': { BM: 32, BN: 128, BK: 16, TM: 4, TN: 4, warp: true, unroll: false },
  '32x64x32-4x4w': { BM: 32, BN: 64, BK: 32, TM: 4, TN: 4, warp: true, unroll: false },
  '32x32x16-4x4': { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4, warp: false, unroll: false },
};
const sums = new Set();
for (const [name, N, K, norm, M] of [['in_proj', cfg.dInProj, d, true, 32], ['out_proj', d, cfg.dInner, false, 32], ['in_proj', cfg.dInProj, d, true, 128]]) {
  const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  for (const [tn, v] of Object.entries(tiles)) {
    const slices = Math.ceil(K / v.BK);
    for (const per of [2, 3, 4, 6, 8, 12, 16, 24, 48].filter((x) => x <= slices)) {
      const S = Math.ceil(slices / per);
      const code = matmulRegTiledWgsl(dims, v, 'rows', S > 1 ? per : 0, norm && S > 1);
      const bindings = [{ bytes: M * K * 4 }, { bytes: N * K * 4, distinct: true }, { bytes: S * M * N * 4, distinct: true, rw: true }, { uniform: runtimeDimsUniform(dims, v, 'rows') }];
      if (norm && S > 1) bindings.push({ bytes: K * 4 });
      variants[`mm ${name} M${M} ${tn} per${per} S${S}`] = { code, bindings, grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), S] };
      const key = `${name} M${M} S${S}`;
      if (S > 1 && !sums.has(key)) {
        sums.add(key);
        const n = M * N;
        const sb = [{ bytes: S * n * 4, distinct: true }, { bytes: n * 4, distinct: true, rw: true }, ...(norm ? [{ bytes: M * K * 4 }] : [{ bytes: n * 4 }])];
        variants[`sum ${key}`] = { code: splitKReduceWgsl(n, S, !norm, norm ? { N, K, eps: 1e-5 } : undefined), bindings: sb, grid: grid(Math.ceil(n / 256)) };
      }
    }
  }
}
// Batch 32's LM head (N 50,280, K 768, unsplit: its output tiles are many): tile shapes, and the
// decode GEMV in two chunks of 16 rows (gemvMaxRows 32), rows per workgroup and per thread.
{
  const [M, N, K] = [32, vocab, d];
  const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  for (const [tn, v] of Object.entries({ ...tiles, '64x64x16-4x4w': TILE_VARIANTS['64x64x16-4x4w'], '128x128x8-8x8wu': TILE_VARIANTS['128x128x8-8x8wu'] })) {
    variants[`head M32 ${tn}`] = {
      code: matmulRegTiledWgsl(dims, v, 'rows'),
      bindings: [{ bytes: M * K * 4 }, { bytes: N * K * 4, distinct: true }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: runtimeDimsUniform(dims, v, 'rows') }],
      grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
      flops: 2 * M * N * K,
    };
  }
  for (const rows of [1, 2, 4]) for (const T of [1, 2, 4]) {
    const code = decodeGemvWgsl({ M: 16, N, K, storage: 'f32', rows, perThread: T, subgroups: true });
    const groups = Math.ceil(N / (rows * T));
    variants[`head M32 gemv16 r${rows} t${T}`] = { code, bindings: [{ bytes: M * K * 4 }, { bytes: N * K * 4, distinct: true }, { bytes: M * N * 4, distinct: true, rw: true }], grid: [...grid(groups).slice(0, 2), 2], flops: 2 * M * N * K };
  }
}
// Prefill's products (x·Wᵀ), the tenth session's sweeps (BENCHMARKS.md): in_proj and out_proj at
// 8192 rows on the tile 'auto' picks and its neighbours, to time with and without Dawn's robustness
// checks (kernel-time.mjs reads DAWN_TOGGLES), and on tiles beyond TILE_VARIANTS (`WIDE`: larger
// micro-tiles, 8x16 and 16x8 a thread, fewer workgroup-memory reads an FMA; smaller workgroups);
// then the model's epilogues, 'auto''s rules and the norm's cost, each block below.
/** Tile shapes beyond TILE_VARIANTS, by name (BMxBNxBK-TMxTN, w: warp layout, u: unrolled). */
const WIDE = Object.fromEntries(['128x128x8-8x16w', '128x128x8-8x16wu', '128x128x8-16x8wu', '128x256x8-8x16wu', '256x128x8-16x8wu', '128x256x8-8x16w', '64x128x16-8x8wu', '32x128x8-8x8wu', '64x64x8-8x8wu', '64x128x8-8x16wu', '128x128x16-8x16wu'].map((n) => {
  const [, BM, BN, BK, TM, TN] = n.match(/^(\d+)x(\d+)x(\d+)-(\d+)x(\d+)/).map(Number);
  return [n, { BM, BN, BK, TM, TN, warp: true, unroll: true }];
}));
/** x·Wᵀ on tile `tn` with `fused`'s epilogue; `scaled`: the norm weight G bound (by default with the norm). */
function prefillVariant(label, M, N, K, tn, fused = {}, scaled = fused.rowNormEps !== undefined) {
  const v = TILE_VARIANTS[tn] ?? WIDE[tn];
  const dims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  variants[label] = {
    code: matmulRegTiledWgsl(dims, v, 'rows', 0, scaled, null, fused),
    bindings: [
      { bytes: M * K * 4 }, { bytes: N * K * 4 }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: runtimeDimsUniform(dims, v, 'rows') },
      ...(scaled ? [{ bytes: K * 4 }] : []), ...(fused.residual ? [{ bytes: M * N * 4 }] : []),
    ],
    grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
    flops: 2 * M * N * K,
  };
}
for (const [name, N, K] of [['in_proj', cfg.dInProj, d], ['out_proj', d, cfg.dInner]]) {
  for (const tn of ['128x128x8-8x8wu', '128x128x16-8x8wu', '128x64x8-8x8', '64x128x8-8x8wu', '128x64x8-8x8wu', ...Object.keys(WIDE)]) prefillVariant(`prefill ${name} M8192 ${tn}`, 8192, N, K, tn);
  // fusedLinear's epilogue in the unsplit product (the block's RMSNorm: x's columns times its weight
  // as staged, each row's 1/RMS from the squares summed while fetching; the residual in the writes).
  for (const [fname, norm, residual] of [['norm', true, false], ['residual', false, true], ['norm residual', true, true]]) {
    const fused = { ...(norm ? { rowNormEps: 1e-5 } : {}), ...(residual ? { residual: true } : {}) };
    prefillVariant(`prefill ${name} M8192 128x128x8-8x8wu ${fname}`, 8192, N, K, '128x128x8-8x8wu', fused);
  }
}
// The model's products with their epilogues (in_proj with the norm, out_proj with the residual)
// on the current tile and on its smaller-tile neighbours, at 512, 2048 and 8192 rows.
for (const [name, N, K, fused] of [['m3 in_proj', cfg.dInProj, d, { rowNormEps: 1e-5 }], ['out_proj', d, cfg.dInner, { residual: true }], ['m1 in_proj', 4 * d, d, { rowNormEps: 1e-5 }], ['m2 in_proj', 2 * 2 * d + 2 * 128 + 24, d, { rowNormEps: 1e-5 }]]) {
  for (const M of [512, 2048, 8192]) for (const tn of ['128x128x8-8x8wu', '64x128x8-8x8wu', '64x128x16-8x8wu', '32x128x8-8x8wu', '64x64x8-8x8wu', '128x64x8-8x8wu', '64x128x8-8x16wu']) {
    prefillVariant(`wide ${name} M${M} ${tn}`, M, N, K, tn, fused);
  }
}
// 'auto''s rule for x·Wᵀ without a fused norm (64×128 tiles from 132 workgroups on): out_proj with
// the residual, plain in_proj and Mamba-1's dt_proj (K 48) on the tiles 'auto' took before and on
// 64×128 and 128×64, at 512 to 8192 rows.
for (const [name, N, K, fused] of [['out_proj residual', d, cfg.dInner, { residual: true }], ['m3 in_proj plain', cfg.dInProj, d, {}], ['m1 dt_proj plain', 2 * d, 48, {}]]) {
  for (const M of [512, 1024, 2048, 4096, 8192]) for (const tn of ['128x128x8-8x8wu', '128x64x8-8x8', '64x64x16-4x4w', '32x64x16-4x4w', '64x128x8-8x8wu', '128x64x8-8x8wu']) {
    prefillVariant(`rule ${name} M${M} ${tn}`, M, N, K, tn, fused);
  }
}
// The norm fused on 128×64 tiles (128 rows a workgroup, as 128×128) beside 128×128 and 64×128.
for (const [name, N] of [['m3 in_proj', cfg.dInProj], ['m1 in_proj', 4 * d], ['m2 in_proj', 2 * 2 * d + 2 * 128 + 24]]) {
  for (const M of [2048, 8192]) for (const tn of ['128x128x8-8x8wu', '64x128x8-8x8wu', '128x64x8-8x8wu']) {
    prefillVariant(`norm2 ${name} M${M} ${tn}`, M, N, d, tn, { rowNormEps: 1e-5 });
  }
}
// What the norm costs the 64×128 tile: in_proj at 8192 rows plain, with x's columns scaled by the
// norm weight only ('scale'), with the rows' squares summed only (the norm with the weight's
// product removed from the generated code: 'squares'), and with both ('norm'); 128×128 beside it.
for (const tn of ['64x128x8-8x8wu', '128x128x8-8x8wu']) {
  const [M, N, K] = [8192, cfg.dInProj, d];
  prefillVariant(`normcost ${tn} plain`, M, N, K, tn);
  prefillVariant(`normcost ${tn} scale`, M, N, K, tn, {}, true);
  prefillVariant(`normcost ${tn} norm`, M, N, K, tn, { rowNormEps: 1e-5 });
  const norm = variants[`normcost ${tn} norm`];
  const squares = norm.code.replace(/ \* G\[[^\]]*\]/g, '');
  if (squares === norm.code) throw new Error('normcost: no weight product found to remove');
  // G unused: its declaration and binding go ('auto' layouts drop unused bindings).
  variants[`normcost ${tn} squares`] = { ...norm, code: squares.replace(/@group\(0\) @binding\(4\) var<storage, read> G[^\n]*\n/, ''), bindings: norm.bindings.slice(0, 4) };
}
// The norm's weight on W's columns (weightOnB) against on x's, on the three families' in_proj
// shapes at 512 to 8192 rows.
for (const [name, N] of [['m3 in_proj', cfg.dInProj], ['m1 in_proj', 4 * d], ['m2 in_proj', 2 * 2 * d + 2 * 128 + 24]]) {
  for (const M of [512, 1024, 2048, 8192]) for (const tn of ['128x128x8-8x8wu', '64x128x8-8x8wu', '32x64x16-4x4w']) for (const onB of [false, true]) {
    if (tn === '32x64x16-4x4w' && M > 1024) continue;
    prefillVariant(`normB ${name} M${M} ${tn}${onB ? ' onB' : ''}`, M, N, d, tn, { rowNormEps: 1e-5, weightOnB: onB });
  }
}
// The fused norm against K, N and M (its cost follows the grid?): x·Wᵀ on 128x128x8-8x8wu, plain
// and with the norm, at 8192 rows with N 3,432 or 768 and K 768, 1,536 or 2,048; and in_proj's
// shape (N 3,432, K 768) at 512, 1,024 and 2,048 rows.
{
  const shapes = [...[3432, 768].flatMap((N) => [768, 1536, 2048].map((K) => [8192, N, K])), ...[512, 1024, 2048].map((M) => [M, 3432, 768])];
  // 'scale': x's columns times a weight as staged, without the row norm (which of the two costs or pays?).
  for (const [M, N, K] of shapes) for (const mode of ['', ' scale', ' norm']) {
    prefillVariant(`normK${M === 8192 ? '' : ` M${M}`} N${N} K${K}${mode}`, M, N, K, '128x128x8-8x8wu', mode === ' norm' ? { rowNormEps: 1e-5 } : {}, mode !== '');
  }
}
// The chunked scan's state hand-off at 8192 tokens (SISO: 128 chunks; MIMO r4: 512), 8, 16 or 32
// chunks' loads issued before their stores (statePassTiledWgsl's unroll).
{
  const { statePassTiledWgsl } = await mod('packages/core/dist/kernels/webgpu/mamba3-scan-tiled.wgsl.js');
  const { scanDimValues } = await mod('packages/core/dist/kernels/webgpu/mamba3-scan.wgsl.js');
  const w = { COMMON, f32Lit, loopHead };
  const [H, P, N, L] = [24, 64, 128, 8192];
  for (const [name, R, T] of [['siso', 1, 64], ['mimo4', 4, 16]]) {
    const nc = L / T;
    for (const unroll of [8, 16, 32]) {
      variants[`statepass ${name} u${unroll}`] = {
        code: statePassTiledWgsl(false, false, w, unroll),
        bindings: [{ bytes: H * nc * 4 }, { bytes: H * nc * P * N * 4, distinct: true, rw: true }, { bytes: H * P * N * 4, rw: true }, { uniform: scanDimValues({ b: 1, L, R, H, P, N, T, nc }) }],
        grid: [Math.ceil((P * N) / 4 / 64), H, 1],
      };
    }
  }
  // Mamba-1's (E 1,536 channels, N 16; 256 chunks of 32): 1 chunk at a time (the kernel before) or 16.
  const { m1StatePassWgsl } = await mod('packages/core/dist/kernels/webgpu/family-scans.wgsl.js');
  const [E, N1, T1] = [1536, 16, 32];
  const nc1 = L / T1;
  for (const unroll of [1, 16]) {
    variants[`statepass m1 u${unroll}`] = {
      code: m1StatePassWgsl(unroll),
      bindings: [{ bytes: E * N1 * 4 }, { bytes: nc1 * E * 4 }, { bytes: E * N1 * 4 }, { bytes: nc1 * E * N1 * 4, distinct: true, rw: true }, { bytes: E * N1 * 4, rw: true }, { uniform: [L, E, N1, T1, nc1, 0, 0, 0] }],
      grid: [Math.ceil((E * N1) / 256), 1, 1],
    };
  }
}
// Batch 1's GEMVs of the three families' 130M shapes at 32, 64 and 128 lanes an output row
// (gemvLanes), rows per workgroup and per thread as gemvShape picks them. Mamba-1's x_proj
// (80 outputs of K 1,536) and the 768-wide out_proj are the narrow ones.
{
  const { gemvShape } = await mod('packages/backend-webgpu/dist/kernels/gemv.js');
  const { weightsPerLoad } = await mod('packages/backend-webgpu/dist/kernels/gemv.wgsl.js');
  const shapes = [
    ['m3 in_proj', cfg.dInProj, d, { norm: true }],
    ['out_proj', d, 2 * d, { residual: true }],
    ['m2 out_proj', d, 2 * d, { norm: true, residual: true }],
    ['m1 in_proj', 4 * d, d, { norm: true }],
    ['m1 x_proj', 48 + 2 * 16, 2 * d, {}],
    ['m2 in_proj', 2 * 2 * d + 2 * 128 + 24, d, { norm: true }],
    ['lm_head', vocab, d, { norm: true }],
  ];
  for (const storage of ['f32', 'bf16']) for (const [name, N, K, f] of shapes) for (const lanes of [32, 64, 128]) {
    const sh = gemvShape(1, N, K / weightsPerLoad(storage), 2, lanes);
    variants[`lanes ${name} ${storage} l${lanes} r${sh.rows} t${sh.perThread}`] = gemvVariant(N, K, { ...f, storage }, sh.rows, sh.perThread, sh.residualFirst, lanes);
  }
}
const file = join(root, '.gpu', 'decode-variants.json');
const keep = process.argv[2] ? new RegExp(process.argv[2]) : null;
const kept = keep ? Object.fromEntries(Object.entries(variants).filter(([name]) => keep.test(name))) : variants;
writeFileSync(file, JSON.stringify(kept));
console.log(`wrote ${Object.keys(kept).length} of ${Object.keys(variants).length} variants to ${file}`);
