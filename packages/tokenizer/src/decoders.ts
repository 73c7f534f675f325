/**
 * Decoders (`tokenizers/src/decoders`): a chain of functions over the list of token strings,
 * joined at the end.
 */
import { tokenBytes } from './byte-level.js';
import { Cfg, readPattern } from './config.js';
import { UnknownComponentError } from './errors.js';
import { prependScheme } from './pre-tokenizers.js';
import { replaceMatches } from './normalizers.js';
import { Piece } from './piece.js';
import { compileLiteral, compileOnig } from './regex.js';
import { concatBytes, utf8DecodeLossy } from './unicode.js';

export interface Decoder {
  decodeChain(tokens: string[]): string[];
  /** True when the decoder is ByteLevel alone: tokens are bytes and can be streamed as bytes. */
  readonly byteLevel: boolean;
}

export const DECODER_TYPES = ['ByteLevel', 'ByteFallback', 'Fuse', 'Strip', 'Replace', 'Metaspace', 'BPEDecoder', 'Sequence'] as const;

export function buildDecoder(cfg: Cfg): Decoder {
  const type = cfg.type();
  const plain = (decodeChain: (tokens: string[]) => string[]): Decoder => ({ decodeChain, byteLevel: false });
  switch (type) {
    case 'ByteLevel':
      return { decodeChain: byteLevelDecode, byteLevel: true };
    case 'ByteFallback':
      return plain(byteFallback);
    case 'Fuse':
      return plain((tokens) => [tokens.join('')]);
    case 'Strip':
      return plain(strip(cfg.char('content'), cfg.int('start', 0), cfg.int('stop', 0)));
    case 'Replace':
      return plain(replace(cfg));
    case 'Metaspace':
      return plain(metaspace(cfg.char('replacement', '\u2581'), prependScheme(cfg) !== 'never'));
    case 'BPEDecoder':
      return plain(bpeSuffix(cfg.str('suffix', '</w>')));
    case 'Sequence':
      return sequence(cfg);
    default:
      throw new UnknownComponentError('decoder', type, DECODER_TYPES, cfg.path);
  }
}

/** All tokens to bytes, then one lossy UTF-8 string (so characters split across tokens join up). */
export function byteLevelDecode(tokens: string[]): string[] {
  return [utf8DecodeLossy(concatBytes(tokens.map(tokenBytes)))];
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `<0xAB>` tokens to text; an invalid run becomes one U+FFFD per byte (HF's rule, not lossy UTF-8). */
function byteFallback(tokens: string[]): string[] {
  const out: string[] = [];
  let pending: number[] = [];
  const flush = (): void => {
    if (!pending.length) return;
    try {
      out.push(strictUtf8.decode(Uint8Array.from(pending)));
    } catch {
      for (let k = 0; k < pending.length; k++) out.push('\uFFFD');
    }
    pending = [];
  };
  for (const t of tokens) {
    const m = BYTE_TOKEN.exec(t);
    if (m) pending.push(parseInt(m[1], 16));
    else {
      flush();
      out.push(t);
    }
  }
  flush();
  return out;
}

function strip(content: string, start: number, stop: number): (tokens: string[]) => string[] {
  return (tokens) =>
    tokens.map((token) => {
      const chars = [...token];
      let s = 0;
      while (s < start && s < chars.length && chars[s] === content) s++;
      let e = chars.length;
      while (chars.length - e < stop && e > s && chars[e - 1] === content) e--;
      return chars.slice(s, e).join('');
    });
}

function replace(cfg: Cfg): (tokens: string[]) => string[] {
  const pattern = readPattern(cfg, 'pattern');
  const re = pattern.kind === 'String' ? compileLiteral(pattern.source) : compileOnig(pattern.source, cfg.at('pattern'));
  const content = cfg.str('content');
  return (tokens) => tokens.map((t) => replaceMatches(new Piece(t, null), re, content).text);
}

/** The replacement character becomes a space, except at the very start when one was prepended. */
function metaspace(replacement: string, prepended: boolean): (tokens: string[]) => string[] {
  return (tokens) =>
    tokens.map((t, i) => {
      const parts = t.split(replacement);
      return i === 0 && prepended ? parts.join('') : parts.join(' ');
    });
}

function bpeSuffix(suffix: string): (tokens: string[]) => string[] {
  return (tokens) => tokens.map((t, i) => t.split(suffix).join(i === tokens.length - 1 ? '' : ' '));
}

function sequence(cfg: Cfg): Decoder {
  const { items, path } = cfg.arr('decoders');
  const steps = items.map((item, i) => buildDecoder(Cfg.from(item, path(i))));
  return {
    decodeChain: (tokens) => steps.reduce((acc, d) => d.decodeChain(acc), tokens),
    byteLevel: steps.length === 1 && steps[0].byteLevel,
  };
}
