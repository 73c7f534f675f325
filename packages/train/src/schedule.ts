import { ArgumentError } from '@mamba3/tensor';

export interface CosineSchedule {
  /** Peak learning rate, reached after warmup. */
  lr: number;
  /** Final learning rate (default lr / 10). */
  minLr?: number;
  warmupSteps: number;
  totalSteps: number;
}

/** Linear warmup from 0, then cosine decay to minLr at totalSteps (flat after). */
export function cosineLr(step: number, s: CosineSchedule): number {
  if (!(s.totalSteps > 0) || s.warmupSteps < 0) throw new ArgumentError(`cosineLr: totalSteps must be > 0 and warmupSteps >= 0, got ${s.totalSteps}, ${s.warmupSteps}`);
  const minLr = s.minLr ?? s.lr / 10;
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  return minLr + 0.5 * (s.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}
