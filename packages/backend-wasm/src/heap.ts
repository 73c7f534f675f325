import type { DType, HalfStorage, TypedArray } from '@mamba3/tensor';
import { BackendError } from '@mamba3/tensor';

const PAGE = 65536;
/** 4 GiB: all of wasm32's address space (reserved, not committed, until used). */
export const MAX_PAGES = 65536;
const ALIGN = 64;

/**
 * How a float32 tensor's elements are stored, by the code the kernels take (assembly/half.ts):
 * 0 four bytes (float32, or int32), 1 bfloat16, 2 float16 (two bytes; `Backend.uploadHalf`).
 */
export const HALF_CODES: Readonly<Record<HalfStorage, number>> = { bfloat16: 1, float16: 2 };

/** A tensor's storage: a block of the WebAssembly memory. */
export class WasmStorage {
  constructor(
    readonly ptr: number,
    /** Bytes the block holds (the size class, ≥ what the tensor needs). */
    readonly capacity: number,
    /** Element storage code (HALF_CODES; 0: four bytes per element). */
    readonly half = 0,
  ) {}
}

/**
 * The allocator for the WebAssembly memory, run from TypeScript (the kernels never allocate).
 * Freed blocks go to free lists by size class (1/8-power-of-two steps, so at most 12.5% is
 * wasted) and are reused before the memory grows: model steps free and allocate the same shapes
 * over and over. Memory is never returned to the system (WebAssembly cannot shrink).
 */
export class WasmHeap {
  private top: number;
  private readonly free = new Map<number, number[]>();
  private buffer: ArrayBufferLike;
  liveBytes = 0;
  /** Tensor blocks allocated while a step is recorded (capture.ts), in order; null when not recording. */
  recording: WasmStorage[] | null = null;
  /** While a step graph replays: the blocks its tensor allocations get, in order. */
  private script: readonly WasmStorage[] | null = null;
  private scriptAt = 0;
  /**
   * Blocks step graphs own, by pointer, and whether their tensor was released: releasing one
   * frees nothing while its graph lives.
   */
  private readonly held = new Map<number, boolean>();
  /**
   * Typed-array views made of the memory so far: how host code reads or writes it. A step's
   * kernel trace is kept only if recording it made none (trace.ts).
   */
  hostViews = 0;

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.top = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.buffer = memory.buffer;
  }

  /** A block of at least `bytes`; `tensor` false for scratch, which memoryBytes leaves out. */
  alloc(bytes: number, tensor = true): WasmStorage {
    const size = sizeClass(bytes);
    if (tensor && this.script) return this.scripted(size);
    const s = this.fresh(size, tensor);
    if (tensor && this.recording) {
      this.recording.push(s);
      this.held.set(s.ptr, false);
    }
    return s;
  }

  private fresh(size: number, tensor: boolean): WasmStorage {
    const list = this.free.get(size);
    const reused = list?.pop();
    if (tensor) this.liveBytes += size;
    if (reused !== undefined) return new WasmStorage(reused, size);
    const need = this.top + size;
    if (need > this.buffer.byteLength) this.grow(need);
    const ptr = this.top;
    this.top = need;
    return new WasmStorage(ptr, size);
  }

  /** A block holding n 16-bit elements of storage `code` (HALF_CODES). */
  allocHalf(n: number, code: number): WasmStorage {
    const s = this.alloc(2 * n);
    return new WasmStorage(s.ptr, s.capacity, code);
  }

  u16(ptr: number, n: number): Uint16Array {
    this.hostViews++;
    return new Uint16Array(this.buffer, ptr, n);
  }

  release(s: WasmStorage, tensor = true): void {
    const held = this.held.get(s.ptr);
    if (held !== undefined) {
      // A step graph's block: its tensor is gone, the graph still writes it.
      if (!held && tensor && !this.script) {
        this.liveBytes -= s.capacity;
        this.held.set(s.ptr, true);
      }
      return;
    }
    if (tensor) this.liveBytes -= s.capacity;
    this.toFreeList(s);
  }

  private toFreeList(s: WasmStorage): void {
    let list = this.free.get(s.capacity);
    if (!list) this.free.set(s.capacity, (list = []));
    list.push(s.ptr);
  }

  /**
   * Runs `fn` with every tensor allocation taking the next block of `script` (a step graph's
   * replay: the same sizes in the same order as when recorded), then checks all were taken.
   */
  replay(script: readonly WasmStorage[], fn: () => void): void {
    this.checkIdle();
    this.script = script;
    this.scriptAt = 0;
    try {
      fn();
      if (this.scriptAt !== script.length) this.diverged(`allocated ${this.scriptAt} tensors, the recording ${script.length}`);
    } finally {
      this.script = null;
    }
  }

  /** A step graph may run only when no other runs and no step is being recorded. */
  checkIdle(): void {
    if (this.script || this.recording) throw new BackendError('wasm captureStep: a step graph cannot run while another runs or a step is being recorded');
  }

  private scripted(size: number): WasmStorage {
    const s = this.script![this.scriptAt++];
    if (!s || s.capacity !== size) this.diverged(s ? `its tensor ${this.scriptAt} needs ${size} bytes, the recording's ${s.capacity}` : `it allocated more tensors than the recording's ${this.script!.length}`);
    return s;
  }

  private diverged(what: string): never {
    throw new BackendError(`wasm captureStep: the replayed step does not match its recording (${what}); a step must depend on shapes only, not on values read on the host`);
  }

  /**
   * Marks blocks a step graph holds (its fed-back inputs, allocated before the recording), then
   * `releaseHeld` gives them all back: those whose tensors were released to the free lists, the
   * others (a tensor the step kept alive) to their tensors.
   */
  hold(blocks: readonly WasmStorage[]): void {
    for (const s of blocks) if (!this.held.has(s.ptr)) this.held.set(s.ptr, false);
  }

  releaseHeld(blocks: readonly WasmStorage[]): void {
    for (const s of blocks) {
      const released = this.held.get(s.ptr);
      this.held.delete(s.ptr);
      if (released) this.toFreeList(s);
    }
  }

  /** Bytes the memory has grown to (live, free-listed and the module's own). */
  get reservedBytes(): number {
    return this.buffer.byteLength;
  }

  private grow(need: number): void {
    const pages = Math.ceil((need - this.buffer.byteLength) / PAGE);
    // Grow by at least a quarter of what is there, so many small allocations grow rarely.
    const current = this.buffer.byteLength / PAGE;
    const step = Math.min(MAX_PAGES - current, Math.max(pages, Math.ceil(current / 4)));
    try {
      this.memory.grow(step < pages ? pages : step);
    } catch {
      throw new BackendError(
        `wasm backend: out of WebAssembly memory (${Math.round(this.liveBytes / 2 ** 20)} MiB live, ${Math.round(need / 2 ** 20)} MiB needed, 4096 MiB is wasm32's limit); dispose tensors or use a smaller batch`,
      );
    }
    // A shared memory's old buffer object keeps its old length: take the new one.
    this.buffer = this.memory.buffer;
  }

  f32(ptr: number, n: number): Float32Array {
    this.hostViews++;
    return new Float32Array(this.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
    this.hostViews++;
    return new Int32Array(this.buffer, ptr, n);
  }

  view(s: WasmStorage, dtype: DType, n: number): TypedArray {
    if (dtype === 'int32') return this.i32(s.ptr, n);
    if (dtype === 'float32') return this.f32(s.ptr, n);
    throw new BackendError(`wasm backend: dtype ${dtype} is not supported (float32 and int32 only; use the cpu backend for float64)`);
  }
}

function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 4096) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}
