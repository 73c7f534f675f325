/**
 * A Hugging Face `tokenizer.json` (byte-level BPE and the BPE family around it), run the way
 * the `tokenizers` library runs it: added tokens split out of the raw text, normalizer,
 * added tokens split out of the normalized text, pre-tokenizer, BPE model, post-processor.
 * Decoding maps ids to token strings and runs the decoder chain.
 */
import type { AddedToken } from './added-tokens.js';
import { AddedVocabulary } from './added-tokens.js';
import { tokenBytes } from './byte-level.js';
import { BpeModel } from './bpe.js';
import { Cfg, checkNesting, isObject } from './config.js';
import type { Decoder } from './decoders.js';
import { buildDecoder } from './decoders.js';
import { TokenizerConfigError, TokenizerError, UnknownComponentError, UnknownTokenIdError } from './errors.js';
import type { Normalizer } from './normalizers.js';
import { buildNormalizer } from './normalizers.js';
import { Piece } from './piece.js';
import type { RawEncoding, PostProcessor } from './post-processors.js';
import { buildPostProcessor } from './post-processors.js';
import type { PreTokenizer } from './pre-tokenizers.js';
import { buildPreTokenizer } from './pre-tokenizers.js';
import type { StreamingDecoder } from './streaming.js';
import { ByteStreamingDecoder, WindowStreamingDecoder } from './streaming.js';
import type { DecodeOptions, EncodeOptions, Encoding, TokenizerLike } from './types.js';
import { concatBytes, toWellFormed, utf8DecodeLossy } from './unicode.js';

export interface TokenizerOptions {
  /** The BOS token's content, when the file does not make it clear (tokenizer.json has no such field). */
  bosToken?: string;
  /** The EOS token's content. */
  eosToken?: string;
}

/** A parsed tokenizer.json: its text, or the object `JSON.parse` gave. */
export type TokenizerJSON = string | { readonly [key: string]: unknown };

interface Parts {
  model: BpeModel;
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer | null;
  postProcessor: PostProcessor | null;
  decoder: Decoder | null;
  added: AddedVocabulary;
}

const WORD_CACHE_CAPACITY = 100_000;
/** Like HF, long words (runs of a character, base64) are not worth caching. */
const WORD_CACHE_MAX_LENGTH = 256;

/** Well-known names, tried in order when neither the options nor the post-processor say. */
const EOS_NAMES = ['<|endoftext|>', '</s>', '<|end_of_text|>', '<eos>', '<|im_end|>'];
const BOS_NAMES = ['<s>', '<|begin_of_text|>', '<bos>', '<|startoftext|>', '<|endoftext|>'];

export class Tokenizer implements TokenizerLike {
  readonly vocabSize: number;
  readonly specialTokens: ReadonlyMap<string, number>;
  readonly bosTokenId: number | undefined;
  readonly eosTokenId: number | undefined;
  private readonly specialIds: ReadonlySet<number>;
  private readonly trackAlways: boolean;
  private readonly bytesCache: Array<Uint8Array | undefined> = [];
  /** Raw word -> ids, for plain encode with a ByteLevel pre-tokenizer; cleared when full. */
  private readonly wordIds = new Map<string, Int32Array>();

  private constructor(
    private readonly parts: Parts,
    options: TokenizerOptions,
  ) {
    const { model, added } = parts;
    this.vocabSize = maxOf(model.vocab.values(), maxOf(added.byId.keys(), -1)) + 1;
    this.specialTokens = new Map([...added.byId.values()].filter((t) => t.special).map((t) => [t.content, t.id]));
    // HF decides "special" by the token string, so a model token spelled like one counts too.
    const modelTwins = [...this.specialTokens.keys()].map((c) => model.vocab.get(c)).filter((id) => id !== undefined);
    this.specialIds = new Set([...this.specialTokens.values(), ...modelTwins]);
    this.trackAlways = parts.preTokenizer?.needsAlignment ?? false;
    this.bosTokenId = this.resolveSpecial(options.bosToken, 'bosToken', parts.postProcessor?.before[0]?.id, BOS_NAMES);
    this.eosTokenId = this.resolveSpecial(options.eosToken, 'eosToken', parts.postProcessor?.after.at(-1)?.id, EOS_NAMES);
  }

  /** Loads a tokenizer.json (its text or its parsed object). */
  static fromJSON(json: TokenizerJSON, options: TokenizerOptions = {}): Tokenizer {
    return new Tokenizer(parseParts(json), options);
  }

  /** The added tokens (special or not), by id. */
  get addedTokens(): readonly AddedToken[] {
    return [...this.parts.added.byId.values()].sort((a, b) => a.id - b.id);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.run(text, false, options).ids;
  }

  encodeDetailed(text: string, options: EncodeOptions = {}): Encoding {
    const enc = this.run(text, true, options);
    const offsets: Array<[number, number]> = [];
    for (let i = 0; i < enc.ids.length; i++) offsets.push([enc.offsets![2 * i], enc.offsets![2 * i + 1]]);
    return { ids: enc.ids, tokens: enc.tokens!, offsets };
  }

  encodeBatch(texts: readonly string[], options: EncodeOptions = {}): number[][] {
    return texts.map((t) => this.encode(t, options));
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (this.parts.decoder?.byteLevel) {
      const parts: Uint8Array[] = [];
      for (let i = 0; i < ids.length; i++) {
        const b = this.bytesFor(ids[i], options);
        if (b) parts.push(b);
      }
      return utf8DecodeLossy(concatBytes(parts));
    }
    return this.decodeTokens(this.tokensFor(ids, options));
  }

  decodeBatch(batch: ReadonlyArray<ArrayLike<number>>, options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }

  createStreamingDecoder(options: DecodeOptions = {}): StreamingDecoder {
    if (this.parts.decoder?.byteLevel) return new ByteStreamingDecoder((id) => this.bytesFor(id, options));
    return new WindowStreamingDecoder(
      (ids) => this.decode(ids, options),
      (id) => this.keep(id, options),
    );
  }

  tokenToId(token: string): number | undefined {
    return this.parts.added.byContent.get(token) ?? this.parts.model.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id)) return undefined;
    return this.parts.added.tokenString(id) ?? this.parts.model.idToToken(id);
  }

  private resolveSpecial(given: string | undefined, option: string, fromProcessor: number | undefined, names: string[]): number | undefined {
    if (given !== undefined) {
      const id = this.tokenToId(given);
      if (id === undefined) throw new TokenizerConfigError(`options.${option}: ${JSON.stringify(given)} is not a token of this tokenizer`);
      return id;
    }
    if (fromProcessor !== undefined) return fromProcessor;
    for (const name of names) {
      const id = this.specialTokens.get(name);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  /** The pipeline; `tracked` builds tokens and offsets too. */
  private run(text: string, tracked: boolean, options: EncodeOptions): RawEncoding {
    if (typeof text !== 'string') throw new TokenizerError(`encode: expected a string, got ${text === null ? 'null' : typeof text}`);
    const { added, normalizer } = this.parts;
    const skipSpecial = options.parseSpecialTokens === false;
    const root = Piece.of(toWellFormed(text), tracked || this.trackAlways);
    const enc: RawEncoding = { ids: [], tokens: tracked ? [] : null, offsets: tracked ? [] : null, text: root.text };
    for (const raw of added.split(root, false, skipSpecial)) {
      if (raw.id !== undefined) {
        this.emitAdded(raw.id, raw.piece, enc);
        continue;
      }
      const normalized = normalizer ? normalizer(raw.piece) : raw.piece;
      for (const part of added.split(normalized, true, skipSpecial)) {
        if (part.id !== undefined) this.emitAdded(part.id, part.piece, enc);
        else this.emitWords(part.piece, enc);
      }
    }
    return this.parts.postProcessor ? this.parts.postProcessor.process(enc, options.addSpecialTokens ?? true) : enc;
  }

  private emitAdded(id: number, piece: Piece, enc: RawEncoding): void {
    enc.ids.push(id);
    // HF reports the matched text (with any stripped whitespace) as the token.
    enc.tokens?.push(piece.text);
    if (enc.offsets) enc.offsets.push(...piece.originalRange(0, piece.text.length));
  }

  private emitWords(piece: Piece, enc: RawEncoding): void {
    if (piece.text.length === 0) return;
    const fast = this.parts.preTokenizer?.fast;
    if (fast && !piece.align) return this.emitWordsFast(piece.text, fast, enc);
    const words = this.parts.preTokenizer ? this.parts.preTokenizer.split(piece) : [piece];
    const { model } = this.parts;
    for (const w of words) {
      const t = model.tokenize(w.text);
      for (let k = 0; k < t.length; k += 3) {
        enc.ids.push(t[k]);
        if (!enc.tokens || !enc.offsets) continue;
        enc.tokens.push(model.idToToken(t[k])!);
        w.pushOriginalRange(t[k + 1], t[k + 2], enc.offsets);
      }
    }
  }

  /** Plain encode: ids cached by the raw word, so a seen word costs one Map lookup. */
  private emitWordsFast(text: string, fast: NonNullable<PreTokenizer['fast']>, enc: RawEncoding): void {
    const { model } = this.parts;
    const cache = this.wordIds;
    for (const word of fast.words(text)) {
      let ids = cache.get(word);
      if (!ids) {
        const t = model.tokenize(fast.finish(word), false);
        ids = new Int32Array(t.length / 3);
        for (let k = 0; k < ids.length; k++) ids[k] = t[3 * k];
        if (word.length < WORD_CACHE_MAX_LENGTH) {
          if (cache.size >= WORD_CACHE_CAPACITY) cache.clear();
          cache.set(word, ids);
        }
      }
      for (let k = 0; k < ids.length; k++) enc.ids.push(ids[k]);
    }
  }

  /** Throws for an unknown id (or says to skip it); false for ids to leave out. */
  private keep(id: number, options: DecodeOptions): boolean {
    if (this.idToToken(id) === undefined) {
      if (options.onUnknownId === 'skip') return false;
      throw new UnknownTokenIdError(id, this.vocabSize);
    }
    return !(options.skipSpecialTokens && this.specialIds.has(id));
  }

  private bytesFor(id: number, options: DecodeOptions): Uint8Array | null {
    if (!this.keep(id, options)) return null;
    let b = this.bytesCache[id];
    if (!b) b = this.bytesCache[id] = tokenBytes(this.idToToken(id)!);
    return b;
  }

  private tokensFor(ids: ArrayLike<number>, options: DecodeOptions): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) if (this.keep(ids[i], options)) out.push(this.idToToken(ids[i])!);
    return out;
  }

  private decodeTokens(tokens: string[]): string {
    const { decoder } = this.parts;
    return decoder ? decoder.decodeChain(tokens).join('') : tokens.join(' ');
  }
}

/** Paths in error messages start at the top of the file (`model.merges[3]`). */
function parseJSON(json: TokenizerJSON): Cfg {
  let parsed: unknown = json;
  if (typeof json === 'string') {
    try {
      parsed = JSON.parse(json);
    } catch (err) {
      throw new TokenizerConfigError(`tokenizer.json is not valid JSON (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  if (!isObject(parsed)) throw new TokenizerConfigError('tokenizer.json: expected a JSON object at the top level');
  checkNesting(parsed, 'tokenizer.json');
  return new Cfg(parsed, '');
}

/** The largest of `values` and `floor` (no spread: vocabularies exceed the argument limit). */
function maxOf(values: Iterable<number>, floor: number): number {
  let m = floor;
  for (const v of values) if (v > m) m = v;
  return m;
}

function parseParts(json: TokenizerJSON): Parts {
  const cfg = parseJSON(json);
  if (cfg.has('version') && cfg.obj.version !== '1.0') cfg.fail('version', '"1.0"');
  const model = buildModel(cfg.obj_('model'));
  const normalizer = cfg.has('normalizer') ? buildNormalizer(cfg.obj_('normalizer')) : null;
  const added = new AddedVocabulary(readAddedTokens(cfg, model), normalizer ? (s) => normalizer(new Piece(s, null)).text : null);
  return {
    model,
    normalizer,
    added,
    preTokenizer: cfg.has('pre_tokenizer') ? buildPreTokenizer(cfg.obj_('pre_tokenizer')) : null,
    postProcessor: cfg.has('post_processor') ? buildPostProcessor(cfg.obj_('post_processor')) : null,
    decoder: cfg.has('decoder') ? buildDecoder(cfg.obj_('decoder')) : null,
  };
}

function buildModel(cfg: Cfg): BpeModel {
  // Files from before the `type` tag existed: a BPE is recognisable by its merges.
  const type = cfg.type(cfg.has('merges') ? 'BPE' : undefined);
  if (type !== 'BPE') throw new UnknownComponentError('model', type, ['BPE'], cfg.path);
  return BpeModel.fromConfig(cfg);
}

/**
 * `added_tokens`, with ids assigned the way HF's `add_tokens` assigns them: a token already in
 * the model vocab keeps that id, others are numbered from the model's vocab size in file order.
 * For well-formed files this is the id written in the file.
 */
function readAddedTokens(cfg: Cfg, model: BpeModel): AddedToken[] {
  if (!cfg.has('added_tokens')) return [];
  const { items, path } = cfg.arr('added_tokens');
  const byContent = new Map<string, AddedToken>();
  let nextId = model.size;
  items.forEach((item, i) => {
    const t = Cfg.from(item, path(i));
    t.int('id');
    const content = t.str('content');
    if (content.length === 0) return;
    const special = t.bool('special', false);
    const id = byContent.get(content)?.id ?? model.vocab.get(content) ?? nextId++;
    byContent.set(content, {
      id,
      content,
      special,
      singleWord: t.bool('single_word', false),
      lstrip: t.bool('lstrip', false),
      rstrip: t.bool('rstrip', false),
      normalized: t.bool('normalized', !special),
    });
  });
  return [...byContent.values()];
}
