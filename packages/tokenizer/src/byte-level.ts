/**
 * GPT-2's byte-level alphabet: every byte gets a printable character, so a BPE over "characters"
 * is a BPE over bytes and any text (any bytes) has a tokenization without an unknown token.
 * Printable Latin-1 bytes map to themselves; the rest (controls, space, 0x7F-0xA0, 0xAD) to
 * U+0100 onwards, in byte order. See openai/gpt-2 `bytes_to_unicode`.
 */
import { utf8Encode } from './unicode.js';

function buildTables(): { byteToChar: string[]; charToByte: Map<number, number> } {
  const keep = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const byteToChar: string[] = new Array<string>(256);
  const charToByte = new Map<number, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const cp = keep(b) ? b : 256 + n++;
    byteToChar[b] = String.fromCharCode(cp);
    charToByte.set(cp, b);
  }
  return { byteToChar, charToByte };
}

const { byteToChar, charToByte } = buildTables();

/** The byte-level character of each byte. */
export const BYTE_TO_CHAR: readonly string[] = byteToChar;

/** The byte behind a byte-level character (as a UTF-16 code unit), or undefined if it is not one. */
export function byteOfChar(code: number): number | undefined {
  return charToByte.get(code);
}

const CODE = Uint16Array.from(byteToChar, (c) => c.charCodeAt(0));

/**
 * Maps text to its byte-level form: one character per UTF-8 byte. Encodes by hand (no
 * TextEncoder round trip): this runs once per new word, the hot path of a cold cache.
 */
export function toByteLevel(s: string): string {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      out.push(CODE[c]);
    } else if (c < 0x800) {
      out.push(CODE[0xc0 | (c >> 6)], CODE[0x80 | (c & 63)]);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      const cp = ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00) + 0x10000;
      out.push(CODE[0xf0 | (cp >> 18)], CODE[0x80 | ((cp >> 12) & 63)], CODE[0x80 | ((cp >> 6) & 63)], CODE[0x80 | (cp & 63)]);
    } else {
      // A lone surrogate (inputs are made well-formed first, so only by direct use) encodes as
      // U+FFFD, as TextEncoder does.
      const u = (c & 0xf800) === 0xd800 ? 0xfffd : c;
      out.push(CODE[0xe0 | (u >> 12)], CODE[0x80 | ((u >> 6) & 63)], CODE[0x80 | (u & 63)]);
    }
  }
  return fromCodes(out);
}

/** String.fromCharCode over an array, in chunks small enough for the argument limit. */
function fromCodes(codes: number[]): string {
  if (codes.length <= 4096) return String.fromCharCode(...codes);
  let out = '';
  for (let i = 0; i < codes.length; i += 4096) out += String.fromCharCode(...codes.slice(i, i + 4096));
  return out;
}

/**
 * The bytes a token stands for when decoding: its byte-level characters mapped back, or, when
 * any character is outside the alphabet (added tokens such as `<|endoftext|>` or runs of spaces),
 * its plain UTF-8 bytes, which is what the Hugging Face ByteLevel decoder does.
 */
export function tokenBytes(token: string): Uint8Array {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = charToByte.get(token.charCodeAt(i));
    if (b === undefined) return utf8Encode(token);
    out[i] = b;
  }
  return out;
}
