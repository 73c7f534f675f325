import { writeSafetensorsFile } from '@mamba3/tensor/node';
import { dispose, formatShape } from '@mamba3/tensor';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';
import { parseMode, runFixture } from '../fixture-runner.js';
import { statSync } from 'node:fs';
import { runForwardDir } from '../forward-dir.js';
import { DTYPE_USAGE, parseDType } from '../dtype.js';

export const forward: Command = {
  name: 'forward',
  summary: 'run a golden-format fixture (weights + input.*) and write its output.* tensors',
  usage: [
    'usage: mamba3 forward FIXTURE.safetensors [--backend cpu|wasm|webgpu|tfjs|auto] [--mode chunked|step]',
    '                      [--chunk-size N] --out OUT.safetensors',
    '',
    '       mamba3 forward DIR [--backend B] [--mode chunked|step] [--greedy N --prompt-len P] [--dtype D] --out OUT.safetensors',
    '',
    'FIXTURE: weights under the official names, the constructor config in the metadata and',
    'input.u (mixer); writes output.y and output.state.{angle,ssm,k,v}.',
    'DIR: a checkpoint folder of any layout with io.safetensors (input.ids); writes output.logits',
    '(step: one token at a time through the cache) and with --greedy output.greedy (int32: the',
    'first P ids of row 0, default all, then N greedy ids, no early stop).',
    DTYPE_USAGE,
  ].join('\n'),
  options: {
    backend: { type: 'string' },
    mode: { type: 'string' },
    'chunk-size': { type: 'string' },
    out: { type: 'string' },
    greedy: { type: 'string' },
    'prompt-len': { type: 'string' },
    dtype: { type: 'string' },
  },
  async run({ values, positionals }) {
    const [fixture] = positionals;
    if (!fixture) throw new UsageError('give a fixture file (mamba3 forward --help for usage)');
    if (typeof values.out !== 'string') throw new UsageError('--out OUT.safetensors is required');
    const dtype = parseDType('forward', values.dtype);
    const backend = await useBackendNamed(values.backend as string | undefined);
    if (statSync(fixture, { throwIfNoEntry: false })?.isDirectory()) {
      const lines = await runForwardDir(fixture, values.out, backend, { mode: parseMode(values.mode), greedy: values.greedy as number | undefined, promptLen: values['prompt-len'] as number | undefined, dtype });
      for (const l of lines) console.log(l);
      console.log(`wrote ${values.out} (${backend.name} backend)`);
      return 0;
    }
    if (dtype) throw new UsageError('forward: --dtype applies to checkpoint folders (a fixture file is a test of the float32 mixer)');
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
