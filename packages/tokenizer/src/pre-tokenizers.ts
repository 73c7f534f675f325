/**
 * Pre-tokenizers (`tokenizers/src/pre_tokenizers`): split a piece into the words the model
 * sees, possibly transforming them (ByteLevel maps each word to its byte-level characters).
 */
import { toByteLevel } from './byte-level.js';
import { Cfg, readPattern } from './config.js';
import { TokenizerConfigError, UnknownComponentError } from './errors.js';
import type { Matcher } from './pattern.js';
import { parseBehavior, splitPiece } from './pattern.js';
import { Piece, PieceBuilder } from './piece.js';
import { compileLiteral, compileOnig } from './regex.js';
import { cpWidth, WHITE_SPACE } from './unicode.js';

export interface PreTokenizer {
  split(p: Piece): Piece[];
  /** True when splitting depends on where a piece sits in the input (Metaspace `first`). */
  readonly needsAlignment: boolean;
  /**
   * The plain-encode fast path, when the words are regex matches followed by a per-word
   * transform (ByteLevel): `words` gives the raw words, `finish` the model's input for one.
   * Callers cache ids by raw word and skip `finish` on every hit.
   */
  readonly fast?: { words(text: string): string[]; finish(word: string): string };
}

export const PRE_TOKENIZER_TYPES = [
  'ByteLevel',
  'Split',
  'Sequence',
  'Digits',
  'Metaspace',
  'Whitespace',
  'WhitespaceSplit',
  'Punctuation',
] as const;

/** The GPT-2 pattern, as the ByteLevel pre-tokenizer compiles it (Oniguruma: `\s` is White_Space). */
export const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

export function buildPreTokenizer(cfg: Cfg): PreTokenizer {
  const type = cfg.type();
  switch (type) {
    case 'ByteLevel':
      return byteLevel(cfg.bool('add_prefix_space', true), cfg.bool('use_regex', true));
    case 'Split':
      return split(cfg);
    case 'Sequence':
      return sequence(cfg);
    case 'Digits':
      return simple((p) => splitPiece(p, isNumeric, cfg.bool('individual_digits', false) ? 'Isolated' : 'Contiguous'));
    case 'Metaspace':
      return metaspace(cfg);
    case 'Whitespace':
      return simple((p) => splitPiece(p, WORDS_OR_PUNCT, 'Removed', true));
    case 'WhitespaceSplit':
      return simple((p) => splitPiece(p, isSpace, 'Removed'));
    case 'Punctuation':
      return simple((p) => splitPiece(p, isPunct, parseBehavior(cfg.obj.behavior ?? 'Isolated', cfg.at('behavior'))));
    default:
      throw new UnknownComponentError('pre_tokenizer', type, PRE_TOKENIZER_TYPES, cfg.path);
  }
}

function simple(split: (p: Piece) => Piece[]): PreTokenizer {
  return { split, needsAlignment: false };
}

const NUMERIC = /\p{N}/u;
const isNumeric = (ch: string): boolean => NUMERIC.test(ch);
const isSpace = (ch: string): boolean => WHITE_SPACE.test(ch);
const PUNCT = /\p{P}/u;
const isPunct = (ch: string): boolean => PUNCT.test(ch) || /^[!-/:-@[-`{-~]$/.test(ch);
/** Rust regex `\w+|[^\w\s]+`, Unicode classes. */
const WORDS_OR_PUNCT = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

let gpt2: RegExp | undefined;

export function byteLevel(addPrefixSpace: boolean, useRegex: boolean): PreTokenizer {
  gpt2 ??= compileOnig(GPT2_PATTERN, 'ByteLevel');
  const re = gpt2;
  const prefixed = (text: string): string => (addPrefixSpace && text.length > 0 && !text.startsWith(' ') ? ` ${text}` : text);
  return {
    needsAlignment: false,
    split(p) {
      if (addPrefixSpace && p.text.length > 0 && !p.text.startsWith(' ')) p = prependAligned(p, ' ');
      if (!useRegex) return [toBytePiece(p)];
      return splitPiece(p, re, 'Isolated').map(toBytePiece);
    },
    fast: {
      words: (text) => (useRegex ? regexWords(prefixed(text), re) : text.length ? [prefixed(text)] : []),
      finish: toByteLevel,
    },
  };
}

/** Matches and the gaps between them (Isolated), empty ones dropped. */
function regexWords(text: string, re: RegExp): string[] {
  const out: string[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m.index;
    const word = m[0];
    if (word.length === 0) {
      re.lastIndex = s + cpWidth(text, s);
      continue;
    }
    if (s > prev) out.push(text.slice(prev, s));
    out.push(word);
    prev = s + word.length;
  }
  if (prev < text.length) out.push(text.slice(prev));
  return out;
}

/** The byte-level form of a piece; each byte of a character points at the character. */
function toBytePiece(p: Piece): Piece {
  const text = toByteLevel(p.text);
  if (!p.align) return new Piece(text, null);
  // Same length: all ASCII, one byte per unit, the alignment carries over.
  if (text.length === p.text.length) return new Piece(text, p.align);
  const align = new Int32Array(2 * text.length);
  let o = 0;
  for (let i = 0; i < p.text.length; ) {
    const w = cpWidth(p.text, i);
    const cp = p.text.codePointAt(i)!;
    const bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    const [s, e] = p.originalRange(i, i + w);
    for (let k = 0; k < bytes; k++, o += 2) {
      align[o] = s;
      align[o + 1] = e;
    }
    i += w;
  }
  return new Piece(text, align);
}

/** Prepends `text` aligned to the first character, as `NormalizedString::prepend` does. */
export function prependAligned(p: Piece, text: string): Piece {
  const [s, e] = p.originalRange(0, cpWidth(p.text, 0));
  const b = new PieceBuilder(p.align !== null);
  b.push(text, s, e);
  b.copy(p, 0, p.text.length);
  return b.build();
}

function split(cfg: Cfg): PreTokenizer {
  const pattern = readPattern(cfg, 'pattern');
  const re: Matcher = pattern.kind === 'String' ? compileLiteral(pattern.source) : compileOnig(pattern.source, cfg.at('pattern'));
  const behavior = parseBehavior(cfg.obj.behavior, cfg.at('behavior'));
  const invert = cfg.bool('invert', false);
  return simple((p) => splitPiece(p, re, behavior, invert));
}

function sequence(cfg: Cfg): PreTokenizer {
  const { items, path } = cfg.arr('pretokenizers');
  const steps = items.map((item, i) => buildPreTokenizer(Cfg.from(item, path(i))));
  return {
    needsAlignment: steps.some((s) => s.needsAlignment),
    split: (p) => steps.reduce<Piece[]>((pieces, step) => pieces.flatMap((x) => step.split(x)), [p]),
  };
}

type PrependScheme = 'first' | 'never' | 'always';

function metaspace(cfg: Cfg): PreTokenizer {
  const replacement = cfg.char('replacement', '\u2581');
  const scheme = prependScheme(cfg);
  const doSplit = cfg.bool('split', true);
  return {
    needsAlignment: scheme === 'first',
    split(p) {
      p = replaceSpaces(p, replacement);
      const atStart = p.align !== null && p.originalRange(0, 0)[0] === 0;
      if (p.text.length > 0 && !p.text.startsWith(replacement) && (scheme === 'always' || (scheme === 'first' && atStart))) {
        p = prependAligned(p, replacement);
      }
      if (!doSplit) return [p];
      return splitPiece(p, (ch) => ch === replacement, 'MergedWithNext');
    },
  };
}

export function prependScheme(cfg: Cfg): PrependScheme {
  const raw = cfg.str('prepend_scheme', 'always');
  if (raw !== 'first' && raw !== 'never' && raw !== 'always') {
    throw new TokenizerConfigError(`${cfg.at('prepend_scheme')}: expected "first", "never" or "always", got ${JSON.stringify(raw)}`);
  }
  // Files from before prepend_scheme existed say add_prefix_space: false instead.
  if (cfg.obj.add_prefix_space === false) {
    if (raw !== 'never' && cfg.has('prepend_scheme')) {
      throw new TokenizerConfigError(`${cfg.path}: add_prefix_space false does not match prepend_scheme ${JSON.stringify(raw)}`);
    }
    return 'never';
  }
  return raw;
}

function replaceSpaces(p: Piece, content: string): Piece {
  if (!p.text.includes(' ')) return p;
  if (!p.align) return new Piece(p.text.split(' ').join(content), null);
  const b = new PieceBuilder(true);
  for (let i = 0; i < p.text.length; i++) {
    if (p.text[i] === ' ') {
      const [s, e] = p.originalRange(i, i + 1);
      b.push(content, s, e);
    } else b.copy(p, i, i + 1);
  }
  return b.build();
}
