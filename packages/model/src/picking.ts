import type { Rng, Tensor, TypedArray } from '@mamba3/tensor';
import { argMax, sliceAxis, sum, tidy } from '@mamba3/tensor';
import { NonFiniteLogitsError } from './errors.js';
import type { checkSampling } from './sampling.js';
import { argmax, isGreedy, sampleToken } from './sampling.js';

/*
 * `generate`'s picks from logits it holds (the op path, and the logits graph of backends that
 * read synchronously): greedy on the device, or sampled on the host.
 */

/** What a pick needs of a sequence: its prompt and tokens so far (the repetition penalty's context; an error's position). */
export interface PickedSequence {
  readonly promptIds: readonly number[];
  readonly ids: readonly number[];
}

/**
 * Greedy picks on the device (one int and one sum per sequence read back: a NaN or infinite
 * logit makes the row's sum non-finite); otherwise the logits rows are sampled here. A
 * non-finite logit is a `NonFiniteLogitsError`: an argmax over NaN would pick id 0 forever.
 * On a backend that reads synchronously (cpu, wasm) it returns the ids at once: no promise per
 * token, which is a visible share of a small model's step on the CPU.
 */
export function pickTokens(logits: Tensor, V: number, s: ReturnType<typeof checkSampling>, rngs: readonly Rng[], seqs: readonly PickedSequence[]): number[] | Promise<number[]> {
  const sync = logits.backend.info.syncRead;
  if (isGreedy(s)) {
    const { ids, sums } = tidy(() => {
      const real = sliceAxis(logits, 1, 0, V);
      return { ids: argMax(real, -1), sums: sum(real, -1) };
    });
    const picks = (picked: TypedArray, totals: TypedArray): number[] => {
      const bad = Array.from(totals).findIndex((t) => !Number.isFinite(t));
      if (bad >= 0) throw new NonFiniteLogitsError(bad, seqs[bad].ids.length);
      return Array.from(picked);
    };
    const free = (): void => {
      ids.dispose();
      sums.dispose();
    };
    if (sync) {
      try {
        return picks(ids.dataSync(), sums.dataSync());
      } finally {
        free();
      }
    }
    return Promise.all([ids.data(), sums.data()]).then(([a, b]) => picks(a, b)).finally(free);
  }
  const sampleRows = (rows: TypedArray): number[] => pickFromRows(rows, logits.shape[0], V, s, rngs, seqs);
  return sync ? sampleRows(logits.dataSync()) : logits.data().then(sampleRows);
}

/**
 * Picks one id per row of logits read to the host (B rows of the padded vocabulary, the first
 * V ids eligible): the argmax (first of equals) when greedy, else a draw. A non-finite logit is
 * a `NonFiniteLogitsError`.
 */
export function pickFromRows(rows: TypedArray, B: number, V: number, s: ReturnType<typeof checkSampling>, rngs: readonly Rng[], seqs: readonly PickedSequence[]): number[] {
  const Vp = rows.length / B;
  for (let b = 0; b < B; b++) {
    const row = rows.subarray(b * Vp, b * Vp + V);
    if (!row.every(Number.isFinite)) throw new NonFiniteLogitsError(b, seqs[b].ids.length);
  }
  if (isGreedy(s)) return Array.from({ length: B }, (_, b) => argmax(rows.subarray(b * Vp, b * Vp + V)));
  // The context (prompt and tokens so far) matters only to the repetition penalty: not copied otherwise.
  const context = (b: number): number[] => (s.repetitionPenalty !== 1 ? [...seqs[b].promptIds, ...seqs[b].ids] : []);
  return Array.from({ length: B }, (_, b) => sampleToken(rows.subarray(b * Vp, (b + 1) * Vp), V, s, rngs[b], context(b)));
}
