/**
 * Post-processors (`tokenizers/src/processors`): add the special tokens around a sequence
 * (TemplateProcessing, Roberta, Bert) and trim offsets (ByteLevel). Only single sequences are
 * encoded here, so pair templates are read but not used.
 */
import { BYTE_TO_CHAR } from './byte-level.js';
import { Cfg } from './config.js';
import { TokenizerConfigError, UnknownComponentError } from './errors.js';
import { cpWidth, cpWidthBefore, isWhiteSpace } from './unicode.js';

/** An encoding being built: offsets are flat [start, end] pairs; tokens/offsets null when not asked for. */
export interface RawEncoding {
  ids: number[];
  tokens: string[] | null;
  offsets: number[] | null;
  /** The (well-formed) input the offsets index. */
  text: string;
}

export interface PostProcessor {
  process(enc: RawEncoding, addSpecialTokens: boolean): RawEncoding;
  /** The tokens added before and after a single sequence (for BOS/EOS discovery). */
  readonly before: readonly SpecialRef[];
  readonly after: readonly SpecialRef[];
}

export interface SpecialRef {
  token: string;
  id: number;
}

export const POST_PROCESSOR_TYPES = ['ByteLevel', 'TemplateProcessing', 'RobertaProcessing', 'BertProcessing', 'Sequence'] as const;

export function buildPostProcessor(cfg: Cfg): PostProcessor {
  const type = cfg.type();
  switch (type) {
    case 'ByteLevel':
      return trimming(cfg.bool('trim_offsets', true), cfg.bool('add_prefix_space', true));
    case 'TemplateProcessing':
      return template(cfg);
    case 'RobertaProcessing':
      return wrapping(readPair(cfg, 'cls'), readPair(cfg, 'sep'), cfg.bool('trim_offsets', true), cfg.bool('add_prefix_space', true));
    case 'BertProcessing':
      return wrapping(readPair(cfg, 'cls'), readPair(cfg, 'sep'), false, false);
    case 'Sequence':
      return sequence(cfg);
    default:
      throw new UnknownComponentError('post_processor', type, POST_PROCESSOR_TYPES, cfg.path);
  }
}

function trimming(trim: boolean, addPrefixSpace: boolean): PostProcessor {
  return {
    before: [],
    after: [],
    process(enc) {
      if (trim) trimOffsets(enc, addPrefixSpace);
      return enc;
    },
  };
}

const SPACE_CHAR = BYTE_TO_CHAR[0x20];

function isSpaceLike(ch: string): boolean {
  return ch === SPACE_CHAR || isWhiteSpace(ch);
}

/**
 * HF's `process_offsets`: offsets stop covering the leading/trailing spaces of a token. HF
 * (Python) trims character offsets, so we step over code points of the input, not units: the
 * prefix space ByteLevel adds before an emoji points at the emoji, and trimming it leaves [0, 0].
 */
export function trimOffsets(enc: RawEncoding, addPrefixSpace: boolean): void {
  const { tokens, offsets, text } = enc;
  if (!tokens || !offsets) return;
  tokens.forEach((token, i) => {
    // Space-like characters are all single UTF-16 units, so units count characters here.
    let lead = 0;
    while (lead < token.length && isSpaceLike(token[lead])) lead++;
    let trail = 0;
    while (trail < token.length && isSpaceLike(token[token.length - 1 - trail])) trail++;
    let [s, e] = [offsets[2 * i], offsets[2 * i + 1]];
    if (lead > 0) {
      // The prefix space the pre-tokenizer added to the first word is kept.
      if ((i === 0 || s === 0) && addPrefixSpace && lead === 1) lead = 0;
      s = Math.min(stepForward(text, s, lead), e);
    }
    if (trail > 0) {
      const back = stepBack(text, e, trail);
      if (back >= 0) e = Math.max(back, s);
    }
    offsets[2 * i] = s;
    offsets[2 * i + 1] = e;
  });
}

/** `at` moved `n` code points forward (clamped to the end). */
function stepForward(text: string, at: number, n: number): number {
  for (let k = 0; k < n && at < text.length; k++) at += cpWidth(text, at);
  return at;
}

/** `at` moved `n` code points back, or -1 when fewer than `n` precede it. */
function stepBack(text: string, at: number, n: number): number {
  for (let k = 0; k < n; k++) {
    if (at <= 0) return -1;
    at -= cpWidthBefore(text, at);
  }
  return at;
}

function withSpecials(enc: RawEncoding, before: readonly SpecialRef[], after: readonly SpecialRef[]): RawEncoding {
  const ids = [...before.map((t) => t.id), ...enc.ids, ...after.map((t) => t.id)];
  const tokens = enc.tokens && [...before.map((t) => t.token), ...enc.tokens, ...after.map((t) => t.token)];
  const zeros = (n: number): number[] => new Array<number>(2 * n).fill(0);
  const offsets = enc.offsets && [...zeros(before.length), ...enc.offsets, ...zeros(after.length)];
  return { ids, tokens, offsets, text: enc.text };
}

function wrapping(cls: SpecialRef, sep: SpecialRef, trim: boolean, addPrefixSpace: boolean): PostProcessor {
  return {
    before: [cls],
    after: [sep],
    process(enc, add) {
      if (trim) trimOffsets(enc, addPrefixSpace);
      return add ? withSpecials(enc, [cls], [sep]) : enc;
    },
  };
}

function readPair(cfg: Cfg, key: string): SpecialRef {
  const v = cfg.obj[key];
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && Number.isInteger(v[1]) && (v[1] as number) >= 0) {
    return { token: v[0], id: v[1] as number };
  }
  return cfg.fail(key, 'a [token, id] pair');
}

function template(cfg: Cfg): PostProcessor {
  const specials = readTemplateSpecials(cfg);
  const before: SpecialRef[] = [];
  const after: SpecialRef[] = [];
  let seenSequence = false;
  const { items, path } = cfg.arr('single');
  items.forEach((item, i) => {
    const piece = Cfg.from(item, path(i));
    if (piece.has('Sequence')) {
      seenSequence = true;
      return;
    }
    const name = piece.obj_('SpecialToken').str('id');
    const refs = specials.get(name);
    if (!refs) throw new TokenizerConfigError(`${path(i)}: special token ${JSON.stringify(name)} is missing from ${cfg.at('special_tokens')}`);
    (seenSequence ? after : before).push(...refs);
  });
  return {
    before,
    after,
    process: (enc, add) => (add ? withSpecials(enc, before, after) : enc),
  };
}

/** `special_tokens`: name -> { id, ids, tokens }; one name may stand for several tokens. */
function readTemplateSpecials(cfg: Cfg): Map<string, SpecialRef[]> {
  const out = new Map<string, SpecialRef[]>();
  const table = cfg.optObj('special_tokens');
  if (!table) return out;
  for (const name of Object.keys(table.obj)) {
    const entry = table.obj_(name);
    const { items: ids } = entry.arr('ids');
    const { items: tokens } = entry.arr('tokens');
    if (ids.length !== tokens.length || !ids.every((x) => Number.isInteger(x) && (x as number) >= 0) || !tokens.every((t) => typeof t === 'string')) {
      throw new TokenizerConfigError(`${entry.path}: expected "ids" (integers) and "tokens" (strings) of the same length`);
    }
    out.set(
      name,
      ids.map((id, k) => ({ id: id as number, token: tokens[k] as string })),
    );
  }
  return out;
}

function sequence(cfg: Cfg): PostProcessor {
  const { items, path } = cfg.arr('processors');
  const steps = items.map((item, i) => buildPostProcessor(Cfg.from(item, path(i))));
  return {
    before: steps.flatMap((s) => s.before),
    after: steps.flatMap((s) => s.after),
    process: (enc, add) => steps.reduce((acc, s) => s.process(acc, add), enc),
  };
}
