import type { Backend, Tensor } from '@mamba3/tensor';
import { ArgumentError, dispose, SafetensorsError } from '@mamba3/tensor';
import type { SafetensorsReader } from '@mamba3/tensor';
import type { Mamba3Options } from './config.js';
import { fromOfficialOptions } from './config.js';
import { Mamba3 } from './mixer.js';
import { familyFixtureLayer, runFamilyMixerFixture } from './family-fixture.js';

/**
 * The golden fixture format (produced from the official PyTorch code): weights under their
 * official names, inputs under `input.*`, outputs under `expected.*`, and in the header metadata
 * `kind` ("mixer" or "lm"), `config` (the constructor arguments as JSON), `batch`, `seqlen`.
 */
export interface FixtureInfo {
  kind: 'mixer' | 'lm';
  /** The official constructor arguments (snake_case). */
  rawConfig: Record<string, unknown>;
  weightNames: string[];
  inputNames: string[];
  expectedNames: string[];
}

export function fixtureInfo(reader: SafetensorsReader, label = 'fixture'): FixtureInfo {
  const kind = reader.metadata.kind;
  if (kind !== 'mixer' && kind !== 'lm') {
    throw new SafetensorsError(`${label}: metadata "kind" should be "mixer" or "lm", got ${JSON.stringify(kind)}`);
  }
  let rawConfig: Record<string, unknown>;
  try {
    rawConfig = JSON.parse(reader.metadata.config ?? '');
  } catch {
    throw new SafetensorsError(`${label}: metadata "config" must hold the constructor arguments as JSON`);
  }
  const names = reader.names;
  return {
    kind,
    rawConfig,
    weightNames: names.filter((n) => !n.startsWith('input.') && !n.startsWith('expected.') && !n.startsWith('output.')),
    inputNames: names.filter((n) => n.startsWith('input.')),
    expectedNames: names.filter((n) => n.startsWith('expected.')),
  };
}

/** Mamba-3 mixer options from a mixer fixture's config. */
export function mixerFixtureOptions(info: FixtureInfo): Mamba3Options {
  if (info.kind !== 'mixer') throw new ArgumentError(`expected a mixer fixture, got kind "${info.kind}"`);
  return fromOfficialOptions(info.rawConfig);
}

/** ‖a − b‖₂ / ‖b‖₂ over all elements. */
export function relativeL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ArgumentError(`relativeL2: ${a.length} vs ${b.length} elements`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    num += d * d;
    den += b[i] * b[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Relative L2 between two tensors' values. */
export async function tensorRelativeL2(a: Tensor, b: Tensor): Promise<number> {
  return relativeL2(await a.data(), await b.data());
}

/** How a fixture runs: the chunked parallel form, or one recurrent step per position (the decode path). */
export type FixtureMode = 'chunked' | 'step';

export interface RunFixtureOptions {
  mode: FixtureMode;
  /** Overrides the fixture's chunk size (the result must not depend on it). */
  chunkSize?: number;
  /** Where weights and inputs go (default: the active backend). */
  backend?: Backend;
  /** Names the fixture in errors. */
  label?: string;
}

const MIXER_STATE = ['angle', 'ssm', 'k', 'v'] as const;

/**
 * Runs a mixer fixture: its weights and `input.u` through `Mamba3` (chunked with a cache, or
 * step by step), returning `output.y` and `output.state.{angle,ssm,k,v}`, named like the
 * fixture's `expected.*`. The caller disposes the outputs; weights and inputs are freed here.
 * Fixtures whose `layer` metadata is `Mamba` or `Mamba2` run through `Mamba1` / `Mamba2`
 * (outputs `output.y`, `output.state.{conv,ssm}`).
 */
export async function runMixerFixture(reader: SafetensorsReader, opts: RunFixtureOptions): Promise<Record<string, Tensor>> {
  const label = opts.label ?? 'fixture';
  const info = fixtureInfo(reader, label);
  if (!info.inputNames.includes('input.u')) throw new ArgumentError(`${label}: a mixer fixture needs "input.u" [batch, seqlen, d_model]`);
  const family = familyFixtureLayer(reader);
  if (family) {
    if (info.kind !== 'mixer') throw new ArgumentError(`${label}: expected a mixer fixture, got kind "${info.kind}"`);
    return runFamilyMixerFixture(reader, family, info.rawConfig, info.weightNames, opts);
  }
  const on = opts.backend ? { backend: opts.backend } : {};
  const weights: Record<string, Tensor> = {};
  for (const n of info.weightNames) weights[n] = await reader.tensor(n, on);
  const mixer = Mamba3.fromWeights({ ...mixerFixtureOptions(info), ...(opts.chunkSize ? { chunkSize: opts.chunkSize } : {}) }, weights);
  const u = await reader.tensor('input.u', on);
  try {
    const cache = mixer.allocateInferenceCache(u.shape[0]);
    const y = opts.mode === 'chunked' ? mixer.forward(u, { cache }) : mixer.stepSequence(u, cache);
    const outputs: Record<string, Tensor> = { 'output.y': y };
    for (const k of MIXER_STATE) outputs[`output.state.${k}`] = cache[k];
    return outputs;
  } finally {
    dispose([u, mixer.params]);
  }
}

/** One output against its expected tensor: relative L2, or null when the fixture has no `expected.*` for it. */
export interface FixtureComparison {
  output: string;
  expected: string;
  relL2: number | null;
}

/** Compares every `output.*` with the fixture's `expected.*` of the same name (relative L2). */
export async function compareWithFixture(reader: SafetensorsReader, outputs: Record<string, Tensor>): Promise<FixtureComparison[]> {
  const rows: FixtureComparison[] = [];
  for (const [output, t] of Object.entries(outputs)) {
    const expected = output.replace(/^output\./, 'expected.');
    const relL2 = reader.entries.has(expected) ? relativeL2(await t.data(), (await reader.read(expected)).values) : null;
    rows.push({ output, expected, relL2 });
  }
  return rows;
}
