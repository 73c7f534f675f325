/**
 * @mamba3/default-model: the small character-level Mamba-3 that the demos run without any
 * download. `assets/` holds `config.json` (official layout), `model.safetensors` (f16 storage)
 * and `tokenizer.json` (a CharTokenizer); see the README for how it was trained.
 */
import type { LoadOptions } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import type { CharTokenizer } from '@mamba3/tokenizer';
import { tokenizerFromJSON } from '@mamba3/tokenizer';

/** Where the files are: file: URLs in Node, asset URLs in bundlers (Vite rewrites these). */
export const DEFAULT_MODEL_URLS = {
  config: new URL('../assets/config.json', import.meta.url),
  weights: new URL('../assets/model.safetensors', import.meta.url),
  tokenizer: new URL('../assets/tokenizer.json', import.meta.url),
};

async function readBytes(url: URL): Promise<Uint8Array> {
  if (url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return new Uint8Array(await readFile(url));
  }
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url.href}: HTTP ${res.status}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** The default model's tokenizer. */
export async function loadDefaultTokenizer(): Promise<CharTokenizer> {
  const text = new TextDecoder().decode(await readBytes(DEFAULT_MODEL_URLS.tokenizer));
  return tokenizerFromJSON(text) as CharTokenizer;
}

/** The default model with its tokenizer attached (`model.tokenizer`), on the given or active backend. */
export async function loadDefaultModel(opts?: LoadOptions): Promise<MambaLMHeadModel> {
  const [configBytes, weights, tokenizer] = await Promise.all([readBytes(DEFAULT_MODEL_URLS.config), readBytes(DEFAULT_MODEL_URLS.weights), loadDefaultTokenizer()]);
  const config = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
  const model = await MambaLMHeadModel.fromPretrained({ config, weights }, opts);
  model.tokenizer = tokenizer;
  return model;
}
