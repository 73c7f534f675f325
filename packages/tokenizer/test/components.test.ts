import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/index.js';
import { toByteLevel } from '../src/byte-level.js';
import { Cfg } from '../src/config.js';
import { Piece } from '../src/piece.js';
import { buildPreTokenizer } from '../src/pre-tokenizers.js';
import { goldenCases, neoxJSON } from './helpers.js';

type Json = Record<string, unknown>;

/** A tokenizer.json around a BPE model with the given vocab (list order = ids) and merges. */
function tokenizerJSON(vocab: string[], merges: string[], extra: Json = {}, model: Json = {}): Json {
  return {
    version: '1.0',
    added_tokens: [],
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: null,
    ...extra,
    model: { type: 'BPE', vocab: Object.fromEntries(vocab.map((t, i) => [t, i])), merges, ...model },
  };
}

function added(id: number, content: string, flags: Partial<Record<'special' | 'lstrip' | 'rstrip' | 'single_word' | 'normalized', boolean>> = {}): Json {
  const special = flags.special ?? false;
  return { id, content, special, lstrip: false, rstrip: false, single_word: false, normalized: !special, ...flags };
}

/** The pieces a pre-tokenizer config produces from `text`. */
function preTokenize(config: Json, text: string): string[] {
  return buildPreTokenizer(Cfg.from(config, 'pre_tokenizer'))
    .split(Piece.of(text, false))
    .map((p) => p.text);
}

const letters = 'abcdefghijklmnopqrstuvwxyz'.split('');

describe('BPE model options', () => {
  it('reads merges in the pair form exactly like the string form', () => {
    const json = JSON.parse(neoxJSON()) as { model: { merges: string[] } };
    const strings = Tokenizer.fromJSON(json);
    json.model.merges = json.model.merges.map((m) => m.split(' ')) as unknown as string[];
    const pairs = Tokenizer.fromJSON(json);
    for (const c of goldenCases()) expect(pairs.encode(c.text)).toEqual(strings.encode(c.text));
  });

  it('merges by rank, leftmost first on ties', () => {
    const tok = Tokenizer.fromJSON(tokenizerJSON(['a', 'b', 'ab', 'aa', 'aaa'], ['a a', 'a b', 'aa a']));
    expect(tok.encode('aab').map((id) => tok.idToToken(id))).toEqual(['aa', 'b']);
    expect(tok.encode('aaaa').map((id) => tok.idToToken(id))).toEqual(['aa', 'aa']);
    expect(tok.encode('aaa').map((id) => tok.idToToken(id))).toEqual(['aaa']);
  });

  it('ignore_merges takes a whole word that is in the vocab', () => {
    const vocab = ['h', 'e', 'l', 'o', 'he', 'll', 'hello'];
    const merges = ['h e', 'l l'];
    const pre = { pre_tokenizer: { type: 'WhitespaceSplit' } };
    const plain = Tokenizer.fromJSON(tokenizerJSON(vocab, merges, pre));
    const ignoring = Tokenizer.fromJSON(tokenizerJSON(vocab, merges, pre, { ignore_merges: true }));
    expect(plain.encode('hello').map((id) => plain.idToToken(id))).toEqual(['he', 'll', 'o']);
    expect(ignoring.encode('hello').map((id) => ignoring.idToToken(id))).toEqual(['hello']);
    expect(ignoring.encode('hell').map((id) => ignoring.idToToken(id))).toEqual(['he', 'll']);
    // No decoder: tokens joined by spaces, as HF does.
    expect(plain.decode(plain.encode('hello'))).toBe('he ll o');
  });

  it('maps unknown characters to unk_token, fused or not, and drops them without one', () => {
    const vocab = ['<unk>', 'a', 'b'];
    const fused = Tokenizer.fromJSON(tokenizerJSON(vocab, [], {}, { unk_token: '<unk>', fuse_unk: true }));
    const unfused = Tokenizer.fromJSON(tokenizerJSON(vocab, [], {}, { unk_token: '<unk>', fuse_unk: false }));
    const none = Tokenizer.fromJSON(tokenizerJSON(vocab, []));
    expect(fused.encode('axyb')).toEqual([1, 0, 2]);
    expect(unfused.encode('axyb')).toEqual([1, 0, 0, 2]);
    expect(none.encode('axyb')).toEqual([1, 2]);
    expect(fused.encodeDetailed('axyb').offsets).toEqual([
      [0, 1],
      [1, 3],
      [3, 4],
    ]);
  });

  it('continuing_subword_prefix and end_of_word_suffix', () => {
    const prefixed = Tokenizer.fromJSON(tokenizerJSON(['a', '##b', '##c', 'ab', 'abc'], ['a ##b', 'ab ##c'], {}, { continuing_subword_prefix: '##' }));
    expect(prefixed.encode('abc')).toEqual([4]);
    expect(prefixed.encode('ac')).toEqual([0, 2]);
    const suffixed = Tokenizer.fromJSON(
      tokenizerJSON(['a', 'b</w>', 'ab</w>'], ['a b</w>'], { pre_tokenizer: { type: 'WhitespaceSplit' }, decoder: { type: 'BPEDecoder', suffix: '</w>' } }, { end_of_word_suffix: '</w>' }),
    );
    expect(suffixed.encode('ab ab')).toEqual([2, 2]);
    expect(suffixed.decode([2, 2])).toBe('ab ab');
  });
});

/** A Llama-2-style tokenizer: SentencePiece BPE with byte fallback, no pre-tokenizer. */
function sentencePieceJSON(): Json {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const vocab = ['<unk>', '<s>', '</s>', ...bytes, '\u2581', 'a', 'b', '\u2581a'];
  return tokenizerJSON(
    vocab,
    ['\u2581 a'],
    {
      added_tokens: [added(0, '<unk>', { special: true }), added(1, '<s>', { special: true }), added(2, '</s>', { special: true })],
      normalizer: {
        type: 'Sequence',
        normalizers: [
          { type: 'Prepend', prepend: '\u2581' },
          { type: 'Replace', pattern: { String: ' ' }, content: '\u2581' },
        ],
      },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [],
        special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
      },
      decoder: {
        type: 'Sequence',
        decoders: [
          { type: 'Replace', pattern: { String: '\u2581' }, content: ' ' },
          { type: 'ByteFallback' },
          { type: 'Fuse' },
          { type: 'Strip', content: ' ', start: 1, stop: 0 },
        ],
      },
    },
    { unk_token: '<unk>', fuse_unk: true, byte_fallback: true },
  );
}

describe('a SentencePiece-style BPE (byte fallback, template BOS, Strip decoder)', () => {
  const tok = Tokenizer.fromJSON(sentencePieceJSON());
  const [bos, sp, a, b, spA] = [1, 259, 260, 261, 262];
  const byte = (n: number): number => 3 + n;

  it('prepends BOS from the template and the metaspace from the normalizer', () => {
    expect(tok.bosTokenId).toBe(bos);
    expect(tok.eosTokenId).toBe(2);
    expect(tok.encode('a b')).toEqual([bos, spA, sp, b]);
    expect(tok.encode('a b', { addSpecialTokens: false })).toEqual([spA, sp, b]);
    expect(tok.encodeDetailed('a b').offsets).toEqual([
      [0, 0],
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('falls back to byte tokens for characters outside the vocab', () => {
    expect(tok.encode('a\u00e9', { addSpecialTokens: false })).toEqual([spA, byte(0xc3), byte(0xa9)]);
    expect(tok.encode('\u{1F40D}', { addSpecialTokens: false })).toEqual([sp, byte(0xf0), byte(0x9f), byte(0x90), byte(0x8d)]);
  });

  it('decodes through Replace, ByteFallback, Fuse and Strip', () => {
    expect(tok.decode([bos, spA, sp, b])).toBe('<s> a b');
    expect(tok.decode([bos, spA, sp, b], { skipSpecialTokens: true })).toBe('a b');
    expect(tok.decode([spA, byte(0xc3), byte(0xa9)])).toBe('a\u00e9');
    // An invalid byte run becomes one U+FFFD per byte (HF's ByteFallback rule).
    expect(tok.decode([a, byte(0xc3), byte(0xc3)])).toBe('a\uFFFD\uFFFD');
  });

  it('streams like HF DecodeStream and agrees with decode', () => {
    const s = tok.createStreamingDecoder({ skipSpecialTokens: true });
    expect([bos, spA, byte(0xc3), byte(0xa9), sp, b].map((id) => s.push(id))).toEqual(['', 'a', '', '\u00e9', ' ', 'b']);
    expect(s.flush()).toBe('');
    const texts = ['a b a', 'ab\u00e9 \u{1F40D}b', ' a  b', 'b\u00e9\u00e9'];
    for (const t of texts) {
      const ids = tok.encode(t);
      const stream = tok.createStreamingDecoder({ skipSpecialTokens: true });
      expect(stream.pushAll(ids) + stream.flush()).toBe(tok.decode(ids, { skipSpecialTokens: true }));
    }
  });

  it('flushes an incomplete byte sequence as U+FFFD per byte', () => {
    const s = tok.createStreamingDecoder();
    expect(s.pushAll([spA, byte(0xf0), byte(0x9f)])).toBe('a');
    expect(s.flush()).toBe('\uFFFD\uFFFD');
  });
});

describe('added tokens', () => {
  const chars = [...letters, ' ', '<', '>', '[', ']', '!'];
  const json = tokenizerJSON(chars, [], {
    normalizer: { type: 'Lowercase' },
    added_tokens: [
      added(100, '<mask>', { special: true, lstrip: true }),
      added(101, '[x]', { special: true, rstrip: true }),
      added(102, 'cat', { single_word: true }),
      added(103, 'Hey', { normalized: false }),
    ],
  });
  const tok = Tokenizer.fromJSON(json);
  const id = (ch: string): number => chars.indexOf(ch);

  it('numbers added tokens after the model vocab, as HF does', () => {
    expect(tok.addedTokens.map((t) => [t.content, t.id])).toEqual([
      ['<mask>', 32],
      ['[x]', 33],
      ['cat', 34],
      ['Hey', 35],
    ]);
    expect(tok.vocabSize).toBe(36);
  });

  it('lstrip swallows the whitespace before the token', () => {
    const enc = tok.encodeDetailed('a  <mask>b');
    expect(enc.ids).toEqual([id('a'), 32, id('b')]);
    expect(enc.tokens).toEqual(['a', '  <mask>', 'b']);
    expect(enc.offsets).toEqual([
      [0, 1],
      [1, 9],
      [9, 10],
    ]);
  });

  it('rstrip swallows the whitespace after the token', () => {
    expect(tok.encode('[x]  b')).toEqual([33, id('b')]);
    expect(tok.encode('b [x]')).toEqual([id('b'), id(' '), 33]);
  });

  it('single_word tokens only match whole words', () => {
    expect(tok.encode('cat dog')).toEqual([34, id(' '), id('d'), id('o'), id('g')]);
    expect(tok.encode('concat')).toEqual([...'concat'].map(id));
    expect(tok.encode('cats')).toEqual([...'cats'].map(id));
  });

  it('normalized tokens match the normalized text, the others the raw text', () => {
    expect(tok.encode('CAT')).toEqual([34]);
    expect(tok.encode('Hey hey')).toEqual([35, id(' '), id('h'), id('e'), id('y')]);
    expect(tok.encode('HEY')).toEqual([id('h'), id('e'), id('y')]);
  });

  it('matches the longest token at the leftmost position', () => {
    const t = Tokenizer.fromJSON(tokenizerJSON(['a', 'b'], [], { added_tokens: [added(2, 'ab'), added(3, 'aba'), added(4, 'ba')] }));
    expect(t.encode('abab')).toEqual([3, 1]);
    expect(t.encode('bab')).toEqual([4, 1]);
  });
});

describe('post-processors', () => {
  const vocab = ['<s>', '</s>', ...letters];
  const specials = [added(0, '<s>', { special: true }), added(1, '</s>', { special: true })];

  it('TemplateProcessing adds BOS and EOS', () => {
    const tok = Tokenizer.fromJSON(
      tokenizerJSON(vocab, [], {
        added_tokens: specials,
        post_processor: {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
          pair: [],
          special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [1], tokens: ['</s>'] } },
        },
      }),
    );
    expect(tok.encode('ab')).toEqual([0, 2, 3, 1]);
    expect(tok.encode('ab', { addSpecialTokens: false })).toEqual([2, 3]);
    expect(tok.encodeDetailed('ab').tokens).toEqual(['<s>', 'a', 'b', '</s>']);
    expect([tok.bosTokenId, tok.eosTokenId]).toEqual([0, 1]);
  });

  it('RobertaProcessing and a Sequence of processors', () => {
    const roberta = { type: 'RobertaProcessing', cls: ['<s>', 0], sep: ['</s>', 1], trim_offsets: true, add_prefix_space: false };
    const tok = Tokenizer.fromJSON(tokenizerJSON(vocab, [], { added_tokens: specials, post_processor: { type: 'Sequence', processors: [{ type: 'ByteLevel', trim_offsets: true }, roberta] } }));
    expect(tok.encode('ab')).toEqual([0, 2, 3, 1]);
  });

  it('options name BOS/EOS when the file does not', () => {
    const tok = Tokenizer.fromJSON(tokenizerJSON(vocab, [], { added_tokens: specials }), { bosToken: '</s>', eosToken: '<s>' });
    expect([tok.bosTokenId, tok.eosTokenId]).toEqual([1, 0]);
  });
});

describe('normalizers', () => {
  const vocab = [...letters, ' ', 'f', 'i', '1', '\u00e9', 'e', '\u0301', 'x'];
  const make = (normalizer: Json): Tokenizer => Tokenizer.fromJSON(tokenizerJSON([...new Set(vocab)], [], { normalizer }));
  const text = (tok: Tokenizer, s: string): string => tok.encode(s).map((id) => tok.idToToken(id)).join('');

  it('NFC, NFD, NFKC, NFKD', () => {
    expect(text(make({ type: 'NFC' }), 'e\u0301')).toBe('\u00e9');
    expect(text(make({ type: 'NFD' }), '\u00e9')).toBe('e\u0301');
    expect(text(make({ type: 'NFKC' }), '\ufb01\u2460')).toBe('fi1');
    expect(text(make({ type: 'NFKD' }), '\u00e9')).toBe('e\u0301');
  });

  it('Lowercase per character (a final sigma stays \u03c3)', () => {
    const tok = Tokenizer.fromJSON(tokenizerJSON(['\u03c3', '\u03c2', '\u03b1'], [], { normalizer: { type: 'Lowercase' } }));
    expect(tok.encode('\u0391\u03a3').map((id) => tok.idToToken(id))).toEqual(['\u03b1', '\u03c3']);
  });

  it('Strip, StripAccents, Replace (regex), Prepend, in a Sequence', () => {
    const tok = make({
      type: 'Sequence',
      normalizers: [
        { type: 'Strip', strip_left: true, strip_right: true },
        { type: 'NFD' },
        { type: 'StripAccents' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Prepend', prepend: 'x' },
      ],
    });
    expect(text(tok, '  caf\u00e9 \t au\u0085lait  ')).toBe('xcafe au lait');
    const enc = tok.encodeDetailed('  caf\u00e9 \t au');
    // As HF computes them: the prepended x points at the first kept character, the
    // accent-stripped e at the \u00e9, the collapsed whitespace run at its last character.
    expect(enc.offsets).toEqual([
      [2, 3],
      [2, 3],
      [3, 4],
      [4, 5],
      [5, 6],
      [8, 9],
      [9, 10],
      [10, 11],
    ]);
  });
});

describe('pre-tokenizers', () => {
  const split = (behavior: string, invert = false): string[] => preTokenize({ type: 'Split', pattern: { String: '-' }, behavior, invert }, 'a-b--c');

  it('Split with each delimiter behaviour', () => {
    expect(split('Removed')).toEqual(['a', 'b', 'c']);
    expect(split('Isolated')).toEqual(['a', '-', 'b', '-', '-', 'c']);
    expect(split('MergedWithPrevious')).toEqual(['a-', 'b-', '-', 'c']);
    expect(split('MergedWithNext')).toEqual(['a', '-b', '-', '-c']);
    expect(split('Contiguous')).toEqual(['a', '-', 'b', '--', 'c']);
    expect(split('Removed', true)).toEqual(['-', '-', '-']);
  });

  it('Split with the Llama 3 regex ((?i:...) groups, \\p classes)', () => {
    const llama3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    expect(preTokenize({ type: 'Split', pattern: { Regex: llama3 }, behavior: 'Isolated', invert: false }, "I'M 12345 hello\n\n")).toEqual([
      'I',
      "'M",
      ' ',
      '123',
      '45',
      ' hello',
      '\n\n',
    ]);
  });

  it('ByteLevel splits with the GPT-2 regex, where \\s is Unicode White_Space (U+0085 included)', () => {
    const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
    expect(preTokenize(bl, "I'M x\u0085\u0085y")).toEqual(['I', "'", 'M', 'Ġx', '\u0085', '\u0085', 'y'].map((s) => (s === 'Ġx' ? s : toByteLevel(s))));
    expect(preTokenize({ ...bl, add_prefix_space: true }, 'hi there')).toEqual(['Ġhi', 'Ġthere']);
    expect(preTokenize({ ...bl, use_regex: false }, 'hi there')).toEqual(['hiĠthere']);
  });

  it('Digits, Whitespace, WhitespaceSplit, Punctuation, Metaspace, Sequence', () => {
    expect(preTokenize({ type: 'Digits', individual_digits: false }, 'ab123c4')).toEqual(['ab', '123', 'c', '4']);
    expect(preTokenize({ type: 'Digits', individual_digits: true }, 'a12')).toEqual(['a', '1', '2']);
    expect(preTokenize({ type: 'Whitespace' }, 'hi, you!  ok')).toEqual(['hi', ',', 'you', '!', 'ok']);
    expect(preTokenize({ type: 'WhitespaceSplit' }, 'hi, you!\u3000ok')).toEqual(['hi,', 'you!', 'ok']);
    expect(preTokenize({ type: 'Punctuation', behavior: 'Isolated' }, 'a,b\u3001c')).toEqual(['a', ',', 'b', '\u3001', 'c']);
    expect(preTokenize({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'always', split: true }, 'hi there')).toEqual(['\u2581hi', '\u2581there']);
    expect(preTokenize({ type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'never', split: false }, 'hi there')).toEqual(['hi\u2581there']);
    expect(
      preTokenize(
        {
          type: 'Sequence',
          pretokenizers: [
            { type: 'WhitespaceSplit' },
            { type: 'Digits', individual_digits: true },
          ],
        },
        'ab12 c3',
      ),
    ).toEqual(['ab', '1', '2', 'c', '3']);
  });

  it('Metaspace "first" prepends only at the start of the input', () => {
    const tok = Tokenizer.fromJSON(
      tokenizerJSON(['\u2581', 'a', 'b', '<s>'], [], {
        added_tokens: [added(3, '<s>', { special: true })],
        pre_tokenizer: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
        decoder: { type: 'Metaspace', replacement: '\u2581', prepend_scheme: 'first', split: true },
      }),
    );
    expect(tok.encode('a<s>b')).toEqual([0, 1, 3, 2]);
    expect(tok.decode([0, 1, 0, 2])).toBe('a b');
  });
});
