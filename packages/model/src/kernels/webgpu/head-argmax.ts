import type { GemvEpilogue, GPUStorage, Runtime, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { Backend, KernelConfig, KernelInputs, KernelOutputs, KernelTensor } from '@mamba3/tensor';
import type { HeadArgmaxAttrs, HeadArgmaxEmbedInputs, HeadArgmaxEmbedOutputs, HeadArgmaxInputs, HeadArgmaxOutputs } from '../../head-pick.js';
import { ARGMAX_CHUNK, headArgmaxEpilogueWgsl, headArgmaxPickWgsl, keyWordsOfRow, PICK_THREADS } from './head-argmax.wgsl.js';
import { nextRowsKey, nextRowsOf, nextRowsWgsl } from './next-rows.js';

/*
 * The WebGPU kernels of `lmHeadArgmax` and `lmHeadArgmaxEmbed` (the math in head-argmax.wgsl.ts):
 * the head GEMV with the argmax's order keys in its epilogue (past gemvMaxRows rows, the tiled
 * product and the epilogue in a pass of its own: `linearWithEpilogue`), then the pick. Type-only
 * imports of @mamba3/backend-webgpu.
 */

const OP = 'lmHeadArgmax';

/**
 * The order keys' buffers, one per runtime and size, made once and never pooled: a new buffer is
 * zeroed, and every pick leaves its rows' keys at zero again, so each product starts from zero
 * without a clear (a clear would end the compute pass, a step graph's every run). Rows of one
 * product and its pick run in stream order, so products of the same size may share one.
 */
const keyBuffers = new WeakMap<Runtime, Map<number, GPUBuffer>>();

function keysFor(rt: Runtime, bytes: number): GPUBuffer {
  let sizes = keyBuffers.get(rt);
  if (!sizes) keyBuffers.set(rt, (sizes = new Map()));
  let b = sizes.get(bytes);
  if (!b) sizes.set(bytes, (b = rt.createCacheBuffer(OP, bytes)));
  return b;
}

/** Keys a thread of the pick reads, at most: a longer vocabulary takes longer chunks. */
const MAX_KEYS_PER_THREAD = 16;

/**
 * Ids a key covers for a vocabulary of V: `preferred`, doubled until the pick's threads read at
 * most MAX_KEYS_PER_THREAD keys each; 0 past 256 (beyond 1,048,576 ids: the composite runs).
 */
export function argmaxChunkFor(V: number, preferred = ARGMAX_CHUNK): number {
  let chunk = preferred;
  while (Math.ceil(V / chunk) > MAX_KEYS_PER_THREAD * PICK_THREADS) chunk *= 2;
  return chunk <= PICK_THREADS ? chunk : 0;
}

/** `lmHeadArgmax`, or with an embedding `lmHeadArgmaxEmbed` (the pick writes the next rows too). */
function headArgmax(backend: Backend, i: KernelInputs<HeadArgmaxInputs> & { embedding?: KernelTensor }, a: HeadArgmaxAttrs, preferred: number): { ids: GPUStorage; next?: GPUStorage } | null {
  const gpu = backend as WebGPUBackend;
  const rt = gpu.runtime;
  rt.check(OP);
  const [stride, d] = i.weight.shape;
  const rows = i.hidden.size / d;
  if (rows > rt.limits.maxComputeWorkgroupsPerDimension) return null;
  const chunk = argmaxChunkFor(a.vocab, preferred);
  if (!chunk) return null;
  const chunks = Math.ceil(a.vocab / chunk);
  const keys = keysFor(rt, rows * keyWordsOfRow(chunks) * 4);
  const epilogue: GemvEpilogue = { key: `argmaxKeys/${a.vocab}/${chunk}`, wgsl: (first) => headArgmaxEpilogueWgsl(first, a.vocab, chunks, chunk), buffers: [keys] };
  const logits = gpu.linearWithEpilogue(i.hidden, i.weight, epilogue, { g: i.normWeight, eps: a.eps });
  if (!logits) return null;
  const ids = rt.alloc(OP, rows * 4, 'int32');
  const key = `headArgmaxPick/${a.vocab}/${stride}/${chunk}`;
  if (!i.embedding) {
    rt.dispatch(key, () => headArgmaxPickWgsl(a.vocab, stride, chunks, chunk), [logits.buffer, keys, ids.buffer], [rows]);
    rt.release(logits);
    return { ids };
  }
  const n = nextRowsOf(i.embedding);
  const next = rt.alloc(OP, rows * n.e * 4, 'float32');
  rt.dispatch(`${key}/next/${nextRowsKey(n)}`, () => headArgmaxPickWgsl(a.vocab, stride, chunks, chunk, nextRowsWgsl(gpu, n, 3, PICK_THREADS)), [logits.buffer, keys, ids.buffer, n.table, next.buffer], [rows]);
  rt.release(logits);
  return { ids, next };
}

/** The kernel with keys of `chunk` ids where the vocabulary allows (a probe times chunk sizes; the model registers ARGMAX_CHUNK). */
export function headArgmaxKernelFor(chunk: number): KernelConfig<HeadArgmaxInputs, HeadArgmaxAttrs, HeadArgmaxOutputs> {
  return { kernelName: OP, backendName: 'webgpu', kernelFunc: ({ inputs, attrs, backend }) => headArgmax(backend, inputs, attrs, chunk) as KernelOutputs<HeadArgmaxOutputs> | null };
}

export const headArgmaxKernel = headArgmaxKernelFor(ARGMAX_CHUNK);

export const headArgmaxEmbedKernel = {
  kernelName: 'lmHeadArgmaxEmbed',
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => headArgmax(backend, inputs, attrs, ARGMAX_CHUNK) as KernelOutputs<HeadArgmaxEmbedOutputs> | null,
} satisfies KernelConfig<HeadArgmaxEmbedInputs, HeadArgmaxAttrs, HeadArgmaxEmbedOutputs>;
