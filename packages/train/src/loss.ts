import type { Tensor } from '@mamba3/tensor';
import { ArgumentError, arange, cast, div, formatShape, gather, logSoftmax, maximum, mean, mul, notEqual, reshape, ShapeError, sum, where, add, neg, tidy } from '@mamba3/tensor';

export interface CrossEntropyOptions {
  /** Targets equal to this are left out of the mean (default -100, as PyTorch). */
  ignoreIndex?: number;
  /**
   * PyTorch's `label_smoothing`: the target is (1 - ε) on the label plus ε/V on every class, so
   * the loss stays above zero and confident predictions keep a gradient (default 0).
   */
  labelSmoothing?: number;
}

/**
 * Mean cross-entropy (nats) of logits [..., V] against int32 targets [...], over the targets
 * that are not `ignoreIndex`.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): Tensor {
  const ignore = opts?.ignoreIndex ?? -100;
  const smoothing = opts?.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new ArgumentError(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  if (targets.dtype !== 'int32') throw new ArgumentError(`crossEntropy: targets must be int32, got ${targets.dtype}`);
  const V = logits.shape[logits.rank - 1];
  if (logits.rank !== targets.rank + 1 || targets.shape.some((d, i) => d !== logits.shape[i])) {
    throw new ShapeError(`crossEntropy: logits ${formatShape(logits.shape)} need targets ${formatShape(logits.shape.slice(0, -1))}, got ${formatShape(targets.shape)}`);
  }
  return tidy(() => {
    const n = targets.size;
    const flatTargets = reshape(targets, [n]);
    const keep = notEqual(flatTargets, ignore);
    const safe = where(keep, flatTargets, 0);
    // log p(target) for each row: one gather from the flattened log-probabilities.
    const logp2d = logSoftmax(reshape(logits, [n, V]));
    const logp = reshape(logp2d, [n * V]);
    const rows = add(mul(arange(0, n, 1, { backend: logits.backend }), V), safe);
    let picked = gather(logp, rows, 0);
    if (smoothing > 0) picked = add(mul(picked, 1 - smoothing), mul(mean(logp2d, -1), smoothing));
    const weight = cast(keep, logits.dtype);
    return div(neg(sum(mul(picked, weight))), maximum(sum(weight), 1));
  });
}
