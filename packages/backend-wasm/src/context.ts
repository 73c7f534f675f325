import type { Backend, DType, KernelTensor, TypedArray } from '@mamba3/tensor';
import type { WasmHeap } from './heap.js';
import { WasmStorage } from './heap.js';
import type { KernelName, ThreadPool } from './pool.js';
import type { TraceRecording } from './trace.js';

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
  /** 16-bit tensors unpacked to f32 for the op running now (released by endOp). */
  private readonly transient = new Map<WasmStorage, WasmStorage>();
  /** Values computed once from a weight (storage is never written after its op), by purpose. */
  private readonly derivedOf = new WeakMap<WasmStorage, Map<string, WasmStorage>>();
  /** Scratch blocks kernel traces use (trace.ts), by how many: replaced ones are freed only when no trace uses them. */
  private readonly pins = new Map<WasmStorage, number>();
  private readonly retired = new Set<WasmStorage>();
  /** The kernel trace being recorded, if any (trace.ts). */
  tracing: TraceRecording | null = null;

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

  /**
   * Byte pointer to t's f32 (or i32) elements. A 16-bit tensor is unpacked into a transient
   * block first, freed when the op ends (`endOp`): the one path by which every kernel reads
   * such a tensor, except those that decode 16 bits as they go (which take `raw`).
   */
  ptr(t: KernelTensor): number {
    const s = t.storage as WasmStorage;
    if (!s.half) return s.ptr;
    let u = this.transient.get(s);
    // The unpacked copy is freed after the op: a trace would write it again where it no longer belongs.
    if (this.tracing) this.tracing.unpackedHalf = true;
    if (!u) {
      u = this.heap.alloc(t.size * 4, false);
      this.pool.run('unpackHalf', [s.ptr, u.ptr, t.size, s.half], t.size >= this.parallelMinElements);
      this.transient.set(s, u);
    }
    return u.ptr;
  }

  /** t's storage as it is (16-bit elements where `half` is set). */
  raw(t: KernelTensor): WasmStorage {
    return t.storage as WasmStorage;
  }

  /** Frees the op's transient unpacked copies: the backend calls it after every op. */
  endOp(): void {
    if (this.transient.size === 0) return;
    for (const u of this.transient.values()) this.heap.release(u, false);
    this.transient.clear();
  }

  /**
   * A block computed from t alone (`make`, e.g. A = −exp(A_log) from a weight), made on first use
   * and kept until t's storage is released (`releaseDerived`): tensors never change after the
   * op that made them, so it cannot go stale. Not counted in memoryBytes, like scratch.
   */
  derived(t: KernelTensor, purpose: string, make: () => WasmStorage): WasmStorage {
    const s = t.storage as WasmStorage;
    let m = this.derivedOf.get(s);
    if (!m) this.derivedOf.set(s, (m = new Map()));
    let d = m.get(purpose);
    if (!d) m.set(purpose, (d = make()));
    return d;
  }

  /** Frees what `derived` kept for s: the backend calls it when s is released. */
  releaseDerived(s: WasmStorage): void {
    const m = this.derivedOf.get(s);
    if (!m) return;
    for (const d of m.values()) this.heap.release(d, false);
    this.derivedOf.delete(s);
  }

  /** A reusable block of at least `bytes` for `purpose` (packed panels, per-thread tiles). */
  scratchPtr(purpose: string, bytes: number): number {
    let s = this.scratch.get(purpose);
    if (!s || s.capacity < bytes) {
      if (s) this.retire(s);
      s = this.heap.alloc(bytes, false);
      this.scratch.set(purpose, s);
    }
    if (this.tracing && !this.tracing.pinned.has(s)) {
      this.tracing.pinned.add(s);
      this.pin(s);
    }
    return s.ptr;
  }

  /**
   * A block of `words` 32-bit words that `write` fills (a kernel's parameters: pointers, sizes):
   * the shared scratch for `purpose`, except while a kernel trace records, where each call keeps
   * its own block (a trace replays the call without writing it again).
   */
  paramBlock(purpose: string, words: number, write: (i32: Int32Array, f32: Float32Array) => void): number {
    let ptr: number;
    if (this.tracing) {
      const s = this.heap.alloc(words * 4, false);
      this.tracing.owned.push(s);
      ptr = s.ptr;
    } else {
      ptr = this.scratchPtr(purpose, words * 4);
    }
    // Not heap.i32/f32: these writes are part of the call, not host access a trace cannot repeat.
    const buffer = this.heap.memory.buffer;
    write(new Int32Array(buffer, ptr, words), new Float32Array(buffer, ptr, words));
    return ptr;
  }

  pin(s: WasmStorage): void {
    this.pins.set(s, (this.pins.get(s) ?? 0) + 1);
  }

  unpin(s: WasmStorage): void {
    const n = (this.pins.get(s) ?? 1) - 1;
    if (n > 0) {
      this.pins.set(s, n);
      return;
    }
    this.pins.delete(s);
    if (this.retired.delete(s)) this.heap.release(s, false);
  }

  /** A scratch block replaced by a larger one: freed now, or when the last trace using it lets go. */
  private retire(s: WasmStorage): void {
    if (this.pins.has(s)) this.retired.add(s);
    else this.heap.release(s, false);
  }

  run(name: KernelName, args: readonly number[], work: number): void {
    this.pool.run(name, args, work >= this.parallelMinElements);
  }

  /**
   * Several tensors as views, 16-bit ones unpacked before any view is taken (an unpack may grow
   * the memory, which detaches a plain memory's earlier views).
   */
  views(...ts: KernelTensor[]): KernelTensor[] {
    for (const t of ts) this.ptr(t);
    return ts.map((t) => this.view(t));
  }

  /** `t` as the cpu backend sees a tensor: a typed-array view of its block. */
  view(t: KernelTensor): KernelTensor {
    const s = t.storage as WasmStorage;
    const storage = s.half ? this.heap.f32(this.ptr(t), t.size) : this.heap.view(s, t.dtype, t.size);
    return { shape: t.shape, dtype: t.dtype, size: t.size, storage };
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
