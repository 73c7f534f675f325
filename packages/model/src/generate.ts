import type { StepGraph, Tensor, TypedArray } from '@mamba3/tensor';
import { ArgumentError, Rng, tidy, concat, UnsupportedError } from '@mamba3/tensor';
import { GraphDecodeQueue } from './graph-decode.js';
import type { PrefillProgress } from './prefill.js';
import { prefillInSlices, yieldToEventLoop } from './prefill.js';
import type { MambaLMHeadModel } from './model.js';
import { MambaInferenceCache } from './model.js';
import type { SamplingOptions } from './sampling.js';
import { checkSampling, float32Draw, isGreedy } from './sampling.js';
import { pickFromRows, pickTokens } from './picking.js';
import { NonFiniteLogitsError } from './errors.js';

/** Longest run of decode steps between two yields to the event loop (abort latency is about this plus one step). */
const YIELD_EVERY_MS = 4;

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
  /**
   * Seed of the sampler: the same seed, prompt and options give the same tokens, whether the
   * prompt is alone or in a batch (each sequence draws from its own stream of this seed).
   */
  seed?: number;
  /** Token ids that end a sequence (default: the tokenizer's end-of-text id, if it has one). */
  stopTokens?: readonly number[];
  /** Texts that end a sequence; the text is cut before them. */
  stopStrings?: readonly string[];
  /** Stops generation, prefill included (checked between prefill slices; the iterator ends; finishReason "abort"). */
  signal?: AbortSignal;
  /** Prefill progress in prompt tokens (after every slice of a long prompt). */
  onPrefillProgress?: (p: PrefillProgress) => void;
  /** Tokens per prefill slice (default: from the device's tensor size limit, at most 4096). */
  prefillSlice?: number;
  /** Decodes and encodes text (default: the model's tokenizer, if attached). */
  tokenizer?: GenerationTokenizer;
  /**
   * On a backend that records step graphs, decoding replays one recorded step per token (default
   * true); false runs the op layer every step. On WebGPU, greedy decoding and plain temperature
   * sampling (no topK/topP/minP/repetition penalty) pick on the device, with three steps in
   * flight: greedy gives the same tokens either way; sampling draws from the same distribution
   * (inverse CDF in vocabulary order on the device, against the host sampler's probability
   * order). On backends that read synchronously (wasm) every sampling option replays the step
   * and picks on the host from its logits: the same tokens either way.
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

/** Checks every option `generate` takes (before anything is read or printed); returns the sampling options resolved. */
export function checkGenerateOptions(opts: GenerateOptions): ReturnType<typeof checkSampling> {
  const maxNewTokens = opts.maxNewTokens ?? 64;
  if (!Number.isInteger(maxNewTokens) || maxNewTokens <= 0) throw new ArgumentError(`generate: maxNewTokens must be a positive integer, got ${maxNewTokens}`);
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new ArgumentError(`generate: seed must be an integer, got ${opts.seed}`);
  if (opts.prefillSlice !== undefined && !(Number.isInteger(opts.prefillSlice) && opts.prefillSlice > 0)) {
    throw new ArgumentError(`generate: prefillSlice must be a positive integer, got ${opts.prefillSlice}`);
  }
  if (opts.stopTokens && !opts.stopTokens.every((t) => Number.isInteger(t))) throw new ArgumentError('generate: stopTokens must be integer ids');
  return checkSampling(opts);
}

/** One generator per sequence, all from the seed: a prompt draws the same numbers alone or in any batch. */
function sequenceRngs(n: number, seed: number | undefined): Rng[] {
  return Array.from({ length: n }, () => new Rng(seed));
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
  const sampling = checkGenerateOptions(opts);
  const prompts = toPrompts(prompt, tokenizer);
  const stopTokens = new Set(opts.stopTokens ?? (tokenizer?.eosTokenId != null ? [tokenizer.eosTokenId] : []));
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  const rngs = sequenceRngs(prompts.length, opts.seed);
  const seqs = prompts.map((p) => new SequenceState(p, tokenizer));
  // Only ids both the model and the tokenizer know can be sampled.
  const V = Math.min(model.vocabSize, tokenizer?.vocabSize ?? Infinity);

  // Prefill each prompt alone (lengths differ), then decode the batch together.
  let cache: MambaInferenceCache | null = null;
  let logits: Tensor | null = null;
  const plainTemperature = sampling.temperature > 0 && sampling.topK === 0 && sampling.topP === 1 && sampling.minP === 0 && sampling.repetitionPenalty === 1;
  const canRecord = opts.stepGraph !== false && !!model.backend.beginCapture;
  const syncRead = model.backend.info.syncRead;
  const useGraph = canRecord && !syncRead && (isGreedy(sampling) || plainTemperature);
  let useLogitsGraph = canRecord && syncRead;
  // A logits graph's output of the last run (read in place), picked from at the next token.
  let graphLogits: TypedArray | null = null;
  let logitsGraph: StepGraph | null = null;
  const uniforms = (): number[] => rngs.map((r) => float32Draw(r.uniform()));
  let graph: StepGraph | null = null;
  let queue: GraphDecodeQueue | null = null;
  try {
    // Attention layers keep every position: room for the longest prompt and every new token.
    const maxSeqlen = Math.max(...prompts.map((p) => p.length)) + maxNewTokens;
    const parts = prompts.map(() => model.allocateInferenceCache(1, { maxSeqlen }));
    const rows: Tensor[] = [];
    try {
      const total = prompts.reduce((n, p) => n + p.length, 0);
      let offset = 0;
      opts.onPrefillProgress?.({ done: 0, total });
      for (const [i, p] of prompts.entries()) {
        const row = await prefillInSlices(model, [p], parts[i], { signal: opts.signal, onProgress: opts.onPrefillProgress, sliceTokens: opts.prefillSlice, offset, total });
        if (!row) break;
        rows.push(row);
        offset += p.length;
      }
      if (rows.length === prompts.length) {
        logits = tidy(() => concat(rows));
        cache = parts.length === 1 ? parts.pop()! : MambaInferenceCache.concat(parts);
      }
    } finally {
      rows.forEach((r) => r.dispose());
      parts.forEach((c) => c.dispose());
    }
    // An abort during prefill leaves no logits: no token is generated.
    const prefilled = logits !== null;
    // Other tasks (an abort, a UI) get the event loop every few milliseconds, not every token:
    // a macrotask per token is a measurable share of a tiny model's ~0.5 ms step.
    let yieldedAt = performance.now();
    for (let index = 0; prefilled && index < maxNewTokens; index++) {
      if (performance.now() - yieldedAt >= YIELD_EVERY_MS) {
        await yieldToEventLoop();
        yieldedAt = performance.now();
      }
      if (opts.signal?.aborted) break;
      let next: number[];
      if (logits) {
        const picked = pickTokens(logits, V, sampling, rngs, seqs);
        next = Array.isArray(picked) ? picked : await picked;
        logits.dispose();
        logits = null;
      } else if (graphLogits) {
        next = pickFromRows(graphLogits, seqs.length, V, sampling, rngs, seqs);
        graphLogits = null;
      } else {
        next = await queue!.next();
        // The device's picks give -1 for a row of NaN or infinite logits (lmHeadArgmaxEmbed, sampleByInverseCdfEmbed).
        const bad = seqs.findIndex((s, i) => !s.finishReason && next[i] < 0);
        if (bad >= 0) throw new NonFiniteLogitsError(bad, seqs[bad].ids.length);
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
          // The capture stepped token index + 1; runs for the tokens after it, up to the last.
          const g = graph;
          // A group's draws go up in one write (each run copies its row on the device), in the
          // order per-step writes would draw them: the same tokens for a seed.
          const drawAhead = (runs: number) => g.writeAhead(1, Array.from({ length: runs }, uniforms).flat(), runs);
          queue = new GraphDecodeQueue(g, seqs.length, maxNewTokens - 2 - index, plainTemperature ? drawAhead : null);
        }
        // Queue steps ahead before waiting for the next token: the GPU never idles on the host.
        queue!.fill();
        continue;
      }
      // Finished sequences ride along with a dummy token; their outputs are ignored.
      const ids = seqs.map((s, i) => (s.finishReason ? 0 : next[i]));
      if (useLogitsGraph) {
        if (logitsGraph) {
          logitsGraph.write(0, ids);
          logitsGraph.run();
        } else {
          logitsGraph = recordLogitsStep(model, ids, cache!);
          if (logitsGraph) cache = null;
          else useLogitsGraph = false;
        }
        if (logitsGraph) {
          // A copy: a view of the memory would not survive its growth while the caller holds the chunk.
          graphLogits = logitsGraph.readSync(0).slice();
          continue;
        }
      }
      logits = model.step(ids, cache!);
    }
    for (const [i, s] of seqs.entries()) {
      if (s.finishReason) continue;
      const text = s.finish(opts.signal?.aborted ? 'abort' : 'length');
      if (text) yield { sequence: i, token: -1, index: s.ids.length, text };
    }
  } finally {
    logits?.dispose();
    cache?.dispose();
    queue?.drop();
    graph?.dispose();
    logitsGraph?.dispose();
  }
  return { sequences: seqs.map((s) => ({ promptIds: s.promptIds, ids: s.ids, text: s.text, finishReason: s.finishReason ?? 'length' })) };
}

/**
 * The logits step graph of this decode step, or null when the step cannot be recorded (a layer
 * hands an input on as its state): the op path then decodes, the cache untouched.
 */
function recordLogitsStep(model: MambaLMHeadModel, ids: readonly number[], cache: MambaInferenceCache): StepGraph | null {
  try {
    return model.logitsStepGraph(ids, cache);
  } catch (err) {
    if (err instanceof UnsupportedError) return null;
    throw err;
  }
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
