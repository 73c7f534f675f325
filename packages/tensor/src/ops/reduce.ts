import type { ReduceOp } from '../backend.js';
import { isFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { DTypeError, ShapeError } from '../errors.js';
import { formatShape, normalizeAxes, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { add, div, equal, exp, log, mul, stopGradient, sub } from './elementwise.js';
import { broadcastTo, identity, reshape } from './layout.js';
import { checkInputs, make } from './util.js';

export interface ReduceOptions {
  keepDims?: boolean;
}

function keptShape(shape: readonly number[], axes: readonly number[]): number[] {
  return shape.map((d, i) => (axes.includes(i) ? 1 : d));
}

function reduce(op: ReduceOp, x: Tensor, axis: number | readonly number[] | undefined, keepDims: boolean): Tensor {
  const backend = checkInputs(op, { x });
  const axes = normalizeAxes(op, axis, x.rank);
  for (const a of axes) {
    if (x.shape[a] === 0 && (op === 'max' || op === 'min' || op === 'mean')) {
      throw new ShapeError(`${op}: cannot reduce empty axis ${a} of ${formatShape(x.shape)}`);
    }
  }
  if (op === 'mean' && !isFloatDType(x.dtype)) throw new DTypeError(`mean: needs a float tensor, got ${x.dtype}`);
  const kept = keptShape(x.shape, axes);
  const outShape = x.shape.filter((_, i) => !axes.includes(i));
  let y: Tensor;
  if (axes.length === 0) {
    y = identity(x);
  } else {
    y = make(backend, backend.reduce(op, x, axes, outShape), outShape, x.dtype);
    if (isFloatDType(x.dtype)) {
      engine.record(op, [x], [y], ([dy], [sx, sy]) => [reduceGrad(op, dy, sx, sy, kept, axes)], [x, y]);
    }
  }
  return keepDims ? reshape(y, kept) : y;
}

function reduceGrad(op: ReduceOp, dy: Tensor, x: Tensor, y: Tensor, kept: number[], axes: number[]): Tensor {
  const g = broadcastTo(reshape(dy, kept), x.shape);
  switch (op) {
    case 'sum':
      return g;
    case 'mean':
      return div(g, axes.reduce((n, a) => n * x.shape[a], 1));
    case 'prod':
      // d(prod)/dx_i = prod / x_i: assumes no zeros among the reduced elements.
      return mul(g, div(reshape(y, kept), x));
    case 'max':
    case 'min': {
      // Ties share the gradient equally.
      const mask = equal(x, reshape(y, kept));
      const count = sum(mask, axes, { keepDims: true });
      return div(mul(g, mask), count);
    }
  }
}

export const sum = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('sum', x, axis, opts?.keepDims ?? false);
export const mean = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('mean', x, axis, opts?.keepDims ?? false);
export const max = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('max', x, axis, opts?.keepDims ?? false);
export const min = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('min', x, axis, opts?.keepDims ?? false);
export const prod = (x: Tensor, axis?: number | readonly number[], opts?: ReduceOptions): Tensor =>
  reduce('prod', x, axis, opts?.keepDims ?? false);

function argReduce(op: 'argmax' | 'argmin', x: Tensor, axis: number): Tensor {
  const backend = checkInputs(op, { x });
  const a = normalizeAxis(op, axis, x.rank);
  if (x.shape[a] === 0) throw new ShapeError(`${op}: axis ${a} of ${formatShape(x.shape)} is empty`);
  const outShape = x.shape.filter((_, i) => i !== a);
  return make(backend, backend.argReduce(op, x, a, outShape), outShape, 'int32');
}

/** int32 index of the largest element along `axis` (the first on ties). */
export const argMax = (x: Tensor, axis = -1): Tensor => argReduce('argmax', x, axis);
export const argMin = (x: Tensor, axis = -1): Tensor => argReduce('argmin', x, axis);

/** log(sum(exp(x))) along `axis`, computed stably. */
export function logSumExp(x: Tensor, axis: number | readonly number[] = -1, opts?: ReduceOptions): Tensor {
  checkInputs('logSumExp', { x });
  const axes = normalizeAxes('logSumExp', axis, x.rank);
  // The shift's own gradient cancels out, so it is not taped.
  const m = stopGradient(max(x, axes, { keepDims: true }));
  const s = log(sum(exp(sub(x, m)), axes, { keepDims: true }));
  const y = add(s, m);
  return opts?.keepDims ? y : reshape(y, x.shape.filter((_, i) => !axes.includes(i)));
}

export interface CumsumOptions {
  exclusive?: boolean;
  reverse?: boolean;
}

/** Running sum along `axis`. */
export function cumsum(x: Tensor, axis = -1, opts?: CumsumOptions): Tensor {
  const backend = checkInputs('cumsum', { x });
  const a = normalizeAxis('cumsum', axis, x.rank);
  const exclusive = opts?.exclusive ?? false;
  const reverse = opts?.reverse ?? false;
  const y = make(backend, backend.cumsum(x, a, exclusive, reverse), x.shape, x.dtype);
  if (isFloatDType(x.dtype)) {
    engine.record('cumsum', [x], [y], ([dy]) => [cumsum(dy, a, { exclusive, reverse: !reverse })]);
  }
  return y;
}
