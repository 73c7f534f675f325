/**
 * Streaming decode: ids arrive one at a time (generation), text leaves as soon as it is whole.
 * The concatenation of everything `push` and `flush` return equals `decode` of all the ids.
 */
import { TokenizerError } from './errors.js';
import { createUtf8Decoder } from './unicode.js';

export abstract class StreamingDecoder {
  /** Adds one id; returns the text it completes (often '' while a character is incomplete). */
  abstract push(id: number): string;
  /** Ends the stream: returns what is held back (invalid or incomplete bytes as U+FFFD) and resets. */
  abstract flush(): string;
  /** Forgets everything pushed so far. */
  abstract reset(): void;

  /** Pushes several ids; returns the text they complete. */
  pushAll(ids: Iterable<number>): string {
    let out = '';
    for (const id of ids) out += this.push(id);
    return out;
  }
}

/**
 * For tokenizers whose tokens are bytes (byte-level BPE, the byte tokenizer): a streaming UTF-8
 * decoder holds back an incomplete character and replaces invalid bytes exactly as a one-shot
 * lossy decode does, so no window of ids is needed.
 */
export class ByteStreamingDecoder extends StreamingDecoder {
  private utf8 = createUtf8Decoder();

  /** `bytesOf` returns the bytes of an id, or null for an id to leave out (skipped specials). */
  constructor(private readonly bytesOf: (id: number) => Uint8Array | null) {
    super();
  }

  push(id: number): string {
    const bytes = this.bytesOf(id);
    if (!bytes || bytes.length === 0) return '';
    return this.utf8.decode(bytes, { stream: true });
  }

  flush(): string {
    const rest = this.utf8.decode();
    this.reset();
    return rest;
  }

  reset(): void {
    this.utf8 = createUtf8Decoder();
  }
}

/**
 * For any decoder chain: Hugging Face's `DecodeStream`. It decodes a short window of ids
 * (the ids behind the last emitted text plus the new ones) and emits what grew past that
 * text, holding back while the result ends in U+FFFD (a character still incomplete).
 * Decoders that look at context (Strip, Metaspace's first-token rule) see the same context as
 * in a full decode because the window always starts with already-emitted ids.
 */
export class WindowStreamingDecoder extends StreamingDecoder {
  private ids: number[] = [];
  private prefix = '';
  private prefixIndex = 0;

  /** `decodeIds` decodes a list of ids; `accept` validates an id and says whether to keep it. */
  constructor(
    private readonly decodeIds: (ids: number[]) => string,
    private readonly accept: (id: number) => boolean,
  ) {
    super();
  }

  push(id: number): string {
    if (!this.accept(id)) return '';
    if (this.prefix === '' && this.ids.length > 0) {
      const p = this.decodeIds(this.ids);
      if (!p.endsWith('\uFFFD')) {
        this.prefix = p;
        this.prefixIndex = this.ids.length;
      }
    }
    this.ids.push(id);
    const text = this.decodeIds(this.ids);
    if (text.length <= this.prefix.length || text.endsWith('\uFFFD')) return '';
    if (!text.startsWith(this.prefix)) {
      throw new TokenizerError(
        `streaming decode: the decoder rewrote text already emitted (expected the window to start with ${JSON.stringify(this.prefix)}, got ${JSON.stringify(text)}); use decode() for this tokenizer`,
      );
    }
    const out = text.slice(this.prefix.length);
    const nextIndex = this.ids.length - this.prefixIndex;
    this.ids = this.ids.slice(this.prefixIndex);
    this.prefix = this.decodeIds(this.ids);
    this.prefixIndex = nextIndex;
    return out;
  }

  flush(): string {
    const text = this.ids.length ? this.decodeIds(this.ids) : '';
    const out = text.length > this.prefix.length && text.startsWith(this.prefix) ? text.slice(this.prefix.length) : '';
    this.reset();
    return out;
  }

  reset(): void {
    this.ids = [];
    this.prefix = '';
    this.prefixIndex = 0;
  }
}

/** For tokenizers whose tokens are whole characters: every id is text at once. */
export class TextStreamingDecoder extends StreamingDecoder {
  constructor(private readonly textOf: (id: number) => string) {
    super();
  }

  push(id: number): string {
    return this.textOf(id);
  }

  flush(): string {
    return '';
  }

  reset(): void {}
}
