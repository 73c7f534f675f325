import type { MambaConfigInput } from '@mamba3/model';
import type { MambaLMHeadModel } from '@mamba3/model';
import type { Backend } from '@mamba3/tensor';
import { Rng, tensor } from '@mamba3/tensor';
import type { Batch } from '../data.js';
import type { StateTask, StateTaskOptions, StateTaskResult } from './synthetic.js';
import { IGNORE, stateTaskAccuracy, stateTaskModelConfig, trainStateTask } from './synthetic.js';

/**
 * Running parity (the paper's state-tracking task): input bits x_1..x_T after a start token,
 * target at every position t is x_1 ⊕ … ⊕ x_t. Trained on sequences of length trainLength (so
 * every prefix length up to it), evaluated on longer sequences.
 */

/** Token ids: the two bits and the start token, whose position has no target. */
export const PARITY_BOS = 2;

export type ParityOptions = StateTaskOptions;
export type ParityResult = StateTaskResult;

/**
 * [start, x_1 .. x_length] with targets [ignored, parity_1 .. parity_length]. Bits are fair coins,
 * or with `mixedDensity` each sequence draws its own probability of a one (so some training
 * strings hold many ones, which asks for a precise rotation per one).
 */
export function parityBatch(batchSize: number, length: number, rng: Rng, backend?: Backend, mixedDensity = false): Batch {
  const L = length + 1;
  const inputs = new Int32Array(batchSize * L);
  const targets = new Int32Array(batchSize * L);
  for (let b = 0; b < batchSize; b++) {
    inputs[b * L] = PARITY_BOS;
    targets[b * L] = IGNORE;
    const density = mixedDensity ? rng.uniform() : 0.5;
    let p = 0;
    for (let t = 1; t < L; t++) {
      const bit = rng.uniform() < density ? 1 : 0;
      p ^= bit;
      inputs[b * L + t] = bit;
      targets[b * L + t] = p;
    }
  }
  return { inputs: tensor(inputs, [batchSize, L], { dtype: 'int32', backend }), targets: tensor(targets, [batchSize, L], { dtype: 'int32', backend }) };
}

export const parityTask: StateTask = { name: 'parity', vocabSize: 3, classes: 2, batch: parityBatch };

export function parityModelConfig(o: ParityOptions): MambaConfigInput {
  return stateTaskModelConfig(parityTask, o);
}

/** Accuracy of the model's argmax (over the two real classes) at every position and at the last. */
export function parityAccuracy(model: MambaLMHeadModel, length: number, sequences: number, rng: Rng): Promise<{ accuracy: number; lastAccuracy: number }> {
  return stateTaskAccuracy(parityTask, model, length, sequences, rng);
}

export function trainParity(o: ParityOptions): Promise<ParityResult> {
  return trainStateTask(parityTask, o);
}
