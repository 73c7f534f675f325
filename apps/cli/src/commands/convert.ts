import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Layout } from '@mamba3/model';
import { checkpointFiles, convertCheckpoint, openCheckpoint } from '@mamba3/model';
import { parseDType } from '../dtype.js';
import { writeSafetensorsPlanned } from '@mamba3/tensor/node';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';

function parseLayout(v: unknown): Layout {
  if (v === undefined) return 'official';
  if (v !== 'official' && v !== 'hf') throw new UsageError(`convert: --layout must be official or hf, got "${String(v)}"`);
  return v;
}


export const convert: Command = {
  name: 'convert',
  summary: 'convert a checkpoint (official .bin or safetensors, Hugging Face) to safetensors + config.json',
  usage: [
    'usage: mamba3 convert IN OUT [--dtype float32|float16|bfloat16] [--layout official|hf]',
    '',
    'IN: a checkpoint folder or URL of any supported layout: official mamba_ssm (config.json +',
    'pytorch_model.bin or model.safetensors, or shards with their index) or Hugging Face transformers',
    '(model_type mamba / mamba2). OUT: a new folder with model.safetensors, config.json in the chosen',
    'layout (default official) and the tokenizer and generation files found beside IN.',
    '--dtype sets the stored dtype of float weights (default: each keeps its own).',
    'OUT is written in a temporary folder beside it and renamed when complete: never half-written.',
  ].join('\n'),
  options: { dtype: { type: 'string' }, layout: { type: 'string' } },
  async run({ values, positionals }) {
    const [input, output] = positionals;
    if (!input || !output || positionals.length > 2) throw new UsageError(`convert: give IN and OUT\n\n${convert.usage}`);
    const layout = parseLayout(values.layout);
    const dtype = parseDType('convert', values.dtype);
    const out = resolve(output);
    if (existsSync(out)) throw new UsageError(`convert: ${output} already exists; remove it or choose another OUT`);
    const ckpt = await openCheckpoint(await checkpointFiles(/^[a-z]+:/.test(input) ? input : resolve(input)));
    const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
    try {
      const conv = convertCheckpoint(ckpt, { layout, dtype });
      await mkdir(tmp, { recursive: true });
      await writeSafetensorsPlanned(join(tmp, 'model.safetensors'), conv.plan, conv.bytesOf);
      await writeFile(join(tmp, 'config.json'), `${JSON.stringify(conv.config, null, 2)}\n`);
      for (const [name, text] of conv.files) await writeFile(join(tmp, name), text);
      await rename(tmp, out);
      const mb = (conv.plan.byteLength / 1e6).toFixed(1);
      console.log(`wrote ${output}: ${ckpt.layout} → ${layout}, ${conv.plan.order.length} tensors, ${mb} MB${conv.files.size ? `, with ${[...conv.files.keys()].join(', ')}` : ''}`);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    } finally {
      await ckpt.close();
    }
    return 0;
  },
};
