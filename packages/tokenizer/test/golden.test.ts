import { describe, expect, it } from 'vitest';
import { goldenCases, neox } from './helpers.js';

describe('GPT-NeoX-20B tokenizer against Hugging Face tokenizers', () => {
  const tok = neox();
  const cases = goldenCases();

  it('has the golden cases and the vocabulary size HF reports with added tokens', () => {
    expect(cases.length).toBe(17);
    expect(tok.vocabSize).toBe(50277);
    expect(tok.specialTokens).toEqual(
      new Map([
        ['<|endoftext|>', 0],
        ['<|padding|>', 1],
      ]),
    );
    expect(tok.eosTokenId).toBe(0);
    expect(tok.bosTokenId).toBe(0);
  });

  for (const c of cases) {
    describe(JSON.stringify(c.text.length > 40 ? `${c.text.slice(0, 40)}...` : c.text), () => {
      it('encodes to the same ids', () => {
        expect(tok.encode(c.text)).toEqual(c.ids);
      });

      it('gives the same tokens, with offsets that cover the text in order', () => {
        const enc = tok.encodeDetailed(c.text);
        expect(enc.ids).toEqual(c.ids);
        expect(enc.tokens).toEqual(c.tokens);
        expect(enc.offsets).toHaveLength(c.ids.length);
        let last = 0;
        for (const [s, e] of enc.offsets) {
          expect(s).toBeLessThanOrEqual(e);
          expect(s).toBeGreaterThanOrEqual(last);
          expect(e).toBeLessThanOrEqual(c.text.length);
          last = s;
        }
      });

      it('decodes to the same text (special tokens skipped, as HF Python does by default)', () => {
        expect(tok.decode(c.ids, { skipSpecialTokens: true })).toBe(c.decoded);
      });

      it('streams the same text one id at a time', () => {
        const stream = tok.createStreamingDecoder({ skipSpecialTokens: true });
        const pieces = c.ids.map((id) => stream.push(id));
        expect(pieces.join('') + stream.flush()).toBe(c.decoded);
        // Nothing emitted is a broken character.
        for (const p of pieces) expect(p).not.toMatch(/\uFFFD/);
      });
    });
  }

  it('keeps special tokens when asked', () => {
    const ids = tok.encode('<|endoftext|>special<|padding|>');
    expect(tok.decode(ids)).toBe('<|endoftext|>special<|padding|>');
    expect(tok.decode(ids, { skipSpecialTokens: false })).toBe('<|endoftext|>special<|padding|>');
  });

  it('batches', () => {
    const texts = cases.map((c) => c.text);
    expect(tok.encodeBatch(texts)).toEqual(cases.map((c) => c.ids));
    expect(tok.decodeBatch(cases.map((c) => c.ids), { skipSpecialTokens: true })).toEqual(cases.map((c) => c.decoded));
  });

  it('adds no special tokens for GPT-NeoX either way', () => {
    for (const c of cases) expect(tok.encode(c.text, { addSpecialTokens: false })).toEqual(c.ids);
  });

  it('gives the offsets HF computes, trimmed of the leading space', () => {
    const enc = tok.encodeDetailed('Hello, world!');
    expect(enc.offsets).toEqual([
      [0, 5],
      [5, 6],
      [7, 12],
      [12, 13],
    ]);
    // Byte pieces of one character all point at the character (a surrogate pair here).
    const emoji = tok.encodeDetailed('a🐍');
    expect(emoji.tokens).toEqual(['a', 'ðŁ', 'Ĳ', 'į']);
    expect(emoji.offsets).toEqual([
      [0, 1],
      [1, 3],
      [1, 3],
      [1, 3],
    ]);
    // Composed by NFC: like HF, the composed character points at the first of the two.
    const composed = tok.encodeDetailed('A\u030Ax');
    expect(composed.ids).toEqual(tok.encode('\u00C5x'));
    expect(composed.offsets).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('maps tokens and ids both ways', () => {
    expect(tok.tokenToId('Ġworld')).toBe(1533);
    expect(tok.idToToken(1533)).toBe('Ġworld');
    expect(tok.tokenToId('<|endoftext|>')).toBe(0);
    expect(tok.tokenToId('  ')).toBe(50276);
    expect(tok.idToToken(50276)).toBe('  ');
    expect(tok.idToToken(50277)).toBeUndefined();
    expect(tok.tokenToId('no such token')).toBeUndefined();
    expect(tok.addedTokens.map((t) => t.id)).toEqual([0, 1, ...Array.from({ length: 23 }, (_, i) => 50254 + i)]);
  });
});

describe('special tokens written in the text', () => {
  it('parseSpecialTokens: false encodes them as text, like HF encode_special_tokens = True', () => {
    const tok = neox();
    // Expected ids from HF tokenizers 0.23.2 with encode_special_tokens = True.
    expect(tok.encode('<|endoftext|>hi  there', { parseSpecialTokens: false })).toEqual([29, 93, 423, 1171, 1156, 49651, 5801, 50276, 9088]);
    expect(tok.encode('a<|padding|>', { parseSpecialTokens: false })).toEqual([66, 29, 93, 17333, 49651]);
    expect(tok.encodeDetailed('a<|padding|>', { parseSpecialTokens: false }).tokens).toEqual(['a', '<', '|', 'padding', '|>']);
    expect(tok.encode('a<|padding|>')).toEqual([66, 1]);
  });
});
