import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { concat, dispose, reshape, SafetensorsReader, sliceAxis, tidy } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import type { MixerCache, MixerState } from '../src/index.js';
import { fixtureInfo, Mamba1, Mamba2, mamba1FromOfficial, mamba2FromOfficial, relativeL2 } from '../src/index.js';

/** The family README's bound for a float32 implementation, chunked or recurrent. */
const TOL = 1e-4;

interface Mixer {
  forward(u: Tensor, opts?: { cache?: MixerCache<MixerState> }): Tensor;
  step(u: Tensor, cache: MixerCache<MixerState>): Tensor;
  allocateInferenceCache(batch: number): MixerCache<MixerState>;
  dispose(): void;
}

async function load(name: string, chunkSize: number, backend: Backend): Promise<{ mixer: Mixer; u: Tensor; expected: Record<string, ArrayLike<number>> }> {
  const reader = await SafetensorsReader.fromBytes(readFileSync(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
  const info = fixtureInfo(reader, name);
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n, { backend });
  const expected: Record<string, ArrayLike<number>> = {};
  for (const n of info.expectedNames) expected[n] = (await reader.read(n)).values;
  const mixer =
    reader.metadata.layer === 'Mamba'
      ? Mamba1.fromWeights({ ...mamba1FromOfficial(info.rawConfig), chunkSize }, weights)
      : Mamba2.fromWeights({ ...mamba2FromOfficial(info.rawConfig), chunkSize }, weights);
  return { mixer: mixer as unknown as Mixer, u: await reader.tensor('input.u', { backend }), expected };
}

// Every backend runs the mixers' composites (or its registered kernels); lavapipe stands in for a
// GPU in CI. (tfjs: packages/backend-tfjs/test/family-golden.test.ts.)
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
// Lavapipe compiles a pipeline per new shape: the WebGPU run covers one block size (slow, not wrong).
const BACKENDS: [string, () => Promise<Backend> | Backend, boolean, number[]][] = [
  ['cpu', () => createCpuBackend(), false, [1, 5, 16, 64]],
  ['webgpu', () => createWebGPUBackend(), SKIP_WEBGPU, [16]],
];

describe.each(BACKENDS.filter(([, , skip]) => !skip))('on %s', (_b, make, _skip, chunkSizes) => {
let backend: Backend;
beforeAll(async () => {
  backend = await make();
});
afterAll(() => backend?.dispose?.());

describe.each(['mixer_mamba1', 'mixer_mamba2'])('golden %s', (name) => {
  for (const chunkSize of chunkSizes) {
    it(`parallel forward (chunk ${chunkSize}) matches expected.y and the final cache`, { timeout: 300_000 }, async () => {
      const { mixer, u, expected } = await load(name, chunkSize, backend);
      const cache = mixer.allocateInferenceCache(u.shape[0]);
      const y = mixer.forward(u, { cache });
      expect(relativeL2(await y.data(), expected['expected.y'])).toBeLessThan(TOL);
      expect(relativeL2(await cache.state().conv.data(), expected['expected.state.conv'])).toBeLessThan(TOL);
      expect(relativeL2(await cache.state().ssm.data(), expected['expected.state.ssm'])).toBeLessThan(TOL);
      dispose([y, u]);
      cache.dispose();
      mixer.dispose();
    });
  }

  it('recurrent steps match expected.y and the final cache', { timeout: 300_000 }, async () => {
    const { mixer, u, expected } = await load(name, 16, backend);
    const [b, L, d] = u.shape;
    const cache = mixer.allocateInferenceCache(b);
    const steps = Array.from({ length: L }, (_, t) => tidy(() => reshape(mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache), [b, 1, d])));
    const y = concat(steps, 1);
    expect(relativeL2(await y.data(), expected['expected.y'])).toBeLessThan(TOL);
    expect(relativeL2(await cache.state().conv.data(), expected['expected.state.conv'])).toBeLessThan(TOL);
    expect(relativeL2(await cache.state().ssm.data(), expected['expected.state.ssm'])).toBeLessThan(TOL);
    dispose([y, steps, u]);
    cache.dispose();
    mixer.dispose();
  });
});
});
