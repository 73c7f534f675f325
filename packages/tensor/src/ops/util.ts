import type { Backend } from '../backend.js';
import type { DType } from '../dtype.js';
import { isFloatDType } from '../dtype.js';
import { engine } from '../engine.js';
import { ArgumentError, BackendError, DTypeError, ShapeError } from '../errors.js';
import type { Shape } from '../shape.js';
import { formatShape } from '../shape.js';
import { Tensor } from '../tensor.js';

/** Checks that every argument is a live tensor and that all live on one backend; returns it. */
export function checkInputs(op: string, named: Record<string, Tensor>): Backend {
  let backend: Backend | null = null;
  let first = '';
  // Every op runs this: no entries array, and the error text only built for a disposed tensor.
  for (const name in named) {
    const t = named[name];
    if (!(t instanceof Tensor)) {
      throw new ArgumentError(`${op}: argument "${name}" must be a Tensor, got ${describe(t)}`);
    }
    if (t.isDisposed) t.assertAlive(`${op} (argument "${name}")`);
    if (backend === null) {
      backend = t.backend;
      first = name;
    } else if (t.backend !== backend) {
      throw new BackendError(
        `${op}: "${first}" is on the ${backend.name} backend but "${name}" is on ${t.backend.name}; move one with toBackend()`,
      );
    }
  }
  if (backend === null) throw new ArgumentError(`${op}: no tensor arguments`);
  return backend;
}

export function checkFloat(op: string, name: string, t: Tensor): void {
  if (!isFloatDType(t.dtype)) {
    throw new DTypeError(`${op}: "${name}" must be float32 or float64, got ${t.dtype} ${formatShape(t.shape)}`);
  }
}

export function checkDType(op: string, name: string, t: Tensor, dtype: DType): void {
  if (t.dtype !== dtype) throw new DTypeError(`${op}: "${name}" must be ${dtype}, got ${t.dtype} ${formatShape(t.shape)}`);
}

export function checkSameDType(op: string, a: Tensor, b: Tensor, names: [string, string] = ['a', 'b']): void {
  if (a.dtype !== b.dtype) {
    throw new DTypeError(
      `${op}: dtypes differ: "${names[0]}" is ${a.dtype} and "${names[1]}" is ${b.dtype} (cast one explicitly)`,
    );
  }
}

export function checkBackendDType(op: string, backend: Backend, dtype: DType): void {
  if (!backend.info.dtypes.includes(dtype)) {
    throw new DTypeError(`${op}: the ${backend.name} backend does not support ${dtype} (it has ${backend.info.dtypes.join(', ')})`);
  }
}

export function make(backend: Backend, storage: unknown, shape: Shape, dtype: DType): Tensor {
  return engine.makeTensor(backend, storage, shape, dtype);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : typeof v;
}

/** Checks an optional tensor argument's shape (absent is fine: say `required` otherwise). */
export function expectShape(op: string, name: string, t: Tensor | undefined, shape: readonly number[], required = false): void {
  if (t === undefined) {
    if (required) throw new ArgumentError(`${op}: missing "${name}" (expected ${formatShape(shape)})`);
    return;
  }
  if (t.rank !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(`${op}: "${name}" should be ${formatShape(shape)}, got ${formatShape(t.shape)}`);
  }
}
