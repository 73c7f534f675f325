import type { Backend, KernelTensor } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { DisposedError, UnsupportedError } from './errors.js';
import type { Shape } from './shape.js';
import { formatShape } from './shape.js';

/** Backend storage shared by tensors that view it (a reshape shares, it does not copy). */
export interface StorageHandle {
  readonly backend: Backend;
  readonly value: unknown;
  readonly bytes: number;
  refs: number;
}

/** What a tensor needs from the engine that made it (kept as an interface to avoid an import cycle). */
export interface TensorOwner {
  onDispose(t: Tensor): void;
}

export type NestedArray = number | NestedArray[];

let nextTensorId = 0;

/**
 * A handle to an n-dimensional array owned by a backend. Reading it back is async (`data()`);
 * `dataSync()` works where the backend can read synchronously (CPU). Free it with `dispose()` or
 * let a `tidy` scope do it.
 */
export class Tensor implements KernelTensor {
  readonly id = nextTensorId++;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /** @internal */ readonly handle: StorageHandle;
  /** @internal */ scope: Set<Tensor> | null = null;
  /** @internal */ kept = false;
  private disposed = false;
  private readonly owner: TensorOwner;

  /** @internal Tensors are made by ops and creation functions, never with `new`. */
  constructor(handle: StorageHandle, shape: Shape, dtype: DType, owner: TensorOwner) {
    this.handle = handle;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    let n = 1;
    for (const d of shape) n *= d;
    this.size = n;
    this.owner = owner;
  }

  get backend(): Backend {
    return this.handle.backend;
  }

  get rank(): number {
    return this.shape.length;
  }

  get storage(): unknown {
    return this.handle.value;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Throws a `DisposedError` naming `op` if this tensor was disposed. */
  assertAlive(op: string): void {
    if (this.disposed) {
      throw new DisposedError(
        `${op}: tensor #${this.id} ${formatShape(this.shape)} ${this.dtype} was used after dispose() (or after the tidy() that owned it ended)`,
      );
    }
  }

  /** A copy of the values, in a typed array matching the dtype. */
  async data(): Promise<TypedArray> {
    this.assertAlive('data');
    return this.backend.read(this);
  }

  dataSync(): TypedArray {
    this.assertAlive('dataSync');
    if (!this.backend.readSync) {
      throw new UnsupportedError(`dataSync: the ${this.backend.name} backend reads asynchronously; use await tensor.data()`);
    }
    return this.backend.readSync(this);
  }

  /** Nested JS arrays (a number for a scalar). */
  async array(): Promise<NestedArray> {
    return toNested(await this.data(), this.shape);
  }

  arraySync(): NestedArray {
    return toNested(this.dataSync(), this.shape);
  }

  /** The single value of a size-1 tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new UnsupportedError(`item: tensor has ${this.size} elements, expected 1`);
    return (await this.data())[0];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.owner.onDispose(this);
  }

  toString(): string {
    return `Tensor(#${this.id}, ${formatShape(this.shape)}, ${this.dtype}, ${this.backend.name}${this.disposed ? ', disposed' : ''})`;
  }
}

function toNested(values: TypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return values[0];
  const build = (dim: number, offset: number): NestedArray[] => {
    const n = shape[dim];
    const out: NestedArray[] = new Array(n);
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out[i] = values[offset + i];
      return out;
    }
    let stride = 1;
    for (let d = dim + 1; d < shape.length; d++) stride *= shape[d];
    for (let i = 0; i < n; i++) out[i] = build(dim + 1, offset + i * stride);
    return out;
  };
  return build(0, 0);
}
