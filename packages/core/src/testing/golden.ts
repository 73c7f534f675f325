import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { dispose, memory, SafetensorsReader } from '@mamba3/tensor';
import { compareWithFixture, runMixerFixture } from '../fixture.js';

/*
 * The golden check, once: every fixture in @mamba3/core's fixtures/ (outputs of the official
 * PyTorch module; see its README) through `Mamba3` on a given backend, chunked at several chunk
 * sizes and step by step, each output against its expected.* by relative L2. Each backend's
 * test file calls `describeGolden`; the CLI's `check` runs the same `runMixerFixture` /
 * `compareWithFixture`.
 */

/** Where the fixtures live: the package's fixtures/ (two levels above src/testing and dist/testing). */
const FIXTURE_DIR = new URL('../../fixtures/', import.meta.url);

/** The golden fixtures this package owns, by name (file name without .safetensors). */
export function goldenFixtures(): string[] {
  return readdirSync(FIXTURE_DIR)
    .filter((f) => f.endsWith('.safetensors'))
    .map((f) => f.slice(0, -'.safetensors'.length))
    .sort();
}

/** The bytes of one golden fixture. */
export function goldenFixtureBytes(name: string): Uint8Array {
  return readFileSync(new URL(`${name}.safetensors`, FIXTURE_DIR));
}

/** The golden README's bound for a float32 implementation, chunked or recurrent. */
export const GOLDEN_TOLERANCE = 1e-4;

export interface GoldenOptions {
  /** Creates the backend under test (once, before the tests; disposed after). */
  backend: () => Backend | Promise<Backend>;
  /** Relative L2 bound per output (default `GOLDEN_TOLERANCE`). */
  tolerance?: number;
  /** Chunk sizes of the chunked runs (default [16, 64]); a step-by-step run is always added. */
  chunkSizes?: readonly number[];
  /** Why these tests cannot run here (reported as skipped, never silently); null or absent: run. */
  skip?: string | null;
  /** Per-test timeout in ms (default 300 000: software GPUs on a shared CPU are slow). */
  timeout?: number;
}

/** Registers the golden tests of every fixture for one backend. */
export function describeGolden(name: string, opts: GoldenOptions): void {
  const tolerance = opts.tolerance ?? GOLDEN_TOLERANCE;
  const runs = [...(opts.chunkSizes ?? [16, 64]).map((c) => ({ mode: 'chunked' as const, chunkSize: c, title: `chunked, chunk size ${c}` })), { mode: 'step' as const, chunkSize: undefined, title: 'step by step (the decode path)' }];
  const skip = opts.skip ?? null;
  (skip ? describe.skip : describe)(`golden mixers on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await opts.backend();
    });
    afterAll(() => backend?.dispose?.());

    describe.each(goldenFixtures())('%s', (fixture) => {
      for (const run of runs) {
        it(`${run.title} matches expected.y and the final cache`, async () => {
          const before = memory().numTensors;
          const reader = await SafetensorsReader.fromBytes(goldenFixtureBytes(fixture));
          let outputs: Record<string, Tensor> = {};
          try {
            outputs = await runMixerFixture(reader, { mode: run.mode, chunkSize: run.chunkSize, backend, label: fixture });
            const rows = await compareWithFixture(reader, outputs);
            expect(rows.map((r) => r.output)).toContain('output.y');
            for (const r of rows) {
              expect(r.relL2, `${fixture}: ${r.expected} missing`).not.toBeNull();
              expect(r.relL2, `${fixture} ${run.title}: ${r.output}`).toBeLessThan(tolerance);
            }
          } finally {
            dispose(outputs);
          }
          expect(memory().numTensors, 'tensors left alive').toBe(before);
        }, opts.timeout ?? 300_000);
      }
    });
  });
}
