import type { StepGraph, Tensor, TypedArray } from '@mamba3/tensor';
import { ArgumentError, argMax, Rng, sliceAxis, tidy, concat } from '@mamba3/tensor';
import type { MambaLMHeadModel } from './model.js';
import { MambaInferenceCache } from './model.js';
import type { SamplingOptions } from './sampling.js';
import { checkSampling, isGreedy, sampleToken } from './sampling.js';

/** What generation needs of a tokenizer: a subset of `@mamba3/tokenizer`'s `TokenizerLike`, which every tokenizer there implements. */
export interface GenerationTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  createStreamingDecoder?(): { push(id: number): string; flush(): string };
  readonly eosTokenId?: number | null;
  /** Ids the tokenizer knows; sampling stays below it (checkpoints often pad the vocabulary further). */
  readonly vocabSize?: number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most per sequence (default 64). */
  maxNewTokens?: number;
  /** Seed of the sampler: the same seed, prompt and options give the same tokens. */
  seed?: number;
  /** Token ids that end a sequence (default: the tokenizer's end-of-text id, if it has one). */
  stopTokens?: readonly number[];
  /** Texts that end a sequence; the text is cut before them. */
  stopStrings?: readonly string[];
  /** Stops generation (the iterator ends; finishReason "abort"). */
  signal?: AbortSignal;
  /** Decodes and encodes text (default: the model's tokenizer, if attached). */
  tokenizer?: GenerationTokenizer;
  /**
   * On a backend that records step graphs (WebGPU), greedy decoding and plain temperature
   * sampling (no topK/topP/minP/repetition penalty) replay one recorded step per token, the pick
   * made on the device, with three steps in flight (default true); false runs the op layer every
   * step. Greedy gives the same tokens either way; sampling draws from the same distribution
   * (inverse CDF in vocabulary order on the device, against the host sampler's probability order).
   */
  stepGraph?: boolean;
}

export type FinishReason = 'stop' | 'length' | 'abort';

/** One step of one sequence. `text` is the newly decoded text (never a broken character). */
export interface GenerationChunk {
  sequence: number;
  token: number;
  /** Index of the token among the new ones. */
  index: number;
  text: string;
}

export interface SequenceResult {
  promptIds: number[];
  ids: number[];
  text: string;
  finishReason: FinishReason;
}

export interface GenerationResult {
  sequences: SequenceResult[];
}

/**
 * Greedy steps kept queued ahead of the one being read back, so the GPU never waits on the host.
 * On the H100 host two and three measure alike once the GPU is warm (854-1169 and 851-1138
 * tokens/s for the 130M models, BENCHMARKS.md); three leave slack for host pauses (garbage
 * collection). A stop wastes at most this many steps.
 */
const GRAPH_STEPS_IN_FLIGHT = 3;

const yieldToEventLoop: () => Promise<void> =
  typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function'
    ? () => new Promise((r) => (globalThis as unknown as { setImmediate: (f: () => void) => void }).setImmediate(r))
    : () => new Promise((r) => setTimeout(r, 0));

/** The longest suffix of `text` that begins some stop string: held back until it cannot. */
function heldBack(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(s.slice(0, n))) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}

class SequenceState {
  readonly ids: number[] = [];
  text = '';
  emitted = 0;
  finishReason: FinishReason | null = null;
  private readonly decoder: { push(id: number): string; flush(): string } | null;

  constructor(
    readonly promptIds: number[],
    tokenizer: GenerationTokenizer | undefined,
  ) {
    this.decoder = tokenizer?.createStreamingDecoder?.() ?? (tokenizer ? wholeDecoder(tokenizer) : null);
  }

  /** Appends a token and returns the text that is safe to emit. */
  push(token: number, stops: readonly string[]): string {
    this.ids.push(token);
    if (this.decoder) this.text += this.decoder.push(token);
    const at = stops.length ? firstStop(this.text, stops, this.emitted) : -1;
    if (at >= 0) {
      this.text = this.text.slice(0, at);
      this.finishReason = 'stop';
      return this.take(this.text.length);
    }
    return this.take(this.text.length - heldBack(this.text, stops));
  }

  finish(reason: FinishReason): string {
    this.finishReason ??= reason;
    if (this.decoder && reason !== 'stop') this.text += this.decoder.flush();
    return this.take(this.text.length);
  }

  private take(upTo: number): string {
    const out = this.text.slice(this.emitted, Math.max(upTo, this.emitted));
    this.emitted = Math.max(upTo, this.emitted);
    return out;
  }
}

function firstStop(text: string, stops: readonly string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, Math.max(0, from - s.length));
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** A streaming decoder for tokenizers without one: re-decodes and emits the stable new part. */
function wholeDecoder(t: GenerationTokenizer): { push(id: number): string; flush(): string } {
  const ids: number[] = [];
  let done = '';
  return {
    push(id) {
      ids.push(id);
      const text = t.decode(ids);
      // A trailing U+FFFD may be half a character: wait for the next token.
      const stable = text.endsWith('\uFFFD') ? text.slice(0, -1) : text;
      const out = stable.startsWith(done) ? stable.slice(done.length) : '';
      done = stable.startsWith(done) ? stable : done;
      return out;
    },
    flush() {
      const text = t.decode(ids);
      const out = text.startsWith(done) ? text.slice(done.length) : '';
      done = text;
      return out;
    },
  };
}

function toPrompts(prompt: string | readonly number[] | readonly (readonly number[])[] | readonly string[], tokenizer: GenerationTokenizer | undefined): number[][] {
  const list = typeof prompt === 'string' ? [prompt] : (prompt as readonly unknown[]);
  if (list.length === 0) throw new ArgumentError('generate: empty prompt');
  if (typeof list[0] === 'number') return [[...(list as number[])]];
  return list.map((p, i) => {
    if (typeof p === 'string') {
      if (!tokenizer) throw new ArgumentError('generate: a text prompt needs a tokenizer (options.tokenizer, or attach one to the model)');
      const ids = tokenizer.encode(p);
      if (ids.length === 0) throw new ArgumentError(`generate: prompt ${i} encodes to no tokens`);
      return ids;
    }
    const ids = [...(p as number[])];
    if (ids.length === 0) throw new ArgumentError(`generate: prompt ${i} is empty`);
    return ids;
  });
}

/**
 * Streams new tokens for one or more prompts (of any lengths: each is prefilled on its own,
 * then all decode as one batch). Returns the full result when the iterator ends.
 */
export async function* generate(
  model: MambaLMHeadModel,
  prompt: string | readonly number[] | readonly (readonly number[])[] | readonly string[],
  opts: GenerateOptions = {},
): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
  const tokenizer = opts.tokenizer;
  const maxNewTokens = opts.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) throw new ArgumentError(`generate: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  const sampling = checkSampling(opts);
  const prompts = toPrompts(prompt, tokenizer);
  const stopTokens = new Set(opts.stopTokens ?? (tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : []));
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  const rng = new Rng(opts.seed);
  const seqs = prompts.map((p) => new SequenceState(p, tokenizer));
  // Only ids both the model and the tokenizer know can be sampled.
  const V = Math.min(model.vocabSize, tokenizer?.vocabSize ?? Infinity);

  // Prefill each prompt alone (lengths differ), then decode the batch together.
  let cache: MambaInferenceCache | null = null;
  let logits: Tensor | null = null;
  const plainTemperature = sampling.temperature > 0 && sampling.topK === 0 && sampling.topP === 1 && sampling.minP === 0 && sampling.repetitionPenalty === 1;
  const useGraph = (isGreedy(sampling) || plainTemperature) && opts.stepGraph !== false && !!model.backend.beginCapture;
  const uniforms = (): number[] => seqs.map(() => rng.uniform());
  let graph: StepGraph | null = null;
  // Picked ids of queued graph runs, oldest first; the run for token index k is queued before token k-1 is awaited.
  const inflight: Promise<TypedArray>[] = [];
  let queuedUpTo = 0;
  try {
    // Attention layers keep every position: room for the longest prompt and every new token.
    const maxSeqlen = Math.max(...prompts.map((p) => p.length)) + maxNewTokens;
    const parts = prompts.map(() => model.allocateInferenceCache(1, { maxSeqlen }));
    try {
      const rows = prompts.map((p, i) => model.prefill([p], parts[i]));
      logits = tidy(() => concat(rows));
      rows.forEach((r) => r.dispose());
      cache = parts.length === 1 ? parts.pop()! : MambaInferenceCache.concat(parts);
    } finally {
      parts.forEach((c) => c.dispose());
    }
    for (let index = 0; index < maxNewTokens; index++) {
      await yieldToEventLoop();
      if (opts.signal?.aborted) break;
      let next: number[];
      if (logits) {
        next = await pickTokens(logits, V, sampling, rng, seqs);
        logits.dispose();
        logits = null;
      } else {
        next = Array.from(await inflight.shift()!);
      }
      for (const [i, s] of seqs.entries()) {
        if (s.finishReason) continue;
        const token = next[i];
        if (stopTokens.has(token)) {
          s.ids.push(token);
          const text = s.finish('stop');
          yield { sequence: i, token, index, text };
          continue;
        }
        let text = s.push(token, stopStrings);
        if (!s.finishReason && index === maxNewTokens - 1) text += s.finish('length');
        yield { sequence: i, token, index, text };
      }
      if (seqs.every((s) => s.finishReason) || index === maxNewTokens - 1) break;
      if (useGraph) {
        if (!graph) {
          graph = plainTemperature
            ? model.samplingStepGraph(next, cache!, { vocab: V, temperature: sampling.temperature, uniforms: uniforms() })
            : model.greedyStepGraph(next, cache!, { vocab: V });
          cache = null;
          inflight.push(graph.read(0));
          queuedUpTo = index + 1;
        }
        // Queue steps ahead before waiting for the next token: the GPU never idles on the host.
        while (inflight.length < GRAPH_STEPS_IN_FLIGHT && queuedUpTo < maxNewTokens - 1) {
          if (plainTemperature) graph.write(1, uniforms());
          graph.run();
          inflight.push(graph.read(0));
          queuedUpTo++;
        }
        continue;
      }
      // Finished sequences ride along with a dummy token; their outputs are ignored.
      logits = model.step(seqs.map((s, i) => (s.finishReason ? 0 : next[i])), cache!);
    }
    for (const [i, s] of seqs.entries()) {
      if (s.finishReason) continue;
      const text = s.finish(opts.signal?.aborted ? 'abort' : 'length');
      if (text) yield { sequence: i, token: -1, index: s.ids.length, text };
    }
  } finally {
    logits?.dispose();
    cache?.dispose();
    // Runs still in flight are dropped: their reads finish (or fail with the device) unobserved.
    for (const p of inflight) p.catch(() => undefined);
    graph?.dispose();
  }
  return { sequences: seqs.map((s) => ({ promptIds: s.promptIds, ids: s.ids, text: s.text, finishReason: s.finishReason ?? 'length' })) };
}

/** Greedy picks on the device (one int per sequence read back); otherwise the logits rows are sampled here. */
async function pickTokens(logits: Tensor, V: number, s: ReturnType<typeof checkSampling>, rng: Rng, seqs: readonly SequenceState[]): Promise<number[]> {
  const B = logits.shape[0];
  if (isGreedy(s)) {
    const ids = tidy(() => argMax(sliceAxis(logits, 1, 0, V), -1));
    const values = await ids.data();
    ids.dispose();
    return Array.from(values);
  }
  const rows = await logits.data();
  const Vp = logits.shape[1];
  return Array.from({ length: B }, (_, b) => sampleToken(rows.subarray(b * Vp, (b + 1) * Vp), V, s, rng, [...seqs[b].promptIds, ...seqs[b].ids]));
}

/** Runs `generate` to the end and returns the result (and calls `onChunk` for each chunk). */
export async function generateText(
  model: MambaLMHeadModel,
  prompt: Parameters<typeof generate>[1],
  opts?: GenerateOptions & { onChunk?: (c: GenerationChunk) => void },
): Promise<GenerationResult> {
  const it = generate(model, prompt, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    opts?.onChunk?.(r.value);
  }
}
