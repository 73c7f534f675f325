/** Small Unicode helpers shared by the tokenizers (no tables: the engine's regex properties do the work). */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * Replaces lone surrogates by U+FFFD, one unit for one unit, so offsets keep pointing into the
 * caller's string. This is what a UTF-8 encoder (TextEncoder, Rust's String) does to them, so
 * the ids are those of the text with U+FFFD in their place.
 */
export function toWellFormed(text: string): string {
  LONE_SURROGATE.lastIndex = 0;
  if (!LONE_SURROGATE.test(text)) return text;
  LONE_SURROGATE.lastIndex = 0;
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Rust's `char::is_whitespace` and Oniguruma's `\s` are both the White_Space property. */
export const WHITE_SPACE = /\p{White_Space}/u;

/** Rust regex's Unicode `\w`. */
export const WORD_CHAR = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]/u;

export function isWhiteSpace(ch: string): boolean {
  return WHITE_SPACE.test(ch);
}

/** Length in UTF-16 units of the code point starting at `i`. */
export function cpWidth(text: string, i: number): 1 | 2 {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** Length in UTF-16 units of the code point that ends at `end`. */
export function cpWidthBefore(text: string, end: number): 1 | 2 {
  const c = text.charCodeAt(end - 1);
  if (c >= 0xdc00 && c <= 0xdfff && end >= 2) {
    const d = text.charCodeAt(end - 2);
    if (d >= 0xd800 && d <= 0xdbff) return 2;
  }
  return 1;
}

const encoder = new TextEncoder();

export function utf8Encode(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Lossy UTF-8 decoding: each maximal invalid subsequence becomes one U+FFFD, as Rust's
 * `String::from_utf8_lossy` does. The BOM is kept (it is text, not a marker, inside a stream of ids).
 */
export function createUtf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
}

const lossyDecoder = createUtf8Decoder();

export function utf8DecodeLossy(bytes: Uint8Array): string {
  return lossyDecoder.decode(bytes);
}

/** Concatenates byte arrays. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
