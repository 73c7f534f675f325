/**
 * Added tokens (`tokenizers/src/tokenizer/added_vocabulary.rs`): strings matched in the text
 * before pre-tokenization, special or not. Tokens with `normalized: false` are matched in the
 * raw input, the others in the normalized text; both with leftmost-longest matching, then the
 * `single_word`, `lstrip` and `rstrip` rules.
 */
import type { Piece } from './piece.js';
import { cpWidthBefore, WHITE_SPACE, WORD_CHAR } from './unicode.js';

export interface AddedToken {
  id: number;
  content: string;
  /** Special tokens can be skipped when decoding. */
  special: boolean;
  /** Only match as a whole word. */
  singleWord: boolean;
  /** Swallow the whitespace on the left / right. */
  lstrip: boolean;
  rstrip: boolean;
  /** Match in the normalized text (true) or in the raw input (false). */
  normalized: boolean;
}

/** A piece of the input, with the id of the added token it is, if it is one. */
export interface Split {
  piece: Piece;
  id?: number;
}

/** Leftmost-longest matching of a set of strings, over UTF-16 units. */
export class StringMatcher {
  private readonly children: Array<Map<number, number>> = [new Map()];
  private readonly value: number[] = [-1];
  /** Which UTF-16 units start a token: most positions are rejected with one array read. */
  private readonly first = new Uint8Array(65536);

  constructor(entries: Iterable<readonly [string, number]>) {
    for (const [s, v] of entries) if (s.length > 0) this.add(s, v);
  }

  get empty(): boolean {
    return this.children[0].size === 0;
  }

  private add(s: string, v: number): void {
    this.first[s.charCodeAt(0)] = 1;
    let node = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      let child = this.children[node].get(c);
      if (child === undefined) {
        child = this.children.length;
        this.children.push(new Map());
        this.value.push(-1);
        this.children[node].set(c, child);
      }
      node = child;
    }
    this.value[node] = v;
  }

  /** Non-overlapping [start, end, value] matches, leftmost first, longest at each start. */
  find(text: string): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    const root = this.children[0];
    const first = this.first;
    for (let i = 0; i < text.length; ) {
      if (!first[text.charCodeAt(i)]) {
        i++;
        continue;
      }
      let node = root.get(text.charCodeAt(i));
      let end = -1;
      let val = -1;
      for (let j = i + 1; node !== undefined; j++) {
        if (this.value[node] >= 0) {
          end = j;
          val = this.value[node];
        }
        if (j >= text.length) break;
        node = this.children[node].get(text.charCodeAt(j));
      }
      if (end < 0) {
        i++;
        continue;
      }
      out.push([i, end, val]);
      i = end;
    }
    return out;
  }
}

export class AddedVocabulary {
  readonly byId = new Map<number, AddedToken>();
  readonly byContent = new Map<string, number>();
  private readonly raw: StringMatcher;
  private readonly norm: StringMatcher;
  /** The form normalized tokens are matched (and decoded) in. */
  private readonly normalizedForm = new Map<number, string>();

  constructor(tokens: readonly AddedToken[], normalize: ((s: string) => string) | null) {
    for (const t of tokens) {
      this.byId.set(t.id, t);
      this.byContent.set(t.content, t.id);
      if (t.normalized && normalize) this.normalizedForm.set(t.id, normalize(t.content));
    }
    const all = [...this.byId.values()];
    this.raw = new StringMatcher(all.filter((t) => !t.normalized).map((t) => [t.content, t.id] as const));
    this.norm = new StringMatcher(all.filter((t) => t.normalized).map((t) => [this.tokenString(t.id)!, t.id] as const));
  }

  /** The string an added token decodes from (its normalized form when it is matched normalized). */
  tokenString(id: number): string | undefined {
    return this.normalizedForm.get(id) ?? this.byId.get(id)?.content;
  }

  /**
   * Splits out the tokens matched in raw (`normalized: false`) or normalized text; with
   * `skipSpecial`, special tokens are left in the text (HF's `encode_special_tokens`).
   */
  split(piece: Piece, normalized: boolean, skipSpecial = false): Split[] {
    const matcher = normalized ? this.norm : this.raw;
    if (matcher.empty || piece.text.length === 0) return [{ piece }];
    const out: Split[] = [];
    let done = 0;
    for (const [s, e, id] of this.matches(piece.text, matcher, skipSpecial)) {
      if (s > done) out.push({ piece: piece.slice(done, s) });
      out.push({ piece: piece.slice(s, e), id });
      done = e;
    }
    if (done < piece.text.length) out.push({ piece: piece.slice(done, piece.text.length) });
    return out;
  }

  /** HF's `find_matches`: drop matches that break words, widen the stripping ones. */
  private matches(text: string, matcher: StringMatcher, skipSpecial: boolean): Array<[number, number, number]> {
    const out: Array<[number, number, number]> = [];
    let done = 0;
    for (const m of matcher.find(text)) {
      let [start, stop] = m;
      const tok = this.byId.get(m[2])!;
      if (skipSpecial && tok.special) continue;
      if (tok.singleWord && !isSingleWord(text, start, stop)) continue;
      if (tok.lstrip) start = Math.max(spaceStartBefore(text, start), done);
      // A previous token's rstrip may have eaten the start of this one: HF would then emit
      // overlapping pieces (the text twice); we drop the match instead.
      if (start < done || stop <= done) continue;
      if (tok.rstrip) stop = spaceEndAfter(text, stop);
      out.push([start, stop, m[2]]);
      done = stop;
    }
    return out;
  }
}

function isSingleWord(text: string, start: number, stop: number): boolean {
  const before = start === 0 || !WORD_CHAR.test(lastChar(text, start));
  const after = stop === text.length || !WORD_CHAR.test(String.fromCodePoint(text.codePointAt(stop)!));
  return before && after;
}

function lastChar(text: string, end: number): string {
  return text.slice(end - cpWidthBefore(text, end), end);
}

/** Start of the whitespace run that ends at `end`. */
function spaceStartBefore(text: string, end: number): number {
  let i = end;
  while (i > 0 && WHITE_SPACE.test(text[i - 1])) i--;
  return i;
}

/** End of the whitespace run that starts at `start`. */
function spaceEndAfter(text: string, start: number): number {
  let i = start;
  while (i < text.length && WHITE_SPACE.test(text[i])) i++;
  return i;
}
