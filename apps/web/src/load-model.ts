/**
 * Turns a `ModelSource` into a model on a backend, with errors that name the file at fault:
 * the page shows them as they are.
 */
import type { CheckpointSource } from '@mamba3/model';
import { loadPretrained, MambaLMHeadModel } from '@mamba3/model';
import { loadDefaultModel } from '@mamba3/default-model';
import type { Backend } from '@mamba3/tensor';
import { tokenizerFromJSON } from '@mamba3/tokenizer';
import type { ModelSource } from './protocol.js';
import { cachedUrlFiles } from './url-cache.js';

export interface Progress {
  phase: 'download' | 'load';
  loaded: number;
  total: number | null;
  file?: string;
}

type OnProgress = (p: Progress) => void;

export interface Loaded {
  model: MambaLMHeadModel;
  name: string;
  /** URL loads: every file came from the cache. */
  fromCache: boolean;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseConfig(text: string, file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${messageOf(err)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${file} must hold a JSON object (a model config.json)`);
  return value as Record<string, unknown>;
}

function parseTokenizer(text: string, file: string): ReturnType<typeof tokenizerFromJSON> {
  try {
    return tokenizerFromJSON(text);
  } catch (err) {
    throw new Error(`${file} is not a tokenizer this demo can read (Hugging Face tokenizer.json, or a ByteTokenizer/CharTokenizer JSON): ${messageOf(err)}`);
  }
}

async function fromFiles(source: Extract<ModelSource, { kind: 'files' }>, backend: Backend, onProgress: OnProgress): Promise<MambaLMHeadModel> {
  const tokenizer = parseTokenizer(source.tokenizer, source.tokenizerName);
  const config = source.config !== undefined ? parseConfig(source.config, 'config.json') : undefined;
  let model: MambaLMHeadModel;
  try {
    model = await MambaLMHeadModel.fromPretrained(
      { weights: new Uint8Array(source.weights), ...(config ? { config } : {}) },
      { backend, onProgress: (p) => onProgress({ phase: 'load', loaded: p.loaded, total: p.total }) },
    );
  } catch (err) {
    const hint = config ? '' : ' (without a config.json the safetensors metadata must hold the config: pick the model\'s config.json too)';
    throw new Error(`${source.weightsName}: ${messageOf(err)}${hint}`);
  }
  if (tokenizer.vocabSize > model.vocabSize) {
    model.dispose();
    throw new Error(`${source.tokenizerName} has ${tokenizer.vocabSize} tokens but the model's vocabulary has ${model.vocabSize}: they do not belong together`);
  }
  model.tokenizer = tokenizer;
  return model;
}

/** A checkpoint folder (picked Files, or a URL read through the cache) of any layout. */
async function fromCheckpoint(
  files: CheckpointSource,
  label: string,
  tokenizerText: string | undefined,
  tokenizerName: string | undefined,
  opts: { backend: Backend; onProgress: OnProgress; signal?: AbortSignal },
): Promise<MambaLMHeadModel> {
  const tokenizer = tokenizerText !== undefined ? parseTokenizer(tokenizerText, tokenizerName ?? 'tokenizer') : undefined;
  const { model } = await loadPretrained(files, {
    backend: opts.backend,
    signal: opts.signal,
    ...(tokenizer ? { tokenizer } : {}),
    // Downloads are reported per file by the URL cache; here only the upload onto the backend.
    onProgress: (p) => {
      if (p.phase === 'load') opts.onProgress({ phase: 'load', loaded: p.loaded, total: p.total, file: p.file });
    },
  });
  if (!model.tokenizer) {
    model.dispose();
    throw new Error(`${label} ships no tokenizer (tokenizer.json): pick one too (Mamba-1/2 checkpoints use GPT-NeoX's)`);
  }
  return model;
}

export async function loadModel(source: ModelSource, backend: Backend, onProgress: OnProgress, signal?: AbortSignal): Promise<Loaded> {
  if (source.kind === 'default') {
    const model = await loadDefaultModel({ backend, onProgress: (p) => onProgress({ phase: 'load', loaded: p.loaded, total: p.total }) });
    return { model, name: 'default model (Tiny Shakespeare, characters)', fromCache: false };
  }
  if (source.kind === 'checkpoint') {
    const model = await fromCheckpoint(source.files, source.folderName, source.tokenizer, source.tokenizerName, { backend, onProgress, signal });
    return { model, name: source.folderName, fromCache: false };
  }
  if (source.kind === 'url') {
    const files = await cachedUrlFiles(source.url, {
      signal,
      onFile: (p) => {
        if (!p.cached) onProgress({ phase: 'download', loaded: p.loaded, total: p.total, file: p.file });
      },
    });
    try {
      const model = await fromCheckpoint(files, files.label, source.tokenizer, source.tokenizerName, { backend, onProgress, signal });
      await files.remember();
      return { model, name: files.label, fromCache: files.offline };
    } catch (err) {
      // The load's own error is the one to report; a failed clean-up only leaves bytes behind.
      await files.discard().catch(() => undefined);
      throw err;
    }
  }
  return { model: await fromFiles(source, backend, onProgress), name: source.weightsName, fromCache: false };
}
