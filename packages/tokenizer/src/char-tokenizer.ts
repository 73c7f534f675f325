/**
 * The character tokenizer: one id per Unicode character (code point) seen in a corpus, sorted
 * by code point (so a corpus gives the same ids on every machine, the nanoGPT char setup),
 * then the special tokens. No normalization: `decode(encode(x)) === x` for any `x` whose
 * characters were all in the corpus.
 */
import { TokenizerConfigError, UnknownCharacterError } from './errors.js';
import type { RawEncoding } from './post-processors.js';
import type { SpecialsJSON, SpecialsOptions } from './simple-base.js';
import { readSpecialName, readSpecialsJSON, readTypedJSON, SimpleTokenizer } from './simple-base.js';
import type { StreamingDecoder } from './streaming.js';
import { TextStreamingDecoder } from './streaming.js';
import type { DecodeOptions } from './types.js';
import { StringMatcher } from './added-tokens.js';
import { cpWidth, toWellFormed } from './unicode.js';

export interface CharTokenizerOptions extends SpecialsOptions {
  /**
   * A special token that unseen characters map to (added to `specials` when missing). Without
   * one, encoding an unseen character throws `UnknownCharacterError`.
   */
  unkToken?: string;
}

/**
 * `CharTokenizer.toJSON()`, the file that ships beside the weights:
 * `vocab[id]` is the token with that id: first the characters (one code point each, sorted),
 * then the special tokens, which `specials` lists again in the same order.
 *
 * ```json
 * { "type": "CharTokenizer", "version": 1, "vocab": ["\n", " ", "!", ..., "<|endoftext|>"],
 *   "specials": ["<|endoftext|>"], "unkToken": null, "bosToken": null,
 *   "eosToken": "<|endoftext|>", "addBosToken": false, "addEosToken": false }
 * ```
 */
export interface CharTokenizerJSON extends SpecialsJSON {
  type: 'CharTokenizer';
  version: 1;
  vocab: string[];
  unkToken: string | null;
}

export class CharTokenizer extends SimpleTokenizer {
  private readonly chars: readonly string[];
  private readonly charIds = new Map<string, number>();
  private readonly unkId: number | undefined;

  /** `chars`: the ordinary tokens in id order, one code point each. */
  constructor(chars: readonly string[], options: CharTokenizerOptions = {}) {
    super(chars.length, withUnk(options), 'CharTokenizer');
    chars.forEach((c, i) => {
      if (typeof c !== 'string' || [...c].length !== 1 || toWellFormed(c) !== c) {
        throw new TokenizerConfigError(`CharTokenizer.vocab[${i}]: expected a single character, got ${JSON.stringify(c)}`);
      }
      if (this.charIds.has(c)) throw new TokenizerConfigError(`CharTokenizer.vocab: ${JSON.stringify(c)} is listed twice`);
      if (this.specialTokens.has(c)) throw new TokenizerConfigError(`CharTokenizer.vocab: ${JSON.stringify(c)} is both a character and a special token`);
      this.charIds.set(c, i);
    });
    this.chars = [...chars];
    this.unkId = options.unkToken === undefined ? undefined : this.specialTokens.get(options.unkToken);
  }

  /** Every character of `corpus` (special tokens in it excluded), sorted by code point. */
  static fromCorpus(corpus: string, options: CharTokenizerOptions = {}): CharTokenizer {
    const specials = new StringMatcher(withSpecials(options).map((s, i) => [s, i] as const));
    const text = toWellFormed(corpus);
    const seen = new Set<string>();
    let done = 0;
    const scan = (s: string): void => {
      for (const ch of s) seen.add(ch);
    };
    for (const [s, e] of specials.find(text)) {
      scan(text.slice(done, s));
      done = e;
    }
    scan(text.slice(done));
    const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    return new CharTokenizer(chars, options);
  }

  static fromJSON(json: string | { readonly [key: string]: unknown }): CharTokenizer {
    const cfg = readTypedJSON(json, 'CharTokenizer');
    const read = readSpecialsJSON(cfg);
    const opts: CharTokenizerOptions = { ...read, unkToken: readSpecialName(cfg, 'unkToken', read.specials) };
    const { items } = cfg.arr('vocab');
    const specials = read.specials;
    const n = items.length - specials.length;
    if (n < 0) cfg.fail('vocab', `at least the ${specials.length} special tokens`);
    items.slice(n).forEach((s, i) => {
      if (s !== specials[i]) throw new TokenizerConfigError(`CharTokenizer.vocab[${n + i}]: expected the special token ${JSON.stringify(specials[i])}, got ${JSON.stringify(s)}`);
    });
    return new CharTokenizer(items.slice(0, n) as string[], opts);
  }

  toJSON(): CharTokenizerJSON {
    const base = this.specialsJSON();
    return {
      type: 'CharTokenizer',
      version: 1,
      vocab: [...this.chars, ...base.specials],
      ...base,
      unkToken: (this.options as CharTokenizerOptions).unkToken ?? null,
    };
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) if (this.keep(ids[i], options)) out += this.idToToken(ids[i])!;
    return out;
  }

  createStreamingDecoder(options: DecodeOptions = {}): StreamingDecoder {
    return new TextStreamingDecoder((id) => (this.keep(id, options) ? this.idToToken(id)! : ''));
  }

  protected encodeText(text: string, base: number, enc: RawEncoding): void {
    for (let i = 0; i < text.length; ) {
      const w = cpWidth(text, i);
      const ch = w === 1 ? text[i] : text.slice(i, i + w);
      const id = this.charIds.get(ch) ?? this.unkId;
      if (id === undefined) throw new UnknownCharacterError(ch, base + i);
      enc.ids.push(id);
      enc.tokens?.push(this.idToToken(id)!);
      enc.offsets?.push(base + i, base + i + w);
      i += w;
    }
  }

  protected ordinaryToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 ? this.chars[id] : undefined;
  }

  protected ordinaryId(token: string): number | undefined {
    return this.charIds.get(token);
  }
}

function withUnk(options: CharTokenizerOptions): CharTokenizerOptions {
  return { ...options, specials: withSpecials(options) };
}

function withSpecials(options: CharTokenizerOptions): string[] {
  const list = [...(options.specials ?? [])];
  if (options.unkToken !== undefined && !list.includes(options.unkToken)) list.push(options.unkToken);
  return list;
}
