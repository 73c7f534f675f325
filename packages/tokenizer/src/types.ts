import type { StreamingDecoder } from './streaming.js';

export interface EncodeOptions {
  /**
   * Add the special tokens the tokenizer's post-processor (or `addBosToken`/`addEosToken` for
   * the byte and char tokenizers) puts around a sequence. Default true, as in Hugging Face.
   * GPT-NeoX adds none.
   */
  addSpecialTokens?: boolean;
  /**
   * Recognise special tokens (`<|endoftext|>`, ...) written in the text. Default true, as in
   * Hugging Face; false encodes them as ordinary text (HF's `encode_special_tokens = True`),
   * which is what untrusted user text usually wants.
   */
  parseSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (`<|endoftext|>`, ...) out of the text. Default false. */
  skipSpecialTokens?: boolean;
  /**
   * What an id that is not in the vocabulary does: `'error'` (default) throws an
   * `UnknownTokenIdError`; `'skip'` leaves it out, as Hugging Face's `decode` silently does.
   */
  onUnknownId?: 'error' | 'skip';
}

/** A token-level view of an encoding. */
export interface Encoding {
  ids: number[];
  /** The token strings (byte-level BPE tokens use the byte alphabet: `Ġworld`). */
  tokens: string[];
  /**
   * For each token, the [start, end) range of the input it covers, in UTF-16 units (so
   * `text.slice(start, end)`). Hugging Face gives bytes (Rust) or characters (Python); these
   * are JavaScript string indices. Tokens that are part of one character (byte-level pieces of
   * an emoji) each cover the whole character; added special tokens cover [0, 0].
   */
  offsets: Array<[number, number]>;
}

/** What a model needs from a tokenizer. `Tokenizer`, `ByteTokenizer` and `CharTokenizer` are all one. */
export interface TokenizerLike {
  /** One more than the largest id (ids may have holes in odd files, never in ours). */
  readonly vocabSize: number;
  /** Special tokens by content. */
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids with token strings and offsets. */
  encodeDetailed(text: string, options?: EncodeOptions): Encoding;
  encodeBatch(texts: readonly string[], options?: EncodeOptions): number[][];
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  decodeBatch(batch: ReadonlyArray<ArrayLike<number>>, options?: DecodeOptions): string[];
  /** Ids in, text out, one id at a time, never splitting a character. */
  createStreamingDecoder(options?: DecodeOptions): StreamingDecoder;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
}
