import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { Backend } from '@mamba3/tensor';
import { SafetensorsReader } from '@mamba3/tensor';
import { relativeL2 } from '@mamba3/core';
import type { WeightDType } from '../src/index.js';
import { MambaLMHeadModel } from '../src/index.js';

// 16-bit weights (loading `dtype` 'bfloat16' / 'float16'): on WebGPU they stay 16-bit on the
// device (uploadHalf: the decode GEMV and gather read them packed, other kernels unpack a
// transient copy); the CPU backend holds the same rounded values in float32. The golden LM's
// logits must agree between the two (f32 math on the same weights), chunked, step by step and
// through a recorded step graph, and the weights take half the device memory.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const bytes = readFileSync(new URL('../fixtures/lm_siso.safetensors', import.meta.url));
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
/** WebGPU against the CPU backend on the same weights: the op-level float32 tolerance (rtol 1e-4), as relative L2. */
const WEBGPU_VS_CPU = 1e-4;

const load = (backend: Backend, dtype: WeightDType) => MambaLMHeadModel.fromPretrained({ weights: bytes }, { backend, dtype });

async function ids(): Promise<{ values: number[]; B: number; T: number }> {
  const { values, shape } = await (await SafetensorsReader.fromBytes(bytes)).read('input.ids');
  return { values: Array.from(values), B: shape[0], T: shape[1] };
}

/** Chunked logits of the fixture's ids. */
async function forwardLogits(model: MambaLMHeadModel): Promise<Float32Array> {
  const { values, B, T } = await ids();
  const rows = Array.from({ length: B }, (_, b) => values.slice(b * T, (b + 1) * T));
  const logits = model.forward(rows);
  const out = (await logits.data()) as Float32Array;
  logits.dispose();
  return out;
}

/** Step logits [T][B·V] of the fixture's ids, one token at a time through the cache. */
async function stepLogits(model: MambaLMHeadModel): Promise<Float32Array> {
  const { values, B, T } = await ids();
  const cache = model.allocateInferenceCache(B);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const logits = model.step(Array.from({ length: B }, (_, b) => values[b * T + t]), cache);
    out.push(...((await logits.data()) as Float32Array));
    logits.dispose();
  }
  cache.dispose();
  return Float32Array.from(out);
}

function largestRelative(got: Float32Array, ref: Float32Array): number {
  const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let maxAbs = 0;
  for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]));
  return maxAbs / scale;
}

describe('golden LM with 16-bit weights: error against float32 weights (cpu)', () => {
  it('bf16 and f16 weights: logits close to float32 weights (largest relative error reported)', async () => {
    const cpu = createCpuBackend();
    const f32 = await load(cpu, 'float32');
    const ref = await forwardLogits(f32);
    const refStep = await stepLogits(f32);
    f32.dispose();
    for (const [dtype, bound] of [['bfloat16', 2e-2], ['float16', 2e-3]] as const) {
      const m = await load(cpu, dtype);
      for (const [mode, got, want] of [['chunked', await forwardLogits(m), ref], ['step', await stepLogits(m), refStep]] as const) {
        const l2 = relativeL2(got, want);
        const worst = largestRelative(got, want);
        console.log(`golden LM ${mode} logits, ${dtype} weights vs float32: relative L2 ${l2.toExponential(2)}, largest |Δ| / max|logit| ${worst.toExponential(2)}`);
        expect(worst).toBeGreaterThan(0);
        expect(l2).toBeLessThan(bound);
      }
      m.dispose();
    }
  });
});

(SKIP_WEBGPU ? describe.skip : describe)(`golden LM with 16-bit weights on webgpu${SKIP_WEBGPU ? ' (skipped: MAMBA3_SKIP_WEBGPU=1)' : ''}`, () => {
  const backends: Record<number, WebGPUBackend> = {};
  const cpu = createCpuBackend();
  beforeAll(async () => {
    // The fixture's weights are all small: pack every one (a 1.5B model packs all its matrices by
    // default), or only the larger ones (embedding, projections) as the default threshold does at size.
    for (const min of [0, 4096]) backends[min] = await createWebGPUBackend({ name: `webgpu-golden-half-${min}`, halfMinElements: min });
  });
  afterAll(() => Object.values(backends).forEach((b) => b.dispose()));

  for (const [dtype, min] of [['bfloat16', 0], ['float16', 0], ['bfloat16', 4096]] as const) {
    it(`${dtype}, tensors of ${min}+ elements 16-bit: logits equal the cpu backend's on the same rounded weights, chunked, step and through a step graph; fewer weight bytes`, async () => {
      const gpu = backends[min];
      const m0 = gpu.memoryBytes();
      const full = await load(gpu, 'float32');
      const fullBytes = gpu.memoryBytes() - m0;
      full.dispose();
      const m1 = gpu.memoryBytes();
      const model = await load(gpu, dtype);
      const halfBytes = gpu.memoryBytes() - m1;
      console.log(`golden LM weights on webgpu: float32 ${fullBytes} bytes, ${dtype} ${halfBytes} bytes`);
      // Every tensor packed: half the bytes (size classes aside); with a threshold the small
      // tensors (norms, per-head parameters: a few KB here) stay float32, a little over half.
      expect(halfBytes / fullBytes).toBeGreaterThan(min === 0 ? 0.45 : 0.5);
      expect(halfBytes / fullBytes).toBeLessThan(0.56);
      const oracle = await load(cpu, dtype);
      const chunked = relativeL2(await forwardLogits(model), await forwardLogits(oracle));
      const step = relativeL2(await stepLogits(model), await stepLogits(oracle));
      console.log(`golden LM, ${dtype} weights, webgpu vs cpu: relative L2 chunked ${chunked.toExponential(2)}, step ${step.toExponential(2)}`);
      expect(chunked).toBeLessThan(WEBGPU_VS_CPU);
      expect(step).toBeLessThan(WEBGPU_VS_CPU);
      // Transient float32 copies do not outlive their ops.
      expect(gpu.memoryBytes() - m1).toBe(halfBytes);
      // Greedy decoding through the recorded step graph: the tokens of the op-by-op path, and of the cpu.
      const prompts = [[5, 17, 99], [200, 31, 7, 8]];
      const graphed = await model.generateText(prompts, { temperature: 0, maxNewTokens: 10 });
      const plain = await model.generateText(prompts, { temperature: 0, maxNewTokens: 10, stepGraph: false });
      const onCpu = await oracle.generateText(prompts, { temperature: 0, maxNewTokens: 10 });
      expect(graphed.sequences.map((s) => s.ids)).toEqual(plain.sequences.map((s) => s.ids));
      expect(graphed.sequences.map((s) => s.ids)).toEqual(onCpu.sequences.map((s) => s.ids));
      oracle.dispose();
      model.dispose();
      expect(gpu.memoryBytes()).toBe(m0);
    });
  }
});
