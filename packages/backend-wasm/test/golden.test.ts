import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { dispose, reshape, SafetensorsReader, sliceAxis, tidy } from '@mamba3/tensor';
import { fixtureInfo, Mamba3, mixerFixtureOptions, relativeL2 } from '@mamba3/core';
import { createWasmBackend } from '../src/index.js';

/*
 * The official module's outputs (/work/shared/golden, copied into fixtures/): every mixer
 * fixture through @mamba3/core on the wasm backend (its fused mixer kernel), chunked and step by
 * step, on two threads (every kernel split, however small) and on one.
 */
const FIXTURES = ['mixer_siso', 'mixer_siso_outnorm', 'mixer_siso_rope_full', 'mixer_mimo', 'mixer_mimo_outnorm'];
/** The golden README's bound for a float32 implementation, chunked or recurrent. */
const TOL = 1e-4;
const STATE = ['angle', 'ssm', 'k', 'v'] as const;

interface Loaded {
  mixer: Mamba3;
  u: Tensor;
  expected: Record<string, ArrayLike<number>>;
}

async function load(name: string, backend: Backend, chunkSize?: number): Promise<Loaded> {
  const reader = await SafetensorsReader.fromBytes(readFileSync(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
  const info = fixtureInfo(reader, name);
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n, { backend });
  const expected: Loaded['expected'] = {};
  for (const n of info.expectedNames) expected[n] = (await reader.read(n)).values;
  const opts = { ...mixerFixtureOptions(info), ...(chunkSize ? { chunkSize } : {}) };
  return { mixer: Mamba3.fromWeights(opts, weights), u: await reader.tensor('input.u', { backend }), expected };
}

for (const threads of [2, 1]) {
  describe(`golden mixers on wasm, ${threads} thread(s)`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await createWasmBackend({ name: `wasm-golden-${threads}`, threads, alwaysParallel: threads > 1 });
    });
    afterAll(() => backend.dispose?.());

    describe.each(FIXTURES)('%s', (name) => {
      it('chunked forward (chunk 16) matches expected.y and the final cache', async () => {
        const { mixer, u, expected } = await load(name, backend, 16);
        const cache = mixer.allocateInferenceCache(u.shape[0]);
        const y = mixer.forward(u, { cache });
        expect(relativeL2(await y.data(), expected['expected.y'])).toBeLessThan(TOL);
        for (const k of STATE) expect(relativeL2(await cache[k].data(), expected[`expected.state.${k}`]), `state.${k}`).toBeLessThan(TOL);
        dispose([y, u, mixer.params]);
        cache.dispose();
      });

      it('step by step (the decode path) matches expected.y and the final cache', async () => {
        const { mixer, u, expected } = await load(name, backend);
        const [b, L] = u.shape;
        const d = mixer.config.dModel;
        const cache = mixer.allocateInferenceCache(b);
        const ys = new Float32Array(b * L * d);
        for (let t = 0; t < L; t++) {
          const yt = tidy(() => mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache));
          const v = await yt.data();
          for (let i = 0; i < b; i++) ys.set(v.subarray(i * d, (i + 1) * d), (i * L + t) * d);
          yt.dispose();
        }
        expect(relativeL2(ys, expected['expected.y'])).toBeLessThan(TOL);
        for (const k of STATE) expect(relativeL2(await cache[k].data(), expected[`expected.state.${k}`]), `state.${k}`).toBeLessThan(TOL);
        dispose([u, mixer.params]);
        cache.dispose();
      });
    });
  });
}
