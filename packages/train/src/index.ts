/**
 * @mamba3/train: losses, AdamW, schedules, data loaders and the training loop for Mamba-3
 * language models on any backend, plus the parity (state-tracking) task.
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
export type { TrainOptions, EvalEntry } from './trainer.js';
export { trainParity, parityBatch, parityAccuracy, parityModelConfig } from './tasks/parity.js';
export type { ParityOptions, ParityResult } from './tasks/parity.js';
