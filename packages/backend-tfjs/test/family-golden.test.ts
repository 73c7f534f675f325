import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { concat, dispose, reshape, SafetensorsReader, sliceAxis, tidy } from '@mamba3/tensor';
import { fixtureInfo, Mamba1, Mamba2, mamba1FromOfficial, mamba2FromOfficial, relativeL2 } from '@mamba3/core';
import { createTfjsBackend } from '../src/index.js';

/*
 * The official Mamba-1 and Mamba-2 modules' outputs (../../shared/golden/family, copied into
 * fixtures/) through @mamba3/core's composites on the tfjs cpu backend, parallel and step by step.
 */
const TOL = 1e-4;

async function run(name: string, backend: Backend, mode: 'parallel' | 'step'): Promise<void> {
  const reader = await SafetensorsReader.fromBytes(readFileSync(new URL(`../fixtures/${name}.safetensors`, import.meta.url)));
  const info = fixtureInfo(reader, name);
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n, { backend });
  const mixer =
    reader.metadata.layer === 'Mamba' ? Mamba1.fromWeights({ ...mamba1FromOfficial(info.rawConfig), chunkSize: 16 }, weights) : Mamba2.fromWeights(mamba2FromOfficial(info.rawConfig), weights);
  const u = await reader.tensor('input.u', { backend });
  const [b, L, d] = u.shape;
  const cache = (mixer as Mamba1).allocateInferenceCache(b);
  let y: Tensor;
  if (mode === 'parallel') y = (mixer as Mamba1).forward(u, { cache });
  else {
    const steps = Array.from({ length: L }, (_, t) => tidy(() => reshape((mixer as Mamba1).step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache), [b, 1, d])));
    y = concat(steps, 1);
    dispose(steps);
  }
  expect(relativeL2(await y.data(), (await reader.read('expected.y')).values)).toBeLessThan(TOL);
  for (const k of ['conv', 'ssm'] as const) {
    expect(relativeL2(await cache.state()[k].data(), (await reader.read(`expected.state.${k}`)).values), `state.${k}`).toBeLessThan(TOL);
  }
  dispose([y, u]);
  cache.dispose();
  mixer.dispose();
}

describe('golden Mamba-1/Mamba-2 mixers on tfjs cpu', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createTfjsBackend({ tfjsBackend: 'cpu', name: 'tfjs-cpu-family-golden' });
  });
  afterAll(() => backend?.dispose?.());

  for (const name of ['mixer_mamba1', 'mixer_mamba2']) {
    for (const mode of ['parallel', 'step'] as const) it(`${name}, ${mode}`, { timeout: 120_000 }, () => run(name, backend, mode));
  }
});
