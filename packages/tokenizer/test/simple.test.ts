import { describe, expect, it } from 'vitest';
import type { TokenizerLike } from '../src/index.js';
import { ByteTokenizer, CharTokenizer, TokenizerConfigError, tokenizerFromJSON, UnknownCharacterError, UnknownTokenIdError } from '../src/index.js';
import { neox, randomText, rng, streamAll } from './helpers.js';

const corpus = 'First Citizen:\nBefore we proceed any further, hear me speak.\n<|endoftext|>All:\nSpeak, speak. caf\u00e9 \u{1F40D}';

describe('ByteTokenizer', () => {
  const tok = new ByteTokenizer({ specials: ['<|endoftext|>', '<pad>'], eosToken: '<|endoftext|>' });

  it('encodes UTF-8 bytes, specials from 256', () => {
    expect(tok.vocabSize).toBe(258);
    expect(tok.encode('hi \u00e9')).toEqual([104, 105, 32, 0xc3, 0xa9]);
    expect(tok.encode('a<|endoftext|>b<pad>')).toEqual([97, 256, 98, 257]);
    expect(tok.eosTokenId).toBe(256);
    expect(tok.bosTokenId).toBeUndefined();
    expect(tok.specialTokens).toEqual(
      new Map([
        ['<|endoftext|>', 256],
        ['<pad>', 257],
      ]),
    );
  });

  it('names byte tokens <0xNN> and gives each the range of its character', () => {
    const enc = tok.encodeDetailed('a\u00e9');
    expect(enc.tokens).toEqual(['<0x61>', '<0xC3>', '<0xA9>']);
    expect(enc.offsets).toEqual([
      [0, 1],
      [1, 2],
      [1, 2],
    ]);
    expect(tok.tokenToId('<0xC3>')).toBe(0xc3);
    expect(tok.tokenToId('<pad>')).toBe(257);
    expect(tok.idToToken(300)).toBeUndefined();
  });

  it('decodes lossily like the BPE tokenizer, specials kept or skipped', () => {
    expect(tok.decode([104, 256, 105])).toBe('h<|endoftext|>i');
    expect(tok.decode([104, 256, 105], { skipSpecialTokens: true })).toBe('hi');
    expect(tok.decode([0xc3, 0x41, 0xff])).toBe('\uFFFDA\uFFFD');
    expect(() => tok.decode([258])).toThrow(UnknownTokenIdError);
  });

  it('adds BOS/EOS when configured', () => {
    const wrapped = new ByteTokenizer({ bosToken: '<s>', eosToken: '</s>', addBosToken: true, addEosToken: true });
    expect(wrapped.encode('a')).toEqual([256, 97, 257]);
    expect(wrapped.encode('a', { addSpecialTokens: false })).toEqual([97]);
    expect(wrapped.encodeDetailed('a').offsets).toEqual([
      [0, 0],
      [0, 1],
      [0, 0],
    ]);
  });

  it('round-trips random Unicode, streaming included, and through JSON', () => {
    const rand = rng(11);
    const again = ByteTokenizer.fromJSON(JSON.stringify(tok.toJSON()));
    expect(again.toJSON()).toEqual(tok.toJSON());
    for (let i = 0; i < 200; i++) {
      const x = randomText(rand, 40);
      const ids = tok.encode(x);
      expect(tok.decode(ids)).toBe(x);
      expect(again.encode(x)).toEqual(ids);
      const s = tok.createStreamingDecoder();
      expect(streamAll((id) => s.push(id), () => s.flush(), ids)).toBe(x);
    }
  });
});

describe('CharTokenizer', () => {
  const tok = CharTokenizer.fromCorpus(corpus, { specials: ['<|endoftext|>'], eosToken: '<|endoftext|>', unkToken: '<unk>' });
  const chars = [...new Set([...corpus.replace('<|endoftext|>', '')])].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);

  it('numbers the corpus characters by code point, then the specials', () => {
    expect(tok.vocabSize).toBe(chars.length + 2);
    expect(chars.map((c) => tok.tokenToId(c))).toEqual(chars.map((_, i) => i));
    expect(tok.tokenToId('<|endoftext|>')).toBe(chars.length);
    expect(tok.tokenToId('<unk>')).toBe(chars.length + 1);
    expect(tok.eosTokenId).toBe(chars.length);
    // The special's own characters (| for one) are not characters of the vocabulary.
    expect(tok.tokenToId('|')).toBeUndefined();
  });

  it('one id per character (an emoji is one), specials matched first, unknowns to <unk>', () => {
    const enc = tok.encodeDetailed('Sp\u{1F40D}<|endoftext|>Z');
    expect(enc.tokens).toEqual(['S', 'p', '\u{1F40D}', '<|endoftext|>', '<unk>']);
    expect(enc.offsets).toEqual([
      [0, 1],
      [1, 2],
      [2, 4],
      [4, 17],
      [17, 18],
    ]);
    expect(tok.decode(enc.ids)).toBe('Sp\u{1F40D}<|endoftext|><unk>');
    expect(tok.decode(enc.ids, { skipSpecialTokens: true })).toBe('Sp\u{1F40D}');
  });

  it('without an unknown token, an unseen character is a clear error', () => {
    const strict = CharTokenizer.fromCorpus('abc');
    expect(() => strict.encode('abxc')).toThrow(UnknownCharacterError);
    expect(() => strict.encode('abxc')).toThrow(/character "x" \(U\+0078\) at index 2 is not in the vocabulary/);
  });

  it('round-trips any text of its corpus, streaming included', () => {
    const rand = rng(12);
    for (let i = 0; i < 200; i++) {
      const n = Math.floor(rand() * 30);
      const x = Array.from({ length: n }, () => chars[Math.floor(rand() * chars.length)]).join('');
      const ids = tok.encode(x);
      expect(tok.decode(ids)).toBe(x);
      const s = tok.createStreamingDecoder();
      expect(streamAll((id) => s.push(id), () => s.flush(), ids)).toBe(x);
    }
  });

  it('serialises to JSON and back (the file shipped beside the weights)', () => {
    const json = tok.toJSON();
    expect(json.type).toBe('CharTokenizer');
    expect(json.vocab).toEqual([...chars, '<|endoftext|>', '<unk>']);
    expect(json.specials).toEqual(['<|endoftext|>', '<unk>']);
    expect([json.unkToken, json.eosToken, json.bosToken]).toEqual(['<unk>', '<|endoftext|>', null]);
    const again = CharTokenizer.fromJSON(JSON.stringify(json));
    expect(again.toJSON()).toEqual(json);
    expect(again.encode(corpus)).toEqual(tok.encode(corpus));
  });

  it('rejects malformed JSON with what was expected', () => {
    const good = tok.toJSON();
    const bad = (patch: Record<string, unknown>): string => {
      try {
        CharTokenizer.fromJSON({ ...good, ...patch });
      } catch (err) {
        expect(err).toBeInstanceOf(TokenizerConfigError);
        return (err as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(bad({ type: 'ByteTokenizer' })).toBe('CharTokenizer.type: expected "CharTokenizer", got string "ByteTokenizer"');
    expect(bad({ version: 2 })).toBe('CharTokenizer.version: expected 1, got number 2');
    expect(bad({ vocab: ['ab', ...good.specials] })).toBe('CharTokenizer.vocab[0]: expected a single character, got "ab"');
    expect(bad({ vocab: ['a', 'a', ...good.specials] })).toBe('CharTokenizer.vocab: "a" is listed twice');
    expect(bad({ vocab: ['a', '<unk>', '<|endoftext|>'] })).toBe('CharTokenizer.vocab[1]: expected the special token "<|endoftext|>", got "<unk>"');
    expect(bad({ eosToken: '<eos>' })).toBe('CharTokenizer.eosToken: expected null or one of CharTokenizer.specials, got string "<eos>"');
    expect(() => CharTokenizer.fromJSON('{nope')).toThrow(/CharTokenizer JSON is not valid JSON/);
  });
});

describe('one interface', () => {
  it('tokenizerFromJSON picks the kind of tokenizer from the file', () => {
    const char = CharTokenizer.fromCorpus('abc');
    const byte = new ByteTokenizer();
    expect(tokenizerFromJSON(JSON.stringify(char.toJSON()))).toBeInstanceOf(CharTokenizer);
    expect(tokenizerFromJSON(byte.toJSON() as unknown as Record<string, unknown>)).toBeInstanceOf(ByteTokenizer);
    expect(() => tokenizerFromJSON('nope')).toThrow(/tokenizer file is not valid JSON/);
  });

  it('every tokenizer satisfies TokenizerLike the same way', () => {
    const all: TokenizerLike[] = [neox(), new ByteTokenizer({ eosToken: '<eos>' }), CharTokenizer.fromCorpus('hello world', { eosToken: '<eos>' })];
    for (const tok of all) {
      const ids = tok.encode('hello');
      expect(tok.decode(ids)).toBe('hello');
      expect(tok.encodeBatch(['hello', 'world'])).toEqual([ids, tok.encode('world')]);
      expect(tok.decodeBatch([ids, tok.encode('world')])).toEqual(['hello', 'world']);
      expect(tok.encodeDetailed('hello').ids).toEqual(ids);
      const eos = tok.eosTokenId!;
      expect(tok.idToToken(eos)).toBe(tok === all[0] ? '<|endoftext|>' : '<eos>');
      expect(tok.decode([...ids, eos], { skipSpecialTokens: true })).toBe('hello');
      expect(() => tok.decode([tok.vocabSize])).toThrow(UnknownTokenIdError);
      const s = tok.createStreamingDecoder();
      expect(s.pushAll(ids) + s.flush()).toBe('hello');
    }
  });
});

describe('parseSpecialTokens: false', () => {
  it('leaves special tokens in the text for the byte and char tokenizers', () => {
    const byte = new ByteTokenizer({ specials: ['<s>'] });
    expect(byte.encode('<s>', { parseSpecialTokens: false })).toEqual([60, 115, 62]);
    expect(byte.encode('<s>')).toEqual([256]);
    const char = CharTokenizer.fromCorpus('<s>ab', { specials: ['<s>'], unkToken: '<unk>' });
    // The corpus had '<s>' only as a special, so its characters are unknown as text.
    expect(char.encode('<s>a', { parseSpecialTokens: false }).map((id) => char.idToToken(id))).toEqual(['<unk>', '<unk>', '<unk>', 'a']);
  });
});
