import type { Backend } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { dtypeOfArray, isDType, toArrayOf } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, DTypeError, ShapeError } from '../errors.js';
import { Rng } from '../random.js';
import type { Shape } from '../shape.js';
import { assertValidShape, formatShape, sizeOf } from '../shape.js';
import type { NestedArray } from '../tensor.js';
import { Tensor } from '../tensor.js';
import { checkBackendDType, checkInputs, make } from './util.js';

export interface CreateOptions {
  dtype?: DType;
  /** Backend to create on (default: the active one). */
  backend?: Backend;
}

function pickBackend(opts?: CreateOptions): Backend {
  return opts?.backend ?? engine.getBackend();
}

function flatten(values: NestedArray, out: number[], shape: number[], depth: number): void {
  if (typeof values === 'number') {
    if (depth !== shape.length && shape.length > 0) throw new ShapeError('tensor: ragged nested array');
    out.push(values);
    return;
  }
  if (!Array.isArray(values)) throw new ArgumentError(`tensor: expected numbers or arrays, got ${typeof values}`);
  if (shape.length === depth) shape.push(values.length);
  else if (shape[depth] !== values.length) throw new ShapeError('tensor: ragged nested array');
  for (const v of values) flatten(v, out, shape, depth + 1);
}

/**
 * A tensor from values: a typed array (with a shape), a flat number array (with a shape), a
 * nested array (shape inferred) or a single number (a scalar).
 */
export function tensor(values: TypedArray | NestedArray | readonly number[], shape?: Shape, opts?: CreateOptions): Tensor {
  const backend = pickBackend(opts);
  let flat: ArrayLike<number>;
  let inferred: number[];
  let dtype: DType;
  if (ArrayBuffer.isView(values)) {
    flat = values as TypedArray;
    dtype = opts?.dtype ?? dtypeOfArray(values as TypedArray);
    inferred = [flat.length];
  } else {
    const out: number[] = [];
    inferred = [];
    flatten(values as NestedArray, out, inferred, 0);
    flat = out;
    dtype = opts?.dtype ?? 'float32';
  }
  if (!isDType(dtype)) throw new DTypeError(`tensor: unknown dtype ${String(dtype)}`);
  const finalShape = shape ? [...shape] : inferred;
  assertValidShape('tensor', finalShape);
  if (sizeOf(finalShape) !== flat.length) {
    throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${formatShape(finalShape)} (${sizeOf(finalShape)} elements)`);
  }
  checkBackendDType('tensor', backend, dtype);
  const data = ArrayBuffer.isView(flat) && dtypeOfArray(flat as TypedArray) === dtype ? (flat as TypedArray) : toArrayOf(dtype, flat);
  return make(backend, backend.upload(data, finalShape, dtype), finalShape, dtype);
}

export function scalar(value: number, opts?: CreateOptions): Tensor {
  return tensor([value], [], opts);
}

export function full(shape: Shape, value: number, opts?: CreateOptions): Tensor {
  const backend = pickBackend(opts);
  const dtype = opts?.dtype ?? 'float32';
  assertValidShape('full', shape);
  checkBackendDType('full', backend, dtype);
  return make(backend, backend.fill(shape, dtype, value), shape, dtype);
}

export function zeros(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts?: CreateOptions): Tensor {
  return full(shape, 1, opts);
}

export function fullLike(x: Tensor, value: number, dtype: DType = x.dtype): Tensor {
  checkInputs('fullLike', { x });
  return full(x.shape, value, { dtype, backend: x.backend });
}

export function zerosLike(x: Tensor): Tensor {
  return fullLike(x, 0);
}

export function onesLike(x: Tensor): Tensor {
  return fullLike(x, 1);
}

/** [start, start+step, ...) below `stop`. */
export function arange(start: number, stop?: number, step = 1, opts?: CreateOptions): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (step === 0) throw new ArgumentError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const values = new Array<number>(n);
  for (let i = 0; i < n; i++) values[i] = start + i * step;
  return tensor(values, [n], { dtype: 'int32', ...opts });
}

export interface RandomOptions extends CreateOptions {
  seed?: number;
  rng?: Rng;
}

function fillRandom(op: string, shape: Shape, opts: RandomOptions | undefined, sample: (rng: Rng) => number): Tensor {
  assertValidShape(op, shape);
  const dtype = opts?.dtype ?? 'float32';
  if (dtype === 'int32') throw new DTypeError(`${op}: dtype must be float32 or float64`);
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const n = sizeOf(shape);
  const values = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = sample(rng);
  return tensor(values, shape, { ...opts, dtype });
}

export function randomNormal(shape: Shape, opts?: RandomOptions & { mean?: number; std?: number }): Tensor {
  const mean = opts?.mean ?? 0;
  const std = opts?.std ?? 1;
  return fillRandom('randomNormal', shape, opts, (r) => mean + std * r.normal());
}

export function randomUniform(shape: Shape, opts?: RandomOptions & { min?: number; max?: number }): Tensor {
  const min = opts?.min ?? 0;
  const max = opts?.max ?? 1;
  return fillRandom('randomUniform', shape, opts, (r) => min + (max - min) * r.uniform());
}

/** A copy of `x` on another backend (reads it back, so this is async). */
export async function toBackend(x: Tensor, backend: Backend | string): Promise<Tensor> {
  checkInputs('toBackend', { x });
  const target = typeof backend === 'string' ? await engine.initBackend(backend) : backend;
  if (target === x.backend) return engine.shareTensor(x);
  checkBackendDType('toBackend', target, x.dtype);
  const values = await x.data();
  return make(target, target.upload(values, x.shape, x.dtype), x.shape, x.dtype);
}
