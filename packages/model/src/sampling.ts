import type { Tensor } from '@mamba3/tensor';
import { argMax, ArgumentError, cumsum, defineFusedOp, div, greater, less, max, mul, Rng, sliceAxis, softmax, sub, sum, where } from '@mamba3/tensor';
import { checkNextRows, gatherPicked } from './head-pick.js';

export interface SamplingOptions {
  /** 0 (or omitted with no other option) picks the most likely token. Default 1. */
  temperature?: number;
  /** Keep the k most likely tokens (0: off). */
  topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p (1: off). */
  topP?: number;
  /** Drop tokens less likely than minP × the most likely one (0: off). */
  minP?: number;
  /** > 1 discourages tokens already in the context (the CTRL / Hugging Face rule). */
  repetitionPenalty?: number;
}

export function checkSampling(o: SamplingOptions): Required<SamplingOptions> {
  const s = { temperature: o.temperature ?? 1, topK: o.topK ?? 0, topP: o.topP ?? 1, minP: o.minP ?? 0, repetitionPenalty: o.repetitionPenalty ?? 1 };
  if (!(s.temperature >= 0) || !Number.isFinite(s.temperature)) throw new ArgumentError(`generate: temperature must be >= 0, got ${s.temperature}`);
  if (!Number.isInteger(s.topK) || s.topK < 0) throw new ArgumentError(`generate: topK must be a non-negative integer, got ${s.topK}`);
  if (!(s.topP > 0 && s.topP <= 1)) throw new ArgumentError(`generate: topP must be in (0, 1], got ${s.topP}`);
  if (!(s.minP >= 0 && s.minP < 1)) throw new ArgumentError(`generate: minP must be in [0, 1), got ${s.minP}`);
  if (!(s.repetitionPenalty > 0) || !Number.isFinite(s.repetitionPenalty)) throw new ArgumentError(`generate: repetitionPenalty must be > 0, got ${s.repetitionPenalty}`);
  return s;
}

/** Whether sampling reduces to an argmax over unmodified logits (done on the device). */
export function isGreedy(s: Required<SamplingOptions>): boolean {
  return s.temperature === 0 && s.repetitionPenalty === 1;
}

/**
 * Picks the next token from one row of logits (only the first `vocabSize` entries count: the
 * rest is vocabulary padding). `context` is what the repetition penalty looks at.
 */
export function sampleToken(logits: ArrayLike<number>, vocabSize: number, s: Required<SamplingOptions>, rng: Rng, context: Iterable<number> = []): number {
  const z = new Float64Array(vocabSize);
  for (let i = 0; i < vocabSize; i++) z[i] = logits[i];
  if (s.repetitionPenalty !== 1) {
    for (const id of new Set(context)) {
      if (id >= 0 && id < vocabSize) z[id] = z[id] > 0 ? z[id] / s.repetitionPenalty : z[id] * s.repetitionPenalty;
    }
  }
  if (s.temperature === 0) return argmax(z);
  let max = -Infinity;
  for (let i = 0; i < vocabSize; i++) max = Math.max(max, z[i]);
  const p = new Float64Array(vocabSize);
  let total = 0;
  for (let i = 0; i < vocabSize; i++) {
    p[i] = Math.exp((z[i] - max) / s.temperature);
    total += p[i];
  }
  // The candidates in order of probability (ties: lower id first). Only the values decide how many
  // stay and where the draw lands, so values are sorted natively as numbers and the id at the
  // drawn rank is found afterwards; and only the head of that order, the values above a
  // threshold, while topK/minP/topP stop inside it. (Sorting all ids with a comparator took
  // ~35 ms per token at 50k ids.)
  let positive = 0;
  for (let i = 0; i < vocabSize; i++) if (p[i] > 0) positive++;
  const cuts = s.topK > 0 || s.minP > 0 || s.topP < 1;
  for (let shift = cuts ? 10 : Infinity; ; shift += 10) {
    const floor = shift > 60 ? 0 : 2 ** -shift; // p's largest value is 1
    const head = descendingAbove(p, floor);
    const n = kept(head, total, s, head.length < positive);
    if (n === 0) continue; // the cut runs past this head: a lower threshold
    let mass = 0;
    for (let k = 0; k < n; k++) mass += head[k];
    let u = rng.uniform() * mass;
    for (let k = 0; k < n; k++) {
      u -= head[k];
      if (u < 0) return idAtRank(p, head, k);
    }
    return idAtRank(p, head, n - 1);
  }
}

/** The probabilities above `floor` (all positive ones when it is 0), largest first. */
function descendingAbove(p: Float64Array, floor: number): Float64Array {
  let n = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0 && p[i] >= floor) n++;
  const out = new Float64Array(n);
  n = 0;
  for (let i = 0; i < p.length; i++) if (p[i] > 0 && p[i] >= floor) out[n++] = -p[i];
  out.sort();
  for (let k = 0; k < out.length; k++) out[k] = -out[k];
  return out;
}

/**
 * How many of the sorted candidates topK, then minP, then topP keep (at least one), given the
 * head of the order; 0 when the answer needs candidates past it (`partial`: the head is not all).
 */
function kept(head: Float64Array, total: number, s: Required<SamplingOptions>, partial: boolean): number {
  let n = head.length;
  let open = partial; // the list goes on past n
  if (s.topK > 0 && s.topK <= n) {
    n = s.topK;
    open = false;
  }
  if (s.minP > 0) {
    const floor = (s.minP * head[0]) / total;
    let k = 1;
    while (k < n && head[k] / total >= floor) k++;
    if (k < n) open = false;
    n = k;
  }
  if (s.topP < 1) {
    let acc = 0;
    let k = 0;
    while (k < n) {
      acc += head[k] / total;
      k++;
      if (acc >= s.topP) {
        open = false;
        break;
      }
    }
    n = k;
  }
  return open ? 0 : n;
}

/** The id at rank k of the candidates by probability, ties broken by the lower id. */
function idAtRank(p: Float64Array, desc: Float64Array, k: number): number {
  const v = desc[k];
  let tie = k;
  while (tie > 0 && desc[tie - 1] === v) tie--;
  let skip = k - tie;
  for (let i = 0; i < p.length; i++) {
    if (p[i] === v && skip-- === 0) return i;
  }
  throw new Error(`sampleToken: no id has probability ${v}`); // unreachable: v is one of p's values
}

export function argmax(values: ArrayLike<number>, n = values.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** The largest float32 below 1. */
const FLOAT32_BELOW_ONE = 1 - 2 ** -24;

/**
 * A uniform draw in [0, 1) as the device takes it, in float32: draws within 2⁻²⁵ of 1 would round
 * to 1, where the composite below finds no id above u times the total and picks id 0 (one draw in
 * ~3·10⁷). They become the largest float32 below 1; every other draw is kept as it is.
 */
export function float32Draw(u: number): number {
  return Math.min(u, FLOAT32_BELOW_ONE);
}

export type SampleInputs = { logits: Tensor; u: Tensor };
export type SampleAttrs = { temperature: number; vocab: number };
export type SampleOutputs = { ids: Tensor };

/** `sampleByInverseCdf`'s checks; the ids' shape (the logits' without the vocabulary axis). */
function checkSample({ logits, u }: SampleInputs, { temperature, vocab }: SampleAttrs): { ids: number[] } {
  const V = logits.shape[logits.rank - 1];
  if (logits.rank < 1 || !(V >= 1)) throw new ArgumentError(`sampleByInverseCdf: logits need a vocabulary axis of at least 1, got shape [${logits.shape}]`);
  const want = [...logits.shape.slice(0, -1), 1];
  if (u.rank !== want.length || u.shape.some((d, i) => d !== want[i])) throw new ArgumentError(`sampleByInverseCdf: u must have shape [${want}] (one draw per row of logits [${logits.shape}]), got [${u.shape}]`);
  if (!(temperature > 0) || !Number.isFinite(temperature)) throw new ArgumentError(`sampleByInverseCdf: temperature must be > 0 and finite, got ${temperature} (use argMax for greedy)`);
  if (!Number.isInteger(vocab) || vocab < 1 || vocab > V) throw new ArgumentError(`sampleByInverseCdf: vocab must be an integer in [1, ${V}] (the logits' last axis), got ${vocab}`);
  return { ids: logits.shape.slice(0, -1) };
}

/**
 * Temperature sampling on the device by inverse CDF: logits [..., V], u [..., 1] uniform in
 * [0, 1) -> ids [...] (int32) drawn from softmax(logits[..., :vocab] / temperature), the first id
 * (in vocabulary order) whose running probability exceeds u times the total (the total rather
 * than 1, so rounding in the running sum can never leave u above every entry); -1 for a row whose
 * first `vocab` logits hold a NaN or +Infinity (-Infinity is an id of probability 0; a row of
 * nothing else gives id 0). `vocab` (≤ V)
 * leaves out a padded head's last columns without a copy of the logits. A fused op: WebGPU runs
 * it in two dispatches (kernels/webgpu/sample.wgsl.ts), other backends run this composite.
 */
const sampleOp = defineFusedOp<SampleInputs, SampleAttrs, SampleOutputs>({
  name: 'sampleByInverseCdf',
  inputNames: ['logits', 'u'],
  outputNames: ['ids'],
  outputDTypes: { ids: 'int32' },
  check: checkSample,
  composite: ({ logits, u }, { temperature, vocab }) => {
    const real = vocab < logits.shape[logits.rank - 1] ? sliceAxis(logits, -1, 0, vocab) : logits;
    // Shifted by the row's largest logit before the division: logits / T overflow for T below ~1e-37.
    const cdf = cumsum(softmax(div(sub(real, max(real, -1, { keepDims: true })), temperature), -1), -1);
    const ids = argMax(greater(cdf, mul(u, sliceAxis(cdf, -1, vocab - 1, vocab))), -1);
    // A NaN or +Infinity makes the sum NaN or +Infinity; -Infinity (a masked id) alone does not.
    return { ids: where(less(sum(real, -1), Infinity), ids, -1) };
  },
});

/** See `sampleOp`; `vocab` defaults to every column of the logits. */
export function sampleByInverseCdf(logits: Tensor, temperature: number, u: Tensor, vocab = logits.shape[logits.rank - 1]): Tensor {
  return sampleOp({ logits, u }, { temperature, vocab }).ids;
}

/** The composite of `sampleByInverseCdf` whatever kernels are registered (the reference its kernels are tested against). */
export function sampleByInverseCdfComposite(logits: Tensor, temperature: number, u: Tensor, vocab = logits.shape[logits.rank - 1]): Tensor {
  return sampleOp.composite({ logits, u }, { temperature, vocab }).ids;
}

export type SampleEmbedInputs = SampleInputs & { embedding: Tensor };
export type SampleEmbedOutputs = { ids: Tensor; next: Tensor };

/**
 * `sampleByInverseCdf` on logits [rows, V] and the drawn ids' rows of the embedding [V', e]: ids
 * [rows] (int32) and next [rows, e], the input of a sampled decode step after this one. A fused
 * op: on WebGPU the pick writes the rows itself (kernels/webgpu/sample.ts), a dispatch fewer in a
 * step graph's run than with the embedding's gather.
 */
const sampleEmbedOp = defineFusedOp<SampleEmbedInputs, SampleAttrs, SampleEmbedOutputs>({
  name: 'sampleByInverseCdfEmbed',
  inputNames: ['logits', 'u', 'embedding'],
  outputNames: ['ids', 'next'],
  outputDTypes: { ids: 'int32' },
  check: (inputs, attrs) => {
    if (inputs.logits.rank !== 2) throw new ArgumentError(`sampleByInverseCdfEmbed: want logits [rows, V], got [${inputs.logits.shape}]`);
    const { ids } = checkSample(inputs, attrs);
    return { ids, next: checkNextRows('sampleByInverseCdfEmbed', inputs.embedding, ids[0], attrs.vocab) };
  },
  // The draw as its own op (its kernel where one is registered), then the gather: the step before.
  composite: ({ logits, u, embedding }, attrs) => {
    const { ids } = sampleOp({ logits, u }, attrs);
    return { ids, next: gatherPicked(embedding, ids) };
  },
});

/** See `sampleEmbedOp`. */
export function sampleByInverseCdfEmbed(logits: Tensor, temperature: number, u: Tensor, vocab: number, embedding: Tensor): { ids: Tensor; next: Tensor } {
  return sampleEmbedOp({ logits, u, embedding }, { temperature, vocab });
}

/** The composite of `sampleByInverseCdfEmbed` whatever kernels are registered. */
export function sampleByInverseCdfEmbedComposite(logits: Tensor, temperature: number, u: Tensor, vocab: number, embedding: Tensor): { ids: Tensor; next: Tensor } {
  return sampleEmbedOp.composite({ logits, u, embedding }, { temperature, vocab });
}
