import type { Backend, DType, KernelTensor, TypedArray } from '@mamba3/tensor';
import type { WasmHeap } from './heap.js';
import { WasmStorage } from './heap.js';
import type { KernelName, ThreadPool } from './pool.js';

/** Elements below which an elementwise or row kernel runs on one thread (waking workers costs more). */
export const PARALLEL_MIN_ELEMENTS = 1 << 15;
/** Multiply-adds below which a matrix product runs on one thread. */
export const PARALLEL_MIN_MACS = 1 << 17;

/**
 * What the kernel wrappers share: the heap, the thread pool, scratch space, and the cpu backend
 * that computes the ops without a wasm kernel (int32 ops, layout ops, rare ops) on views of the
 * WebAssembly memory.
 */
export class WasmContext {
  private readonly scratch = new Map<string, WasmStorage>();

  constructor(
    readonly heap: WasmHeap,
    readonly pool: ThreadPool,
    readonly cpu: Backend,
    /** Work thresholds for going parallel (tests set them to 0 to exercise the threads). */
    readonly parallelMinElements = PARALLEL_MIN_ELEMENTS,
    readonly parallelMinMacs = PARALLEL_MIN_MACS,
  ) {}

  alloc(n: number, dtype: DType = 'float32'): WasmStorage {
    return this.heap.alloc(n * (dtype === 'float64' ? 8 : 4));
  }

  ptr(t: KernelTensor): number {
    return (t.storage as WasmStorage).ptr;
  }

  /** A reusable block of at least `bytes` for `purpose` (packed panels, per-thread tiles). */
  scratchPtr(purpose: string, bytes: number): number {
    let s = this.scratch.get(purpose);
    if (!s || s.capacity < bytes) {
      if (s) this.heap.release(s, false);
      s = this.heap.alloc(bytes, false);
      this.scratch.set(purpose, s);
    }
    return s.ptr;
  }

  run(name: KernelName, args: readonly number[], work: number): void {
    this.pool.run(name, args, work >= this.parallelMinElements);
  }

  /** `t` as the cpu backend sees a tensor: a typed-array view of its block. */
  view(t: KernelTensor): KernelTensor {
    return { shape: t.shape, dtype: t.dtype, size: t.size, storage: this.heap.view(t.storage as WasmStorage, t.dtype, t.size) };
  }

  /** Runs an op on the cpu backend over views and copies its result into the WebAssembly memory. */
  viaCpu(compute: (cpu: Backend) => unknown): WasmStorage {
    const result = compute(this.cpu) as TypedArray;
    return this.upload(result);
  }

  upload(values: TypedArray, dtype: DType = values instanceof Int32Array ? 'int32' : 'float32'): WasmStorage {
    const s = this.alloc(values.length, dtype);
    this.heap.view(s, dtype, values.length).set(values);
    return s;
  }

  zeros(n: number, dtype: DType = 'float32'): WasmStorage {
    const s = this.alloc(n, dtype);
    this.heap.view(s, dtype, n).fill(0);
    return s;
  }

  /** Frees storage `compute` allocated that the caller only used as an intermediate. */
  free(s: WasmStorage): void {
    this.heap.release(s);
  }
}

export { WasmStorage };
