import { describe, expect, it } from 'vitest';
import { Tokenizer, TokenizerConfigError, TokenizerError, UnknownComponentError, UnknownTokenIdError } from '../src/index.js';
import { neox, neoxJSON } from './helpers.js';

type Json = Record<string, unknown>;

function small(extra: Json = {}, model: Json = {}): Json {
  return { version: '1.0', added_tokens: [], ...extra, model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'], ...model } };
}

function configError(json: Json | string): TokenizerConfigError {
  try {
    Tokenizer.fromJSON(json);
  } catch (err) {
    expect(err).toBeInstanceOf(TokenizerConfigError);
    return err as TokenizerConfigError;
  }
  throw new Error('expected a TokenizerConfigError');
}

describe('malformed tokenizer.json', () => {
  it('bad JSON text and non-objects', () => {
    expect(configError('{"model": ').message).toMatch(/^tokenizer\.json is not valid JSON \(/);
    expect(configError('[1, 2]').message).toBe('tokenizer.json: expected a JSON object at the top level');
    expect(configError(neoxJSON().slice(0, 1000)).message).toMatch(/not valid JSON/);
  });

  it('missing or mistyped fields name the path, what was expected and what was found', () => {
    expect(configError({ version: '1.0' }).message).toBe('model: expected an object, got nothing');
    expect(configError({ ...small(), version: '2.0' }).message).toBe('version: expected "1.0", got string "2.0"');
    expect(configError(small({}, { vocab: { a: 0, b: 'one' } })).message).toBe('model.vocab.b: expected a non-negative integer, got string "one"');
    expect(configError(small({}, { vocab: { a: 0, b: 0 } })).message).toBe('model.vocab: id 0 is given to both "a" and "b"');
    expect(configError(small({}, { merges: undefined })).message).toBe('model.merges: expected an array, got nothing');
    expect(configError(small({}, { merges: ['a b c'] })).message).toBe('model.merges[0]: expected a merge "a b" or ["a", "b"], got "a b c"');
    expect(configError(small({}, { merges: ['a c'] })).message).toBe('model.merges[0]: "a c" needs the token "c", which is not in model.vocab');
    expect(configError(small({}, { merges: ['b a'] })).message).toBe('model.merges[0]: "b a" needs the token "ba", which is not in model.vocab');
    expect(configError(small({}, { unk_token: '<unk>' })).message).toBe('model.unk_token: "<unk>" is not in model.vocab');
    expect(configError(small({ added_tokens: [{ id: 5 }] })).message).toBe('added_tokens[0].content: expected a string, got nothing');
    expect(configError(small({ pre_tokenizer: { type: 'Split', pattern: { String: '-' }, behavior: 'Sideways', invert: false } })).message).toBe(
      'pre_tokenizer.behavior: expected one of "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous", got "Sideways"',
    );
    expect(configError(small({ pre_tokenizer: { type: 'Split', pattern: { Glob: '*' }, behavior: 'Isolated' } })).message).toBe(
      'pre_tokenizer.pattern: expected {"String": "..."} or {"Regex": "..."}, got an object',
    );
    expect(configError(small({ decoder: { type: 'Strip', content: 'ab', start: 1, stop: 0 } })).message).toBe('decoder.content: expected a single character, got string "ab"');
    expect(configError(small({ post_processor: { type: 'TemplateProcessing', single: [{ SpecialToken: { id: '<s>', type_id: 0 } }], special_tokens: {} } })).message).toBe(
      'post_processor.single[0]: special token "<s>" is missing from post_processor.special_tokens',
    );
  });

  it('unknown component types name the slot, the type, the path and what is supported', () => {
    const cases: Array<[Json, string, string, string]> = [
      [small({ normalizer: { type: 'Precompiled', precompiled_charsmap: '' } }), 'normalizer', 'Precompiled', 'normalizer'],
      [small({ pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits' }, { type: 'UnicodeScripts' }] } }), 'pre_tokenizer', 'UnicodeScripts', 'pre_tokenizer.pretokenizers[1]'],
      [{ version: '1.0', model: { type: 'Unigram', vocab: [] } }, 'model', 'Unigram', 'model'],
      [small({ post_processor: { type: 'Frobnicate' } }), 'post_processor', 'Frobnicate', 'post_processor'],
      [small({ decoder: { type: 'CTC' } }), 'decoder', 'CTC', 'decoder'],
    ];
    for (const [json, component, type, path] of cases) {
      const err = configError(json);
      expect(err).toBeInstanceOf(UnknownComponentError);
      const u = err as UnknownComponentError;
      expect([u.component, u.type, u.path]).toEqual([component, type, path]);
      expect(u.message).toMatch(new RegExp(`^${path.replace(/[[\].]/g, '\\$&')}: unknown ${component} type "${type}" \\(supported: \\w+`));
    }
  });

  it('patterns JavaScript cannot run are refused with the reason', () => {
    const split = (Regex: string): Json => small({ pre_tokenizer: { type: 'Split', pattern: { Regex }, behavior: 'Isolated', invert: false } });
    expect(configError(split('\\p{L}++')).message).toMatch(/^pre_tokenizer\.pattern: cannot use the regular expression "\\\\p\{L\}\+\+": possessive quantifiers are not supported/);
    expect(configError(split('(?>ab)')).message).toMatch(/atomic groups are not supported/);
    expect(configError(split('(ab')).message).toMatch(/unbalanced parentheses/);
    expect(configError(split('\\p{NotAProperty}')).message).toMatch(/unknown Unicode property "NotAProperty"/);
  });
});

describe('decoding unknown ids', () => {
  const tok = neox();

  it('throws UnknownTokenIdError naming the id and the vocab size', () => {
    for (const bad of [50277, -1, 1.5, Number.NaN, 1e9]) {
      let err: unknown;
      try {
        tok.decode([12092, bad]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnknownTokenIdError);
      expect((err as UnknownTokenIdError).id).toBe(bad);
      expect((err as UnknownTokenIdError).message).toBe(
        `token id ${String(bad)} is not in the vocabulary (expected an integer id of a token in 0..50276, vocabSize 50277)`,
      );
    }
  });

  it("skips them with onUnknownId: 'skip', like HF", () => {
    expect(tok.decode([12092, 99999, 13], { onUnknownId: 'skip' })).toBe('Hello,');
    const s = tok.createStreamingDecoder({ onUnknownId: 'skip' });
    expect(s.pushAll([12092, -4, 13]) + s.flush()).toBe('Hello,');
  });

  it('the streaming decoder throws on them too', () => {
    const s = tok.createStreamingDecoder();
    expect(s.push(12092)).toBe('Hello');
    expect(() => s.push(60000)).toThrow(UnknownTokenIdError);
  });
});

describe('awkward input', () => {
  const tok = neox();

  it('lone surrogates are encoded as U+FFFD (what a UTF-8 encoder does), keeping offsets', () => {
    for (const [bad, good] of [
      ['a\uD800b', 'a\uFFFDb'],
      ['\uDC00', '\uFFFD'],
      ['x\uDBFF', 'x\uFFFD'],
      ['\uDC00\uD800', '\uFFFD\uFFFD'],
      ['ok\uD83D\uDC0D\uD83D', 'ok\uD83D\uDC0D\uFFFD'],
    ]) {
      expect(tok.encode(bad)).toEqual(tok.encode(good));
      expect(tok.decode(tok.encode(bad))).toBe(good);
      expect(tok.encodeDetailed(bad).offsets).toEqual(tok.encodeDetailed(good).offsets);
    }
  });

  it('non-strings are refused with a TokenizerError', () => {
    expect(() => tok.encode(42 as unknown as string)).toThrow(new TokenizerError('encode: expected a string, got number'));
    expect(() => tok.encode(null as unknown as string)).toThrow(new TokenizerError('encode: expected a string, got null'));
  });

  it('empty text and empty id lists', () => {
    expect(tok.encode('')).toEqual([]);
    expect(tok.encodeDetailed('')).toEqual({ ids: [], tokens: [], offsets: [] });
    expect(tok.decode([])).toBe('');
    expect(tok.decode(new Int32Array(0))).toBe('');
    expect(tok.decode(Int32Array.of(12092))).toBe('Hello');
    expect(tok.createStreamingDecoder().flush()).toBe('');
  });
});
