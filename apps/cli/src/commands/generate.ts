import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { TokenizerLike } from '@mamba3/tokenizer';
import { fromFile } from '@mamba3/tokenizer/node';
import { loadPretrained, MambaLMHeadModel } from '@mamba3/model';
import type { Command } from '../command.js';
import { UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';

/** Tokenizer files looked for beside a model, in order. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer.json.gz', 'tokenizer.char.json', 'tokenizer.byte.json'];

/** A model from a directory (config.json + weights) or a .safetensors file whose metadata holds the config. */
export async function loadModel(path: string, backend: string | undefined): Promise<MambaLMHeadModel> {
  if (!existsSync(path)) throw new UsageError(`no model at ${path}`);
  const b = await useBackendNamed(backend);
  // Any layout (official .bin or safetensors, Hugging Face), auto-detected; the tokenizer is loadTokenizer's.
  if (statSync(path).isDirectory()) return (await loadPretrained(path, { backend: b, tokenizer: false })).model;
  return MambaLMHeadModel.fromPretrained({ weights: new Uint8Array(await readFile(path)) }, { backend: b });
}

export async function loadTokenizer(modelPath: string, explicit: string | undefined): Promise<TokenizerLike | undefined> {
  if (explicit) return fromFile(explicit);
  const dir = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  for (const f of TOKENIZER_FILES) if (existsSync(join(dir, f))) return fromFile(join(dir, f));
  return undefined;
}

function num(values: Record<string, unknown>, key: string): number | undefined {
  const v = values[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${key} must be a number, got "${String(v)}"`);
  return n;
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text with a model, streaming to stdout',
  usage: [
    'usage: mamba3 generate --model PATH --prompt TEXT [--tokenizer FILE] [--backend cpu|wasm|webgpu|tfjs|auto]',
    '                       [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]',
    '                       [--repetition-penalty R] [--seed S] [--stop TEXT ...]',
    '',
    'PATH: a checkpoint folder of any layout (official config.json + pytorch_model.bin or',
    'model.safetensors, shards with their index, or Hugging Face mamba/mamba2), or a .safetensors file',
    'with the config in its metadata. The tokenizer defaults to a tokenizer file beside the model',
    `(${TOKENIZER_FILES.join(', ')}). Ctrl-C stops generation cleanly.`,
  ].join('\n'),
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    tokenizer: { type: 'string' },
    backend: { type: 'string' },
    'max-new-tokens': { type: 'string' },
    temperature: { type: 'string' },
    'top-k': { type: 'string' },
    'top-p': { type: 'string' },
    'min-p': { type: 'string' },
    'repetition-penalty': { type: 'string' },
    seed: { type: 'string' },
    stop: { type: 'string', multiple: true },
    stats: { type: 'boolean' },
  },
  async run({ values }) {
    if (typeof values.model !== 'string') throw new UsageError(`generate: --model PATH is required\n\n${generateCommand.usage}`);
    if (typeof values.prompt !== 'string') throw new UsageError('generate: --prompt TEXT is required');
    const model = await loadModel(values.model, values.backend as string | undefined);
    const tokenizer = await loadTokenizer(values.model, values.tokenizer as string | undefined);
    if (!tokenizer) throw new UsageError(`generate: no tokenizer given (--tokenizer FILE) and none found beside ${values.model}`);
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    const started = performance.now();
    let tokens = 0;
    try {
      process.stdout.write(values.prompt);
      const result = await model.generateText(values.prompt, {
        tokenizer,
        maxNewTokens: num(values, 'max-new-tokens') ?? 128,
        temperature: num(values, 'temperature'),
        topK: num(values, 'top-k'),
        topP: num(values, 'top-p'),
        minP: num(values, 'min-p'),
        repetitionPenalty: num(values, 'repetition-penalty'),
        seed: num(values, 'seed'),
        stopStrings: values.stop as string[] | undefined,
        signal: controller.signal,
        onChunk: (c) => {
          tokens++;
          process.stdout.write(c.text);
        },
      });
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write('\n');
      if (values.stats !== false) {
        console.error(`[${model.backend.name}] ${tokens} tokens in ${seconds.toFixed(2)} s (${(tokens / seconds).toFixed(1)} tokens/s), finish: ${result.sequences[0].finishReason}`);
      }
    } finally {
      process.off('SIGINT', onSigint);
      model.dispose();
    }
    return 0;
  },
};
