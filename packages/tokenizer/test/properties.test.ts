import { describe, expect, it } from 'vitest';
import { BpeModel } from '../src/bpe.js';
import { Cfg } from '../src/config.js';
import { neox, neoxJSON, randomText, rng, streamAll } from './helpers.js';

describe('properties of the GPT-NeoX tokenizer on random Unicode', () => {
  const tok = neox();

  it('decode(encode(x)) == NFC(x)', () => {
    const rand = rng(1);
    for (let i = 0; i < 400; i++) {
      const x = randomText(rand, 60);
      expect(tok.decode(tok.encode(x))).toBe(x.normalize('NFC'));
    }
  });

  it('encode and encodeDetailed agree, and offsets stay inside the text in order', () => {
    const rand = rng(2);
    for (let i = 0; i < 200; i++) {
      const x = randomText(rand, 60);
      const enc = tok.encodeDetailed(x);
      expect(enc.ids).toEqual(tok.encode(x));
      expect(enc.tokens).toEqual(enc.ids.map((id) => tok.idToToken(id)));
      let last = 0;
      for (const [s, e] of enc.offsets) {
        expect(0 <= s && s <= e && e <= x.length).toBe(true);
        expect(s).toBeGreaterThanOrEqual(last);
        last = s;
      }
    }
  });

  it('streaming decode == full decode for encoded text', () => {
    const rand = rng(3);
    for (let i = 0; i < 200; i++) {
      const ids = tok.encode(randomText(rand, 60));
      const s = tok.createStreamingDecoder();
      expect(streamAll((id) => s.push(id), () => s.flush(), ids)).toBe(tok.decode(ids));
    }
  });

  it('streaming decode == full decode for arbitrary id sequences (broken UTF-8 included)', () => {
    const rand = rng(4);
    // Single-byte tokens (ids 0..500 hold most of them) make invalid and split sequences likely.
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rand() * 12);
      const ids = Array.from({ length: n }, () => (rand() < 0.7 ? Math.floor(rand() * 500) : Math.floor(rand() * tok.vocabSize)));
      const s = tok.createStreamingDecoder();
      const pieces = ids.map((id) => s.push(id));
      const rest = s.flush();
      expect(pieces.join('') + rest).toBe(tok.decode(ids));
    }
  });

  it('the stream never emits half a character', () => {
    // 🐍 is four bytes in three tokens; nothing comes out until the last one.
    const ids = tok.encode('🐍');
    expect(ids.length).toBeGreaterThan(1);
    const s = tok.createStreamingDecoder();
    const out = ids.map((id) => s.push(id));
    expect(out.slice(0, -1).every((p) => p === '')).toBe(true);
    expect(out.at(-1)).toBe('🐍');
    expect(s.flush()).toBe('');
  });

  it('flush emits U+FFFD for an incomplete character and starts over', () => {
    const partial = tok.encode('🐍').slice(0, -1);
    const s = tok.createStreamingDecoder();
    expect(s.pushAll(partial)).toBe('');
    expect(s.flush()).toBe(tok.decode(partial));
    expect(tok.decode(partial)).toBe('\uFFFD');
    expect(s.pushAll(tok.encode('ok'))).toBe('ok');
  });

  it('BOM and other invisible characters survive the round trip', () => {
    for (const x of ['\uFEFFstart', 'a\u200Bb', '\u0085\u2028\u3000x']) {
      expect(tok.decode(tok.encode(x))).toBe(x);
      const s = tok.createStreamingDecoder();
      expect(s.pushAll(tok.encode(x)) + s.flush()).toBe(x);
    }
  });
});

describe('BPE merge loops', () => {
  const model = (heapThreshold: number): BpeModel => {
    const json = JSON.parse(neoxJSON()) as { model: unknown };
    return BpeModel.fromConfig(Cfg.from(json.model, 'model'), { heapThreshold });
  };
  const scan = model(Infinity);
  const heap = model(0);

  it('the heap and the scan give the same tokens on random words', () => {
    const rand = rng(5);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzĠĊ0123456789';
    for (let i = 0; i < 500; i++) {
      const n = 1 + Math.floor(rand() * 80);
      let w = '';
      for (let k = 0; k < n; k++) w += alphabet[Math.floor(rand() * alphabet.length)];
      expect(Array.from(heap.tokenize(w))).toEqual(Array.from(scan.tokenize(w)));
    }
  });

  it('a long word without spaces encodes (and decodes back)', () => {
    const tok = neox();
    const word = 'abc'.repeat(20000);
    const ids = tok.encode(word);
    expect(ids.length).toBeLessThan(word.length);
    expect(tok.decode(ids)).toBe(word);
  });
});
