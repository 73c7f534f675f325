import type { Backend } from '@mamba3/tensor';
import { Rng, tensor } from '@mamba3/tensor';
import type { Batch } from '../data.js';
import type { StateTask, StateTaskOptions, StateTaskResult } from './synthetic.js';
import { IGNORE, trainStateTask } from './synthetic.js';

/**
 * Modular arithmetic without brackets (Delétang et al. 2023, the Mamba-3 paper's second
 * state-tracking task): d_1 op d_2 op … d_k with digits mod 5 and op in {+, −, ×}, × binding
 * tighter than + and −. After a start token the sequence alternates digit, operator, digit, …;
 * the target at every digit is the value mod 5 of the expression so far (the last one is the
 * whole expression's), operators have none.
 */

export const MOD_ARITH_MODULUS = 5;
/** Token ids: digits 0-4, then +, −, × and the start token. */
export const MOD_ARITH_OPS = { '+': 5, '-': 6, '*': 7 } as const;
export const MOD_ARITH_BOS = 8;

const M = MOD_ARITH_MODULUS;
const mod = (v: number): number => ((v % M) + M) % M;

/**
 * The value of the expression so far at each digit: a running sum of the finished terms and the
 * signed product of the open one (what a finite automaton with 25 states tracks).
 */
export function modArithValues(tokens: readonly number[]): number[] {
  let sum = 0;
  let term = 0;
  let op: number = MOD_ARITH_OPS['+'];
  return tokens.map((tok) => {
    if (tok >= M) {
      op = tok;
      return IGNORE;
    }
    if (op === MOD_ARITH_OPS['*']) term = mod(term * tok);
    else {
      sum = mod(sum + term);
      term = op === MOD_ARITH_OPS['-'] ? mod(-tok) : tok;
    }
    return mod(sum + term);
  });
}

/**
 * [start, d_1, op_1, d_2, …] of `length` symbols (digits at odd offsets from the start) with the
 * running values as targets. With `varied`, each sequence draws its own operator probabilities
 * (some nearly all ×, some nearly all +) instead of a uniform third each.
 */
export function modArithBatch(batchSize: number, length: number, rng: Rng, backend?: Backend, varied = false): Batch {
  const L = length + 1;
  const inputs = new Int32Array(batchSize * L);
  const targets = new Int32Array(batchSize * L);
  const ops = [MOD_ARITH_OPS['+'], MOD_ARITH_OPS['-'], MOD_ARITH_OPS['*']];
  for (let b = 0; b < batchSize; b++) {
    let weights = [1, 1, 1];
    if (varied) weights = ops.map(() => rng.uniform() + 1e-3);
    const total = weights.reduce((a, w) => a + w, 0);
    const row: number[] = [];
    for (let t = 1; t < L; t++) {
      if (t % 2 === 1) {
        row.push(rng.int(M));
      } else {
        let u = rng.uniform() * total;
        let k = 0;
        while (k < 2 && u >= weights[k]) u -= weights[k++];
        row.push(ops[k]);
      }
    }
    const values = modArithValues(row);
    inputs[b * L] = MOD_ARITH_BOS;
    targets[b * L] = IGNORE;
    row.forEach((tok, i) => {
      inputs[b * L + 1 + i] = tok;
      targets[b * L + 1 + i] = values[i];
    });
  }
  return { inputs: tensor(inputs, [batchSize, L], { dtype: 'int32', backend }), targets: tensor(targets, [batchSize, L], { dtype: 'int32', backend }) };
}

export const modArithTask: StateTask = { name: 'modarith', vocabSize: 9, classes: M, batch: modArithBatch };

export function trainModArith(o: StateTaskOptions): Promise<StateTaskResult> {
  return trainStateTask(modArithTask, o);
}
