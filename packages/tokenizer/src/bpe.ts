/**
 * The BPE model (`tokenizers/src/models/bpe`): a word's characters are looked up in the vocab,
 * then the pair of neighbours with the lowest merge rank is merged (leftmost first on ties)
 * until no pair has a merge. Short words use a linear scan over cached pair ranks, long ones a
 * heap over a linked list; both give the same result, the heap only bounds the cost at
 * O(n log n) for pathological words (a megabyte without a space).
 */
import { Cfg } from './config.js';
import { TokenizerConfigError } from './errors.js';
import { cpWidth, utf8Encode } from './unicode.js';

export interface BpeOptions {
  unkToken?: string;
  continuingSubwordPrefix?: string;
  endOfWordSuffix?: string;
  fuseUnk?: boolean;
  byteFallback?: boolean;
  ignoreMerges?: boolean;
  /** Words with more symbols than this merge with the heap (tests set 0 or Infinity to compare). */
  heapThreshold?: number;
}

/** Words at least this long are not cached (HF: 256); the cache is cleared when it fills. */
const CACHE_MAX_WORD = 256;
const CACHE_CAPACITY = 100_000;
/** Above this many symbols the heap beats the quadratic scan. */
const HEAP_THRESHOLD = 48;
const NONE = 0x7fffffff;
const POS_SCALE = 4294967296;

export class BpeModel {
  private readonly vocabR: Array<string | undefined> = [];
  private readonly ranks = new Map<number, number>();
  private readonly mergeNew: Int32Array;
  private readonly stride: number;
  private readonly cache = new Map<string, Int32Array>();
  private readonly unkId: number | undefined;

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    merges: ReadonlyArray<readonly [string, string]>,
    private readonly opts: BpeOptions = {},
  ) {
    let maxId = -1;
    for (const [tok, id] of vocab) {
      this.vocabR[id] = tok;
      if (id > maxId) maxId = id;
    }
    this.stride = maxId + 1;
    this.mergeNew = new Int32Array(merges.length);
    merges.forEach((pair, rank) => this.addMerge(pair, rank));
    if (opts.unkToken !== undefined) {
      this.unkId = vocab.get(opts.unkToken);
      if (this.unkId === undefined) throw new TokenizerConfigError(`model.unk_token: ${JSON.stringify(opts.unkToken)} is not in model.vocab`);
    }
  }

  static fromConfig(cfg: Cfg, overrides: Partial<BpeOptions> = {}): BpeModel {
    const vocab = readVocab(cfg);
    const merges = readMerges(cfg);
    return new BpeModel(vocab, merges, {
      unkToken: cfg.optStr('unk_token'),
      continuingSubwordPrefix: cfg.optStr('continuing_subword_prefix'),
      endOfWordSuffix: cfg.optStr('end_of_word_suffix'),
      fuseUnk: cfg.bool('fuse_unk', false),
      byteFallback: cfg.bool('byte_fallback', false),
      ignoreMerges: cfg.bool('ignore_merges', false),
      ...overrides,
    });
  }

  private addMerge([a, b]: readonly [string, string], rank: number): void {
    const ai = this.vocab.get(a);
    const bi = this.vocab.get(b);
    const prefixLen = this.opts.continuingSubwordPrefix?.length ?? 0;
    const merged = a + b.slice(prefixLen);
    const ni = this.vocab.get(merged);
    const missing = ai === undefined ? a : bi === undefined ? b : ni === undefined ? merged : undefined;
    if (missing !== undefined) {
      throw new TokenizerConfigError(`model.merges[${rank}]: ${JSON.stringify(`${a} ${b}`)} needs the token ${JSON.stringify(missing)}, which is not in model.vocab`);
    }
    // A repeated pair keeps its last rank, as HF's HashMap collect does.
    this.ranks.set(ai! * this.stride + bi!, rank);
    this.mergeNew[rank] = ni!;
  }

  get size(): number {
    return this.vocab.size;
  }

  idToToken(id: number): string | undefined {
    return this.vocabR[id];
  }

  /** Ids of `word`'s tokens with their [start, end) in `word`, as triples. */
  tokenize(word: string, useCache = true): Int32Array {
    if (word.length === 0) return new Int32Array(0);
    if (this.opts.ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return Int32Array.of(id, 0, word.length);
    }
    const hit = useCache ? this.cache.get(word) : undefined;
    if (hit) return hit;
    const out = this.mergeWord(word);
    if (useCache && word.length < CACHE_MAX_WORD) {
      if (this.cache.size >= CACHE_CAPACITY) this.cache.clear();
      this.cache.set(word, out);
    }
    return out;
  }

  private mergeWord(word: string): Int32Array {
    const sym = this.initialSymbols(word);
    const n = sym.length / 3;
    const merged = n > (this.opts.heapThreshold ?? HEAP_THRESHOLD) ? this.mergeHeap(sym) : this.mergeScan(sym);
    return bytesToUnits(word, merged);
  }

  /**
   * One symbol per character (or per byte with byte fallback, or fused unknowns), as
   * [id, start, end] in UTF-8 bytes. Like HF, positions are the running sum of the kept
   * symbols' lengths, so a dropped character (no unk token) shifts the ones after it.
   */
  private initialSymbols(word: string): Int32Array {
    const { continuingSubwordPrefix: prefix, endOfWordSuffix: suffix } = this.opts;
    const out: number[] = [];
    let pos = 0;
    let unkLen = 0;
    const add = (id: number, len: number): void => {
      out.push(id, pos, pos + len);
      pos += len;
    };
    const flushUnk = (): void => {
      if (unkLen > 0) add(this.unkId!, unkLen);
      unkLen = 0;
    };
    for (let i = 0; i < word.length; ) {
      const w = cpWidth(word, i);
      const bytes = utf8Length(word.codePointAt(i)!);
      let s = word.slice(i, i + w);
      if (i > 0 && prefix) s = prefix + s;
      if (i + w === word.length && suffix) s += suffix;
      i += w;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        flushUnk();
        add(id, bytes);
        continue;
      }
      const fallback = this.byteTokens(s);
      if (fallback) {
        // HF flushes no pending unknown here, so a fused unk run continues after byte tokens.
        for (const b of fallback) add(b, 1);
        continue;
      }
      if (this.unkId === undefined) continue; // HF drops the character.
      if (unkLen > 0 && !this.opts.fuseUnk) flushUnk();
      unkLen += bytes;
    }
    flushUnk();
    return Int32Array.from(out);
  }

  /** Byte fallback: `<0xAB>` ids for each UTF-8 byte of `s`, only if all of them exist. */
  private byteTokens(s: string): number[] | null {
    if (!this.opts.byteFallback) return null;
    const ids: number[] = [];
    for (const b of utf8Encode(s)) {
      const id = this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
      if (id === undefined) return null;
      ids.push(id);
    }
    return ids;
  }

  private rank(a: number, b: number): number {
    return this.ranks.get(a * this.stride + b) ?? NONE;
  }

  /** Quadratic in the word length with tiny constants: the common case. */
  private mergeScan(sym: Int32Array): Int32Array {
    let n = sym.length / 3;
    const pr = new Int32Array(Math.max(n - 1, 0));
    for (let i = 0; i + 1 < n; i++) pr[i] = this.rank(sym[3 * i], sym[3 * i + 3]);
    while (n > 1) {
      let best = -1;
      let bestRank = NONE;
      for (let i = 0; i + 1 < n; i++) {
        if (pr[i] < bestRank) {
          bestRank = pr[i];
          best = i;
        }
      }
      if (best < 0) break;
      sym[3 * best] = this.mergeNew[bestRank];
      sym[3 * best + 2] = sym[3 * best + 5];
      sym.copyWithin(3 * best + 3, 3 * best + 6, 3 * n);
      pr.copyWithin(best + 1, best + 2, n - 1);
      n--;
      if (best > 0) pr[best - 1] = this.rank(sym[3 * best - 3], sym[3 * best]);
      if (best + 1 < n) pr[best] = this.rank(sym[3 * best], sym[3 * best + 3]);
    }
    return sym.slice(0, 3 * n);
  }

  /** HF's `Word::merge_all`: a min-heap of (rank, position) over a linked list of symbols. */
  private mergeHeap(sym: Int32Array): Int32Array {
    const n = sym.length / 3;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    const heap = new MinHeap();
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
      if (i + 1 < n) this.pushPair(heap, sym, i, i + 1);
    }
    while (heap.size > 0) {
      const top = heap.pop();
      const rank = Math.floor(top / POS_SCALE);
      const pos = top - rank * POS_SCALE;
      const nx = next[pos];
      // Stale entries: the left symbol was merged away, or the pair changed since the push.
      if (!alive[pos] || nx < 0 || this.rank(sym[3 * pos], sym[3 * nx]) !== rank) continue;
      sym[3 * pos] = this.mergeNew[rank];
      sym[3 * pos + 2] = sym[3 * nx + 2];
      alive[nx] = 0;
      next[pos] = next[nx];
      if (next[nx] >= 0) prev[next[nx]] = pos;
      if (prev[pos] >= 0) this.pushPair(heap, sym, prev[pos], pos);
      if (next[pos] >= 0) this.pushPair(heap, sym, pos, next[pos]);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(sym[3 * i], sym[3 * i + 1], sym[3 * i + 2]);
    return Int32Array.from(out);
  }

  private pushPair(heap: MinHeap, sym: Int32Array, i: number, j: number): void {
    const r = this.rank(sym[3 * i], sym[3 * j]);
    if (r !== NONE) heap.push(r * POS_SCALE + i);
  }
}

/** A binary min-heap of numbers (rank and position packed into one double). */
class MinHeap {
  private data: number[] = [];

  get size(): number {
    return this.data.length;
  }

  push(v: number): void {
    const d = this.data;
    d.push(v);
    for (let i = d.length - 1; i > 0; ) {
      const p = (i - 1) >> 1;
      if (d[p] <= v) break;
      d[i] = d[p];
      d[p] = v;
      i = p;
    }
  }

  pop(): number {
    const d = this.data;
    const top = d[0];
    const last = d.pop()!;
    if (d.length === 0) return top;
    d[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      if (l >= d.length) break;
      const c = l + 1 < d.length && d[l + 1] < d[l] ? l + 1 : l;
      if (d[c] >= d[i]) break;
      [d[i], d[c]] = [d[c], d[i]];
      i = c;
    }
    return top;
  }
}

function utf8Length(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Converts [id, byteStart, byteEnd] triples to UTF-16 ranges of `word` (a byte inside a character covers the character). */
function bytesToUnits(word: string, tri: Int32Array): Int32Array {
  let ascii = true;
  for (let i = 0; i < word.length && ascii; i++) ascii = word.charCodeAt(i) < 0x80;
  if (ascii) return tri;
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < word.length; ) {
    const w = cpWidth(word, i);
    for (let k = utf8Length(word.codePointAt(i)!); k > 0; k--) {
      starts.push(i);
      ends.push(i + w);
    }
    i += w;
  }
  const last = starts.length - 1;
  for (let k = 0; k < tri.length; k += 3) {
    const [bs, be] = [tri[k + 1], tri[k + 2]];
    tri[k + 1] = starts[Math.min(bs, last)];
    tri[k + 2] = be > bs ? ends[Math.min(be - 1, last)] : tri[k + 1];
  }
  return tri;
}

function readVocab(cfg: Cfg): Map<string, number> {
  const v = cfg.obj_('vocab');
  const vocab = new Map<string, number>();
  const owner = new Map<number, string>();
  for (const tok of Object.keys(v.obj)) {
    const id = v.int(tok);
    const other = owner.get(id);
    if (other !== undefined) throw new TokenizerConfigError(`${v.path}: id ${id} is given to both ${JSON.stringify(other)} and ${JSON.stringify(tok)}`);
    owner.set(id, tok);
    vocab.set(tok, id);
  }
  return vocab;
}

/** Merges as `"a b"` strings (older files) or `["a", "b"]` pairs (tokenizers >= 0.20). */
function readMerges(cfg: Cfg): Array<[string, string]> {
  const { items, path } = cfg.arr('merges');
  const out: Array<[string, string]> = [];
  items.forEach((m, i) => {
    if (typeof m === 'string') {
      // merges.txt headers survive in some converted files; HF skips them.
      if (m.startsWith('#version')) return;
      const parts = m.split(' ');
      if (parts.length === 2) return void out.push([parts[0], parts[1]]);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
      return void out.push([m[0], m[1]]);
    }
    throw new TokenizerConfigError(`${path(i)}: expected a merge "a b" or ["a", "b"], got ${JSON.stringify(m)}`);
  });
  return out;
}
