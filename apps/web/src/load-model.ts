/**
 * Turns a `ModelSource` into a model on a backend, with errors that name the file at fault:
 * the page shows them as they are.
 */
import type { LoadProgress } from '@mamba3/model';
import { loadPretrained, MambaLMHeadModel } from '@mamba3/model';
import { loadDefaultModel } from '@mamba3/default-model';
import type { Backend } from '@mamba3/tensor';
import { tokenizerFromJSON } from '@mamba3/tokenizer';
import type { ModelSource } from './protocol.js';

type OnProgress = (p: LoadProgress) => void;

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
    model = await MambaLMHeadModel.fromPretrained({ weights: new Uint8Array(source.weights), ...(config ? { config } : {}) }, { backend, onProgress });
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

async function fromCheckpoint(source: Extract<ModelSource, { kind: 'checkpoint' }>, backend: Backend, onProgress: OnProgress): Promise<MambaLMHeadModel> {
  const tokenizer = source.tokenizer !== undefined ? parseTokenizer(source.tokenizer, source.tokenizerName ?? 'tokenizer') : undefined;
  const { model } = await loadPretrained(source.files, {
    backend,
    ...(tokenizer ? { tokenizer } : {}),
    onProgress: (p) => onProgress({ loaded: p.loaded, total: p.total, file: p.file }),
  });
  if (!model.tokenizer) {
    model.dispose();
    throw new Error(`${source.folderName} ships no tokenizer (tokenizer.json): pick one too (Mamba-1/2 checkpoints use GPT-NeoX's)`);
  }
  return model;
}

export async function loadModel(source: ModelSource, backend: Backend, onProgress: OnProgress): Promise<{ model: MambaLMHeadModel; name: string }> {
  if (source.kind === 'default') return { model: await loadDefaultModel({ backend, onProgress }), name: 'default model (Tiny Shakespeare, characters)' };
  if (source.kind === 'checkpoint') return { model: await fromCheckpoint(source, backend, onProgress), name: source.folderName };
  return { model: await fromFiles(source, backend, onProgress), name: source.weightsName };
}
