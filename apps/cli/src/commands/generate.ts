import { join, dirname } from 'node:path';
import type { TokenizerLike } from '@mamba3/tokenizer';
import { fromFile } from '@mamba3/tokenizer/node';
import type { GenerateOptions, PrefillProgress, WeightDType } from '@mamba3/model';
import { checkGenerateOptions, loadPretrained, MambaLMHeadModel, TOKENIZER_FILES as MODEL_TOKENIZER_FILES } from '@mamba3/model';
import { fileSource } from '@mamba3/tensor/node';
import { Mamba3Error } from '@mamba3/tensor';
import type { Command } from '../command.js';
import { CliError, EXIT_INTERRUPTED, UsageError } from '../command.js';
import { useBackendNamed } from '../backends.js';
import { isDirectory, isFile, requireExisting, requireFile } from '../files.js';
import type { FlagValues } from '../schema.js';
import { DTYPE_USAGE, parseDType } from '../dtype.js';
import { batchedWriter } from '../stream-writer.js';

/** Tokenizer files looked for beside a model, in order: the loader's list (`@mamba3/model`), each also gzipped (the Node reader unpacks it). */
export const TOKENIZER_FILES = MODEL_TOKENIZER_FILES.flatMap((f) => [f, `${f}.gz`]);

/** A load failure as one line naming the model path (memory exhaustion included). */
function loadFailure(path: string, backend: string, err: unknown): unknown {
  if (err instanceof RangeError) return new CliError(`--model ${path}: too large for the ${backend} backend in this process's memory (${err.message})`);
  if (err instanceof Mamba3Error && !err.message.includes(path)) err.message = `${path}: ${err.message}`;
  return err;
}

/** A model from a directory (config.json + weights) or a .safetensors file whose metadata holds the config. */
export async function loadModel(path: string, backend: string | undefined, dtype?: WeightDType): Promise<MambaLMHeadModel> {
  requireExisting('--model', path);
  const b = await useBackendNamed(backend);
  if (isDirectory(path)) {
    try {
      // Any layout (official .bin or safetensors, Hugging Face), auto-detected; the tokenizer is loadTokenizer's.
      return (await loadPretrained(path, { backend: b, dtype, tokenizer: false })).model;
    } catch (err) {
      throw loadFailure(path, b.name, err);
    }
  }
  const source = await fileSource(path);
  try {
    return await MambaLMHeadModel.fromPretrained({ weights: source }, { backend: b, dtype });
  } catch (err) {
    throw loadFailure(path, b.name, err);
  } finally {
    await source.close?.();
  }
}

export async function loadTokenizer(modelPath: string, explicit: string | undefined): Promise<TokenizerLike | undefined> {
  if (explicit) return fromFile(requireFile('--tokenizer', explicit));
  const dir = isDirectory(modelPath) ? modelPath : dirname(modelPath);
  for (const f of TOKENIZER_FILES) if (isFile(join(dir, f))) return fromFile(join(dir, f));
  return undefined;
}

/** Sampling options from checked flags (schema.ts). */
export function samplingFlags(values: FlagValues, defaults: GenerateOptions = {}): GenerateOptions {
  const n = (k: string): number | undefined => values[k] as number | undefined;
  return {
    maxNewTokens: n('max-new-tokens') ?? defaults.maxNewTokens,
    temperature: n('temperature') ?? defaults.temperature,
    topK: n('top-k'),
    topP: n('top-p') ?? defaults.topP,
    minP: n('min-p'),
    repetitionPenalty: n('repetition-penalty'),
    seed: n('seed') ?? defaults.seed,
    prefillSlice: n('prefill-slice'),
  };
}

/** A prefill progress line on stderr (redrawn on a terminal), once a prompt takes more than one slice. */
export function prefillProgress(): (p: PrefillProgress) => void {
  const started = performance.now();
  let long = false;
  return (p) => {
    long ||= p.done > 0 && p.done < p.total;
    if (!long) return;
    const s = (performance.now() - started) / 1000;
    const line = `prefill ${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')} tokens (${((100 * p.done) / p.total).toFixed(0)}%, ${(p.done / Math.max(s, 1e-9)).toFixed(0)} tokens/s)`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}${p.done === p.total ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  };
}

export const generateCommand: Command = {
  name: 'generate',
  summary: 'generate text with a model, streaming to stdout',
  usage: [
    'usage: mamba3 generate --model PATH --prompt TEXT [--tokenizer FILE] [--backend cpu|wasm|webgpu|tfjs|auto]',
    '                       [--max-new-tokens N] [--temperature T] [--top-k K] [--top-p P] [--min-p P]',
    '                       [--repetition-penalty R] [--seed S] [--stop TEXT ...] [--prefill-slice N]',
    '                       [--dtype float32|bfloat16|float16]',
    '',
    'PATH: a checkpoint folder of any layout (official config.json + pytorch_model.bin or',
    'model.safetensors, shards with their index, or Hugging Face mamba/mamba2), or a .safetensors file',
    'with the config in its metadata. The tokenizer defaults to a tokenizer file beside the model',
    `(${TOKENIZER_FILES.join(', ')}). Long prompts are read in slices of --prefill-slice tokens (default: what`,
    'the device allows, at most 4096) with a progress line on stderr.',
    DTYPE_USAGE,
    'Ctrl-C stops prefill or generation cleanly (exit 130).',
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
    'prefill-slice': { type: 'string' },
    dtype: { type: 'string' },
  },
  async run({ values }) {
    if (typeof values.model !== 'string') throw new UsageError('--model PATH is required (mamba3 generate --help for usage)');
    if (typeof values.prompt !== 'string') throw new UsageError('--prompt TEXT is required');
    const options: GenerateOptions = { ...samplingFlags(values, { maxNewTokens: 128 }), stopStrings: values.stop as string[] | undefined };
    const dtype = parseDType('generate', values.dtype);
    checkGenerateOptions(options);
    requireExisting('--model', values.model);
    const tokenizer = await loadTokenizer(values.model, values.tokenizer as string | undefined);
    if (!tokenizer) throw new CliError(`--model ${values.model}: no tokenizer beside it (${TOKENIZER_FILES.join(', ')}); give --tokenizer FILE`);
    const model = await loadModel(values.model, values.backend as string | undefined, dtype);
    const controller = new AbortController();
    const onSigint = (): void => controller.abort();
    process.once('SIGINT', onSigint);
    const started = performance.now();
    let tokens = 0;
    let echoed = false;
    const progress = prefillProgress();
    const out = batchedWriter((text) => process.stdout.write(text));
    try {
      const result = await model.generateText(values.prompt, {
        ...options,
        tokenizer,
        signal: controller.signal,
        onPrefillProgress: (p) => {
          progress(p);
          // The prompt is echoed once it has been read, so nothing is printed for a rejected one.
          if (p.done === p.total && !echoed) {
            out.write(values.prompt as string);
            out.flush();
            echoed = true;
          }
        },
        onChunk: (c) => {
          tokens++;
          out.write(c.text);
        },
      });
      out.flush();
      const seconds = (performance.now() - started) / 1000;
      process.stdout.write('\n');
      if (values.stats !== false) {
        console.error(`[${model.backend.name}] ${tokens} tokens in ${seconds.toFixed(2)} s (${(tokens / seconds).toFixed(1)} tokens/s), finish: ${result.sequences[0].finishReason}`);
      }
      return controller.signal.aborted ? EXIT_INTERRUPTED : 0;
    } finally {
      out.flush();
      process.off('SIGINT', onSigint);
      model.dispose();
    }
  },
};
