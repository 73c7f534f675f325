import type { Tensor } from '@mamba3/tensor';
import { concat, dispose, reshape, SafetensorsReader, sliceAxis, tidy } from '@mamba3/tensor';
import { openSafetensors } from '@mamba3/tensor/node';
import type { FixtureInfo } from '@mamba3/core';
import { fixtureInfo, Mamba3, mixerFixtureOptions } from '@mamba3/core';
import { UsageError } from './command.js';

export type Mode = 'chunked' | 'step';

export interface FixtureRun {
  info: FixtureInfo;
  reader: SafetensorsReader;
  /** `output.*` tensors, named like the fixture's `expected.*`. */
  outputs: Record<string, Tensor>;
}

export function parseMode(v: unknown): Mode {
  const mode = (v ?? 'chunked') as string;
  if (mode !== 'chunked' && mode !== 'step') throw new UsageError(`--mode must be chunked or step, got "${mode}"`);
  return mode;
}

/** Runs a golden-format fixture on the active backend. The caller closes `reader` and disposes `outputs`. */
export async function runFixture(path: string, mode: Mode, chunkSize?: number): Promise<FixtureRun> {
  const reader = await openSafetensors(path);
  const info = fixtureInfo(reader, path);
  if (info.kind === 'lm') {
    throw new UsageError(`${path} is an LM fixture; LM fixtures need @mamba3/model (not supported by this build yet)`);
  }
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n);
  if (!info.inputNames.includes('input.u')) throw new UsageError(`${path}: a mixer fixture needs "input.u" [batch, seqlen, d_model]`);
  const mixer = Mamba3.fromWeights({ ...mixerFixtureOptions(info), ...(chunkSize ? { chunkSize } : {}) }, weights);
  const u = await reader.tensor('input.u');
  try {
    const cache = mixer.allocateInferenceCache(u.shape[0]);
    let y: Tensor;
    if (mode === 'chunked') {
      y = mixer.forward(u, { cache });
    } else {
      const [b, L, d] = u.shape;
      const steps: Tensor[] = [];
      for (let t = 0; t < L; t++) steps.push(tidy(() => reshape(mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache), [b, 1, d])));
      y = concat(steps, 1);
      dispose(steps);
    }
    const outputs: Record<string, Tensor> = { 'output.y': y };
    for (const k of ['angle', 'ssm', 'k', 'v'] as const) outputs[`output.state.${k}`] = cache[k];
    return { info, reader, outputs };
  } finally {
    dispose([u, mixer.params]);
  }
}
