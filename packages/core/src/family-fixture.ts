import type { Backend, SafetensorsReader, Tensor } from '@mamba3/tensor';
import { ArgumentError, concat, dispose, reshape, sliceAxis, tidy } from '@mamba3/tensor';
import type { MixerCache, MixerState } from './cache.js';
import { mamba1FromOfficial } from './mamba1/config.js';
import { Mamba1 } from './mamba1/mixer.js';
import { mamba2FromOfficial } from './mamba2/config.js';
import { Mamba2 } from './mamba2/mixer.js';

/** The mixer class a fixture's `layer` metadata names: `Mamba` (mamba_simple) or `Mamba2`; null for Mamba-3. */
export function familyFixtureLayer(reader: SafetensorsReader): 'Mamba1' | 'Mamba2' | null {
  const layer = reader.metadata.layer;
  if (layer === 'Mamba' || layer === 'Mamba1') return 'Mamba1';
  if (layer === 'Mamba2') return 'Mamba2';
  return null;
}

interface FamilyMixer {
  forward(u: Tensor, opts?: { cache?: MixerCache<MixerState> }): Tensor;
  step(u: Tensor, cache: MixerCache<MixerState>): Tensor;
  allocateInferenceCache(batch: number): MixerCache<MixerState>;
  dispose(): void;
}

/**
 * A Mamba-1 or Mamba-2 mixer fixture (official `Mamba` / `Mamba2`): weights and `input.u`
 * through the mixer, chunked with a cache or one step per position, returning `output.y` and
 * `output.state.{conv,ssm}` (the official cache shapes). The caller disposes the outputs.
 */
export async function runFamilyMixerFixture(
  reader: SafetensorsReader,
  layer: 'Mamba1' | 'Mamba2',
  rawConfig: Record<string, unknown>,
  weightNames: readonly string[],
  opts: { mode: 'chunked' | 'step'; chunkSize?: number; backend?: Backend },
): Promise<Record<string, Tensor>> {
  const on = opts.backend ? { backend: opts.backend } : {};
  const weights: Record<string, Tensor> = {};
  for (const n of weightNames) weights[n] = await reader.tensor(n, on);
  const chunk = opts.chunkSize ? { chunkSize: opts.chunkSize } : {};
  const mixer = (layer === 'Mamba1' ? Mamba1.fromWeights({ ...mamba1FromOfficial(rawConfig), ...chunk }, weights) : Mamba2.fromWeights({ ...mamba2FromOfficial(rawConfig), ...chunk }, weights)) as unknown as FamilyMixer;
  const u = await reader.tensor('input.u', on);
  try {
    if (u.rank !== 3) throw new ArgumentError(`fixture: input.u should be [batch, seqlen, d_model], got rank ${u.rank}`);
    const [b, L, d] = u.shape;
    const cache = mixer.allocateInferenceCache(b);
    let y: Tensor;
    if (opts.mode === 'chunked') y = mixer.forward(u, { cache });
    else {
      const steps = Array.from({ length: L }, (_, t) => tidy(() => reshape(mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache), [b, 1, d])));
      y = concat(steps, 1);
      dispose(steps);
    }
    // The cache's tensors become the caller's outputs (not disposed with the cache).
    return { 'output.y': y, 'output.state.conv': cache.state().conv, 'output.state.ssm': cache.state().ssm };
  } finally {
    dispose(u);
    mixer.dispose();
  }
}
