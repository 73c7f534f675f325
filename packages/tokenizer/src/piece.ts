/**
 * A piece of the input on its way through normalizers and pre-tokenizers, like Hugging Face's
 * `NormalizedString`, with offsets in UTF-16 units (JavaScript string indices).
 *
 * `align` is null when the caller did not ask for offsets: every transform then works on the
 * text alone, which keeps plain `encode` fast. Otherwise it holds, for each unit of `text`, the
 * [start, end) range of the input it came from.
 */
import { cpWidth } from './unicode.js';

export class Piece {
  constructor(
    readonly text: string,
    readonly align: Int32Array | null,
  ) {}

  /** The whole input, each unit aligned to itself. */
  static of(text: string, tracked: boolean): Piece {
    if (!tracked) return new Piece(text, null);
    const align = new Int32Array(text.length * 2);
    for (let i = 0; i < text.length; i++) {
      align[2 * i] = i;
      align[2 * i + 1] = i + 1;
    }
    return new Piece(text, align);
  }

  slice(start: number, end: number): Piece {
    if (start === 0 && end === this.text.length) return this;
    return new Piece(this.text.slice(start, end), this.align ? this.align.subarray(2 * start, 2 * end) : null);
  }

  /** Appends the input range behind units [start, end) to `out` (no tuple allocated: the offsets hot path). */
  pushOriginalRange(start: number, end: number, out: number[]): void {
    const a = this.align;
    if (!a || start >= end) {
      out.push(...this.originalRange(start, end));
      return;
    }
    let lo = a[2 * start];
    let hi = a[2 * start + 1];
    for (let i = start + 1; i < end; i++) {
      if (a[2 * i] < lo) lo = a[2 * i];
      if (a[2 * i + 1] > hi) hi = a[2 * i + 1];
    }
    out.push(lo, hi);
  }

  /** The input range behind units [start, end) of this piece; [0, 0] when untracked. */
  originalRange(start: number, end: number): [number, number] {
    const a = this.align;
    if (!a || a.length === 0) return [0, 0];
    if (start >= end) {
      const at = start < this.text.length ? a[2 * start] : a[a.length - 1];
      return [at, at];
    }
    let lo = a[2 * start];
    let hi = a[2 * start + 1];
    // Normalization can reorder (canonical ordering), so take the hull rather than the ends.
    for (let i = start + 1; i < end; i++) {
      if (a[2 * i] < lo) lo = a[2 * i];
      if (a[2 * i + 1] > hi) hi = a[2 * i + 1];
    }
    return [lo, hi];
  }
}

/** Builds a transformed piece: each output string is aligned to an input range. */
export class PieceBuilder {
  private parts: string[] = [];
  private align: number[] | null;

  constructor(tracked: boolean) {
    this.align = tracked ? [] : null;
  }

  push(text: string, start: number, end: number): void {
    if (text.length === 0) return;
    this.parts.push(text);
    if (this.align) for (let i = 0; i < text.length; i++) this.align.push(start, end);
  }

  /** Appends units [from, to) of `src` unchanged, alignment included. */
  copy(src: Piece, from: number, to: number): void {
    if (from >= to) return;
    this.parts.push(src.text.slice(from, to));
    if (this.align && src.align) for (let i = 2 * from; i < 2 * to; i++) this.align.push(src.align[i]);
  }

  build(): Piece {
    return new Piece(this.parts.join(''), this.align ? Int32Array.from(this.align) : null);
  }
}

/**
 * Applies `fn` to each code point. Each output unit is aligned to the whole code point it came
 * from (Hugging Face does the same: a character's expansion points back at the character).
 */
export function mapCodePoints(p: Piece, fn: (ch: string) => string): Piece {
  const b = new PieceBuilder(p.align !== null);
  const t = p.text;
  for (let i = 0; i < t.length; ) {
    const w = cpWidth(t, i);
    const [s, e] = p.originalRange(i, i + w);
    b.push(fn(t.slice(i, i + w)), s, e);
    i += w;
  }
  return b.build();
}
