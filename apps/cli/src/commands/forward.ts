import { writeSafetensorsFile } from '@mamba3/tensor/node';
import { dispose, formatShape } from '@mamba3/tensor';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';
import { parseMode, runFixture } from '../fixture-runner.js';

export const forward: Command = {
  name: 'forward',
  summary: 'run a golden-format fixture (weights + input.*) and write its output.* tensors',
  usage: [
    'usage: mamba3 forward FIXTURE.safetensors [--backend cpu|webgpu|tfjs|auto] [--mode chunked|step]',
    '                      [--chunk-size N] --out OUT.safetensors',
    '',
    'Reads weights under the official names, the constructor config from the metadata and',
    'input.u (mixer), runs it and writes output.y and output.state.{angle,ssm,k,v}.',
  ].join('\n'),
  options: { backend: { type: 'string' }, mode: { type: 'string' }, 'chunk-size': { type: 'string' }, out: { type: 'string' } },
  async run({ values, positionals }) {
    const [fixture] = positionals;
    if (!fixture) throw new UsageError('give a fixture file (mamba3 forward --help for usage)');
    if (typeof values.out !== 'string') throw new UsageError('--out OUT.safetensors is required');
    const backend = await useBackendNamed(values.backend as string | undefined);
    const chunkSize = values['chunk-size'] as number | undefined;
    const run = await runFixture(fixture, parseMode(values.mode), chunkSize);
    try {
      await writeSafetensorsFile(values.out, run.outputs, { metadata: { ...run.reader.metadata, backend: backend.name } });
      for (const [name, t] of Object.entries(run.outputs)) console.log(`${name.padEnd(20)} ${formatShape(t.shape)}`);
      console.log(`wrote ${values.out} (${backend.name} backend)`);
    } finally {
      dispose(run.outputs);
      await run.reader.close();
    }
    return 0;
  },
};
