import type { KernelTensor } from '@mamba3/tensor';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { WeightStorage } from './gemv.wgsl.js';
import { chunkRows, decodeGemvFits, decodeGemvWgsl, pack16Wgsl } from './gemv.wgsl.js';
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
 * [N, K] unbatched, A [M, K] float32 with M rows that chunk (see `chunkRows`). Reads W's packed 16-bit copy when the runtime keeps
 * 16-bit weights (`weights16`) and the copy exists. Returns null when the kernel does not apply.
 */
export function decodeGemv(rt: Runtime, a: KernelTensor, w: KernelTensor, M: number, fuse: DecodeGemvFusion = {}): GPUStorage | null {
  const [N, K] = w.shape;
  if (a.dtype !== 'float32' || w.shape.length !== 2 || !decodeGemvFits(M, K, 'f32')) return null;
  const packed = rt.weights16 && decodeGemvFits(M, K, rt.weights16) ? packedCopy(rt, w) : null;
  const storage: WeightStorage = packed ? (rt.weights16 === 'bf16' ? 'bf16' : 'f16') : 'f32';
  const MC = chunkRows(M);
  const chunks = M / MC;
  // Rows per workgroup: fewer for narrow outputs (every SM busy) and for many rows a chunk (the
  // reduction's workgroup memory grows with both).
  const rows = MC > 4 ? 2 : Math.ceil(N / 8) >= TARGET_WORKGROUPS ? 8 : Math.ceil(N / 4) >= TARGET_WORKGROUPS ? 4 : 2;
  const sg = rt.subgroupReduce;
  const norm = fuse.g ? { eps: fuse.eps ?? 0 } : undefined;
  const residual = !!fuse.r;
  const out = rt.alloc('matmul', M * N * 4, 'float32');
  const key = `gemvD/${storage}/${rows}/${sg ? 'sg/' : ''}${norm ? `n${norm.eps}/` : ''}${residual ? 'r/' : ''}${MC}/${N}/${K}`;
  const buffers = [buf(a), packed ?? buf(w), out.buffer, ...(fuse.g ? [buf(fuse.g)] : []), ...(fuse.r ? [buf(fuse.r)] : [])];
  const [gx, gy] = rt.grid(Math.ceil(N / rows));
  rt.dispatch(key, () => decodeGemvWgsl({ M: MC, N, K, storage, rows, norm, residual, subgroups: sg }), buffers, [gx, gy, chunks]);
  return out;
}

interface PackedCopy {
  buffer: GPUBuffer | null;
}

const packedCaches = new WeakMap<Runtime, Map<GPUStorage, PackedCopy>>();

/**
 * The 16-bit copy of a weight: the first use of a storage only records it (activations are used
 * once), the second packs it (weights come back every step); dropped with the storage. The
 * packing is encoded outside any step-graph capture: replays read the copy, never remake it.
 */
function packedCopy(rt: Runtime, w: KernelTensor): GPUBuffer | null {
  const kind = rt.weights16!;
  let cache = packedCaches.get(rt);
  if (!cache) {
    const c = new Map<GPUStorage, PackedCopy>();
    rt.onRelease((s) => {
      const hit = c.get(s);
      if (!hit) return;
      c.delete(s);
      if (hit.buffer) rt.destroyCacheBuffer(hit.buffer);
    });
    packedCaches.set(rt, (cache = c));
  }
  const s = w.storage as GPUStorage;
  const hit = cache.get(s);
  if (!hit) {
    cache.set(s, { buffer: null });
    return null;
  }
  if (!hit.buffer) {
    const n = w.size;
    hit.buffer = rt.createCacheBuffer('matmul', Math.ceil(n / 2) * 4);
    rt.dispatch(`pack16/${kind}/${n}`, () => pack16Wgsl(kind, n), [s.buffer, hit.buffer], rt.grid(Math.ceil(n / 2 / 256)), { record: false });
  }
  return hit.buffer;
}
