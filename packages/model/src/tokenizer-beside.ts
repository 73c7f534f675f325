/**
 * The tokenizer that ships beside a model's weights (`tokenizer.json` in the same folder or
 * under the same base URL), so `fromPretrained(dir)` gives a model that takes text prompts.
 * A folder without one loads as before (ids only); a broken one is an error naming the file.
 */
import type { AnyTokenizer } from '@mamba3/tokenizer';
import { tokenizerFromJSON, TokenizerConfigError } from '@mamba3/tokenizer';

export const TOKENIZER_FILE = 'tokenizer.json';

/** `tokenizer.json` in directory `dir` (Node), or undefined when there is none. */
async function fromDirectory(dir: string): Promise<AnyTokenizer | undefined> {
  const [{ existsSync }, { join }, { fromFile }] = await Promise.all([import('node:fs'), import('node:path'), import('@mamba3/tokenizer/node')]);
  const path = join(dir, TOKENIZER_FILE);
  return existsSync(path) ? fromFile(path) : undefined;
}

/** `tokenizer.json` under base URL `base`, or undefined when the server has none (404). */
async function fromUrl(base: string): Promise<AnyTokenizer | undefined> {
  const url = `${base.endsWith('/') ? base : `${base}/`}${TOKENIZER_FILE}`;
  const res = await fetch(url);
  if (res.status === 404) return undefined;
  if (!res.ok) throw new TokenizerConfigError(`fetching ${url}: HTTP ${res.status} ${res.statusText}`);
  const text = await res.text();
  try {
    return tokenizerFromJSON(text);
  } catch (err) {
    if (err instanceof TokenizerConfigError) err.message = `${url}: ${err.message}`;
    throw err;
  }
}

/** The tokenizer beside the weights at `source` (a directory or a base URL), if there is one. */
export function tokenizerBeside(source: string, isUrl: boolean): Promise<AnyTokenizer | undefined> {
  return isUrl ? fromUrl(source) : fromDirectory(source);
}
