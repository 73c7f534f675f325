import type { Backend, Tensor } from '@mamba3/tensor';
import { ArgumentError, dispose, engine, WeightsError } from '@mamba3/tensor';
import type { AnyTokenizer } from '@mamba3/tokenizer';
import { tokenizerFromJSON } from '@mamba3/tokenizer';
import type { Checkpoint } from './checkpoint.js';
import { openCheckpoint } from './checkpoint.js';
import type { CheckpointFiles } from './checkpoint-files.js';
import { filesFromDirectory, filesFromList, filesFromUrl } from './checkpoint-files.js';
import { fromConfigJson } from './config.js';
import type { GenerationTokenizer } from './generate.js';
import type { Layout } from './layouts.js';
import { MambaLMHeadModel } from './model.js';
import type { WeightDType } from './upload.js';
import { uploadWeight } from './upload.js';

/*
 * `loadPretrained`: one call from a checkpoint of any supported layout to a model and its
 * tokenizer (the shape of transformers.js' `from_pretrained`). Everything that loads a
 * checkpoint (CLI, web demo, bench) goes through here.
 */

/** A folder (Node) or base URL, a URL, picked browser files, or any `CheckpointFiles`. */
export type CheckpointSource = string | URL | CheckpointFiles | ArrayLike<File> | Iterable<File>;

export interface PretrainedProgress {
  /** 'download': fetching weight files (URLs); 'load': reading tensors onto the backend. */
  phase: 'download' | 'load';
  loaded: number;
  total: number | null;
  file: string;
}

export interface LoadPretrainedOptions {
  /** A backend or a registered backend name (default: the active one). */
  backend?: Backend | string;
  /** On-device storage of float weights (math stays float32). Default float32. */
  dtype?: WeightDType;
  onProgress?: (p: PretrainedProgress) => void;
  signal?: AbortSignal;
  /**
   * The tokenizer when the checkpoint ships none (official Mamba-1/2 checkpoints use GPT-NeoX's
   * tokenizer.json): a tokenizer object, or tokenizer.json as text or parsed JSON. Overrides a
   * tokenizer file found beside the weights. `false`: load no tokenizer (the caller has its own).
   */
  tokenizer?: GenerationTokenizer | string | Record<string, unknown> | false;
}

export interface Pretrained {
  model: MambaLMHeadModel;
  /** null when the checkpoint ships none and none was passed. */
  tokenizer: GenerationTokenizer | null;
  layout: Layout;
  /** The official config.json the checkpoint maps to. */
  config: Record<string, unknown>;
  /** End-of-sequence ids named by the checkpoint's config.json (Hugging Face `eos_token_id`), if any. */
  eosTokenIds: number[];
}

function eosIds(c: Record<string, unknown>): number[] {
  const e = c.eos_token_id;
  const list = Array.isArray(e) ? e : [e];
  return list.filter((v): v is number => typeof v === 'number' && Number.isInteger(v));
}

function isFileList(s: unknown): s is ArrayLike<File> | Iterable<File> {
  if (typeof File === 'undefined' || s === null || typeof s !== 'object') return false;
  const first = Array.from(s as ArrayLike<File>)[0];
  return first instanceof File;
}

/** The files of a source. */
export async function checkpointFiles(source: CheckpointSource, signal?: AbortSignal): Promise<CheckpointFiles> {
  if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    return /^(https?:|blob:|data:|file:)/.test(s) ? filesFromUrl(s, signal) : filesFromDirectory(s);
  }
  if (isFileList(source)) return filesFromList(source);
  const f = source as CheckpointFiles;
  if (typeof f.text !== 'function' || typeof f.open !== 'function') throw new ArgumentError('loadPretrained: the source must be a folder path, a URL, a list of Files or CheckpointFiles');
  return f;
}

async function resolveBackend(b: Backend | string | undefined): Promise<Backend> {
  if (!b) return engine.getBackend();
  return typeof b === 'string' ? engine.initBackend(b) : b;
}

/** Reads every weight onto the backend through the one upload function. */
export async function loadCheckpointWeights(
  ckpt: Checkpoint,
  opts: { backend: Backend; dtype?: WeightDType; onProgress?: (p: PretrainedProgress) => void; signal?: AbortSignal },
): Promise<Record<string, Tensor>> {
  const total = [...ckpt.weights.values()].reduce((n, w) => n + w.byteLength, 0);
  let loaded = 0;
  // No prototype: names come from the file, and "__proto__" must stay a name.
  const out = Object.create(null) as Record<string, Tensor>;
  try {
    for (const w of ckpt.weights.values()) {
      opts.signal?.throwIfAborted();
      out[w.name] = uploadWeight(await w.read(), { backend: opts.backend, dtype: opts.dtype });
      loaded += w.byteLength;
      opts.onProgress?.({ phase: 'load', loaded, total, file: w.file });
    }
  } catch (err) {
    dispose(out);
    throw err;
  }
  return out;
}

function toTokenizer(t: Exclude<LoadPretrainedOptions['tokenizer'], false> | { text: string }, label: string): GenerationTokenizer {
  if (typeof t === 'object' && t !== null && typeof (t as GenerationTokenizer).encode === 'function') return t as GenerationTokenizer;
  const json = typeof t === 'object' && t !== null && 'text' in t && typeof t.text === 'string' && Object.keys(t).length <= 2 ? t.text : t;
  try {
    return tokenizerFromJSON(json as Parameters<typeof tokenizerFromJSON>[0]) as AnyTokenizer;
  } catch (err) {
    throw new WeightsError(`${label}: not a tokenizer file this library reads (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Loads a model of any supported layout and its tokenizer. */
export async function loadPretrained(source: CheckpointSource, opts: LoadPretrainedOptions = {}): Promise<Pretrained> {
  const backend = await resolveBackend(opts.backend);
  const files = await checkpointFiles(source, opts.signal);
  const ckpt = await openCheckpoint(files, {
    signal: opts.signal,
    onProgress: (p) => opts.onProgress?.({ phase: 'download', ...p }),
  });
  try {
    const config = fromConfigJson(ckpt.config);
    const tokenizer =
      opts.tokenizer === false
        ? null
        : opts.tokenizer !== undefined
          ? toTokenizer(opts.tokenizer, 'the tokenizer option')
          : ckpt.tokenizer
            ? toTokenizer(ckpt.tokenizer, `${files.label}/${ckpt.tokenizer.file}`)
            : null;
    const weights = await loadCheckpointWeights(ckpt, { backend, dtype: opts.dtype, onProgress: opts.onProgress, signal: opts.signal });
    let model: MambaLMHeadModel;
    try {
      model = MambaLMHeadModel.fromWeights(config, weights);
    } catch (err) {
      dispose(weights);
      throw err;
    }
    if (tokenizer) {
      if (tokenizer.vocabSize !== undefined && tokenizer.vocabSize > model.vocabSize) {
        model.dispose();
        throw new WeightsError(`${files.label}: the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary has ${model.vocabSize}: they do not belong together`);
      }
      model.tokenizer = tokenizer;
    }
    return { model, tokenizer, layout: ckpt.layout, config: ckpt.config, eosTokenIds: eosIds(ckpt.sourceConfig) };
  } finally {
    await ckpt.close();
  }
}
