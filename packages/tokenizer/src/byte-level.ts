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

/** True when every unit of `s` is printable ASCII other than space: those map to themselves. */
function isPlainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Maps text to its byte-level form: one character per UTF-8 byte. */
export function toByteLevel(s: string): string {
  if (isPlainAscii(s)) return s;
  const bytes = utf8Encode(s);
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += byteToChar[bytes[i]];
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
