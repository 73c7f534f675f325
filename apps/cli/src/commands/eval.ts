import { LmTrainer, TokenStream } from '@mamba3/train';
import type { Command } from '../command.js';
import { CliError, UsageError } from '../command.js';
import { readTextFile } from '../files.js';
import { loadModel, loadTokenizer, TOKENIZER_FILES } from './generate.js';

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
    if (typeof values.model !== 'string' || typeof values.data !== 'string') throw new UsageError('--model and --data are required (mamba3 eval --help for usage)');
    const text = await readTextFile('--data', values.data);
    const tokenizer = await loadTokenizer(values.model, values.tokenizer as string | undefined);
    if (!tokenizer) throw new CliError(`--model ${values.model}: no tokenizer beside it (${TOKENIZER_FILES.join(', ')}); give --tokenizer FILE`);
    const model = await loadModel(values.model, values.backend as string | undefined);
    const split = (values.split as string | undefined) ?? 'val';
    const valFraction = (values['val-fraction'] as number | undefined) ?? 0.1;
    const seqLen = (values['seq-len'] as number | undefined) ?? 256;
    const batchSize = (values['batch-size'] as number | undefined) ?? 16;
    const ids = tokenizer.encode(text);
    // "all": everything is the held-out part.
    const data = new TokenStream(split === 'all' ? [0, ...ids] : ids, { valFraction: split === 'all' ? 1 - 1 / (ids.length + 1) : valFraction });
    const trainer = LmTrainer.fromModel(model);
    try {
      const loss = await trainer.evaluate(data, batchSize, seqLen);
      console.log(`${values.model} on ${values.data} (${split === 'val' ? `last ${valFraction * 100}%` : 'all'}, ${data.val.length} tokens, windows of ${seqLen}): ${loss.toFixed(4)} nats/token (${(loss / Math.LN2).toFixed(4)} bits)`);
    } finally {
      trainer.dispose();
      model.dispose();
    }
    return 0;
  },
};
