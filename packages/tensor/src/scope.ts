import { engine } from './engine.js';
import { ArgumentError } from './errors.js';
import { Tensor } from './tensor.js';

/** Anything `tidy` can return: tensors inside arrays and plain objects are kept. */
export type TensorContainer = Tensor | TensorContainer[] | { [key: string]: TensorContainer } | number | string | boolean | null | undefined | void;

/** Every tensor inside a container (arrays, plain objects, Maps), once each. */
export function collectTensors(value: unknown, out: Tensor[] = [], seen = new Set<unknown>()): Tensor[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Tensor) {
    out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) collectTensors(v, out, seen);
  } else if (value instanceof Map) {
    for (const v of value.values()) collectTensors(v, out, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const v of Object.values(value)) collectTensors(v, out, seen);
  }
  return out;
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (found inside arrays
 * and plain objects) and those passed to `keep`. `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  engine.startScope();
  let result: T;
  let keepers: Tensor[] = [];
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new ArgumentError('tidy: the function returned a Promise; tidy only scopes synchronous work');
    }
    keepers = collectTensors(result);
  } finally {
    engine.endScope(keepers);
  }
  return result;
}

/** Exempts a tensor from every enclosing `tidy`: it lives until disposed. */
export function keep<T extends Tensor>(t: T): T {
  engine.keep(t);
  return t;
}

/** Disposes every tensor inside a container. */
export function dispose(value: unknown): void {
  for (const t of collectTensors(value)) t.dispose();
}

/** Live tensors, storages and bytes (now and peak) per backend. */
export function memory() {
  return engine.memory();
}

/** Restarts the peak-bytes counters of `memory()`. */
export function resetPeakMemory(): void {
  engine.resetPeakMemory();
}
