import type { KernelTensor } from '@mamba3/tensor';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { WeightStorage } from './gemv.wgsl.js';
import { chunkRows, decodeGemvFits, decodeGemvWgsl } from './gemv.wgsl.js';
import { buf } from './util.js';

/** Workgroups to aim for: about four per SM of a large GPU (132 SMs), for loads in flight. */
const TARGET_WORKGROUPS = 528;

export interface DecodeGemvFusion {
  g?: KernelTensor;
  eps?: number;
  r?: KernelTensor;
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
  // Rows per workgroup: fewer for narrow outputs (every SM busy) and for many rows a chunk (the
  // reduction's workgroup memory grows with both).
  // Chunks of many rows give each thread several output rows (`perThread`: an A load serves them all).
  const T = MC >= 8 ? rt.gemvRowsPerThread : 1;
  const rows = MC > 4 ? (T >= 4 ? 1 : 2) : Math.ceil(N / 8) >= TARGET_WORKGROUPS ? 8 : Math.ceil(N / 4) >= TARGET_WORKGROUPS ? 4 : 2;
  const sg = rt.subgroupReduce;
  const norm = fuse.g ? { eps: fuse.eps ?? 0 } : undefined;
  const residual = !!fuse.r;
  const out = rt.alloc('matmul', M * N * 4, 'float32');
  const key = `gemvD/${storage}/${rows}${T > 1 ? `x${T}` : ''}/${sg ? 'sg/' : ''}${norm ? `n${norm.eps}/` : ''}${residual ? 'r/' : ''}${MC}/${N}/${K}`;
  const buffers = [buf(a), ws.own, out.buffer, ...(fuse.g ? [buf(fuse.g)] : []), ...(fuse.r ? [buf(fuse.r)] : [])];
  const [gx, gy] = rt.grid(Math.ceil(N / (rows * T)));
  rt.dispatch(key, () => decodeGemvWgsl({ M: MC, N, K, storage, rows, perThread: T, norm, residual, subgroups: sg }), buffers, [gx, gy, chunks]);
  return out;
}
