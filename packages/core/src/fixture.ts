import type { Tensor } from '@mamba3/tensor';
import { ArgumentError, SafetensorsError } from '@mamba3/tensor';
import type { SafetensorsReader } from '@mamba3/tensor';
import type { Mamba3Options } from './config.js';
import { fromOfficialOptions } from './config.js';

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

/** Mixer options from a mixer fixture's config. */
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
