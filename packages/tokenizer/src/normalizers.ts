/**
 * Normalizers (`tokenizers/src/normalizers`). Each is a function from piece to piece; with
 * offsets tracked, every output unit keeps the input range it came from.
 */
import { toByteLevel } from './byte-level.js';
import { Cfg, readPattern } from './config.js';
import { UnknownComponentError } from './errors.js';
import { findMatches } from './pattern.js';
import { mapCodePoints, Piece, PieceBuilder } from './piece.js';
import { compileLiteral, compileOnig } from './regex.js';
import { cpWidth, isWhiteSpace } from './unicode.js';

export type Normalizer = (p: Piece) => Piece;

type Form = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

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
 * Hangul vowel and final jamo. A piece is normalized per "cluster" (a character and its
 * joiners) only to learn the alignment; the text itself always comes from normalizing the whole.
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
    const ch = text.slice(i, i + w);
    const last = out[out.length - 1];
    if (last && JOINER.test(ch)) last[1] = i + w;
    else out.push([i, i + w]);
    i += w;
  }
  return out;
}

/** Merges neighbouring clusters that still interact (e.g. half-width kana voicing marks). */
function mergeInteracting(text: string, parts: Array<[number, number]>, form: Form): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const part of parts) {
    const last = out[out.length - 1];
    if (last) {
      const a = text.slice(last[0], last[1]);
      const b = text.slice(part[0], part[1]);
      if ((a + b).normalize(form) !== a.normalize(form) + b.normalize(form)) {
        last[1] = part[1];
        continue;
      }
    }
    out.push([part[0], part[1]]);
  }
  return out;
}

function alignNormalized(p: Piece, form: Form, whole: string): Piece {
  const candidates = [clusters(p.text)];
  candidates.push(mergeInteracting(p.text, candidates[0], form));
  for (const parts of candidates) {
    const b = new PieceBuilder(true);
    for (const [s, e] of parts) {
      const chunk = p.text.slice(s, e);
      const normalized = chunk.normalize(form);
      if (normalized === chunk) b.copy(p, s, e);
      else pushChanged(b, p, s, e, normalized, form);
    }
    const built = b.build();
    if (built.text === whole) return built;
  }
  // Some interaction spans more than two clusters: align every unit to the whole piece.
  const b = new PieceBuilder(true);
  const [os, oe] = p.originalRange(0, p.text.length);
  b.push(whole, os, oe);
  return b.build();
}

/**
 * A cluster the normalizer changed: when each character normalizes on its own to the same
 * result (singletons such as U+212B ANGSTROM SIGN, compatibility forms), each keeps its own
 * range; when characters combined, the result points at the whole cluster.
 */
function pushChanged(b: PieceBuilder, p: Piece, s: number, e: number, normalized: string, form: Form): void {
  const each: Array<[string, number, number]> = [];
  for (let i = s; i < e; ) {
    const w = cpWidth(p.text, i);
    each.push([p.text.slice(i, i + w).normalize(form), i, i + w]);
    i += w;
  }
  if (each.map((x) => x[0]).join('') !== normalized) {
    pushCombined(b, p, s, e, normalized, form);
    return;
  }
  for (const [text, i, j] of each) {
    if (text === p.text.slice(i, j)) b.copy(p, i, j);
    else b.push(text, ...p.originalRange(i, j));
  }
}

/** Marks reordered behind a starter they do not combine with leave the starter its own range. */
function pushCombined(b: PieceBuilder, p: Piece, s: number, e: number, normalized: string, form: Form): void {
  const w = cpWidth(p.text, s);
  const first = p.text.slice(s, s + w);
  if (e - s > w && normalized.startsWith(first) && p.text.slice(s + w, e).normalize(form) === normalized.slice(w)) {
    b.copy(p, s, s + w);
    b.push(normalized.slice(w), ...p.originalRange(s + w, e));
    return;
  }
  b.push(normalized, ...p.originalRange(s, e));
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
    // The replacement points back at what it replaced (or at the next unit for an empty match).
    const [os, oe] = p.originalRange(s, Math.max(e, Math.min(s + 1, p.text.length)));
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
