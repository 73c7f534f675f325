import type { Tensor } from '@mamba3/tensor';
import { ArgumentError, arange, cast, div, formatShape, gather, logSoftmax, maximum, mul, notEqual, reshape, ShapeError, sum, where, add, neg, tidy } from '@mamba3/tensor';

export interface CrossEntropyOptions {
  /** Targets equal to this are left out of the mean (default -100, as PyTorch). */
  ignoreIndex?: number;
}

/**
 * Mean cross-entropy (nats) of logits [..., V] against int32 targets [...], over the targets
 * that are not `ignoreIndex`.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, opts?: CrossEntropyOptions): Tensor {
  const ignore = opts?.ignoreIndex ?? -100;
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
    const logp = reshape(logSoftmax(reshape(logits, [n, V])), [n * V]);
    const rows = add(mul(arange(0, n, 1, { backend: logits.backend }), V), safe);
    const picked = gather(logp, rows, 0);
    const weight = cast(keep, logits.dtype);
    return div(neg(sum(mul(picked, weight))), maximum(sum(weight), 1));
  });
}
