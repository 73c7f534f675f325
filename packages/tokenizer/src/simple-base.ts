/**
 * What the byte and character tokenizers share: special tokens matched in the text first
 * (leftmost-longest, like Hugging Face special tokens), optional BOS/EOS around a sequence,
 * decoding with special tokens skipped or kept, id validation.
 */
import { StringMatcher } from './added-tokens.js';
import { Cfg } from './config.js';
import { TokenizerConfigError, TokenizerError, UnknownTokenIdError } from './errors.js';
import type { RawEncoding } from './post-processors.js';
import type { StreamingDecoder } from './streaming.js';
import type { DecodeOptions, EncodeOptions, Encoding, TokenizerLike } from './types.js';
import { toWellFormed } from './unicode.js';

export interface SpecialsOptions {
  /** Special tokens, numbered after the ordinary tokens in this order. */
  specials?: readonly string[];
  /** Content of the BOS / EOS token; added to `specials` when missing. */
  bosToken?: string;
  eosToken?: string;
  /** Put BOS before / EOS after every encoded sequence (when `addSpecialTokens` is not false). Default false. */
  addBosToken?: boolean;
  addEosToken?: boolean;
}

/** The fields every simple tokenizer's JSON has. */
export interface SpecialsJSON {
  specials: string[];
  bosToken: string | null;
  eosToken: string | null;
  addBosToken: boolean;
  addEosToken: boolean;
}

/** Specials listed once each, with BOS/EOS included. */
export function collectSpecials(options: SpecialsOptions, where: string): string[] {
  const list = [...(options.specials ?? [])];
  for (const extra of [options.bosToken, options.eosToken]) if (extra !== undefined && !list.includes(extra)) list.push(extra);
  list.forEach((s, i) => {
    if (typeof s !== 'string' || s.length === 0) throw new TokenizerConfigError(`${where}.specials[${i}]: expected a non-empty string, got ${JSON.stringify(s)}`);
    if (list.indexOf(s) !== i) throw new TokenizerConfigError(`${where}.specials: ${JSON.stringify(s)} is listed twice`);
  });
  return list;
}

/** The specials fields of a saved tokenizer; BOS/EOS must be among `specials`. */
export function readSpecialsJSON(cfg: Cfg): SpecialsOptions & { specials: string[] } {
  const { items, path } = cfg.arr('specials');
  const specials = items.map((s, i) => {
    if (typeof s !== 'string') throw new TokenizerConfigError(`${path(i)}: expected a string, got ${JSON.stringify(s)}`);
    return s;
  });
  return {
    specials,
    bosToken: readSpecialName(cfg, 'bosToken', specials),
    eosToken: readSpecialName(cfg, 'eosToken', specials),
    addBosToken: cfg.bool('addBosToken', false),
    addEosToken: cfg.bool('addEosToken', false),
  };
}

/** A field naming one of the special tokens, or null. */
export function readSpecialName(cfg: Cfg, key: string, specials: readonly string[]): string | undefined {
  const v = cfg.optStr(key);
  if (v !== undefined && !specials.includes(v)) cfg.fail(key, `null or one of ${cfg.at('specials')}`);
  return v;
}

/** Parses JSON text or takes an object, and checks its `type` and `version`. */
export function readTypedJSON(json: string | { readonly [key: string]: unknown }, type: string): Cfg {
  let value: unknown = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch (err) {
      throw new TokenizerConfigError(`${type} JSON is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const cfg = Cfg.from(value, type);
  if (cfg.obj.type !== type) cfg.fail('type', JSON.stringify(type));
  if (cfg.obj.version !== 1) cfg.fail('version', '1');
  return cfg;
}

export abstract class SimpleTokenizer implements TokenizerLike {
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  protected readonly specialList: readonly string[];
  protected readonly specialContent = new Map<number, string>();
  private readonly matcher: StringMatcher;

  protected constructor(
    /** Id of the first special token. */
    protected readonly firstSpecialId: number,
    protected readonly options: SpecialsOptions,
    where: string,
  ) {
    this.specialList = collectSpecials(options, where);
    const map = new Map<string, number>();
    this.specialList.forEach((s, i) => {
      map.set(s, firstSpecialId + i);
      this.specialContent.set(firstSpecialId + i, s);
    });
    this.specialTokens = map;
    this.bosTokenId = options.bosToken === undefined ? undefined : map.get(options.bosToken);
    this.eosTokenId = options.eosToken === undefined ? undefined : map.get(options.eosToken);
    this.matcher = new StringMatcher(map);
  }

  get vocabSize(): number {
    return this.firstSpecialId + this.specialList.length;
  }

  /** Appends the tokens of ordinary text starting at `base` in the input. */
  protected abstract encodeText(text: string, base: number, enc: RawEncoding): void;
  protected abstract ordinaryToken(id: number): string | undefined;
  abstract createStreamingDecoder(options?: DecodeOptions): StreamingDecoder;
  abstract decode(ids: ArrayLike<number>, options?: DecodeOptions): string;

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.run(text, false, options).ids;
  }

  encodeDetailed(text: string, options: EncodeOptions = {}): Encoding {
    const enc = this.run(text, true, options);
    const offsets = enc.ids.map((_, i): [number, number] => [enc.offsets![2 * i], enc.offsets![2 * i + 1]]);
    return { ids: enc.ids, tokens: enc.tokens!, offsets };
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  decodeBatch(batch: ReadonlyArray<ArrayLike<number>>, options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }

  tokenToId(token: string): number | undefined {
    return this.specialTokens.get(token) ?? this.ordinaryId(token);
  }

  idToToken(id: number): string | undefined {
    return this.specialContent.get(id) ?? this.ordinaryToken(id);
  }

  protected abstract ordinaryId(token: string): number | undefined;

  protected specialsJSON(): SpecialsJSON {
    return {
      specials: [...this.specialList],
      bosToken: this.options.bosToken ?? null,
      eosToken: this.options.eosToken ?? null,
      addBosToken: this.options.addBosToken ?? false,
      addEosToken: this.options.addEosToken ?? false,
    };
  }

  /** Validates an id: false to leave it out, an error (or false with 'skip') when unknown. */
  protected keep(id: number, options: DecodeOptions): boolean {
    if (this.idToToken(id) === undefined) {
      if (options.onUnknownId === 'skip') return false;
      throw new UnknownTokenIdError(id, this.vocabSize);
    }
    return !(options.skipSpecialTokens && this.specialContent.has(id));
  }

  private run(text: string, tracked: boolean, options: EncodeOptions): RawEncoding {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${text === null ? 'null' : typeof text}`);
    text = toWellFormed(text);
    const enc: RawEncoding = { ids: [], tokens: tracked ? [] : null, offsets: tracked ? [] : null, text };
    const add = options.addSpecialTokens ?? true;
    if (add && this.options.addBosToken && this.bosTokenId !== undefined) this.pushSpecial(this.bosTokenId, 0, 0, enc);
    let done = 0;
    const specials = options.parseSpecialTokens === false ? [] : this.matcher.find(text);
    for (const [s, e, id] of specials) {
      if (s > done) this.encodeText(text.slice(done, s), done, enc);
      this.pushSpecial(id, s, e, enc);
      done = e;
    }
    if (done < text.length) this.encodeText(done === 0 ? text : text.slice(done), done, enc);
    if (add && this.options.addEosToken && this.eosTokenId !== undefined) this.pushSpecial(this.eosTokenId, 0, 0, enc);
    return enc;
  }

  private pushSpecial(id: number, start: number, end: number, enc: RawEncoding): void {
    enc.ids.push(id);
    enc.tokens?.push(this.specialContent.get(id)!);
    enc.offsets?.push(start, end);
  }
}
