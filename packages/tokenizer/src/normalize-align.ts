/**
 * Offsets through Unicode normalization, as Hugging Face computes them.
 *
 * HF normalizes with `unicode-normalization-alignments`, which tags every output character
 * with a change: 0 when it stands for the next input character, +1 when it is inserted (the
 * tail of a decomposition), -n when it also swallows the next n input characters (a
 * composition). `NormalizedString::transform` then walks the input in order: a character with
 * change <= 0 takes the range of the input character under the cursor, an inserted one the
 * range of the character before it. So "A" + U+030A composed to "Å" covers only the "A".
 *
 * We have `String.prototype.normalize` but no Unicode tables, so the changes are rebuilt from
 * small probes: per-character decompositions, the canonical order of the whole decomposition,
 * and compositions and combining-class comparisons asked of `normalize` two characters at a
 * time. This runs only on clusters the normalizer changed, and only when offsets are wanted.
 */
import type { Piece, PieceBuilder } from './piece.js';
import { cpWidth, cpWidthBefore } from './unicode.js';

export type Form = 'NFC' | 'NFD' | 'NFKC' | 'NFKD';

interface Item {
  ch: string;
  change: number;
}

/** `s` normalized, each output character with its HF change; null when the probes disagree. */
export function normalizeWithChanges(s: string, form: Form): Item[] | null {
  const decomposition = form === 'NFC' || form === 'NFD' ? 'NFD' : 'NFKD';
  const items: Item[] = [];
  for (const cp of s) [...cp.normalize(decomposition)].forEach((ch, k) => items.push({ ch, change: k === 0 ? 0 : 1 }));
  const ordered = reorder(items, [...s.normalize(decomposition)]);
  if (!ordered) return null;
  return form === 'NFD' || form === 'NFKD' ? ordered : recompose(ordered);
}

/** Canonical ordering is a stable sort by class: match each output character to the first unused equal item. */
function reorder(items: Item[], target: string[]): Item[] | null {
  if (items.length !== target.length) return null;
  const used = new Uint8Array(items.length);
  const out: Item[] = [];
  for (const ch of target) {
    const k = items.findIndex((it, i) => !used[i] && it.ch === ch);
    if (k < 0) return null;
    used[k] = 1;
    out.push(items[k]);
  }
  return out;
}

/** `unicode-normalization`'s `Recompositions`, with the change bookkeeping of the alignments fork. */
function recompose(items: Item[]): Item[] {
  const out: Item[] = [];
  let composee: Item | null = null;
  let buffer: Item[] = [];
  let last: string | null = null;
  for (const it of items) {
    const starter = isStarter(it.ch);
    if (!composee) {
      if (starter) composee = it;
      else out.push(it);
      continue;
    }
    const blocked = last !== null && (starter || !cccLess(last, it.ch));
    const composed = blocked ? null : compose(composee.ch, it.ch);
    if (composed !== null) {
      composee = { ch: composed, change: composee.change + it.change - 1 };
    } else if (starter) {
      out.push(composee, ...buffer);
      buffer = [];
      composee = it;
      last = null;
    } else {
      buffer.push(it);
      last = it.ch;
    }
  }
  if (composee) out.push(composee);
  return out.concat(buffer);
}

/** `b` reordered before `a` by NFD means ccc(a) > ccc(b) (both non-zero). */
function reorders(a: string, b: string): boolean {
  return a !== b && (a + b).normalize('NFD') === b + a;
}

/** ccc(a) < ccc(b), for two combining characters. */
function cccLess(a: string, b: string): boolean {
  return reorders(b, a);
}

const starterCache = new Map<string, boolean>();

/**
 * ccc == 0. U+0334 has the lowest non-zero class (1) and U+0345 the highest (240): a combining
 * character moves in front of the first or behind the second, a starter never moves.
 */
function isStarter(ch: string): boolean {
  let v = starterCache.get(ch);
  if (v === undefined) {
    v = !reorders(ch, '\u0334') && !reorders('\u0345', ch);
    starterCache.set(ch, v);
  }
  return v;
}

/** The primary composite of a pair, if any (NFC of the two is one character). */
function compose(a: string, b: string): string | null {
  const r = (a + b).normalize('NFC');
  return r.length <= 2 && [...r].length === 1 ? r : null;
}

/**
 * Appends `items` (the normalization of units [s, e) of `p`) with HF's sequential alignment.
 * Returns false when the changes do not consume exactly those units.
 */
export function pushSequential(b: PieceBuilder, p: Piece, s: number, e: number, items: Item[]): boolean {
  let cur = s;
  let prev: [number, number] = s > 0 ? p.originalRange(s - cpWidthBefore(p.text, s), s) : startRange(p);
  for (const { ch, change } of items) {
    if (change > 0) {
      b.push(ch, ...prev);
      continue;
    }
    if (cur >= e) return false;
    const range = p.originalRange(cur, cur + cpWidth(p.text, cur));
    for (let n = 0; n <= -change; n++) {
      if (cur >= e) return false;
      const w = cpWidth(p.text, cur);
      prev = p.originalRange(cur, cur + w);
      cur += w;
    }
    b.push(ch, ...range);
  }
  return cur === e;
}

function startRange(p: Piece): [number, number] {
  const [s] = p.originalRange(0, 0);
  return [s, s];
}
