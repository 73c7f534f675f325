import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { dispose, SafetensorsReader } from '@mamba3/tensor';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { fixtureInfo, Mamba3, mixerFixtureOptions, relativeL2 } from '../src/index.js';

// Every golden mixer fixture on the WebGPU backend (lavapipe in CI): the fused mixer kernels
// against the official module's outputs, float32, bound 1e-4 (the golden README's).
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP = process.env.MAMBA3_SKIP_WEBGPU === '1';
const FIXTURES = ['mixer_siso', 'mixer_siso_outnorm', 'mixer_siso_rope_full', 'mixer_mimo', 'mixer_mimo_outnorm'];
const TOL = 1e-4;

(SKIP ? describe.skip : describe)(`golden mixers on WebGPU${SKIP ? ' (skipped: MAMBA3_SKIP_WEBGPU=1)' : ''}`, () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createWebGPUBackend();
  });
  afterAll(() => backend?.dispose?.());

  for (const name of FIXTURES) {
    for (const mode of ['chunked 16', 'chunked 64', 'step'] as const) {
      it(`${name}, ${mode}`, async () => {
        const reader = await SafetensorsReader.fromBytes(readFileSync(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
        const info = fixtureInfo(reader, name);
        const weights: Record<string, Tensor> = {};
        for (const n of info.weightNames) weights[n] = await reader.tensor(n, { backend });
        const chunkSize = mode === 'chunked 16' ? 16 : 64;
        const mixer = Mamba3.fromWeights({ ...mixerFixtureOptions(info), chunkSize }, weights);
        const u = await reader.tensor('input.u', { backend });
        const cache = mixer.allocateInferenceCache(u.shape[0]);
        const y = mode === 'step' ? mixer.stepSequence(u, cache) : mixer.forward(u, { cache });
        expect(relativeL2(await y.data(), (await reader.read('expected.y')).values)).toBeLessThan(TOL);
        for (const k of ['angle', 'ssm', 'k', 'v'] as const) {
          expect(relativeL2(await cache[k].data(), (await reader.read(`expected.state.${k}`)).values), `state.${k}`).toBeLessThan(TOL);
        }
        dispose([y, u, mixer.params]);
        cache.dispose();
      });
    }
  }
});
