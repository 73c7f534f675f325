/**
 * @mamba3/train: losses, AdamW, schedules, data loaders and the training loop for Mamba-3
 * language models on any backend, plus the paper's state-tracking tasks (parity, modular
 * arithmetic without brackets).
 */
export { crossEntropy } from './loss.js';
export type { CrossEntropyOptions } from './loss.js';
export { AdamW, clipGradNorm, officialNoDecay } from './optim.js';
export type { AdamWOptions } from './optim.js';
export { cosineLr } from './schedule.js';
export type { CosineSchedule } from './schedule.js';
export { TokenStream } from './data.js';
export type { Batch } from './data.js';
export { ProgressBar, formatTime } from './progress.js';
export { LmTrainer } from './trainer.js';
export { checkTrainOptions } from './trainer.js';
export type { TrainOptions, EvalEntry } from './trainer.js';
export { trainParity, parityBatch, parityAccuracy, parityModelConfig, parityTask, PARITY_BOS } from './tasks/parity.js';
export type { ParityOptions, ParityResult } from './tasks/parity.js';
export { trainModArith, modArithBatch, modArithValues, modArithTask, MOD_ARITH_OPS, MOD_ARITH_BOS, MOD_ARITH_MODULUS } from './tasks/modarith.js';
export { trainStateTask, stateTaskAccuracy, stateTaskModelConfig } from './tasks/synthetic.js';
export type { StateTask, StateTaskOptions, StateTaskResult } from './tasks/synthetic.js';
