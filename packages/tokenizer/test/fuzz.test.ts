/**
 * Property-based fuzzing of tokenizer loading: random edits of a valid tokenizer.json (a
 * GPT-NeoX file cut down to a small vocabulary, its normalizer, pre-tokenizer, post-processor,
 * decoder and added tokens kept), byte flips of its text, and edits of saved char/byte
 * tokenizers. Each case loads (and then encodes and decodes) or throws a `TokenizerError`:
 * never another exception, a stack overflow or a hang. A bounded number of cases runs in CI.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CharTokenizer, ByteTokenizer, TokenizerError, tokenizerFromJSON } from '../src/index.js';
import { neoxJSON } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

/** The NeoX tokenizer.json with only the first 400 ids and the merges among them. */
function smallNeox(): Record<string, unknown> {
  const json = JSON.parse(neoxJSON()) as { model: { vocab: Record<string, number>; merges: (string | string[])[] }; added_tokens: { id: number }[] };
  const vocab = Object.fromEntries(Object.entries(json.model.vocab).filter(([, id]) => id < 400));
  const merges = json.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? m.split(' ') : m;
    return a in vocab && b in vocab && `${a}${b}` in vocab;
  });
  return { ...json, model: { ...json.model, vocab, merges }, added_tokens: json.added_tokens.slice(0, 3).map((t, i) => ({ ...t, id: 400 + i })) };
}

const BASE = smallNeox();

/** Every path to a value in a JSON tree (arrays: the first few items only). */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.slice(0, 4).forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v).slice(0, 40)) paths(x, [...at, k], out);
  return out;
}
const BASE_PATHS = paths(BASE).filter((p) => p.length > 0);

/**
 * Values named like Object's members (strings that find inherited methods; objects on which
 * String() throws): a copy of @mamba3/tensor/testing's OBJECT_MEMBER_VALUES, since the tokenizer
 * depends on no other package.
 */
const OBJECT_MEMBER_VALUES: readonly unknown[] = ['toString', 'constructor', '__proto__', 'valueOf', { toString: null }, { valueOf: 1, toString: 'x' }, [{ toString: null }], { toJSON: null, toString: [] }];

const nasty = fc.oneof(fc.constantFrom(0, -1, 1.5, 2 ** 31, 1e308, '', 'Sequence', 'BPE', 'ByteLevel', null, true, [], {}, [[]], ...OBJECT_MEMBER_VALUES), fc.jsonValue({ maxDepth: 3 }));
const edit = fc.record({ path: fc.nat(), value: nasty, remove: fc.boolean() });

function applyEdits(base: unknown, edits: readonly { path: number; value: unknown; remove: boolean }[], allPaths: (string | number)[][]): unknown {
  const root = structuredClone(base) as Record<string | number, unknown>;
  for (const e of edits) {
    const path = allPaths[e.path % allPaths.length];
    let node: unknown = root;
    for (const key of path.slice(0, -1)) node = node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined;
    if (node === null || typeof node !== 'object') continue;
    const last = path[path.length - 1];
    if (e.remove && !Array.isArray(node)) delete (node as Record<string | number, unknown>)[last];
    // A copy: constants are shared between runs, and a later edit may write inside this one.
    else (node as Record<string | number, unknown>)[last] = structuredClone(e.value);
  }
  return root;
}

const SAMPLE = 'Hello, world! <|endoftext|> 12 345  tabs\tand\nnewlines é🙂';

/** Loads and exercises a tokenizer; a TokenizerError anywhere is fine, any other exception fails. */
function loadAndUse(json: unknown): 'ok' | 'typed' {
  try {
    const tok = tokenizerFromJSON(typeof json === 'string' ? json : JSON.stringify(json));
    const ids = tok.encode(SAMPLE);
    tok.decode(ids);
    return 'ok';
  } catch (err) {
    if (err instanceof TokenizerError) return 'typed';
    throw err;
  }
}

describe('tokenizer.json fuzz', () => {
  it('the cut-down file itself loads and round-trips', () => {
    expect(loadAndUse(BASE)).toBe('ok');
  });

  it('edited fields anywhere in the file', () => {
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        loadAndUse(applyEdits(BASE, edits, BASE_PATHS));
      }),
      { numRuns: RUNS },
    );
  });

  it('byte flips and truncation of the text', () => {
    const text = JSON.stringify(BASE);
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat(), ch: fc.constantFrom('"', '{', '}', '[', ']', ',', ':', '0', '-', ' ', 'a', '\\') }), { maxLength: 6 }), fc.nat(), (flips, cut) => {
        const chars = [...text];
        for (const f of flips) chars[f.at % chars.length] = f.ch;
        loadAndUse(chars.join('').slice(0, text.length - (cut % 50)));
      }),
      { numRuns: RUNS },
    );
  });

  it('nesting of any depth is refused cleanly (no stack overflow)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('normalizer', 'pre_tokenizer', 'decoder', 'post_processor'), (depth, slot) => {
        const key = slot === 'normalizer' ? 'normalizers' : slot === 'pre_tokenizer' ? 'pretokenizers' : slot === 'decoder' ? 'decoders' : 'processors';
        const text = JSON.stringify({ ...BASE, [slot]: null }).replace(`"${slot}":null`, `"${slot}":${`{"type":"Sequence","${key}":[`.repeat(depth)}${']}'.repeat(depth)}`);
        loadAndUse(text);
      }),
      { numRuns: 12 },
    );
  });

  it('saved char and byte tokenizers, edited', () => {
    const saved = [CharTokenizer.fromCorpus('hello world, the quick brown fox').toJSON(), new ByteTokenizer().toJSON()];
    for (const base of saved) {
      const all = paths(base).filter((p) => p.length > 0);
      fc.assert(
        fc.property(fc.array(edit, { minLength: 1, maxLength: 3 }), (edits) => {
          loadAndUse(applyEdits(base, edits, all));
        }),
        { numRuns: RUNS },
      );
    }
  });
});
