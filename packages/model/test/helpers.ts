import type { GenerationTokenizer } from '../src/index.js';

/** A byte-per-char tokenizer over printable ASCII, for generation tests (ids = char codes). */
export function asciiTokenizer(eos?: number): GenerationTokenizer {
  return {
    encode: (text: string) => Array.from(text, (c) => c.charCodeAt(0) & 0xff),
    decode: (ids: number[]) => String.fromCharCode(...ids),
    eosTokenId: eos ?? null,
  };
}
