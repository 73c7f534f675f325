import type { MambaConfigInput } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import type { Backend, Tensor } from '@mamba3/tensor';
import { argMax, dispose, Rng, sliceAxis, tidy } from '@mamba3/tensor';
import type { Batch } from '../data.js';
import { ProgressBar } from '../progress.js';
import { cosineLr } from '../schedule.js';
import { LmTrainer } from '../trainer.js';

/**
 * State-tracking tasks (the paper's synthetic suite): every sequence is a start token and
 * `length` symbols; targets are the task's answer so far at the positions that have one (the
 * rest are ignored), and the answers are the first `classes` token ids. Trained on short
 * sequences, evaluated on longer ones.
 */
export interface StateTask {
  readonly name: string;
  readonly vocabSize: number;
  /** Answers are token ids 0 .. classes-1 (the model's argmax is taken over these). */
  readonly classes: number;
  /** A batch of `length` symbols after the start token; `varied` draws each sequence's own symbol mix. */
  batch(batchSize: number, length: number, rng: Rng, backend: Backend | undefined, varied: boolean): Batch;
}

/** Targets at positions without an answer (the start token, operators). */
export const IGNORE = -100;

export interface StateTaskOptions {
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
  /** AdamW's second-moment decay (default AdamW's); 0.95 damps the loss spikes of long runs. */
  beta2?: number;
  /** Training sequences draw their own mix of symbols (evaluation always uses the uniform mix). */
  mixedDensity?: boolean;
  /** Called every `evalEvery` steps with the accuracy at evalLength. */
  evalEvery?: number;
  onEval?: (e: { step: number; loss: number; accuracy: number; lastAccuracy: number }) => void;
}

export interface StateTaskResult {
  task: string;
  complex: boolean;
  /** Accuracy over the answered positions at trainLength. */
  trainAccuracy: number;
  /** Accuracy over the answered positions of sequences of evalLength. */
  accuracy: number;
  /** Accuracy of each sequence's last answer (the answer for the whole sequence). */
  lastAccuracy: number;
  finalLoss: number;
  params: number;
  seconds: number;
}

export function stateTaskModelConfig(task: StateTask, o: StateTaskOptions): MambaConfigInput {
  return {
    dModel: o.dModel ?? 32,
    nLayer: o.nLayer ?? 2,
    vocabSize: task.vocabSize,
    ssmCfg: { layer: 'Mamba3', dState: o.dState ?? 16, headdim: o.headdim ?? 8, chunkSize: 32, complex: o.complex },
  };
}

/** Accuracy of the model's argmax (over the task's classes) at the answered positions, and at each sequence's last one. */
export async function stateTaskAccuracy(task: StateTask, model: MambaLMHeadModel, length: number, sequences: number, rng: Rng): Promise<{ accuracy: number; lastAccuracy: number }> {
  let correct = 0;
  let total = 0;
  let lastCorrect = 0;
  for (let done = 0; done < sequences; done += 64) {
    const n = Math.min(64, sequences - done);
    const batch = task.batch(n, length, rng, model.backend, false);
    const predicted: Tensor = tidy(() => argMax(sliceAxis(model.forward(batch.inputs), 2, 0, task.classes), -1));
    const [pred, want] = await Promise.all([predicted.data(), batch.targets.data()]);
    const L = length + 1;
    for (let b = 0; b < n; b++) {
      let last = -1;
      for (let t = 0; t < L; t++) {
        const i = b * L + t;
        if (want[i] === IGNORE) continue;
        total++;
        if (pred[i] === want[i]) correct++;
        last = i;
      }
      if (last >= 0 && pred[last] === want[last]) lastCorrect++;
    }
    dispose([predicted, batch]);
  }
  return { accuracy: correct / total, lastAccuracy: lastCorrect / sequences };
}

/** Trains one Mamba-3 LM on `task` and evaluates it at the training length and at evalLength. */
export async function trainStateTask(task: StateTask, o: StateTaskOptions): Promise<StateTaskResult> {
  const started = performance.now();
  const rng = new Rng(o.seed ?? 0);
  const steps = o.steps ?? 2000;
  const trainLength = o.trainLength ?? 64;
  const evalLength = o.evalLength ?? 256;
  const batchSize = o.batchSize ?? 64;
  const model = MambaLMHeadModel.create(stateTaskModelConfig(task, o), { seed: o.seed ?? 0, backend: o.backend });
  const trainer = LmTrainer.fromModel(model, { weightDecay: o.weightDecay ?? 0, ...(o.beta2 !== undefined ? { beta2: o.beta2 } : {}) });
  trainer.lossOptions = { labelSmoothing: o.labelSmoothing ?? 0 };
  model.dispose();
  const bar = o.progress === false ? null : new ProgressBar(steps, { label: `${task.name} complex=${o.complex}` });
  let loss = Number.NaN;
  try {
    for (let s = 0; s < steps; s++) {
      const lr = cosineLr(s, { lr: o.lr ?? 3e-3, ...(o.minLr !== undefined ? { minLr: o.minLr } : {}), warmupSteps: Math.min(100, steps / 10), totalSteps: steps });
      const batch = task.batch(batchSize, trainLength, rng, o.backend, o.mixedDensity ?? false);
      loss = await trainer.update([batch], lr, 1);
      dispose(batch);
      bar?.update(s + 1, { loss }, (s + 1) * batchSize * trainLength);
      if (o.evalEvery && (s + 1) % o.evalEvery === 0 && o.onEval) {
        const m = trainer.model();
        const acc = await stateTaskAccuracy(task, m, evalLength, 128, new Rng(12345));
        m.dispose();
        o.onEval({ step: s + 1, loss, ...acc });
      }
    }
    bar?.done();
    const m = trainer.model();
    const train = await stateTaskAccuracy(task, m, trainLength, o.evalSequences ?? 256, new Rng(777));
    const test = await stateTaskAccuracy(task, m, evalLength, o.evalSequences ?? 256, new Rng(778));
    const params = m.paramCount;
    m.dispose();
    return { task: task.name, complex: o.complex, trainAccuracy: train.accuracy, accuracy: test.accuracy, lastAccuracy: test.lastAccuracy, finalLoss: loss, params, seconds: (performance.now() - started) / 1000 };
  } finally {
    trainer.dispose();
  }
}
