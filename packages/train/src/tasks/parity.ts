import type { MambaConfigInput } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import type { Backend, Tensor } from '@mamba3/tensor';
import { argMax, dispose, Rng, sliceAxis, tensor, tidy } from '@mamba3/tensor';
import type { Batch } from '../data.js';
import { ProgressBar } from '../progress.js';
import { cosineLr } from '../schedule.js';
import { LmTrainer } from '../trainer.js';

/**
 * Running parity (the paper's state-tracking task): input bits x_1..x_T after a start token,
 * target at every position t is x_1 ⊕ … ⊕ x_t. Trained on sequences of length trainLength (so
 * every prefix length up to it), evaluated on longer sequences.
 */

/** Token ids: the two bits and the start token, whose position has no target. */
export const PARITY_BOS = 2;
const IGNORE = -100;
export interface ParityOptions {
  /** Data-dependent rotations on (Mamba-3) or off (the real-valued ablation). */
  complex: boolean;
  trainLength?: number;
  evalLength?: number;
  steps?: number;
  batchSize?: number;
  lr?: number;
  dModel?: number;
  nLayer?: number;
  dState?: number;
  headdim?: number;
  evalSequences?: number;
  seed?: number;
  backend?: Backend;
  progress?: boolean;
  /** Label smoothing of the training loss (keeps a gradient on confident predictions; default 0). */
  labelSmoothing?: number;
  /** AdamW weight decay (official no-decay set; default 0). */
  weightDecay?: number;
  /** Final learning rate of the cosine schedule (default lr / 10). */
  minLr?: number;
  /** Training strings draw their own density of ones (evaluation always uses fair coins). */
  mixedDensity?: boolean;
  /** Called every `evalEvery` steps with the accuracy at evalLength. */
  evalEvery?: number;
  onEval?: (e: { step: number; loss: number; accuracy: number; lastAccuracy: number }) => void;
}

export interface ParityResult {
  complex: boolean;
  /** Per-position accuracy at trainLength. */
  trainAccuracy: number;
  /** Per-position accuracy on sequences of evalLength. */
  accuracy: number;
  /** Accuracy of the final position (the parity of all evalLength bits). */
  lastAccuracy: number;
  finalLoss: number;
  params: number;
  seconds: number;
}

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

export function parityModelConfig(o: ParityOptions): MambaConfigInput {
  return {
    dModel: o.dModel ?? 32,
    nLayer: o.nLayer ?? 2,
    vocabSize: 3,
    ssmCfg: { layer: 'Mamba3', dState: o.dState ?? 16, headdim: o.headdim ?? 8, chunkSize: 32, complex: o.complex },
  };
}

/** Accuracy of the model's argmax (over the two real classes) at every position and at the last. */
export async function parityAccuracy(model: MambaLMHeadModel, length: number, sequences: number, rng: Rng): Promise<{ accuracy: number; lastAccuracy: number }> {
  let correct = 0;
  let lastCorrect = 0;
  let total = 0;
  for (let done = 0; done < sequences; done += 64) {
    const n = Math.min(64, sequences - done);
    const batch = parityBatch(n, length, rng, model.backend);
    const predicted: Tensor = tidy(() => argMax(sliceAxis(model.forward(batch.inputs), 2, 0, 2), -1));
    const [pred, want] = await Promise.all([predicted.data(), batch.targets.data()]);
    const L = length + 1;
    for (let b = 0; b < n; b++) {
      for (let t = 1; t < L; t++) if (pred[b * L + t] === want[b * L + t]) correct++;
      if (pred[b * L + L - 1] === want[b * L + L - 1]) lastCorrect++;
    }
    total += n * length;
    dispose([predicted, batch]);
  }
  return { accuracy: correct / total, lastAccuracy: lastCorrect / sequences };
}

export async function trainParity(o: ParityOptions): Promise<ParityResult> {
  const started = performance.now();
  const rng = new Rng(o.seed ?? 0);
  const steps = o.steps ?? 2000;
  const trainLength = o.trainLength ?? 64;
  const evalLength = o.evalLength ?? 256;
  const model = MambaLMHeadModel.create(parityModelConfig(o), { seed: o.seed ?? 0, backend: o.backend });
  const trainer = LmTrainer.fromModel(model, { weightDecay: o.weightDecay ?? 0 });
  trainer.lossOptions = { labelSmoothing: o.labelSmoothing ?? 0 };
  model.dispose();
  const bar = o.progress === false ? null : new ProgressBar(steps, { label: `parity complex=${o.complex}` });
  let loss = Number.NaN;
  try {
    for (let s = 0; s < steps; s++) {
      const lr = cosineLr(s, { lr: o.lr ?? 3e-3, ...(o.minLr !== undefined ? { minLr: o.minLr } : {}), warmupSteps: Math.min(100, steps / 10), totalSteps: steps });
      const batch = parityBatch(o.batchSize ?? 64, trainLength, rng, o.backend, o.mixedDensity ?? false);
      loss = await trainer.update([batch], lr, 1);
      dispose(batch);
      bar?.update(s + 1, { loss }, (s + 1) * (o.batchSize ?? 64) * trainLength);
      if (o.evalEvery && (s + 1) % o.evalEvery === 0 && o.onEval) {
        const m = trainer.model();
        const acc = await parityAccuracy(m, evalLength, 128, new Rng(12345));
        m.dispose();
        o.onEval({ step: s + 1, loss, ...acc });
      }
    }
    bar?.done();
    const m = trainer.model();
    const train = await parityAccuracy(m, trainLength, o.evalSequences ?? 256, new Rng(777));
    const test = await parityAccuracy(m, evalLength, o.evalSequences ?? 256, new Rng(778));
    const params = m.paramCount;
    m.dispose();
    return { complex: o.complex, trainAccuracy: train.accuracy, accuracy: test.accuracy, lastAccuracy: test.lastAccuracy, finalLoss: loss, params, seconds: (performance.now() - started) / 1000 };
  } finally {
    trainer.dispose();
  }
}
