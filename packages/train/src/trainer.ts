import type { MambaConfig, LmParams } from '@mamba3/model';
import { lmLogits, lmSequence, MambaLMHeadModel, organise, yieldToEventLoop } from '@mamba3/model';
import type { Tensor } from '@mamba3/tensor';
import { add, ArgumentError, ConfigError, dispose, div, identity, isIntAtLeast, keep, positiveInt, positiveNumber, Rng, tidy, valueAndGrads } from '@mamba3/tensor';
import type { Batch } from './data.js';
import { TokenStream } from './data.js';
import type { CrossEntropyOptions } from './loss.js';
import { crossEntropy } from './loss.js';
import type { AdamWOptions } from './optim.js';
import { AdamW, clipGradNorm } from './optim.js';
import { ProgressBar } from './progress.js';
import type { CosineSchedule } from './schedule.js';
import { cosineLr } from './schedule.js';

export interface TrainOptions {
  steps: number;
  batchSize: number;
  seqLen: number;
  /** Peak learning rate (warmup, then cosine to minLr). */
  lr: number;
  minLr?: number;
  warmupSteps?: number;
  /** Global gradient-norm clip (0: off). Default 1. */
  gradClip?: number;
  /** Micro-batches whose gradients are summed before each update. Default 1. */
  accumulate?: number;
  evalEvery?: number;
  /** Validation batches per evaluation (default: the whole validation split). */
  evalBatches?: number;
  seed?: number;
  /** Show a progress bar on stderr. Default true. */
  progress?: boolean;
  /** Called after every evaluation and at the end. */
  onEval?: (e: EvalEntry) => void | Promise<void>;
  /** Called every `checkpointEvery` steps and at the end (e.g. `saveCheckpoint` from `@mamba3/train/node`). */
  onCheckpoint?: (t: LmTrainer) => void | Promise<void>;
  checkpointEvery?: number;
  /**
   * Stops training after the current step (e.g. on Ctrl-C): the last checkpoint is written
   * (`onCheckpoint`) and `fit` returns early, without the final evaluation.
   */
  signal?: AbortSignal;
}

/** Checks every number of `TrainOptions` (errors name the option) before any step runs. */
export function checkTrainOptions(o: TrainOptions): void {
  const where = 'TrainOptions';
  positiveInt(where, 'steps', o.steps);
  positiveInt(where, 'batchSize', o.batchSize);
  positiveInt(where, 'seqLen', o.seqLen);
  positiveNumber(where, 'lr', o.lr);
  for (const k of ['accumulate', 'evalBatches'] as const) if (o[k] !== undefined) positiveInt(where, k, o[k]);
  for (const k of ['warmupSteps', 'evalEvery', 'checkpointEvery'] as const) if (o[k] !== undefined) positiveInt(where, k, o[k], 0);
  for (const k of ['minLr', 'gradClip'] as const) {
    const v = o[k];
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new ConfigError(`${where}: ${k} must be a number >= 0, got ${String(v)}`);
  }
  if (o.seed !== undefined && !isIntAtLeast(o.seed, Number.MIN_SAFE_INTEGER)) throw new ConfigError(`${where}: seed must be an integer, got ${String(o.seed)}`);
}

export interface EvalEntry {
  step: number;
  trainLoss: number;
  valLoss: number;
  lr: number;
  tokensSeen: number;
  seconds: number;
}

/**
 * Trains a `MambaLMHeadModel` on any backend: cross-entropy on next tokens, AdamW with the
 * official no-decay set, gradient clipping and accumulation, warmup + cosine schedule.
 */
export class LmTrainer {
  readonly config: MambaConfig;
  /** Trainable parameters (a tied head is the embedding, so it is not listed twice). */
  params: LmParams;
  readonly optimizer: AdamW;
  step = 0;
  tokensSeen = 0;
  /** Options of the training loss (label smoothing); evaluation always uses the plain loss. */
  lossOptions: CrossEntropyOptions = {};

  /** Takes ownership of `params` (official names). */
  constructor(config: MambaConfig, params: LmParams, optimizer: AdamWOptions = {}) {
    this.config = config;
    this.params = Object.fromEntries(Object.entries(params).filter(([k]) => !(config.tieEmbeddings && k === 'lm_head.weight')).map(([k, v]) => [k, keep(v)]));
    this.optimizer = new AdamW(optimizer);
  }

  /** A trainer starting from a model's weights (new handles on the same storage: the model stays usable). */
  static fromModel(model: MambaLMHeadModel, optimizer?: AdamWOptions): LmTrainer {
    const tiedHead = (k: string): boolean => model.config.tieEmbeddings && k === 'lm_head.weight';
    const views = tidy(() => Object.fromEntries(Object.entries(model.params).filter(([k]) => !tiedHead(k)).map(([k, v]) => [k, identity(v)])));
    return new LmTrainer(model.config, views, optimizer);
  }

  private withHead(params: LmParams): LmParams {
    return this.config.tieEmbeddings ? { ...params, 'lm_head.weight': params['backbone.embedding.weight'] } : params;
  }

  /** Mean next-token loss of a batch under `params` (with `opts`: the training loss's options). */
  loss(params: LmParams, batch: Batch, opts?: CrossEntropyOptions): Tensor {
    return tidy(() => {
      const w = organise(this.withHead(params), this.config);
      const { hidden, states } = lmSequence(w, this.config, batch.inputs);
      dispose(states.filter((s) => s !== null));
      return crossEntropy(lmLogits(w, hidden), batch.targets, opts);
    });
  }

  /** One update from one or more micro-batches; returns the mean training loss. */
  async update(batches: readonly Batch[], lr: number, gradClip = 1): Promise<number> {
    if (batches.length === 0) throw new ArgumentError('LmTrainer.update: no batches');
    const names = Object.keys(this.params).sort();
    let gradSum: Record<string, Tensor> | null = null;
    let lossSum: Tensor | null = null;
    for (const batch of batches) {
      const { value, grads } = valueAndGrads((...ps) => this.loss(Object.fromEntries(names.map((n, i) => [n, ps[i]])), batch, this.lossOptions))(names.map((n) => this.params[n]));
      const prevGrads: Record<string, Tensor> | null = gradSum;
      const prevLoss: Tensor | null = lossSum;
      gradSum = Object.fromEntries(names.map((n, i) => [n, keep(prevGrads ? add(prevGrads[n], grads[i]) : grads[i])]));
      lossSum = keep(prevLoss ? add(prevLoss, value) : value);
      if (prevGrads) dispose([prevGrads, grads]);
      if (prevLoss) dispose([prevLoss, value]);
      this.tokensSeen += batch.inputs.size;
    }
    const n = batches.length;
    const { grads, norm } = tidy(() => {
      const mean = Object.fromEntries(Object.entries(gradSum!).map(([k, g]) => [k, n > 1 ? div(g, n) : g]));
      return gradClip > 0 ? clipGradNorm(mean, gradClip) : { grads: mean, norm: null };
    });
    this.params = this.optimizer.update(this.params, grads, lr);
    dispose([grads, norm, gradSum]);
    const loss = (await lossSum!.data())[0] / n;
    lossSum!.dispose();
    this.step++;
    return loss;
  }

  /** Mean loss over validation batches (nats per token). */
  async evaluate(data: TokenStream, batchSize: number, seqLen: number, maxBatches?: number): Promise<number> {
    let total = 0;
    let count = 0;
    const backend = this.params['backbone.embedding.weight'].backend;
    for (const batch of data.validation(batchSize, seqLen, maxBatches, backend)) {
      const l = this.loss(this.params, batch);
      total += (await l.data())[0] * batch.inputs.size;
      count += batch.inputs.size;
      dispose([l, batch]);
    }
    if (count === 0) throw new ArgumentError(`evaluate: the validation split (${data.val.length} tokens) is shorter than one window of ${seqLen + 1}`);
    return total / count;
  }

  /** The trained model (its own copy of the current weights). */
  model(): MambaLMHeadModel {
    const copies = tidy(() => Object.fromEntries(Object.entries(this.params).map(([k, v]) => [k, add(v, 0)])));
    return MambaLMHeadModel.fromWeights(this.config, copies);
  }

  /** The training loop: random windows, periodic evaluation on the held-out split, checkpoints. */
  async fit(data: TokenStream, o: TrainOptions): Promise<EvalEntry[]> {
    checkTrainOptions(o);
    // A resumed run draws a fresh, still deterministic, stream of windows.
    const rng = new Rng((o.seed ?? 0) + this.step * 7919);
    const schedule: CosineSchedule = { lr: o.lr, minLr: o.minLr, warmupSteps: o.warmupSteps ?? Math.min(100, Math.floor(o.steps / 10)), totalSteps: o.steps };
    const backend = this.params['backbone.embedding.weight'].backend;
    const bar = o.progress === false ? null : new ProgressBar(o.steps, { label: `train[${backend.name}]` });
    const history: EvalEntry[] = [];
    const started = performance.now();
    const startTokens = this.tokensSeen;
    let recent = 0;
    let recentN = 0;
    const evalNow = async (): Promise<void> => {
      const valLoss = await this.evaluate(data, o.batchSize, o.seqLen, o.evalBatches);
      const e: EvalEntry = { step: this.step, trainLoss: recentN ? recent / recentN : Number.NaN, valLoss, lr: cosineLr(this.step, schedule), tokensSeen: this.tokensSeen, seconds: (performance.now() - started) / 1000 };
      history.push(e);
      recent = 0;
      recentN = 0;
      bar?.log(`step ${e.step}: train ${e.trainLoss.toFixed(4)}  val ${e.valLoss.toFixed(4)}  lr ${e.lr.toExponential(2)}  (${e.seconds.toFixed(0)} s)`);
      await o.onEval?.(e);
    };
    while (this.step < o.steps) {
      const lr = cosineLr(this.step, schedule);
      const batches = Array.from({ length: o.accumulate ?? 1 }, () => data.sample(o.batchSize, o.seqLen, rng, backend));
      const loss = await this.update(batches, lr, o.gradClip ?? 1);
      dispose(batches);
      if (!Number.isFinite(loss)) throw new ArgumentError(`training diverged at step ${this.step}: loss ${loss} (lower the learning rate?)`);
      recent += loss;
      recentN++;
      bar?.update(this.step, { loss }, this.tokensSeen - startTokens);
      if (o.evalEvery && this.step % o.evalEvery === 0 && this.step < o.steps) await evalNow();
      if (o.signal?.aborted) break;
      if (o.checkpointEvery && this.step % o.checkpointEvery === 0) await o.onCheckpoint?.(this);
      // Lets a signal handler run between steps (a CPU step blocks the event loop).
      await yieldToEventLoop();
    }
    if (o.signal?.aborted) {
      bar?.done();
      await o.onCheckpoint?.(this);
      return history;
    }
    await evalNow();
    bar?.update(this.step, {}, this.tokensSeen - startTokens, true);
    bar?.done();
    await o.onCheckpoint?.(this);
    return history;
  }

  dispose(): void {
    dispose(this.params);
    this.optimizer.dispose();
  }
}
