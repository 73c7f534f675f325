import type { KernelTensor, Shape } from '@mamba3/tensor';
import { sizeOf, UnsupportedError } from '@mamba3/tensor';
import { broadcastStrides, collapse } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { MatmulTile } from '../options.js';
import type { MatmulDims } from './matmul.wgsl.js';
import { gemvTransBWgsl, gemvWgsl, matmulTiled128Wgsl, matmulTiledWgsl, TILE, toF16Wgsl, withF16B } from './matmul.wgsl.js';
import { splitKReduceWgsl } from './split-k.wgsl.js';
import { decodeGemv, gemvTakesRows } from './gemv.js';
import type { GemvEpilogue } from './gemv.wgsl.js';
import { epiloguePassThreads, epiloguePassWgsl, WG_EPILOGUE } from './gemv.wgsl.js';
import type { TileVariant } from './matmul-tiled.wgsl.js';
import type { RuntimeDims } from './matmul-tiled.wgsl.js';
import type { HalfKind } from './half.wgsl.js';
import { matmulRegTiledWgsl, rowNormSharedBytes, runtimeDimsUniform, sharedBytesOf, threadsOf, TILE_VARIANTS, variantName, vec4Reads } from './matmul-tiled.wgsl.js';
import { buf } from './util.js';

/** Throws on a `matmulTile` option that names no kernel (checked before a device is made). */
export function checkMatmulTile(tile: MatmulTile | undefined): void {
  if (tile === undefined || tile === 'auto' || tile === 'legacy' || tile === 64 || tile === 128 || TILE_VARIANTS[tile]) return;
  throw new UnsupportedError(`webgpu: matmulTile '${tile}' is not a tile variant; use 'auto', 'legacy', 64, 128 or one of ${Object.keys(TILE_VARIANTS).join(', ')}`);
}

/** Batched matmul with broadcast batch dims; small M against a [N, K] weight takes the GEMV kernel. */
export function matmul(rt: Runtime, a: KernelTensor, b: KernelTensor, transA: boolean, transB: boolean, outShape: Shape): GPUStorage {
  if (a.dtype !== 'float32') {
    throw new UnsupportedError(`webgpu matmul: ${a.dtype} operands are not supported (the kernels multiply float32); cast a ${JSON.stringify(a.shape)} and b ${JSON.stringify(b.shape)} to float32`);
  }
  const r = outShape.length;
  const M = outShape[r - 2];
  const N = outShape[r - 1];
  const K = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  // x·Wᵀ for up to gemvMaxRows rows (default 16) against a 2-D weight (decode, small batches):
  // the bandwidth-bound GEMV of gemv.ts. More rows take the tiled kernel with K split (regTiled).
  // The opt-in shader-f16 path keeps its own kernels below.
  if (transB && !transA && b.shape.length === 2 && !rt.f16 && K > 0 && N > 0 && a.size / K <= rt.gemvMaxRows) {
    const out = decodeGemv(rt, a, b, a.size / K);
    if (out) return out;
  }
  const out = rt.alloc('matmul', sizeOf(outShape) * 4, a.dtype);
  const batch = outShape.slice(0, -2);
  const nBatch = sizeOf(batch);
  if (sizeOf(outShape) === 0) return out;
  if (K === 0) {
    rt.clear(out.buffer, sizeOf(outShape) * 4);
    return out;
  }
  // Per-batch element strides of A, B and C (0 along broadcast dims).
  const matStride = (x: KernelTensor) => x.shape[x.shape.length - 1] * x.shape[x.shape.length - 2];
  const bs = (x: KernelTensor) => broadcastStrides(x.shape.slice(0, -2), batch).map((s) => s * matStride(x));
  const cStrides = broadcastStrides(batch, batch).map((s) => s * M * N);
  const { shape: batchShape, strides: batchStrides } = collapse(batch, [bs(a), bs(b), cStrides]);
  const d: MatmulDims = { M, N, K, transA, transB, batchShape, batchStrides };
  const maxZ = rt.limits.maxComputeWorkgroupsPerDimension;
  if (nBatch > maxZ) throw new UnsupportedError(`webgpu matmul: ${nBatch} batch matrices exceed the ${maxZ} workgroups a grid dimension allows (maxComputeWorkgroupsPerDimension)`);
  // Opt-in f16 weights: a B operand used again (a weight, not an activation) is read from its
  // cached f16 copy; `h` marks the kernel variant.
  const half = rt.f16 && batch.length === 0 ? f16Copy(rt, b) : null;
  // Taken where a kernel binds it: a 16-bit B's float32 copy is an unpack dispatch (regTiled reads it packed).
  const B = () => half ?? buf(b);
  const h = half ? 'h/' : '';
  const f = (code: () => string) => (half ? () => withF16B(code()) : code);
  const key = `${h}${M}/${N}/${K}/${+transA}${+transB}/${batchShape}/${batchStrides.join(';')}`;
  if (M <= 4 && transB) {
    const sg = rt.subgroupReduce;
    const [x, y] = rt.grid(Math.ceil(N / 8));
    const vec4 = !half && !transA && K % 4 === 0;
    rt.dispatch(`gemvT/${sg ? 'sg/' : ''}${+vec4}/${key}`, f(() => gemvTransBWgsl(d, sg, { vec4 })), [buf(a), B(), out.buffer], [x, y, nBatch]);
  } else if (M <= 4 && batch.length === 0) {
    gemv(rt, d, buf(a), B(), out, h, f);
  } else if (half || typeof rt.matmulTile === 'number' || rt.matmulTile === 'legacy') {
    legacyTiled(rt, d, buf(a), B(), out, h, f);
  } else {
    regTiled(rt, d, buf(a), operandB(d, b), out, nBatch);
  }
  return out;
}

/** The tile shape of the register-tiled kernel for `d`, and its K split: BK slices per split (0: none) and splits. */
function tiling(rt: Runtime, d: MatmulDims, nBatch: number, rowNorm = false): { v: TileVariant; grid: [number, number]; per: number; S: number } {
  const v = pickVariant(rt, d, nBatch, rowNorm);
  const grid: [number, number] = [Math.ceil(d.N / v.BN), Math.ceil(d.M / v.BM)];
  const per = d.batchShape.length === 0 ? splitK(grid[0] * grid[1], Math.ceil(d.K / v.BK), rt.splitKWorkgroups, splitBelow(d, nBatch, rowNorm)) : 0;
  return { v, grid, per, S: per ? Math.ceil(Math.ceil(d.K / v.BK) / per) : 1 };
}

/**
 * fusedLinear's norm and residual: applied by a K split's sum (see `SplitKNorm`), or unsplit by
 * the product itself (`TiledEpilogue`).
 */
interface LinearEpilogue {
  residual?: GPUBuffer;
  /** The RMSNorm's weight (the product scales A's columns by it) and eps; A's rows give the RMS. */
  norm?: { g: GPUBuffer; eps: number };
}

/**
 * B's buffer for the register-tiled kernel: a 16-bit weight's packed pairs where the kernel can
 * read them (unbatched, vec4 reads along B's contiguous axis), with their kind; else `buf(b)` (a
 * 16-bit B's float32 copy for the op). Batched decode's products then stream half the weight
 * bytes and skip an unpack dispatch per weight.
 */
function operandB(d: MatmulDims, b: KernelTensor): { buffer: GPUBuffer; half: HalfKind | null } {
  const s = b.storage as GPUStorage;
  if (s.half && d.batchShape.length === 0 && vec4Reads(d).b) return { buffer: s.own, half: s.half.kind };
  return { buffer: buf(b), half: null };
}

/**
 * The register-tiled kernel, K split over workgroup_id.z for thin unbatched products (see
 * `splitK`). An `epilogue` (unbatched only) is applied by the split's sum, or without a split by
 * the product's own writes (its norm needs K a multiple of 4: `tiledLinear` checks).
 */
function regTiled(rt: Runtime, d: MatmulDims, a: GPUBuffer, bOp: { buffer: GPUBuffer; half: HalfKind | null }, out: GPUStorage, nBatch: number, epilogue: LinearEpilogue = {}, t = tiling(rt, d, nBatch)): void {
  const b = bOp.buffer;
  const halfB = bOp.half;
  const { M, N, K, transA, transB } = d;
  const { v, grid, per, S } = t;
  const { residual, norm } = epilogue;
  const mode: RuntimeDims = d.batchShape.length === 0 ? 'rows' : 'all';
  const vr = vec4Reads(d);
  const sizes = mode === 'rows' ? `${N}/${K}${per ? `/s${per}` : ''}` : `b${d.batchShape.length}`;
  const key = `mmreg/${variantName(v)}/${sizes}/${+transA}${+transB}/${+vr.a}${+vr.b}${+vr.c}${norm ? '/g' : ''}${halfB ? `/${halfB}` : ''}`;
  const uniform = rt.uniform(runtimeDimsUniform(d, v, mode));
  if (S === 1) {
    // The norm's weight on W's columns for prefill-sized products (see WAVE_TILES), on x's for thin ones.
    const weightOnB = prefillSized(d, nBatch);
    const fused = { ...(norm ? { rowNormEps: norm.eps, weightOnB } : {}), ...(residual ? { residual: true } : {}) };
    const fusedKey = `${norm ? `/n${norm.eps}${weightOnB ? '/wB' : ''}` : ''}${residual ? '/r' : ''}`;
    const extra = [...(norm ? [norm.g] : []), ...(residual ? [residual] : [])];
    rt.dispatch(key + fusedKey, () => matmulRegTiledWgsl(d, v, mode, 0, !!norm, halfB, fused), [a, b, out.buffer, uniform, ...extra], [grid[0], grid[1], nBatch]);
    return;
  }
  const part = rt.alloc('matmul', S * M * N * 4, 'float32');
  rt.dispatch(key, () => matmulRegTiledWgsl(d, v, mode, per, !!norm, halfB), [a, b, part.buffer, uniform, ...(norm ? [norm.g] : [])], [grid[0], grid[1], S]);
  const n = M * N;
  const sumNorm = norm ? { N, K, eps: norm.eps } : undefined;
  const sg = rt.subgroupReduce;
  const sumKey = `splitK/${n}/${S}${residual ? '/r' : ''}${sumNorm ? `/n${N}/${K}/${sumNorm.eps}${sg ? '/sg' : ''}` : ''}`;
  const sumBuffers = [part.buffer, out.buffer, ...(residual ? [residual] : []), ...(norm ? [a] : [])];
  rt.dispatch(sumKey, () => splitKReduceWgsl(n, S, !!residual, sumNorm, sg), sumBuffers, rt.grid(Math.ceil(n / 256)));
  rt.release(part);
}

/**
 * Tiles below which a product splits K: one per SM (AUTO_MIN_WORKGROUPS); for a prefill-sized
 * product without a fused norm, also where a second round of tiles would fill under three
 * quarters of the SMs (fewer than 231), the busiest SMs working on while the rest idle. The
 * model's prefill on an H200 (BENCHMARKS issue 16, twentieth session), out_proj (N 768) on 64×128
 * tiles split at 144-216 tiles (1,536-2,304 tokens): GPU time 7-8% less at 1,536 and 1,792 tokens,
 * 2.6-6% at 2,048 and 2,304; at 240 (2,560) 1.1-1.3% more. With the norm, in_proj at 512 rows
 * (192-216 tiles) split took up to 8.5% more, so it keeps one per SM.
 */
function splitBelow(d: MatmulDims, nBatch: number, rowNorm: boolean): number {
  return prefillSized(d, nBatch) && !rowNorm ? AUTO_MIN_WORKGROUPS + Math.ceil(0.75 * AUTO_MIN_WORKGROUPS) : AUTO_MIN_WORKGROUPS;
}

/** Fewest BK slices a K split keeps (each split pays a prologue load and a partial write). */
const MIN_SPLIT_SLICES = 4;

/**
 * Slices per K split for a product of `groups` output tiles and `slices` BK slices, or 0 for no
 * split: enough splits for `target` workgroups (`splitKWorkgroups`: a few resident per SM, so
 * their loads overlap) when the tiles alone give fewer than `below` (`splitBelow`), each taking a
 * power of two of slices (rounded up: fewer splits). On an H200 (kernel-time.mjs, batch 32's
 * in_proj, 32×64 tiles of BK 16) 4, 8 and 16 slices a split took 15.5-15.7 µs where 6 and 12 took
 * 18.4; batch 128's on 128×64 tiles 33.5 µs at 16 against 39.9 at 6 and 40.5 at 12.
 */
function splitK(groups: number, slices: number, target: number, below = AUTO_MIN_WORKGROUPS): number {
  if (groups >= below) return 0;
  const S = Math.min(Math.ceil(target / groups), Math.floor(slices / MIN_SPLIT_SLICES));
  if (S < 2) return 0;
  const per = 2 ** Math.ceil(Math.log2(Math.ceil(slices / S)));
  return per < slices ? per : 0;
}

/**
 * rmsNorm(x)·Wᵀ + residual as one GEMV for decode-sized inputs (float32, W [N, K], up to
 * gemvMaxRows rows, and up to 4 whatever it is); null otherwise (the op layer runs the composite).
 */
export function fusedLinear(rt: Runtime, x: KernelTensor, w: KernelTensor, g: KernelTensor | null, eps: number, r: KernelTensor | null): GPUStorage | null {
  const K = w.shape[1];
  const N = w.shape[0];
  const M = x.size / K;
  if (x.dtype !== 'float32' || M < 1 || N === 0 || K === 0) return null;
  if (!gemvTakesRows(rt, M)) return tiledLinear(rt, x, w, g, eps, r, M, N, K);
  if (!rt.f16) {
    const out = decodeGemv(rt, x, w, M, { ...(g ? { g, eps } : {}), ...(r ? { r } : {}) });
    if (out || M > 4) return out;
  }
  const out = rt.alloc('fusedLinear', M * N * 4, 'float32');
  const d: MatmulDims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  const half = rt.f16 ? f16Copy(rt, w) : null;
  const h = half ? 'h/' : '';
  const sg = rt.subgroupReduce;
  const fuse = { ...(g ? { norm: { eps } } : {}), residual: !!r, vec4: !half && K % 4 === 0 };
  const code = () => gemvTransBWgsl(d, sg, fuse);
  const [gx, gy] = rt.grid(Math.ceil(N / 8));
  const key = `gemvT/fused/${+!!g}${+!!r}/${g ? eps : ''}/${sg ? 'sg/' : ''}${h}${M}/${N}/${K}`;
  const buffers = [buf(x), half ?? buf(w), out.buffer, ...(g ? [buf(g)] : []), ...(r ? [buf(r)] : [])];
  rt.dispatch(key, half ? () => withF16B(code()) : code, buffers, [gx, gy, 1]);
  return out;
}

/**
 * x·Wᵀ (rmsNorm(x)·Wᵀ with `norm`) with a fused op's epilogue on each output (`GemvEpilogue`):
 * inside the decode GEMV up to gemvMaxRows rows; for more, fusedLinear's tiled product (with the
 * norm only: it serves fused forms) and then the epilogue in a pass of its own over the outputs.
 * Null where neither applies (the fused op then runs its composite).
 */
export function linearWithEpilogue(rt: Runtime, x: KernelTensor, w: KernelTensor, epilogue: GemvEpilogue, norm?: { g: KernelTensor; eps: number }): GPUStorage | null {
  const [N, K] = w.shape;
  const M = w.shape.length === 2 && K > 0 ? x.size / K : 0;
  if (rt.f16 || x.dtype !== 'float32' || !Number.isInteger(M) || M < 1) return null;
  if (gemvTakesRows(rt, M)) return decodeGemv(rt, x, w, M, { epilogue, ...(norm ? { g: norm.g, eps: norm.eps } : {}) });
  const out = norm ? tiledLinear(rt, x, w, norm.g, norm.eps, null, M, N, K) : null;
  if (!out) return null;
  const [gx, gy] = rt.grid(Math.ceil(epiloguePassThreads(M, N) / WG_EPILOGUE));
  rt.dispatch(`epiloguePass/${epilogue.key}/${M}/${N}`, () => epiloguePassWgsl(epilogue, M, N), [out.buffer, ...epilogue.buffers], [gx, gy, 1]);
  return out;
}

/**
 * rmsNorm(x)·Wᵀ and/or + residual for more rows than the GEMV takes (batched decode's in_proj and
 * out_proj, prefill's) on the register-tiled kernel: the product stages x's columns times the
 * norm weight, and each row's 1/RMS and the residual are applied by the K split's sum when the
 * product splits (thin products), else by the product's own writes (it fetches its rows' whole
 * K, summing their squares as it goes). One or two dispatches where the composite takes three or
 * four (norm, product, add). Null otherwise (neither fusion, the f16 or legacy kernels, or a norm
 * with K not a multiple of 4 unsplit): the op layer runs the composite.
 */
function tiledLinear(rt: Runtime, x: KernelTensor, w: KernelTensor, g: KernelTensor | null, eps: number, r: KernelTensor | null, M: number, N: number, K: number): GPUStorage | null {
  if ((!g && !r) || rt.f16 || typeof rt.matmulTile === 'number' || rt.matmulTile === 'legacy') return null;
  const d: MatmulDims = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  const t = tiling(rt, d, 1, g !== null);
  // Unsplit, the norm needs vec4 reads of x and room for the rows' sums beside the staged tiles.
  if (t.S === 1 && g && (!vec4Reads(d).a || sharedBytesOf(t.v, false, true) + rowNormSharedBytes(t.v) > rt.limits.maxComputeWorkgroupStorageSize)) return null;
  const out = rt.alloc('fusedLinear', M * N * 4, 'float32');
  regTiled(rt, d, buf(x), operandB(d, w), out, 1, { ...(r ? { residual: buf(r) } : {}), ...(g ? { norm: { g: buf(g), eps } } : {}) }, t);
  return out;
}

/** Workgroups to aim for: enough to fill a large GPU (132 SMs x 2) even for narrow outputs. */
const TARGET_WORKGROUPS = 264;

/** x·W with W [K, N]: column GEMV, split over K when N alone gives too few workgroups. */
function gemv(rt: Runtime, d: MatmulDims, a: GPUBuffer, b: GPUBuffer, out: GPUStorage, h: string, f: (code: () => string) => () => string): void {
  const { M, N, K } = d;
  const cols = Math.ceil(N / 256);
  const S = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / cols), Math.floor(K / 64), rt.limits.maxComputeWorkgroupsPerDimension));
  const key = `gemv/${h}${M}/${N}/${K}/${+d.transA}/${S}`;
  if (S === 1) {
    rt.dispatch(key, f(() => gemvWgsl(d, 1)), [a, b, out.buffer], [cols, 1]);
    return;
  }
  const part = rt.alloc('matmul', S * M * N * 4, 'float32');
  rt.dispatch(key, f(() => gemvWgsl(d, S)), [a, b, part.buffer], [cols, S]);
  const n = M * N;
  rt.dispatch(`splitK/${n}/${S}`, () => splitKReduceWgsl(n, S), [part.buffer, out.buffer], rt.grid(Math.ceil(n / 256)));
  rt.release(part);
}

/**
 * The kernels before register tiling (matmulTile 64, 128 or 'legacy' picks them; the opt-in f16 weight
 * path keeps them, its reads being rewritten by withF16B): 128x128 tiles when they still give
 * about two workgroups per SM of a large GPU.
 */
function legacyTiled(rt: Runtime, d: MatmulDims, a: GPUBuffer, b: GPUBuffer, out: GPUStorage, h: string, f: (code: () => string) => () => string): void {
  const { M, N, K, transA, transB } = d;
  if (d.batchShape.length > 0) {
    const key = `matmul/${M}/${N}/${K}/${+transA}${+transB}/${d.batchShape}/${d.batchStrides.join(';')}`;
    rt.dispatch(key, () => matmulTiledWgsl(d, false), [a, b, out.buffer], [Math.ceil(N / TILE), Math.ceil(M / TILE), sizeOf(d.batchShape)]);
    return;
  }
  const large = typeof rt.matmulTile === 'number' ? rt.matmulTile === 128 : Math.ceil(M / 128) * Math.ceil(N / 128) >= TARGET_WORKGROUPS;
  const rows = rt.uniform([M, 0, 0, 0]);
  if (large) rt.dispatch(`matmul128/${h}${N}/${K}/${+transA}${+transB}`, f(() => matmulTiled128Wgsl(d)), [a, b, out.buffer, rows], [Math.ceil(N / 128), Math.ceil(M / 128), 1]);
  else rt.dispatch(`matmul/rM/${h}${N}/${K}/${+transA}${+transB}`, f(() => matmulTiledWgsl(d, true)), [a, b, out.buffer, rows], [Math.ceil(N / TILE), Math.ceil(M / TILE), 1]);
}

/**
 * Register-tile shapes 'auto' tries, largest first, each with the fewest workgroups it needs: the
 * first that wastes little of its tiles on ragged edges and gives that many wins; else the one
 * with the most workgroups that wastes little, else the smallest. From the sweeps
 * (tools/gpu/matmul-sweep.sh, tools/gpu/tiles-batch.sh, BENCHMARKS.md): big tiles win even at a
 * few hundred workgroups. For x·Wᵀ (both operands read along K, the model's projections) 128×128
 * tiles with the k-steps unrolled led in_proj at every length on an H200 (22.1 / 26.6 / 31.6
 * TFLOP/s at 512 / 2048 / 8192 rows against 20.6 / 24.8 / 28.8 for 128×64) and out_proj at 8192
 * (30.2 against 27.9), and came within 1% of the best at out_proj 2048 (96 workgroups); for a
 * transposed A (weight gradients) 128×64 stays ahead (26.6 against 18.3).
 */
const AUTO_VARIANTS: readonly (readonly [string, number])[] = [
  ['128x64x8-8x8', 132],
  ['64x64x16-4x4w', 132],
  ['32x64x16-4x4w', 132],
];
const AUTO_VARIANTS_XWT: readonly (readonly [string, number])[] = [['128x128x8-8x8wu', 96], ...AUTO_VARIANTS];

/**
 * Prefill-sized unbatched x·Wᵀ (more than THIN_MAX_ROWS rows): the two large tiles, each with the
 * fewest workgroups it needs and the workgroups an SM holds at once, which the timings imply on an
 * H100 / H200 (132 SMs): 64×128 (128 invocations) 3, 128×128 (256) 2. Of those that qualify 'auto'
 * takes 64×128 where it costs less by either count, `waveCost` (whole waves) or `busiestSMCost`,
 * else 128×128. Timed on an H200 after the k loop's rework (BENCHMARKS, issue 16, nineteenth
 * session: the three families' in_proj at 15 lengths from 512 to 8192 rows), that pick came within
 * 0.8% of the faster tile at every length (the waves alone: up to 10.5% behind, at 1,920-3,200
 * rows, where 64×128's last wave is a small one). The tenth session's H100 timings, before that
 * rework, µs (kernel-time.mjs; in_proj with the norm fused, its weight on W's columns,
 * `TiledEpilogue.weightOnB`):
 *
 *   in_proj N 3,432 (Mamba-3; Mamba-2's 3,352 alike)   512: 93.0 / 115.3   1,024: 208.7 / 171.6
 *                                                      2,048: 335.4 / 338.7   8,192: 1,151.5 / 1,158.1
 *   in_proj N 3,072 (Mamba-1)                          512: 93.1 / 115.6   1,024: 134.6 / 171.4
 *                                                      2,048: 265.9 / 296.3   8,192: 1,029.7 / 999.5
 *
 * (64×128 / 128×128): 432 workgroups of 64×128 (N 3,432 at 1,024 rows) run in two waves of 396,
 * 384 (N 3,072) in one. Without the norm (H200): out_proj with its residual at 8192 rows 512.7 /
 * 591.1 (37.7 against 32.7 TFLOP/s; cuBLAS's float32 product 37.0-40.8 in three runs), at 2048
 * 188.8 / 237.2; a plain in_proj 1,194.7 / 1,264.0 at 8192 rows, 211.4 / 191.5 at 1,024.
 */
const WAVE_TILES: readonly (readonly [name: string, minGroups: number, perSM: number])[] = [
  ['128x128x8-8x8wu', 96, 2],
  ['64x128x8-8x8wu', 132, 3],
];

/** Rows up to which an unbatched product is thin (batched decode: see `thinPick`). */
const THIN_MAX_ROWS = 128;

/** Unbatched x·Wᵀ of more than THIN_MAX_ROWS rows: the products WAVE_TILES and `TiledEpilogue.weightOnB` are for. */
function prefillSized(d: MatmulDims, nBatch: number): boolean {
  return d.transB && !d.transA && nBatch === 1 && d.batchShape.length === 0 && d.M > THIN_MAX_ROWS;
}

/** A tile's time in waves of SM-fulls, each worth its tiles' area: the last wave costs a full one. */
function waveCost(v: TileVariant, groups: number, perSM: number): number {
  return Math.ceil(groups / (AUTO_MIN_WORKGROUPS * perSM)) * v.BM * v.BN * perSM;
}

/** A tile's time as the tile area the busiest SM works through, the workgroups dealt out evenly. */
function busiestSMCost(v: TileVariant, groups: number): number {
  return Math.ceil(groups / AUTO_MIN_WORKGROUPS) * v.BM * v.BN;
}

/**
 * Below the large tiles, products without a fused norm skip 64×64×16 for 32×64×16 (H200: out_proj
 * with its residual at 1,024 rows 101.2 against 116.8 µs, Mamba-1's dt_proj 10.4 against 11.4).
 */
const AUTO_VARIANTS_PLAIN: readonly (readonly [string, number])[] = AUTO_VARIANTS.filter(([n]) => n !== '64x64x16-4x4w');

/** Workgroups below which a product is thin (K split, see `splitK`): one per SM of a large GPU (132 on an H100). */
const AUTO_MIN_WORKGROUPS = 132;

/** Most padding (tile area over output area) 'auto' accepts from a tile shape. */
const MAX_TILE_WASTE = 1.15;

/** The tile shape for `d` (`matmulTile`, or 'auto''s rule); `rowNorm`: the product carries fusedLinear's norm. Exported for its tests. */
export function pickVariant(rt: Pick<Runtime, 'limits' | 'matmulTile' | 'splitKWorkgroups'>, d: MatmulDims, nBatch: number, rowNorm: boolean): TileVariant {
  const fits = (v: TileVariant) =>
    threadsOf(v) <= rt.limits.maxComputeInvocationsPerWorkgroup && sharedBytesOf(v, d.transA, d.transB) <= rt.limits.maxComputeWorkgroupStorageSize;
  if (typeof rt.matmulTile === 'string' && rt.matmulTile !== 'auto' && rt.matmulTile !== 'legacy') {
    const v = TILE_VARIANTS[rt.matmulTile];
    if (v && fits(v)) return v;
    throw new UnsupportedError(`webgpu matmul: matmulTile '${rt.matmulTile}' needs ${v ? `${threadsOf(v)} invocations and ${sharedBytesOf(v, d.transA, d.transB)} bytes of workgroup memory, more than this device allows` : 'is not a tile variant'}; use 'auto', 'legacy', 64, 128 or one of ${Object.keys(TILE_VARIANTS).join(', ')}`);
  }
  const xwt = d.transB && !d.transA;
  const prefill = prefillSized(d, nBatch);
  const groups = (v: TileVariant) => Math.ceil(d.M / v.BM) * Math.ceil(d.N / v.BN) * nBatch;
  const isSnug = (v: TileVariant) => (groups(v) * v.BM * v.BN) / nBatch <= MAX_TILE_WASTE * d.M * d.N;
  if (prefill) {
    const wave = WAVE_TILES.map(([n, min, perSM]) => {
      const v = TILE_VARIANTS[n];
      return { v, min, waves: waveCost(v, groups(v), perSM), busiest: busiestSMCost(v, groups(v)) };
    }).filter(({ v, min }) => fits(v) && isSnug(v) && groups(v) >= min);
    // WAVE_TILES' later tile (64×128) replaces the earlier where either count has it cheaper.
    if (wave.length > 0) return wave.reduce((best, c) => (c.waves < best.waves || c.busiest < best.busiest ? c : best)).v;
    // Too few tiles for either (a narrow output at short lengths: out_proj below 1,408 rows) and
    // no norm: 64×128 with its K split (`tiling`) filling the GPU, not a smaller tile unsplit
    // (the model's prefill GPU time 2.4-11% less at 512-1,280 tokens, H200, BENCHMARKS issue 16,
    // twentieth session).
    const split = TILE_VARIANTS[WAVE_TILES[WAVE_TILES.length - 1][0]];
    if (!rowNorm && fits(split) && isSnug(split) && splitK(groups(split), Math.ceil(d.K / split.BK), rt.splitKWorkgroups, splitBelow(d, nBatch, rowNorm)) > 0) return split;
  }
  const list = prefill ? (rowNorm ? AUTO_VARIANTS : AUTO_VARIANTS_PLAIN) : xwt ? AUTO_VARIANTS_XWT : AUTO_VARIANTS;
  const cands = list.map(([n, min]) => [TILE_VARIANTS[n], min] as const).filter(([v]) => fits(v));
  const snug = cands.filter(([v]) => isSnug(v));
  const picked = (snug.find(([v, min]) => groups(v) >= min) ?? snug[snug.length - 1] ?? cands[cands.length - 1])[0];
  return thinPick(d, snug.map(([v]) => v), groups, picked) ?? picked;
}

/**
 * Thin unbatched products (up to 128 rows: batched decode) where `picked` has more row tiles than
 * another snug tile (each row tile reads the whole weight again): of the tiles with the fewest, the
 * one giving the most workgroups, K split for the rest; null to keep `picked`. On an H200, batch
 * 128's in_proj (N 3,432, K 768): 128×64 tiles took 33.5 µs with K split 6 ways, against 51.3 for
 * the 32×64 tiles that 'auto' took before, unsplit and reading the weight four times.
 */
function thinPick(d: MatmulDims, snug: readonly TileVariant[], groups: (v: TileVariant) => number, picked: TileVariant): TileVariant | null {
  if (d.batchShape.length > 0 || d.M > THIN_MAX_ROWS || snug.length === 0) return null;
  const rowTiles = (v: TileVariant) => Math.ceil(d.M / v.BM);
  const fewest = Math.min(...snug.map(rowTiles));
  if (rowTiles(picked) === fewest) return null;
  return snug.filter((v) => rowTiles(v) === fewest).reduce((best, v) => (groups(v) > groups(best) ? v : best));
}

interface HalfCopy {
  buffer: GPUBuffer | null;
}

const halfCaches = new WeakMap<Runtime, Map<GPUStorage, HalfCopy>>();

/**
 * The f16 copy of a B operand: the first use of a storage only records it (activations are used
 * once), the second makes the copy (weights come back every step); dropped with the storage.
 */
function f16Copy(rt: Runtime, b: KernelTensor): GPUBuffer | null {
  let cache = halfCaches.get(rt);
  if (!cache) {
    const c = new Map<GPUStorage, HalfCopy>();
    rt.onRelease((s) => {
      const hit = c.get(s);
      if (!hit) return;
      c.delete(s);
      if (hit.buffer) rt.destroyCacheBuffer(hit.buffer);
    });
    halfCaches.set(rt, (cache = c));
  }
  const s = b.storage as GPUStorage;
  const hit = cache.get(s);
  if (!hit) {
    cache.set(s, { buffer: null });
    return null;
  }
  if (!hit.buffer) {
    const n = b.size + (b.size % 2);
    hit.buffer = rt.createCacheBuffer('matmul', n * 2);
    // A cache outlives any step graph being captured now: filled once, never replayed.
    rt.dispatch('toF16', toF16Wgsl, [s.buffer, hit.buffer], rt.grid(Math.ceil(n / 256)), { record: false });
  }
  return hit.buffer;
}
