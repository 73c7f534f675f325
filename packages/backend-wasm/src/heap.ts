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

  constructor(readonly memory: WebAssembly.Memory, heapBase: number) {
    this.top = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.buffer = memory.buffer;
  }

  /** A block of at least `bytes`; `tensor` false for scratch, which memoryBytes leaves out. */
  alloc(bytes: number, tensor = true): WasmStorage {
    const size = sizeClass(bytes);
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
    return new Uint16Array(this.buffer, ptr, n);
  }

  release(s: WasmStorage, tensor = true): void {
    if (tensor) this.liveBytes -= s.capacity;
    let list = this.free.get(s.capacity);
    if (!list) this.free.set(s.capacity, (list = []));
    list.push(s.ptr);
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
    return new Float32Array(this.buffer, ptr, n);
  }

  i32(ptr: number, n: number): Int32Array {
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
