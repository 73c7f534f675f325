/**
 * Splitting a piece on a pattern, with Hugging Face's five delimiter behaviours
 * (`tokenizers/src/tokenizer/normalizer.rs`, `NormalizedString::split`).
 */
import { TokenizerConfigError } from './errors.js';
import type { Piece } from './piece.js';
import { cpWidth } from './unicode.js';

export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

export const SPLIT_BEHAVIORS: readonly SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** A pattern: a global regex, or a predicate on one code point. */
export type Matcher = RegExp | ((ch: string) => boolean);

/** [start, end, isMatch] triples covering the whole text, in order. */
export type Span = [number, number, boolean];

export function findMatches(text: string, matcher: Matcher): Span[] {
  if (text.length === 0) return [[0, 0, false]];
  return typeof matcher === 'function' ? findByPredicate(text, matcher) : findByRegex(text, matcher);
}

function findByRegex(text: string, re: RegExp): Span[] {
  const out: Span[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index;
    const end = start + m[0].length;
    // An empty match would loop forever; step over one code point, as the u flag's matchAll does.
    if (end === start) re.lastIndex = start + (start < text.length ? cpWidth(text, start) : 1);
    if (prev !== start) out.push([prev, start, false]);
    out.push([start, end, true]);
    prev = end;
    if (re.lastIndex > text.length) break;
  }
  if (prev !== text.length) out.push([prev, text.length, false]);
  return out;
}

function findByPredicate(text: string, pred: (ch: string) => boolean): Span[] {
  const out: Span[] = [];
  let last = 0;
  for (let i = 0; i < text.length; ) {
    const w = cpWidth(text, i);
    if (pred(text.slice(i, i + w))) {
      if (last < i) out.push([last, i, false]);
      out.push([i, i + w, true]);
      last = i + w;
    }
    i += w;
  }
  if (last < text.length) out.push([last, text.length, false]);
  return out;
}

/** Groups matches and non-matches according to `behavior`; returns [start, end) ranges to keep. */
export function applyBehavior(spans: Span[], behavior: SplitBehavior): Array<[number, number]> {
  switch (behavior) {
    case 'Isolated':
      return spans.map(([s, e]) => [s, e]);
    case 'Removed':
      return spans.filter((sp) => !sp[2]).map(([s, e]) => [s, e]);
    case 'Contiguous':
      return foldForward(spans, (isMatch, prevMatch) => isMatch === prevMatch);
    case 'MergedWithPrevious':
      return foldForward(spans, (isMatch, prevMatch) => isMatch && !prevMatch);
    case 'MergedWithNext':
      return mergeWithNext(spans);
  }
}

/** Extends the last range with the current one when `join` says so (HF's fold, same quirks). */
function foldForward(spans: Span[], join: (isMatch: boolean, prevMatch: boolean) => boolean): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let prevMatch = false;
  for (const [s, e, isMatch] of spans) {
    const last = out[out.length - 1];
    if (join(isMatch, prevMatch) && last) last[1] = e;
    else out.push([s, e]);
    prevMatch = isMatch;
  }
  return out;
}

function mergeWithNext(spans: Span[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let prevMatch = false;
  for (let k = spans.length - 1; k >= 0; k--) {
    const [s, e, isMatch] = spans[k];
    const last = out[out.length - 1];
    if (isMatch && !prevMatch && last) last[0] = s;
    else out.push([s, e]);
    prevMatch = isMatch;
  }
  return out.reverse();
}

/** Splits a piece; empty parts are dropped (as `PreTokenizedString::split` does). */
export function splitPiece(p: Piece, matcher: Matcher, behavior: SplitBehavior, invert = false): Piece[] {
  let spans = findMatches(p.text, matcher);
  if (invert) spans = spans.map(([s, e, m]) => [s, e, !m]);
  const out: Piece[] = [];
  for (const [s, e] of applyBehavior(spans, behavior)) if (e > s) out.push(p.slice(s, e));
  return out;
}

export function parseBehavior(value: unknown, where: string): SplitBehavior {
  if (typeof value === 'string' && (SPLIT_BEHAVIORS as readonly string[]).includes(value)) return value as SplitBehavior;
  throw new TokenizerConfigError(`${where}: expected one of ${SPLIT_BEHAVIORS.map((b) => `"${b}"`).join(', ')}, got ${JSON.stringify(value)}`);
}
