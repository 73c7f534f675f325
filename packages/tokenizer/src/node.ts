/**
 * Node-only helpers (`@mamba3/tokenizer/node`): tokenizer files on disk, gzipped or not.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import type { ByteTokenizer } from './byte-tokenizer.js';
import type { CharTokenizer } from './char-tokenizer.js';
import { TokenizerConfigError } from './errors.js';
import type { AnyTokenizer } from './load.js';
import { tokenizerFromJSON } from './load.js';
import type { TokenizerOptions } from './tokenizer.js';

/** The text of a tokenizer file; gzip (by its magic bytes) is undone. */
export async function readTokenizerText(path: string): Promise<string> {
  const bytes = await readFile(path);
  const isGzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  try {
    return (isGzip ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (err) {
    throw new TokenizerConfigError(`${path}: cannot gunzip (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Loads a tokenizer.json (or a saved byte/char tokenizer), `.gz` or plain. */
export async function fromFile(path: string, options: TokenizerOptions = {}): Promise<AnyTokenizer> {
  const text = await readTokenizerText(path);
  try {
    return tokenizerFromJSON(text, options);
  } catch (err) {
    if (err instanceof TokenizerConfigError) err.message = `${path}: ${err.message}`;
    throw err;
  }
}

/** Saves a byte or char tokenizer as JSON (to ship beside the weights). */
export async function saveToFile(path: string, tokenizer: ByteTokenizer | CharTokenizer): Promise<void> {
  await writeFile(path, `${JSON.stringify(tokenizer.toJSON())}\n`);
}
