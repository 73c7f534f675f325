import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { Tokenizer } from '../src/index.js';

const fixtures = new URL('../fixtures/', import.meta.url);

/** The GPT-NeoX-20B tokenizer.json text (stored gzipped). */
export function neoxJSON(): string {
  return gunzipSync(readFileSync(new URL('gpt-neox-20b-tokenizer.json.gz', fixtures))).toString('utf8');
}

let cached: Tokenizer | undefined;

export function neox(): Tokenizer {
  cached ??= Tokenizer.fromJSON(neoxJSON());
  return cached;
}

export interface GoldenCase {
  text: string;
  ids: number[];
  tokens: string[];
  decoded: string;
}

/** Texts encoded by Hugging Face `tokenizers` (Python) with the same tokenizer.json. */
export function goldenCases(): GoldenCase[] {
  const data = JSON.parse(readFileSync(new URL('tokenizer_gpt_neox.json', fixtures), 'utf8')) as { cases: GoldenCase[] };
  return data.cases;
}

/** mulberry32: a small seeded PRNG so property tests are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Code point ranges that stress a tokenizer: scripts, marks, jamo, emoji, odd whitespace. */
const RANGES: Array<[number, number]> = [
  [0x20, 0x7e],
  [0x20, 0x7e],
  [0x09, 0x0d],
  [0x80, 0xff],
  [0x0300, 0x036f],
  [0x0370, 0x03ff],
  [0x0400, 0x04ff],
  [0x0590, 0x06ff],
  [0x0900, 0x097f],
  [0x1100, 0x11ff],
  [0xac00, 0xd7a3],
  [0x3040, 0x30ff],
  [0x4e00, 0x9fff],
  [0x2000, 0x206f],
  [0xfe00, 0xffff],
  [0x1f300, 0x1faff],
  [0x10000, 0x10ffff],
  [0x0085, 0x0085],
  [0x00a0, 0x00a0],
  [0x3000, 0x3000],
  [0xfb00, 0xfb06],
  [0xff61, 0xff9f],
];

/** A random well-formed string (no lone surrogates) of up to `maxLen` code points. */
export function randomText(rand: () => number, maxLen: number): string {
  const n = Math.floor(rand() * (maxLen + 1));
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = RANGES[Math.floor(rand() * RANGES.length)];
    const cp = lo + Math.floor(rand() * (hi - lo + 1));
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    s += String.fromCodePoint(cp);
    if (rand() < 0.1) s += ' '.repeat(1 + Math.floor(rand() * 4));
  }
  return s;
}

/** Everything a streaming decoder returns for `ids`, pushed one at a time, then flushed. */
export function streamAll(push: (id: number) => string, flush: () => string, ids: readonly number[]): string {
  let out = '';
  for (const id of ids) out += push(id);
  return out + flush();
}
