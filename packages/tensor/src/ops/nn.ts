import { recordCompositeGrad } from '../autograd.js';
import { engine } from '../engine.js';
import { ArgumentError, ShapeError } from '../errors.js';
import { formatShape, normalizeAxis, shapesEqual } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, exp, mul, rsqrt, silu, square, stopGradient, sub } from './elementwise.js';
import { identity, reshape, swapAxes } from './layout.js';
import { linear } from './matmul.js';
import { Rng } from '../random.js';
import { logSumExp, max, mean, sum } from './reduce.js';
import { checkFloat, checkInputs, checkSameDType, make } from './util.js';

/** Runs `fn` on `x` with `axis` moved last (fused kernels work on the last axis). */
function onLastAxis(x: Tensor, axis: number, fn: (t: Tensor) => Tensor): Tensor {
  const a = normalizeAxis('softmax', axis, x.rank);
  if (a === x.rank - 1) return fn(x);
  return swapAxes(fn(swapAxes(x, a, -1)), a, -1);
}

function softmaxComposite(x: Tensor): Tensor {
  const e = exp(sub(x, stopGradient(max(x, -1, { keepDims: true }))));
  return div(e, sum(e, -1, { keepDims: true }));
}

function logSoftmaxComposite(x: Tensor): Tensor {
  return sub(x, logSumExp(x, -1, { keepDims: true }));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const backend = checkInputs('softmax', { x });
  checkFloat('softmax', 'x', x);
  return onLastAxis(x, axis, (t) => {
    if (!backend.softmax) return softmaxComposite(t);
    const y = make(backend, backend.softmax(t), t.shape, t.dtype);
    recordCompositeGrad('softmax', [t], [y], (a) => [softmaxComposite(a)]);
    return y;
  });
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const backend = checkInputs('logSoftmax', { x });
  checkFloat('logSoftmax', 'x', x);
  return onLastAxis(x, axis, (t) => {
    if (!backend.logSoftmax) return logSoftmaxComposite(t);
    const y = make(backend, backend.logSoftmax(t), t.shape, t.dtype);
    recordCompositeGrad('logSoftmax', [t], [y], (a) => [logSoftmaxComposite(a)]);
    return y;
  });
}

function checkWeight(op: string, weight: Tensor | null | undefined, dim: number): void {
  if (weight && (weight.rank !== 1 || weight.shape[0] !== dim)) {
    throw new ShapeError(`${op}: weight ${formatShape(weight.shape)} should be [${dim}] (the last dim of x)`);
  }
}

function rmsNormComposite(x: Tensor, weight: Tensor | null, eps: number): Tensor {
  const y = mul(x, rsqrt(add(mean(square(x), -1, { keepDims: true }), eps)));
  return weight ? mul(y, weight) : y;
}

/** x / sqrt(mean(x², last axis) + eps) · weight. */
export function rmsNorm(x: Tensor, weight?: Tensor | null, eps = 1e-5): Tensor {
  const backend = checkInputs('rmsNorm', weight ? { x, weight } : { x });
  checkFloat('rmsNorm', 'x', x);
  if (x.rank < 1) throw new ShapeError('rmsNorm: x must have rank >= 1');
  checkWeight('rmsNorm', weight, x.shape[x.rank - 1]);
  if (weight) checkSameDType('rmsNorm', x, weight, ['x', 'weight']);
  const w = weight ?? null;
  if (!backend.rmsNorm) return rmsNormComposite(x, w, eps);
  const y = make(backend, backend.rmsNorm(x, w, eps), x.shape, x.dtype);
  const inputs = w ? [x, w] : [x];
  recordCompositeGrad('rmsNorm', inputs, [y], (a, b) => [rmsNormComposite(a, b ?? null, eps)]);
  return y;
}

export interface FusedLinearOptions {
  /** RMSNorm x over its last axis (times `weight`) before the product. */
  norm?: { weight: Tensor; eps?: number };
  /** Added to the product; shape [..., out]. */
  residual?: Tensor;
}

function fusedLinearComposite(x: Tensor, weight: Tensor, normWeight: Tensor | null, eps: number, residual: Tensor | null): Tensor {
  const y = linear(normWeight ? rmsNorm(x, normWeight, eps) : x, weight);
  return residual ? add(y, residual) : y;
}

/**
 * `linear(rmsNorm(x, norm.weight), weight) + residual`, the pre-norm block's two ends (either
 * part optional), in one kernel where the backend has one: a decode step's in_proj with its
 * norm, and out_proj with the residual add. Same values as the composite.
 */
export function fusedLinear(x: Tensor, weight: Tensor, opts: FusedLinearOptions = {}): Tensor {
  const normWeight = opts.norm?.weight ?? null;
  const residual = opts.residual ?? null;
  const eps = opts.norm?.eps ?? 1e-5;
  const backend = checkInputs('fusedLinear', { x, weight, ...(normWeight ? { normWeight } : {}), ...(residual ? { residual } : {}) });
  checkFloat('fusedLinear', 'x', x);
  if (weight.rank !== 2 || x.rank < 1 || x.shape[x.rank - 1] !== weight.shape[1]) {
    throw new ShapeError(`fusedLinear: x ${formatShape(x.shape)} does not fit weight ${formatShape(weight.shape)} ([out, in])`);
  }
  if (normWeight) checkWeight('fusedLinear', normWeight, weight.shape[1]);
  const outShape = [...x.shape.slice(0, -1), weight.shape[0]];
  if (residual && !shapesEqual(residual.shape, outShape)) {
    throw new ShapeError(`fusedLinear: residual ${formatShape(residual.shape)} should be the output's shape ${formatShape(outShape)}`);
  }
  for (const [name, t] of [['weight', weight], ['norm weight', normWeight], ['residual', residual]] as const) {
    if (t) checkSameDType('fusedLinear', x, t, ['x', name]);
  }
  const storage = backend.fusedLinear?.(x, weight, normWeight, eps, residual) ?? null;
  if (storage === null) return fusedLinearComposite(x, weight, normWeight, eps, residual);
  const y = make(backend, storage, outShape, x.dtype);
  const inputs = [x, weight, ...(normWeight ? [normWeight] : []), ...(residual ? [residual] : [])];
  recordCompositeGrad('fusedLinear', inputs, [y], (a, w, ...rest) => [fusedLinearComposite(a, w, normWeight ? rest[0] : null, eps, residual ? rest[normWeight ? 1 : 0] : null)]);
  return y;
}

export interface GatedRmsNormOptions {
  eps?: number;
  /** Normalise groups of this many elements along the last axis (default: the whole axis). */
  groupSize?: number;
  /** true: norm(x)·w·silu(z); false: norm(x·silu(z))·w. The official default is true. */
  normBeforeGate?: boolean;
}

function gatedComposite(x: Tensor, z: Tensor, weight: Tensor | null, eps: number, groupSize: number, normBeforeGate: boolean): Tensor {
  const dim = x.shape[x.rank - 1];
  const gate = silu(z);
  const input = normBeforeGate ? x : mul(x, gate);
  const grouped = reshape(input, [...x.shape.slice(0, -1), dim / groupSize, groupSize]);
  let y = reshape(rmsNormComposite(grouped, null, eps), x.shape);
  if (weight) y = mul(y, weight);
  return normBeforeGate ? mul(y, gate) : y;
}

/** The official `RMSNormGated` (mamba_ssm layernorm_gated), with its group and gate-order options. */
export function gatedRmsNorm(x: Tensor, z: Tensor, weight?: Tensor | null, opts?: GatedRmsNormOptions): Tensor {
  const backend = checkInputs('gatedRmsNorm', weight ? { x, z, weight } : { x, z });
  checkFloat('gatedRmsNorm', 'x', x);
  checkSameDType('gatedRmsNorm', x, z, ['x', 'z']);
  if (x.rank < 1 || formatShape(x.shape) !== formatShape(z.shape)) {
    throw new ShapeError(`gatedRmsNorm: z ${formatShape(z.shape)} must match x ${formatShape(x.shape)}`);
  }
  const dim = x.shape[x.rank - 1];
  checkWeight('gatedRmsNorm', weight, dim);
  const eps = opts?.eps ?? 1e-5;
  const groupSize = opts?.groupSize ?? dim;
  const normBeforeGate = opts?.normBeforeGate ?? true;
  if (!Number.isInteger(groupSize) || groupSize <= 0 || dim % groupSize !== 0) {
    throw new ArgumentError(`gatedRmsNorm: groupSize ${groupSize} must divide the last dim ${dim}`);
  }
  const w = weight ?? null;
  if (!backend.gatedRmsNorm) return gatedComposite(x, z, w, eps, groupSize, normBeforeGate);
  const y = make(backend, backend.gatedRmsNorm(x, z, w, eps, groupSize, normBeforeGate), x.shape, x.dtype);
  const inputs = w ? [x, z, w] : [x, z];
  recordCompositeGrad('gatedRmsNorm', inputs, [y], (a, b, c) => [gatedComposite(a, b, c ?? null, eps, groupSize, normBeforeGate)]);
  return y;
}


/**
 * Inverted dropout: zeroes each element with probability `rate` and scales the rest by
 * 1/(1 − rate). The mask comes from `rng` (or `seed`), so runs repeat.
 */
export function dropout(x: Tensor, rate: number, opts?: { rng?: Rng; seed?: number }): Tensor {
  checkInputs('dropout', { x });
  checkFloat('dropout', 'x', x);
  if (!(rate >= 0 && rate < 1)) throw new ArgumentError(`dropout: rate must be in [0, 1), got ${rate}`);
  if (rate === 0) return identity(x);
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const mask = new (x.dtype === 'float64' ? Float64Array : Float32Array)(x.size);
  const scale = 1 / (1 - rate);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.uniform() >= rate ? scale : 0;
  const m = make(x.backend, x.backend.upload(mask, x.shape, x.dtype), x.shape, x.dtype);
  const y = mul(x, m);
  m.dispose();
  return y;
}
