import type { KernelTensor } from '@mamba3/tensor';
import type { GemvLanes } from '../options.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { GemvEpilogue, WeightStorage } from './gemv.wgsl.js';
import { chunkRows, decodeGemvFits, decodeGemvWgsl, weightsPerLoad } from './gemv.wgsl.js';
import { buf } from './util.js';

/** Workgroups to aim for: about four per SM of a large GPU (132 SMs), for loads in flight. */
const TARGET_WORKGROUPS = 528;

export interface DecodeGemvFusion {
  g?: KernelTensor;
  eps?: number;
  r?: KernelTensor;
  epilogue?: GemvEpilogue;
}

/**
 * C = A·Wᵀ (+ fusions) by the decode GEMV kernel (see gemv.wgsl.ts) when the shape fits: W
 * [N, K] unbatched, A [M, K] float32 with M rows that chunk (see `chunkRows`). A 16-bit W
 * (`uploadHalf`) is read packed, 8 weights a load: half the bytes of float32. Returns null when
 * the kernel does not apply.
 */
export function decodeGemv(rt: Runtime, a: KernelTensor, w: KernelTensor, M: number, fuse: DecodeGemvFusion = {}): GPUStorage | null {
  const [N, K] = w.shape;
  const ws = w.storage as GPUStorage;
  const storage: WeightStorage = ws.half ? ws.half.kind : 'f32';
  if (a.dtype !== 'float32' || w.shape.length !== 2 || !decodeGemvFits(M, K, storage)) return null;
  const MC = chunkRows(M);
  const chunks = M / MC;
  const { rows, perThread: T, residualFirst, lanes } = gemvShape(MC, N, K / weightsPerLoad(storage), rt.gemvRowsPerThread, rt.gemvLanes);
  const sg = rt.subgroupReduce;
  const norm = fuse.g ? { eps: fuse.eps ?? 0 } : undefined;
  const residual = !!fuse.r;
  const out = rt.alloc('matmul', M * N * 4, 'float32');
  const ep = fuse.epilogue;
  const key = `gemvD/${storage}/${rows}${T > 1 ? `x${T}` : ''}${lanes !== 32 ? `l${lanes}` : ''}/${sg ? 'sg/' : ''}${norm ? `n${norm.eps}/` : ''}${residual ? (residualFirst ? 'rf/' : 'r/') : ''}${ep ? `e:${ep.key}/` : ''}${MC}/${N}/${K}`;
  const buffers = [buf(a), ws.own, out.buffer, ...(fuse.g ? [buf(fuse.g)] : []), ...(fuse.r ? [buf(fuse.r)] : []), ...(ep ? ep.buffers : [])];
  const [gx, gy] = rt.grid(Math.ceil(N / (rows * T)));
  const spec = { M: MC, N, K, storage, rows, perThread: T, lanes, norm, residual, residualFirst, subgroups: sg, ...(ep ? { epilogue: ep } : {}) };
  rt.dispatch(key, () => decodeGemvWgsl(spec), buffers, [gx, gy, chunks]);
  return out;
}

/**
 * Whether a fused product (fusedLinear, a fused op's epilogue) of M rows takes the decode GEMV:
 * up to `gemvMaxRows`, and up to 4 whatever it is. More rows go to the tiled product.
 */
export function gemvTakesRows(rt: Runtime, M: number): boolean {
  return M >= 1 && M <= Math.max(rt.gemvMaxRows, 4);
}

export interface GemvShape {
  /** Output rows per workgroup (threads along lid.y). */
  rows: number;
  /** Output rows per thread. */
  perThread: number;
  /** Whether the residual is loaded before the product (see DecodeGemvSpec). */
  residualFirst: boolean;
  /** Lanes sharing an output row's K (see DecodeGemvSpec). */
  lanes: number;
}

/**
 * The kernel's shape for chunks of MC rows and N outputs. Measured alone on an H200 (BENCHMARKS,
 * "Issue 16 ... fourth session", `kernel-time.mjs`), one row a chunk: the most workgroups win
 * (out_proj, N = 768: 5.1 µs at one output row a workgroup against 6.2 at two), and an A load
 * serving several weight rows wins where the outputs are many (in_proj, N = 3,432: 5.7 µs at two a
 * thread against 6.2 at one, bf16; the 50,280-long vocabulary: 23.6 µs at four against 31.4).
 * Chunks of 2 to 4 rows keep the earlier rule; chunks of 8 or more take `batchedPerThread` rows
 * a thread and one or two rows a workgroup, as the reduction's workgroup memory grows with both.
 */
export function gemvShape(MC: number, N: number, loadsPerRow: number, batchedPerThread: number, lanes: GemvLanes): GemvShape {
  if (MC >= 8) return { rows: batchedPerThread >= 4 ? 1 : 2, perThread: batchedPerThread, residualFirst: false, lanes: 32 };
  if (MC > 4) return { rows: 2, perThread: 1, residualFirst: false, lanes: 32 };
  if (MC > 1) return { rows: [8, 4].find((r) => Math.ceil(N / r) >= TARGET_WORKGROUPS) ?? 2, perThread: 1, residualFirst: true, lanes: 32 };
  const perThread = N >= 64 * TARGET_WORKGROUPS ? 4 : N >= 4 * TARGET_WORKGROUPS ? 2 : 1;
  // Lanes by default (BENCHMARKS, issue 16, eighth session, `kernel-time.mjs` on an H200): 128
  // for every product but the vocabulary-wide one (out_proj 5.00 -> 4.66 µs f32, 4.39 -> 4.09
  // bf16; in_proj 5.70 -> 5.47 bf16, even in f32); the LM head loses at 128 (39.3 -> 39.9 µs
  // f32, 23.7 -> 25.1 bf16), and 64 lanes lost almost everywhere. The measured rows were 96 to
  // 384 loads long; shorter ones (small models) keep 32 lanes rather than idle most of 128.
  const LN = lanes !== 'auto' ? lanes : perThread < 4 && loadsPerRow >= 64 ? 128 : 32;
  return { rows: Math.min(N >= 4 * perThread * TARGET_WORKGROUPS ? 4 : 1, 256 / LN), perThread, residualFirst: true, lanes: LN };
}
