import { readFile } from 'node:fs/promises';
import { LmTrainer, TokenStream } from '@mamba3/train';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { loadModel, loadTokenizer } from './generate.js';

export const evalCommand: Command = {
  name: 'eval',
  summary: 'validation loss of a model on a text file (nats per token: per character for char models)',
  usage: [
    'usage: mamba3 eval --model PATH --data FILE [--tokenizer FILE] [--backend NAME] [--split val|all]',
    '                   [--val-fraction 0.1] [--seq-len 256] [--batch-size 16]',
    '',
    'By default scores the last 10% of FILE, the split training held out.',
  ].join('\n'),
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    tokenizer: { type: 'string' },
    backend: { type: 'string' },
    split: { type: 'string' },
    'val-fraction': { type: 'string' },
    'seq-len': { type: 'string' },
    'batch-size': { type: 'string' },
  },
  async run({ values }) {
    if (typeof values.model !== 'string' || typeof values.data !== 'string') throw new UsageError(`eval: --model and --data are required\n\n${evalCommand.usage}`);
    const model = await loadModel(values.model, values.backend as string | undefined);
    const tokenizer = await loadTokenizer(values.model, values.tokenizer as string | undefined);
    if (!tokenizer) throw new UsageError(`eval: no tokenizer given (--tokenizer FILE) and none found beside ${values.model}`);
    const split = (values.split as string | undefined) ?? 'val';
    if (split !== 'val' && split !== 'all') throw new UsageError(`eval: --split must be val or all, got "${split}"`);
    const ids = tokenizer.encode(await readFile(values.data, 'utf8'));
    // "all": everything is the held-out part.
    const data = new TokenStream(split === 'all' ? [0, ...ids] : ids, { valFraction: split === 'all' ? 1 - 1 / (ids.length + 1) : Number(values['val-fraction'] ?? 0.1) });
    const trainer = LmTrainer.fromModel(model);
    const seqLen = Number(values['seq-len'] ?? 256);
    const loss = await trainer.evaluate(data, Number(values['batch-size'] ?? 16), seqLen);
    console.log(`${values.model} on ${values.data} (${split === 'val' ? `last ${Number(values['val-fraction'] ?? 0.1) * 100}%` : 'all'}, ${data.val.length} tokens, windows of ${seqLen}): ${loss.toFixed(4)} nats/token (${(loss / Math.LN2).toFixed(4)} bits)`);
    trainer.dispose();
    model.dispose();
    return 0;
  },
};
