import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { SafetensorsReader } from '@mamba3/tensor';
import { relativeL2 } from '@mamba3/core';
import { MambaLMHeadModel } from '../src/index.js';

// 16-bit decode weights on WebGPU (weights16: the GEMVs read bf16/f16 copies packed in u32): the
// golden LM decoded token by token, logits against the same decode with float32 weights.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const bytes = readFileSync(new URL('../fixtures/lm_siso.safetensors', import.meta.url));
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';

/** Step logits [T][B·V] of the fixture's ids, one token at a time through the cache. */
async function stepLogits(backend: WebGPUBackend): Promise<Float32Array> {
  const model = await MambaLMHeadModel.fromPretrained({ weights: bytes }, { backend });
  const reader = await SafetensorsReader.fromBytes(bytes);
  const { values, shape } = await reader.read('input.ids');
  const [B, T] = shape;
  const cache = model.allocateInferenceCache(B);
  const out: number[] = [];
  for (let t = 0; t < T; t++) {
    const logits = model.step(Array.from({ length: B }, (_, b) => values[b * T + t]), cache);
    out.push(...((await logits.data()) as Float32Array));
    logits.dispose();
  }
  cache.dispose();
  model.dispose();
  return Float32Array.from(out);
}

(SKIP_WEBGPU ? describe.skip : describe)(`golden LM with 16-bit decode weights on webgpu${SKIP_WEBGPU ? ' (skipped: MAMBA3_SKIP_WEBGPU=1)' : ''}`, () => {
  const backends: Record<string, WebGPUBackend> = {};
  beforeAll(async () => {
    backends.f32 = await createWebGPUBackend({ name: 'webgpu-golden-f32' });
    backends.bf16 = await createWebGPUBackend({ name: 'webgpu-golden-bf16', weights16: 'bfloat16' });
    backends.f16 = await createWebGPUBackend({ name: 'webgpu-golden-f16', weights16: 'float16' });
  });
  afterAll(() => Object.values(backends).forEach((b) => b.dispose()));

  it('bf16 and f16 weights: step logits close to float32 weights (largest relative error reported)', async () => {
    const ref = await stepLogits(backends.f32);
    const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    for (const [name, bound] of [['bf16', 2e-2], ['f16', 2e-3]] as const) {
      const got = await stepLogits(backends[name]);
      let maxAbs = 0;
      for (let i = 0; i < ref.length; i++) maxAbs = Math.max(maxAbs, Math.abs(got[i] - ref[i]));
      const l2 = relativeL2(got, ref);
      console.log(`golden LM step logits, ${name} weights vs float32: relative L2 ${l2.toExponential(2)}, largest |Δ| / max|logit| ${(maxAbs / scale).toExponential(2)}`);
      // The copies exist from a weight's second use on: most steps read 16-bit weights.
      expect(maxAbs).toBeGreaterThan(0);
      expect(l2).toBeLessThan(bound);
      expect(backends[name].stats().cacheBytes).toBe(0);
    }
  });
});
