import { dispose } from '@mamba3/tensor';
import { compareWithFixture } from '@mamba3/core';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';
import { parseMode, runFixture } from '../fixture-runner.js';

/** Default bounds: the golden README's 1e-4 for mixers; LM logits come from reduced-precision kernels (~1e-2). */
const DEFAULT_TOLERANCE = { mixer: 1e-4, lm: 2e-2 };

export const check: Command = {
  name: 'check',
  summary: 'run a fixture and compare each output.* with its expected.* (relative L2)',
  usage: [
    'usage: mamba3 check FIXTURE.safetensors [--backend cpu|wasm|webgpu|tfjs|auto] [--mode chunked|step]',
    '                    [--chunk-size N] [--tolerance T]',
    '',
    'Prints the relative L2 error of every output against the fixture\'s expected.* tensor and',
    'exits 1 if any is above the tolerance (default 1e-4 for mixers, 2e-2 for LM logits).',
  ].join('\n'),
  options: { backend: { type: 'string' }, mode: { type: 'string' }, 'chunk-size': { type: 'string' }, tolerance: { type: 'string' } },
  async run({ values, positionals }) {
    const [fixture] = positionals;
    if (!fixture) throw new UsageError(`check: give a fixture file\n\n${check.usage}`);
    const backend = await useBackendNamed(values.backend as string | undefined);
    const mode = parseMode(values.mode);
    const chunkSize = values['chunk-size'] !== undefined ? Number(values['chunk-size']) : undefined;
    const run = await runFixture(fixture, mode, chunkSize);
    const tolerance = values.tolerance !== undefined ? Number(values.tolerance) : DEFAULT_TOLERANCE[run.info.kind];
    let failed = 0;
    let compared = 0;
    try {
      console.log(`${fixture} (${run.info.kind}) on ${backend.name}, ${mode}, tolerance ${tolerance}`);
      for (const { output: name, expected: expectedName, relL2: err } of await compareWithFixture(run.reader, run.outputs)) {
        if (err === null) {
          console.log(`  ${name.padEnd(22)} (no ${expectedName} in the fixture)`);
          continue;
        }
        const ok = err <= tolerance;
        compared++;
        if (!ok) failed++;
        console.log(`  ${name.padEnd(22)} rel L2 ${err.toExponential(3)}  ${ok ? 'ok' : 'FAIL'}`);
      }
    } finally {
      dispose(run.outputs);
      await run.reader.close();
    }
    if (compared === 0) {
      console.log('nothing compared: the fixture has no expected.* for these outputs');
      return 1;
    }
    console.log(failed ? `${failed} of ${compared} outputs above tolerance` : `all ${compared} outputs within tolerance`);
    return failed ? 1 : 0;
  },
};
