import type { MixerState } from '@mamba3/core';
import { checkWeights, MixerCache } from '@mamba3/core';
import type { Backend, DType, StepGraph, Tensor } from '@mamba3/tensor';
import {
  ArgumentError,
  captureStep,
  concat,
  dispose,
  formatShape,
  keep,
  ShapeError,
  saveSafetensors,
  sliceAxis,
  squeeze,
  tensor,
  tidy,
  WeightsError,
} from '@mamba3/tensor';
import type { MambaConfig, MambaConfigInput } from './config.js';
import { paddedVocabSize, resolveMambaConfig, toConfigJson } from './config.js';
import type { LayerSpec } from './blocks.js';
import { layerSpecs } from './blocks.js';
import type { LmParams, LmWeights } from './forward.js';
import { embed, lmLogits, lmSequence, lmStepArgmaxFrom, lmStepLogits, lmStepLogitsFrom, organise } from './forward.js';
import { sampleByInverseCdfEmbed } from './sampling.js';
import { PrefillGraphs } from './prefill-graph.js';
import { initLmParams, lmParamShapes } from './weights.js';
import type { GenerateOptions, GenerationChunk, GenerationResult, GenerationTokenizer } from './generate.js';
import { generate, generateText } from './generate.js';
import type { LoadOptions, PretrainedSource } from './loading.js';
import { fromPretrained } from './loading.js';

export type Prompt = string | readonly number[] | readonly (readonly number[])[] | readonly string[];

/** Token ids: a Tensor (int32), one sequence (number[]) or a batch (number[][]). */
export type TokenIds = Tensor | readonly number[] | readonly (readonly number[])[];

/**
 * The decode cache of the whole model: one mixer cache per layer (SSM layers: constant size in
 * the sequence length; attention layers: a KV cache of `maxSeqlen` positions).
 */
export class MambaInferenceCache {
  readonly layers: MixerCache[];
  /** Tokens consumed so far (the longest sequence's, after `concat`). */
  seqlenOffset = 0;
  /** Positions the attention layers' KV caches hold (Infinity without attention layers). */
  readonly maxSeqlen: number;

  constructor(layers: MixerCache[], maxSeqlen = Infinity) {
    this.layers = layers;
    this.maxSeqlen = maxSeqlen;
  }

  get batch(): number {
    return this.layers[0].batch;
  }

  /** Stacks per-sequence caches (each batch 1 or more) into one batch, e.g. after prefilling prompts of different lengths one by one. */
  static concat(caches: readonly MambaInferenceCache[]): MambaInferenceCache {
    if (caches.length === 0) throw new ArgumentError('MambaInferenceCache.concat: no caches');
    if (caches.some((c) => c.maxSeqlen !== caches[0].maxSeqlen)) throw new ArgumentError('MambaInferenceCache.concat: the caches hold different maxSeqlen');
    const layers = caches[0].layers.map(
      (layer, i) =>
        new MixerCache(
          tidy(() => Object.fromEntries(Object.keys(layer.state()).map((k) => [k, concat(caches.map((c) => c.layers[i].state()[k]))]))),
        ),
    );
    const out = new MambaInferenceCache(layers, caches[0].maxSeqlen);
    out.seqlenOffset = Math.max(...caches.map((c) => c.seqlenOffset));
    return out;
  }

  /** Every tensor of the cache, layer by layer. */
  tensors(): Tensor[] {
    return this.layers.flatMap((l) => l.tensors());
  }

  dispose(): void {
    for (const l of this.layers) l.dispose();
  }
}

/** Positions an attention model's cache holds when the caller names none. */
export const DEFAULT_MAX_SEQLEN = 2048;

export interface CreateModelOptions {
  seed?: number;
  backend?: Backend;
  dtype?: DType;
}

/**
 * `MambaLMHeadModel` of the official `mamba_ssm` with Mamba-3 mixers: embedding, blocks
 * (add → RMSNorm → Mamba3 [→ add → RMSNorm → GatedMLP]), norm_f, tied LM head. Weights use
 * the official names and shapes, so PyTorch checkpoints load and ours load in PyTorch.
 */
export class MambaLMHeadModel {
  readonly config: MambaConfig;
  /** Each layer's mixer kind and functions. */
  readonly layers: readonly LayerSpec[];
  readonly params: LmParams;
  private readonly w: LmWeights;
  /** Used by `generate` for text prompts and streaming text, unless the call passes its own. */
  tokenizer?: GenerationTokenizer;
  /**
   * Recorded prefills (backends that record, WebGPU): a prefill of a fresh cache with host ids
   * replays the graph captured for its [batch, length], bit-identical to the ops. `limit`
   * graphs are kept (default 1, each holding its prefill's working buffers); 0 turns it off;
   * `clear()` frees them.
   */
  readonly prefillGraphs = new PrefillGraphs();

  protected constructor(config: MambaConfig, params: LmParams) {
    this.config = config;
    this.params = params;
    this.w = organise(params, config);
    this.layers = this.w.layers.map((l) => l.spec);
  }

  /** A new model with the official initialisation. */
  static create(config: MambaConfigInput, opts?: CreateModelOptions): MambaLMHeadModel {
    const c = resolveMambaConfig(config);
    return new this(c, initLmParams(c, opts));
  }

  /**
   * A model over given weights (official names). Missing, unexpected and misshaped weights are
   * reported by name; with tied embeddings `lm_head.weight` may be absent (it is the embedding).
   */
  static fromWeights(config: MambaConfigInput, weights: Record<string, Tensor>): MambaLMHeadModel {
    const c = resolveMambaConfig(config);
    const given = { ...weights };
    // Every layer has weights: a config claiming more layers than there are weights is wrong, and
    // listing the shapes it expects would take time and memory sized by that number.
    if (c.nLayer > Object.keys(given).length) throw new WeightsError(`the config has ${c.nLayer} layers but only ${Object.keys(given).length} weights are given: the config does not match these weights`);
    const expected = lmParamShapes(c);
    if (c.tieEmbeddings && !given['lm_head.weight'] && given['backbone.embedding.weight']) given['lm_head.weight'] = given['backbone.embedding.weight'];
    const emb = given['backbone.embedding.weight'];
    if (emb && emb.shape[0] !== paddedVocabSize(c)) {
      throw new WeightsError(
        `the embedding has ${emb.shape[0]} rows but the config's vocabSize ${c.vocabSize} pads to ${paddedVocabSize(c)} (padVocabSizeMultiple ${c.padVocabSizeMultiple}): the config does not match these weights`,
      );
    }
    checkWeights(expected, given, 'MambaLMHeadModel weights');
    if (c.tieEmbeddings) {
      // A stored copy of the tied head (state_dict() writes both names) is not used: free it.
      const head = given['lm_head.weight'];
      if (head !== given['backbone.embedding.weight']) head.dispose();
      given['lm_head.weight'] = given['backbone.embedding.weight'];
    }
    for (const t of new Set(Object.values(given))) keep(t);
    return new this(c, given);
  }

  /** Loads a model: a directory (Node), a URL, `{ config, weights }` or `{ weights }` (see `PretrainedSource`). */
  static fromPretrained(source: PretrainedSource, opts?: LoadOptions): Promise<MambaLMHeadModel> {
    return fromPretrained(source, opts);
  }

  /** Streams generated tokens and text (an async iterator); its return value is the full result. */
  generate(prompt: Prompt, opts?: GenerateOptions): AsyncGenerator<GenerationChunk, GenerationResult, undefined> {
    return generate(this, prompt, { tokenizer: this.tokenizer, ...opts });
  }

  /** Generates to the end and returns the result. */
  generateText(prompt: Prompt, opts?: GenerateOptions & { onChunk?: (c: GenerationChunk) => void }): Promise<GenerationResult> {
    return generateText(this, prompt, { tokenizer: this.tokenizer, ...opts });
  }

  get vocabSize(): number {
    return this.config.vocabSize;
  }

  get backend(): Backend {
    return this.w.embedding.backend;
  }

  /** Scalar parameter count (a tied head counted once). */
  get paramCount(): number {
    return [...new Set(Object.values(this.params))].reduce((n, t) => n + t.size, 0);
  }

  /** ids -> an int32 tensor [b, L] on the model's backend, checking every id against the vocabulary. */
  toIds(ids: TokenIds, op = 'forward'): Tensor {
    if (!Array.isArray(ids)) {
      const t = ids as Tensor;
      if (t.dtype !== 'int32') throw new ArgumentError(`${op}: ids must be int32, got ${t.dtype}`);
      if (t.backend.readSync) this.checkIdValues(op, t.backend.readSync(t), t.shape[t.rank - 1] ?? 1);
      return t;
    }
    const rows = (typeof ids[0] === 'number' ? [ids] : ids) as readonly (readonly number[])[];
    const L = rows[0]?.length ?? 0;
    if (rows.length === 0 || L === 0) throw new ArgumentError(`${op}: empty input (no token ids)`);
    if (rows.some((r) => r.length !== L)) throw new ShapeError(`${op}: the sequences of a batch must have one length (got ${rows.map((r) => r.length).join(', ')}); generate() accepts different lengths`);
    const flat = rows.flat();
    this.checkIdValues(op, flat, L);
    return tensor(flat, [rows.length, L], { dtype: 'int32', backend: this.backend });
  }

  private checkIdValues(op: string, values: ArrayLike<number>, rowLength: number): void {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (!Number.isInteger(v) || v < 0 || v >= this.config.vocabSize) {
        throw new ArgumentError(`${op}: token id ${v} at position ${i % rowLength} of sequence ${Math.floor(i / rowLength)} is outside the vocabulary [0, ${this.config.vocabSize})`);
      }
    }
  }

  /** Logits of every position: ids [b, L] -> [b, L, paddedVocab] (the chunked path). */
  forward(ids: TokenIds): Tensor {
    return tidy(() => {
      const t = this.toIds(ids);
      if (t.rank !== 2) throw new ShapeError(`forward: ids should be [batch, seqlen], got ${formatShape(t.shape)}`);
      const { hidden, states } = lmSequence(this.w, this.config, t);
      dispose(states.filter((st) => st !== null));
      return lmLogits(this.w, hidden);
    });
  }

  /** Whether any layer is attention (its cache then grows with the sequence, up to maxSeqlen). */
  get hasAttention(): boolean {
    return this.layers.some((l) => l.kind === 'MHA');
  }

  /** A zero cache; attention layers hold `maxSeqlen` positions (default 2048). */
  allocateInferenceCache(batch: number, opts: { maxSeqlen?: number } = {}): MambaInferenceCache {
    const maxSeqlen = opts.maxSeqlen ?? DEFAULT_MAX_SEQLEN;
    const o = { backend: this.backend, dtype: this.w.embedding.dtype, maxSeqlen };
    return new MambaInferenceCache(this.layers.map((l) => new MixerCache(l.zeroState(batch, o))), this.hasAttention ? maxSeqlen : Infinity);
  }

  private checkCache(op: string, cache: MambaInferenceCache, batch: number, tokens = 1): void {
    if (cache.layers.length !== this.config.nLayer) throw new ArgumentError(`${op}: the cache has ${cache.layers.length} layers, the model ${this.config.nLayer}`);
    if (cache.batch !== batch) throw new ShapeError(`${op}: the cache holds a batch of ${cache.batch}, the ids a batch of ${batch}`);
    if (cache.seqlenOffset + tokens > cache.maxSeqlen) {
      throw new ArgumentError(`${op}: ${cache.seqlenOffset} cached + ${tokens} new tokens exceed the attention cache's ${cache.maxSeqlen} positions; allocate it with a larger maxSeqlen`);
    }
  }

  /** Runs a prompt chunked, filling (or continuing) the cache: ids [b, L] -> last-position logits [b, paddedVocab]. */
  prefill(ids: TokenIds, cache: MambaInferenceCache): Tensor {
    const recorded = this.recordedPrefill(ids, cache);
    if (recorded) return recorded;
    return tidy(() => {
      const t = this.toIds(ids, 'prefill');
      this.checkCache('prefill', cache, t.shape[0], t.shape[1]);
      const { hidden, states } = lmSequence(this.w, this.config, t, cache.layers.map((l) => l.state()));
      states.forEach((s, i) => cache.layers[i].update(s as MixerState));
      cache.seqlenOffset += t.shape[1];
      return lmLogits(this.w, squeeze(sliceAxis(hidden, 1, hidden.shape[1] - 1), 1));
    });
  }

  /** `prefill` through `prefillGraphs`, or null where it does not apply (the ops run instead). */
  private recordedPrefill(ids: TokenIds, cache: MambaInferenceCache): Tensor | null {
    // Not on backends that read synchronously (wasm): their graphs replay the same op calls (a
    // decode step's saving), while a prefill's graph would hold every intermediate of the prompt.
    if (!Array.isArray(ids) || !this.backend.beginCapture || this.backend.info.syncRead || cache.seqlenOffset !== 0 || this.hasAttention || this.prefillGraphs.limit < 1) return null;
    const rows = (typeof ids[0] === 'number' ? [ids] : ids) as readonly (readonly number[])[];
    const L = rows[0]?.length ?? 0;
    if (rows.length === 0 || L === 0 || rows.some((r) => r.length !== L)) return null; // toIds says why
    const flat = Int32Array.from(rows.flat());
    this.checkIdValues('prefill', flat, L);
    this.checkCache('prefill', cache, rows.length, L);
    const zero = () => this.allocateInferenceCache(rows.length).layers.map((l) => l.state());
    const r = this.prefillGraphs.run(flat, rows.length, L, zero, (t, states) => {
      const { hidden, states: next } = lmSequence(this.w, this.config, t, states);
      return { logits: lmLogits(this.w, squeeze(sliceAxis(hidden, 1, L - 1), 1)), states: next as MixerState[] };
    });
    if (!r) return null;
    r.states.forEach((s, i) => cache.layers[i].update(s));
    cache.seqlenOffset += L;
    return r.logits;
  }

  /** One token per sequence through every layer's recurrent step: ids [b] -> logits [b, paddedVocab]. */
  step(ids: TokenIds, cache: MambaInferenceCache): Tensor {
    return tidy(() => {
      const asRows = Array.isArray(ids) ? (ids as number[]).map((id) => [id]) : null;
      const t = asRows ? this.toIds(asRows, 'step') : this.toIds(ids, 'step');
      const flat = t.rank === 2 ? squeeze(t, 1) : t;
      if (flat.rank !== 1) throw new ShapeError(`step: ids should be [batch], got ${formatShape(t.shape)}`);
      this.checkCache('step', cache, flat.shape[0]);
      const { logits, states } = lmStepLogits(this.w, this.config, flat, cache.layers.map((l) => l.state()));
      states.forEach((s, i) => cache.layers[i].update(s));
      cache.seqlenOffset += 1;
      return logits;
    });
  }

  /**
   * Greedy decoding as a step graph (see `captureStep`): each run steps every layer from the
   * embedded ids and picks the argmax over the first `vocab` logits on the device, with the
   * picked ids' rows of the embedding; those rows (input 0, the last output) and the caches feed
   * the next run. On WebGPU runs replay the recorded kernels, so a step costs a few host calls per
   * kernel and one 4-byte-per-sequence readback (`read(0)`). Run 0 (here) steps `ids`; output 0
   * is the picked ids [b] (int32). The graph takes over `cache`'s tensors (dispose the graph, not
   * the cache, when done).
   */
  greedyStepGraph(ids: readonly number[], cache: MambaInferenceCache, opts: { vocab?: number; record?: boolean } = {}): StepGraph {
    return this.decodeStepGraph('greedyStepGraph', ids, cache, opts.vocab, null, opts.record);
  }

  /**
   * Temperature sampling as a step graph: like `greedyStepGraph`, but each run draws from
   * softmax(logits / temperature) over the first `vocab` ids on the device, by inverse CDF
   * against one uniform number per sequence. Input 1 holds those numbers [b, 1] (float32, in
   * [0, 1)): `uniforms` for run 0, then `graph.write(1, ...)` before each run, or
   * `graph.writeAhead(1, ..., runs)` once for a group of runs (one upload for the group).
   */
  samplingStepGraph(ids: readonly number[], cache: MambaInferenceCache, opts: { temperature: number; uniforms: readonly number[]; vocab?: number; record?: boolean }): StepGraph {
    if (!(opts.temperature > 0) || !Number.isFinite(opts.temperature)) throw new ArgumentError(`samplingStepGraph: temperature must be > 0, got ${opts.temperature}`);
    if (opts.uniforms.length !== ids.length || opts.uniforms.some((u) => !(u >= 0 && Math.fround(u) < 1))) {
      throw new ArgumentError(`samplingStepGraph: uniforms must be ${ids.length} numbers in [0, 1) also as float32 (within 2^-25 of 1 they round to 1; float32Draw clamps them), one per sequence`);
    }
    return this.decodeStepGraph('samplingStepGraph', ids, cache, opts.vocab, { temperature: opts.temperature, uniforms: opts.uniforms }, opts.record);
  }

  /**
   * Decoding with the pick made on the host, as a step graph: each run embeds the ids written to
   * input 0 (`graph.write(0, ids)`, one per sequence) and steps every layer; output 0 is the
   * logits [b, vocab] (padded vocabulary). For backends that read synchronously (cpu, wasm), where
   * a replay skips the op layer and the host reads the logits at no cost: `generate` samples from
   * them as it does without a graph, so every sampling option gives the same tokens either way.
   * Run 0 (here) steps `ids`. The graph takes over `cache`'s tensors.
   */
  logitsStepGraph(ids: readonly number[], cache: MambaInferenceCache, opts: { record?: boolean } = {}): StepGraph {
    return this.decodeStepGraph('logitsStepGraph', ids, cache, undefined, 'logits', opts.record);
  }

  private decodeStepGraph(
    op: string,
    ids: readonly number[],
    cache: MambaInferenceCache,
    vocabLimit: number | undefined,
    sampling: { temperature: number; uniforms: readonly number[] } | 'logits' | null,
    record: boolean | undefined,
  ): StepGraph {
    const vocab = vocabLimit ?? this.vocabSize;
    if (!Number.isInteger(vocab) || vocab < 1 || vocab > this.vocabSize) throw new ArgumentError(`${op}: vocab must be in [1, ${this.vocabSize}], got ${vocab}`);
    this.checkCache(op, cache, ids.length);
    const t = keep(this.toIds(ids.map((id) => [id]), op));
    const logitsOnly = sampling === 'logits';
    // A greedy or sampled run starts from the rows of its ids, which the pick of the run before
    // wrote (`lmHeadArgmaxEmbed`, `sampleByInverseCdfEmbed`): run 0's come from the embedding.
    // A logits graph embeds the ids written to it.
    const start = keep(tidy(() => (logitsOnly ? squeeze(t, 1) : embed(this.w, squeeze(t, 1)))));
    t.dispose();
    const keys = cache.layers.map((l) => Object.keys(l.state()));
    const states = cache.tensors();
    const draws = sampling !== null && !logitsOnly ? sampling : null;
    const extra = draws ? [keep(tensor(draws.uniforms, [ids.length, 1], { backend: this.backend }))] : [];
    const step = (first: Tensor, ...rest: Tensor[]): Tensor[] => {
      const u = draws ? rest[0] : undefined;
      const flat = draws ? rest.slice(1) : rest;
      let at = 0;
      const layerStates = keys.map((ks) => Object.fromEntries(ks.map((k) => [k, flat[at++]])));
      const stateList = (next: MixerState[]) => next.flatMap((n, i) => keys[i].map((k) => n[k]));
      if (logitsOnly) {
        const r = lmStepLogits(this.w, this.config, first, layerStates);
        return [r.logits, ...stateList(r.states)];
      }
      if (sampling === null) {
        const r = lmStepArgmaxFrom(this.w, this.config, first, layerStates, vocab);
        return [r.ids, ...stateList(r.states), r.next];
      }
      const r = lmStepLogitsFrom(this.w, this.config, first, layerStates);
      const picked = sampleByInverseCdfEmbed(r.logits, sampling.temperature, u!, vocab, this.w.embedding);
      return [picked.ids, ...stateList(r.states), picked.next];
    };
    const inputs = [start, ...extra, ...states];
    // Output 1 + k feeds the k-th state input; a greedy or sampled graph's last output (the picked
    // ids' rows) feeds input 0. Output 0, the picked ids or the logits, feeds nothing.
    const offset = extra.length;
    const fedRows = logitsOnly ? [] : [[1 + states.length, 0] as const];
    const feedback = [...fedRows, ...states.map((_, k) => [1 + k, 1 + offset + k] as const)];
    // The uniforms' tensor is the graph's too (written through graph.write, freed with it), as are
    // the ids of a logits graph (the rows of the others are fed back, the graph's already).
    const own = [...(logitsOnly ? [0] : []), ...extra.map((_, k) => 1 + k)];
    try {
      return captureStep(inputs, step, { feedback, record, own });
    } catch (err) {
      // The graph did not take them: the rows or ids and draws made here go; the cache stays the caller's.
      start.dispose();
      extra.forEach((t) => t.dispose());
      throw err;
    }
  }

  /** The official `config.json` and the weights as safetensors (official names; the tied head is written under both names, as `state_dict()` has it). */
  async save(opts?: { floatDType?: 'F32' | 'F16' | 'BF16' }): Promise<{ configJson: Record<string, unknown>; weights: Uint8Array }> {
    const configJson = toConfigJson(this.config);
    const weights = await saveSafetensors(this.params, { floatDType: opts?.floatDType, metadata: { format: 'pt', config: JSON.stringify(configJson) } });
    return { configJson, weights };
  }

  dispose(): void {
    this.prefillGraphs.clear();
    dispose([...new Set(Object.values(this.params))]);
  }
}
