/**
 * Normalizers (`tokenizers/src/normalizers`). Each is a function from piece to piece; with
 * offsets tracked, every output unit keeps the input range it came from.
 */
import { toByteLevel } from './byte-level.js';
import { Cfg, readPattern } from './config.js';
import { UnknownComponentError } from './errors.js';
import { findMatches } from './pattern.js';
import type { Form } from './normalize-align.js';
import { normalizeWithChanges, pushSequential } from './normalize-align.js';
import { mapCodePoints, Piece, PieceBuilder } from './piece.js';
import { compileLiteral, compileOnig } from './regex.js';
import { cpWidth, cpWidthBefore, isWhiteSpace } from './unicode.js';

export type Normalizer = (p: Piece) => Piece;

export const NORMALIZER_TYPES = [
  'NFC',
  'NFD',
  'NFKC',
  'NFKD',
  'Lowercase',
  'Strip',
  'StripAccents',
  'Replace',
  'Prepend',
  'ByteLevel',
  'Sequence',
] as const;

export function buildNormalizer(cfg: Cfg): Normalizer {
  const type = cfg.type();
  switch (type) {
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (p) => unicodeNormalize(p, type);
    case 'Lowercase':
      return lowercase;
    case 'Strip':
      return strip(cfg.bool('strip_left', true), cfg.bool('strip_right', true));
    case 'StripAccents':
      return stripAccents;
    case 'Replace':
      return replace(cfg);
    case 'Prepend':
      return prepend(cfg.str('prepend'));
    case 'ByteLevel':
      return (p) => (p.align ? mapCodePoints(p, toByteLevel) : new Piece(toByteLevel(p.text), null));
    case 'Sequence':
      return sequence(cfg);
    default:
      throw new UnknownComponentError('normalizer', type, NORMALIZER_TYPES, cfg.path);
  }
}

function sequence(cfg: Cfg): Normalizer {
  const { items, path } = cfg.arr('normalizers');
  const steps = items.map((item, i) => buildNormalizer(Cfg.from(item, path(i))));
  return (p) => steps.reduce((acc, f) => f(acc), p);
}

/**
 * Characters that can join the character before them under normalization: marks, and the
 * Hangul vowel and final jamo. Clusters (a character and its joiners) that normalization leaves
 * alone keep their alignment; the others go through HF's change bookkeeping (normalize-align).
 */
const JOINER = /[\p{M}\u1160-\u11FF]/u;

export function unicodeNormalize(p: Piece, form: Form): Piece {
  const out = p.text.normalize(form);
  if (out === p.text) return p;
  if (!p.align) return new Piece(out, null);
  return alignNormalized(p, form, out);
}

function clusters(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < text.length; ) {
    const w = cpWidth(text, i);
    const last = out[out.length - 1];
    if (last && JOINER.test(text.slice(i, i + w))) last[1] = i + w;
    else out.push([i, i + w]);
    i += w;
  }
  return out;
}

function alignNormalized(p: Piece, form: Form, whole: string): Piece {
  const b = new PieceBuilder(true);
  let ok = true;
  for (const [s, e] of clusters(p.text)) {
    const chunk = p.text.slice(s, e);
    if (chunk.normalize(form) === chunk) b.copy(p, s, e);
    else ok &&= pushNormalized(b, p, s, e, form);
  }
  const built = b.build();
  if (ok && built.text === whole) return built;
  // Normalization reached across clusters (half-width kana voicing marks under NFKC, ...):
  // run the bookkeeping over the whole piece.
  const again = new PieceBuilder(true);
  if (pushNormalized(again, p, 0, p.text.length, form)) {
    const piece = again.build();
    if (piece.text === whole) return piece;
  }
  const fallback = new PieceBuilder(true);
  fallback.push(whole, ...p.originalRange(0, p.text.length));
  return fallback.build();
}

function pushNormalized(b: PieceBuilder, p: Piece, s: number, e: number, form: Form): boolean {
  const items = normalizeWithChanges(p.text.slice(s, e), form);
  return items !== null && pushSequential(b, p, s, e, items);
}

/** Per character, like Rust's `char::to_lowercase` (so a final sigma stays σ). */
function lowercase(p: Piece): Piece {
  if (!p.align && !p.text.includes('\u03A3')) return new Piece(p.text.toLowerCase(), null);
  return mapCodePoints(p, (ch) => ch.toLowerCase());
}

function strip(left: boolean, right: boolean): Normalizer {
  return (p) => {
    let s = 0;
    let e = p.text.length;
    if (left) while (s < e && isWhiteSpace(p.text[s])) s++;
    if (right) while (e > s && isWhiteSpace(p.text[e - 1])) e--;
    return p.slice(s, e);
  };
}

const MARK = /\p{M}/u;

function stripAccents(p: Piece): Piece {
  return mapCodePoints(p, (ch) => (MARK.test(ch) ? '' : ch));
}

function replace(cfg: Cfg): Normalizer {
  const pattern = readPattern(cfg, 'pattern');
  const re = pattern.kind === 'String' ? compileLiteral(pattern.source) : compileOnig(pattern.source, cfg.at('pattern'));
  const content = cfg.str('content');
  return (p) => replaceMatches(p, re, content);
}

export function replaceMatches(p: Piece, re: RegExp, content: string): Piece {
  re.lastIndex = 0;
  if (!re.test(p.text)) return p;
  const b = new PieceBuilder(p.align !== null);
  for (const [s, e, isMatch] of findMatches(p.text, re)) {
    if (!isMatch) {
      b.copy(p, s, e);
      continue;
    }
    // HF inserts the replacement after the match: it points at the last character replaced
    // (for an empty match, the character before it).
    const [os, oe] = e > 0 ? p.originalRange(e - cpWidthBefore(p.text, e), e) : p.originalRange(0, 0);
    b.push(content, os, oe);
  }
  return b.build();
}

/** Prepends to non-empty pieces; the new units point at the first character, as in HF. */
function prepend(text: string): Normalizer {
  return (p) => {
    if (p.text.length === 0) return p;
    const w = cpWidth(p.text, 0);
    const [s, e] = p.originalRange(0, w);
    const b = new PieceBuilder(p.align !== null);
    b.push(text, s, e);
    b.copy(p, 0, p.text.length);
    return b.build();
  };
}
