import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { Backend, KernelConfig, KernelInputs, KernelOutputs, KernelTensor } from '@mamba3/tensor';
import type { SampleAttrs, SampleEmbedInputs, SampleEmbedOutputs, SampleInputs, SampleOutputs } from '../../sampling.js';
import { nextRowsKey, nextRowsOf, nextRowsWgsl } from './next-rows.js';
import { SAMPLE_CHUNK, SAMPLE_MAX_CHUNKS, sampleChunkStatsWgsl, samplePickWgsl, SAMPLE_THREADS } from './sample.wgsl.js';

/*
 * The WebGPU kernel of `sampleByInverseCdf` (the math in sample.wgsl.ts). Type-only imports of
 * @mamba3/backend-webgpu: the model never loads it; the kernel runs on a backend the user made.
 */

const OP = 'sampleByInverseCdf';

/** 2^-126. */
const SMALLEST_NORMAL_F32 = 2 ** -126;

function buffer(t: KernelTensor): GPUBuffer {
  return (t.storage as GPUStorage).buffer;
}

/** `sampleByInverseCdf`, or with an embedding `sampleByInverseCdfEmbed` (the pick writes the next rows too). */
function sample(backend: Backend, i: KernelInputs<SampleInputs> & { embedding?: KernelTensor }, a: SampleAttrs): { ids: GPUStorage; next?: GPUStorage } | null {
  const gpu = backend as WebGPUBackend;
  gpu.runtime.check(OP);
  if (i.logits.dtype !== 'float32' || i.u.dtype !== 'float32') return null;
  const stride = i.logits.shape[i.logits.shape.length - 1];
  const rows = i.logits.size / stride;
  const V = a.vocab;
  const rt = gpu.runtime;
  const chunks = Math.ceil(V / SAMPLE_CHUNK);
  // One workgroup per row along a grid dimension, and a row's chunks staged in workgroup memory:
  // more rows, or a longer vocabulary, run the composite.
  const most = rt.limits.maxComputeWorkgroupsPerDimension;
  if (rows > most || chunks > Math.min(most, SAMPLE_MAX_CHUNKS)) return null;
  // A subnormal float32 T may be flushed to zero on the GPU (0 / 0 where a logit is the largest):
  // the smallest normal float32 instead, which draws the same ids but for logits within ~1e-36 of
  // the largest.
  const tBits = new Uint32Array(new Float32Array([Math.max(a.temperature, SMALLEST_NORMAL_F32)]).buffer)[0];
  const dims = rt.uniform([rows, V, chunks, tBits, stride]);
  const common = gpu.wgsl.COMMON;
  const stats = rt.alloc(OP, rows * chunks * 2 * 4, 'float32');
  const ids = rt.alloc(OP, rows * 4, 'int32');
  rt.dispatch('sampleChunkStats', () => sampleChunkStatsWgsl(common), [dims, buffer(i.logits), stats.buffer], [chunks, rows]);
  const pickBuffers = [dims, buffer(i.logits), stats.buffer, buffer(i.u), ids.buffer];
  if (!i.embedding) {
    rt.dispatch('samplePick', () => samplePickWgsl(common), pickBuffers, [rows]);
    rt.release(stats);
    return { ids };
  }
  const n = nextRowsOf(i.embedding);
  const next = rt.alloc(OP, rows * n.e * 4, 'float32');
  rt.dispatch(`samplePick/next/${nextRowsKey(n)}`, () => samplePickWgsl(common, nextRowsWgsl(gpu, n, 5, SAMPLE_THREADS)), [...pickBuffers, n.table, next.buffer], [rows]);
  rt.release(stats);
  return { ids, next };
}

export const sampleKernel = {
  kernelName: OP,
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => sample(backend, inputs, attrs) as KernelOutputs<SampleOutputs> | null,
} satisfies KernelConfig<SampleInputs, SampleAttrs, SampleOutputs>;

export const sampleEmbedKernel = {
  kernelName: 'sampleByInverseCdfEmbed',
  backendName: 'webgpu',
  kernelFunc: ({ inputs, attrs, backend }) => sample(backend, inputs, attrs) as KernelOutputs<SampleEmbedOutputs> | null,
} satisfies KernelConfig<SampleEmbedInputs, SampleAttrs, SampleEmbedOutputs>;
