/**
 * The byte tokenizer: ids 0..255 are the UTF-8 bytes of the text, special tokens follow from
 * 256. No vocabulary to ship and nothing unknown, at the cost of long sequences: a fit for
 * small models trained here.
 */
import type { RawEncoding } from './post-processors.js';
import type { SpecialsJSON, SpecialsOptions } from './simple-base.js';
import { readSpecialsJSON, readTypedJSON, SimpleTokenizer } from './simple-base.js';
import type { StreamingDecoder } from './streaming.js';
import { ByteStreamingDecoder } from './streaming.js';
import type { DecodeOptions } from './types.js';
import { concatBytes, cpWidth, utf8DecodeLossy, utf8Encode } from './unicode.js';

export type ByteTokenizerOptions = SpecialsOptions;

/** `ByteTokenizer.toJSON()`: `{ "type": "ByteTokenizer", "version": 1, "specials": [...], ... }`. */
export interface ByteTokenizerJSON extends SpecialsJSON {
  type: 'ByteTokenizer';
  version: 1;
}

const BYTE_NAME = /^<0x([0-9A-F]{2})>$/;

function byteName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

export class ByteTokenizer extends SimpleTokenizer {
  private readonly specialBytes = new Map<number, Uint8Array>();

  constructor(options: ByteTokenizerOptions = {}) {
    super(256, options, 'ByteTokenizer');
    for (const [id, s] of this.specialContent) this.specialBytes.set(id, utf8Encode(s));
  }

  static fromJSON(json: string | { readonly [key: string]: unknown }): ByteTokenizer {
    return new ByteTokenizer(readSpecialsJSON(readTypedJSON(json, 'ByteTokenizer')));
  }

  toJSON(): ByteTokenizerJSON {
    return { type: 'ByteTokenizer', version: 1, ...this.specialsJSON() };
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    // Bytes go straight into one buffer; only specials need a copy of their UTF-8.
    const parts: Uint8Array[] = [];
    let run = new Uint8Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id >= 0 && id < 256 && Number.isInteger(id)) {
        run[n++] = id;
        continue;
      }
      const b = this.bytesOf(id, options);
      if (!b) continue;
      parts.push(run.subarray(0, n), b);
      run = run.subarray(n);
      n = 0;
    }
    parts.push(run.subarray(0, n));
    return utf8DecodeLossy(parts.length === 1 ? parts[0] : concatBytes(parts));
  }

  createStreamingDecoder(options: DecodeOptions = {}): StreamingDecoder {
    return new ByteStreamingDecoder((id) => this.bytesOf(id, options));
  }

  protected encodeText(text: string, base: number, enc: RawEncoding): void {
    if (!enc.tokens || !enc.offsets) {
      for (const b of utf8Encode(text)) enc.ids.push(b);
      return;
    }
    for (let i = 0; i < text.length; ) {
      const w = cpWidth(text, i);
      for (const b of utf8Encode(text.slice(i, i + w))) {
        enc.ids.push(b);
        enc.tokens.push(byteName(b));
        enc.offsets.push(base + i, base + i + w);
      }
      i += w;
    }
  }

  /** Byte tokens are named like SentencePiece byte-fallback tokens: `<0x41>`. */
  protected ordinaryToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < 256 ? byteName(id) : undefined;
  }

  protected ordinaryId(token: string): number | undefined {
    const m = BYTE_NAME.exec(token);
    return m ? parseInt(m[1], 16) : undefined;
  }

  private bytesOf(id: number, options: DecodeOptions): Uint8Array | null {
    if (!this.keep(id, options)) return null;
    return this.specialBytes.get(id) ?? Uint8Array.of(id);
  }
}
