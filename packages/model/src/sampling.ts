import type { Tensor } from '@mamba3/tensor';
import { argMax, ArgumentError, cumsum, div, greater, mul, Rng, sliceAxis, softmax, tidy } from '@mamba3/tensor';

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
  // Probabilities, then the candidate list sorted by probability.
  const p = new Float64Array(vocabSize);
  let total = 0;
  for (let i = 0; i < vocabSize; i++) {
    p[i] = Math.exp((z[i] - max) / s.temperature);
    total += p[i];
  }
  let order = Array.from({ length: vocabSize }, (_, i) => i).filter((i) => p[i] > 0);
  order.sort((a, b) => p[b] - p[a]);
  if (s.topK > 0) order = order.slice(0, s.topK);
  if (s.minP > 0) {
    const floor = (s.minP * p[order[0]]) / total;
    order = order.filter((i, k) => k === 0 || p[i] / total >= floor);
  }
  if (s.topP < 1) {
    let acc = 0;
    let keep = 0;
    while (keep < order.length) {
      acc += p[order[keep]] / total;
      keep++;
      if (acc >= s.topP) break;
    }
    order = order.slice(0, keep);
  }
  let mass = 0;
  for (const i of order) mass += p[i];
  let u = rng.uniform() * mass;
  for (const i of order) {
    u -= p[i];
    if (u < 0) return i;
  }
  return order[order.length - 1];
}

export function argmax(values: ArrayLike<number>, n = values.length): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (values[i] > values[best]) best = i;
  return best;
}

/**
 * Temperature sampling on the device by inverse CDF: logits [b, V], u [b, 1] uniform in [0, 1)
 * -> ids [b] (int32) drawn from softmax(logits / temperature), the first id (in vocabulary
 * order) whose running probability exceeds u times the total (the total rather than 1, so
 * rounding in the running sum can never leave u above every entry).
 */
export function sampleByInverseCdf(logits: Tensor, temperature: number, u: Tensor): Tensor {
  return tidy(() => {
    const V = logits.shape[logits.rank - 1];
    const cdf = cumsum(softmax(div(logits, temperature), -1), -1);
    return argMax(greater(cdf, mul(u, sliceAxis(cdf, -1, V - 1, V))), -1);
  });
}
