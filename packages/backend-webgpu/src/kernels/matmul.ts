import type { KernelTensor, Shape } from '@mamba3/tensor';
import { sizeOf, UnsupportedError } from '@mamba3/tensor';
import { broadcastStrides, collapse } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { MatmulTile } from '../options.js';
import type { MatmulDims } from './matmul.wgsl.js';
import { gemvTransBWgsl, gemvWgsl, matmulTiled128Wgsl, matmulTiledWgsl, splitKReduceWgsl, TILE, toF16Wgsl, withF16B } from './matmul.wgsl.js';
import { decodeGemv } from './gemv.js';
import type { TileVariant } from './matmul-tiled.wgsl.js';
import type { RuntimeDims } from './matmul-tiled.wgsl.js';
import { matmulRegTiledWgsl, runtimeDimsUniform, sharedBytesOf, threadsOf, TILE_VARIANTS, variantName, vec4Reads } from './matmul-tiled.wgsl.js';
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
  // x·Wᵀ for up to 128 rows against a 2-D weight (decode, batched decode): the bandwidth-bound
  // GEMV of gemv.ts (the tiled kernels give such thin products too few workgroups). The opt-in
  // shader-f16 path keeps its own kernels below.
  if (transB && !transA && b.shape.length === 2 && !rt.f16 && K > 0 && N > 0 && a.size / K <= DECODE_GEMV_MAX_ROWS) {
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
  const B = half ?? buf(b);
  const h = half ? 'h/' : '';
  const f = (code: () => string) => (half ? () => withF16B(code()) : code);
  const key = `${h}${M}/${N}/${K}/${+transA}${+transB}/${batchShape}/${batchStrides.join(';')}`;
  if (M <= 4 && transB) {
    const sg = rt.subgroupReduce;
    const [x, y] = rt.grid(Math.ceil(N / 8));
    const vec4 = !half && !transA && K % 4 === 0;
    rt.dispatch(`gemvT/${sg ? 'sg/' : ''}${+vec4}/${key}`, f(() => gemvTransBWgsl(d, sg, { vec4 })), [buf(a), B, out.buffer], [x, y, nBatch]);
  } else if (M <= 4 && batch.length === 0) {
    gemv(rt, d, buf(a), B, out, h, f);
  } else if (half || typeof rt.matmulTile === 'number' || rt.matmulTile === 'legacy') {
    legacyTiled(rt, d, buf(a), B, out, h, f);
  } else {
    const v = pickVariant(rt, d, nBatch);
    const mode: RuntimeDims = batch.length === 0 ? 'rows' : 'all';
    const vr = vec4Reads(d);
    const sizes = mode === 'rows' ? `${N}/${K}` : `b${batchShape.length}`;
    const rkey = `mmreg/${variantName(v)}/${sizes}/${+transA}${+transB}/${+vr.a}${+vr.b}${+vr.c}`;
    const bufs = [buf(a), buf(b), out.buffer, rt.uniform(runtimeDimsUniform(d, v, mode))];
    rt.dispatch(rkey, () => matmulRegTiledWgsl(d, v, mode), bufs, [Math.ceil(N / v.BN), Math.ceil(M / v.BM), nBatch]);
  }
  return out;
}

/**
 * rmsNorm(x)·Wᵀ + residual as one GEMV for decode-sized inputs (at most 4 rows, float32, W
 * [N, K]); null otherwise (the op layer runs the composite).
 */
export function fusedLinear(rt: Runtime, x: KernelTensor, w: KernelTensor, g: KernelTensor | null, eps: number, r: KernelTensor | null): GPUStorage | null {
  const K = w.shape[1];
  const N = w.shape[0];
  const M = x.size / K;
  if (x.dtype !== 'float32' || M > DECODE_GEMV_MAX_ROWS || M < 1 || N === 0 || K === 0) return null;
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

/** Most rows (batched decode) that take the decode GEMV instead of a tiled matmul. */
const DECODE_GEMV_MAX_ROWS = 128;

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
 * Register-tile shapes 'auto' tries, largest first: the first that wastes little of its tiles on
 * ragged edges and still gives one workgroup per SM of a large GPU (132 on an H100) wins; else
 * the one with the most workgroups that wastes little, else the smallest. From the H100 sweep
 * (tools/gpu/matmul-sweep.sh, BENCHMARKS.md): 128×64 tiles, BK 8, 8×8 per invocation came within
 * 11% of each prefill product's best on average (21-28 TFLOP/s), and big tiles beat more
 * workgroups there (64×64 tiles at 1,728 workgroups ran in_proj at 17.6 against 24.5).
 */
const AUTO_VARIANTS = ['128x64x8-8x8', '64x64x16-4x4w', '32x64x16-4x4w'];

/** Workgroups 'auto' wants from a tile shape: one per SM of a large GPU. */
const AUTO_MIN_WORKGROUPS = 132;

/** Most padding (tile area over output area) 'auto' accepts from a tile shape. */
const MAX_TILE_WASTE = 1.15;

function pickVariant(rt: Runtime, d: MatmulDims, nBatch: number): TileVariant {
  const fits = (v: TileVariant) =>
    threadsOf(v) <= rt.limits.maxComputeInvocationsPerWorkgroup && sharedBytesOf(v, d.transA, d.transB) <= rt.limits.maxComputeWorkgroupStorageSize;
  if (typeof rt.matmulTile === 'string' && rt.matmulTile !== 'auto' && rt.matmulTile !== 'legacy') {
    const v = TILE_VARIANTS[rt.matmulTile];
    if (v && fits(v)) return v;
    throw new UnsupportedError(`webgpu matmul: matmulTile '${rt.matmulTile}' needs ${v ? `${threadsOf(v)} invocations and ${sharedBytesOf(v, d.transA, d.transB)} bytes of workgroup memory, more than this device allows` : 'is not a tile variant'}; use 'auto', 'legacy', 64, 128 or one of ${Object.keys(TILE_VARIANTS).join(', ')}`);
  }
  const cands = AUTO_VARIANTS.map((n) => TILE_VARIANTS[n]).filter(fits);
  const groups = (v: TileVariant) => Math.ceil(d.M / v.BM) * Math.ceil(d.N / v.BN) * nBatch;
  const snug = cands.filter((v) => (groups(v) * v.BM * v.BN) / nBatch <= MAX_TILE_WASTE * d.M * d.N);
  return snug.find((v) => groups(v) >= AUTO_MIN_WORKGROUPS) ?? snug[snug.length - 1] ?? cands[cands.length - 1];
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
    rt.dispatch('toF16', toF16Wgsl, [s.buffer, hit.buffer], rt.grid(Math.ceil(n / 256)));
  }
  return hit.buffer;
}
