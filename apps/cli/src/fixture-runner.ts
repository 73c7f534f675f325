import type { Tensor } from '@mamba3/tensor';
import { concat, dispose, reshape, SafetensorsReader, sliceAxis, tidy } from '@mamba3/tensor';
import { openSafetensors } from '@mamba3/tensor/node';
import type { FixtureInfo, FixtureMode } from '@mamba3/core';
import { fixtureInfo, runMixerFixture } from '@mamba3/core';
import { MambaLMHeadModel } from '@mamba3/model';
import { UsageError } from './command.js';

export type Mode = FixtureMode;

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
  if (info.kind === 'lm') return { info, reader, outputs: await runLm(reader, path, mode, chunkSize) };
  if (!info.inputNames.includes('input.u')) throw new UsageError(`${path}: a mixer fixture needs "input.u" [batch, seqlen, d_model]`);
  try {
    return { info, reader, outputs: await runMixerFixture(reader, { mode, chunkSize, label: path }) };
  } catch (err) {
    await reader.close();
    throw err;
  }
}

/** An LM fixture: `input.ids` [batch, seqlen] -> `output.logits` [batch, seqlen, paddedVocab]. */
async function runLm(reader: SafetensorsReader, path: string, mode: Mode, chunkSize?: number): Promise<Record<string, Tensor>> {
  if (!reader.entries.has('input.ids')) throw new UsageError(`${path}: an LM fixture needs "input.ids" [batch, seqlen]`);
  const config = JSON.parse(reader.metadata.config) as Record<string, unknown>;
  if (chunkSize) config.ssm_cfg = { ...(config.ssm_cfg as Record<string, unknown>), chunk_size: chunkSize };
  const weights: Record<string, Tensor> = {};
  for (const n of fixtureInfo(reader, path).weightNames) weights[n] = await reader.tensor(n);
  const model = await MambaLMHeadModel.fromPretrained({ config, weights });
  const ids = await reader.tensor('input.ids');
  try {
    if (mode === 'chunked') return { 'output.logits': model.forward(ids) };
    // Step mode: every position through the recurrent decode path.
    const [b, L] = ids.shape;
    const cache = model.allocateInferenceCache(b);
    const rows: Tensor[] = [];
    try {
      for (let t = 0; t < L; t++) rows.push(tidy(() => reshape(model.step(reshape(sliceAxis(ids, 1, t, t + 1), [b]), cache), [b, 1, -1])));
      return { 'output.logits': concat(rows, 1) };
    } finally {
      dispose(rows);
      cache.dispose();
    }
  } finally {
    ids.dispose();
    model.dispose();
  }
}
