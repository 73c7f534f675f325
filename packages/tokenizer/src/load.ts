/**
 * One entry for every tokenizer file this package reads: a Hugging Face tokenizer.json, or the
 * JSON of a `ByteTokenizer` / `CharTokenizer` saved beside a model's weights.
 */
import { ByteTokenizer } from './byte-tokenizer.js';
import { CharTokenizer } from './char-tokenizer.js';
import { checkNesting, isObject } from './config.js';
import { TokenizerConfigError } from './errors.js';
import type { TokenizerJSON, TokenizerOptions } from './tokenizer.js';
import { Tokenizer } from './tokenizer.js';

export type AnyTokenizer = Tokenizer | ByteTokenizer | CharTokenizer;

/** Picks the tokenizer by the file's `type` ("ByteTokenizer", "CharTokenizer"), else tokenizer.json. */
export function tokenizerFromJSON(json: TokenizerJSON, options: TokenizerOptions = {}): AnyTokenizer {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new TokenizerConfigError(`tokenizer file is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (!isObject(value)) throw new TokenizerConfigError('tokenizer file: expected a JSON object at the top level');
  checkNesting(value, 'tokenizer file');
  if (value.type === 'ByteTokenizer') return ByteTokenizer.fromJSON(value);
  if (value.type === 'CharTokenizer') return CharTokenizer.fromJSON(value);
  return Tokenizer.fromJSON(value, options);
}
