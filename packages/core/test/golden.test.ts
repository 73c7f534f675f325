import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { dispose, memory, SafetensorsReader, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { fixtureInfo, Mamba3, mixerFixtureOptions, relativeL2 } from '../src/index.js';

const FIXTURES = ['mixer_siso', 'mixer_siso_outnorm', 'mixer_siso_rope_full', 'mixer_mimo', 'mixer_mimo_outnorm'];
/** The golden README's bound for a float32 implementation, recurrent or chunked. */
const TOL = 1e-4;

interface Loaded {
  mixer: Mamba3;
  u: Tensor;
  expected: Record<string, Float32Array | Int32Array | Float64Array>;
}

async function load(name: string, chunkSize?: number): Promise<Loaded> {
  const reader = await SafetensorsReader.fromBytes(readFileSync(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
  const info = fixtureInfo(reader, name);
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n);
  const opts = { ...mixerFixtureOptions(info), ...(chunkSize ? { chunkSize } : {}) };
  const expected: Loaded['expected'] = {};
  for (const n of info.expectedNames) expected[n] = (await reader.read(n)).values;
  return { mixer: Mamba3.fromWeights(opts, weights), u: await reader.tensor('input.u'), expected };
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe.each(FIXTURES)('golden %s', (name) => {
  for (const chunkSize of [1, 16, 64]) {
    it(`chunked forward, chunk size ${chunkSize}, matches expected.y and the final cache`, async () => {
      const { mixer, u, expected } = await load(name, chunkSize);
      const before = memory().numTensors;
      const cache = mixer.allocateInferenceCache(u.shape[0]);
      const y = mixer.forward(u, { cache });
      expect(relativeL2(await y.data(), expected['expected.y'])).toBeLessThan(TOL);
      for (const k of ['angle', 'ssm', 'k', 'v'] as const) {
        expect(relativeL2(await cache[k].data(), expected[`expected.state.${k}`]), `state.${k}`).toBeLessThan(TOL);
      }
      y.dispose();
      cache.dispose();
      expect(memory().numTensors).toBe(before);
      dispose([mixer.params, u]);
    });
  }

  it('step mode (the recurrent decode path) matches expected.y and the final cache', async () => {
    const { mixer, u, expected } = await load(name);
    const cache = mixer.allocateInferenceCache(u.shape[0]);
    const y = mixer.stepSequence(u, cache);
    const ys = await y.data();
    y.dispose();
    expect(relativeL2(ys, expected['expected.y'])).toBeLessThan(TOL);
    for (const k of ['angle', 'ssm', 'k', 'v'] as const) {
      expect(relativeL2(await cache[k].data(), expected[`expected.state.${k}`]), `state.${k}`).toBeLessThan(TOL);
    }
    cache.dispose();
    dispose([mixer.params, u]);
  });
});
