import type { DType } from '@mamba3/tensor';
import type { HalfKind } from './kernels/half.wgsl.js';

// GPUBufferUsage values from the spec, so nothing depends on globals being installed.
export const USAGE_MAP_READ = 0x0001;
export const USAGE_COPY_SRC = 0x0004;
export const USAGE_COPY_DST = 0x0008;
export const USAGE_UNIFORM = 0x0040;
export const USAGE_STORAGE = 0x0080;
export const USAGE_QUERY_RESOLVE = 0x0200;
export const STORAGE_USAGE = USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST;

/** How a 16-bit storage (`Backend.uploadHalf`) is laid out and unpacked (see kernels/half.wgsl.ts). */
export interface HalfPacking {
  readonly kind: HalfKind;
  /** Elements of the float32 tensor it stores (two per u32 of `own`). */
  readonly size: number;
  /** A float32 copy for the op being encoded now (see `Runtime.unpacked`). */
  unpack(s: GPUStorage): GPUBuffer;
}

/**
 * A tensor's GPU storage: a pooled buffer (`own`, at least `bytes` long) holding `dtype`
 * elements, or, for a float32 tensor stored in 16 bits (`half`), its packed u32 pairs.
 */
export class GPUStorage {
  released = false;
  /** Owned by a step graph (see `Runtime.endCapture`): releasing the tensor leaves the buffer alone. */
  pinned = false;
  constructor(
    /** The buffer this storage owns (packed pairs for a 16-bit storage). */
    readonly own: GPUBuffer,
    /** Bytes of the stored elements (the buffer may be larger: pool size classes). */
    readonly bytes: number,
    readonly dtype: DType,
    readonly half: HalfPacking | null = null,
  ) {}

  /**
   * The tensor's elements as `dtype` for a kernel to bind. A 16-bit storage hands out a
   * transient float32 copy, made by an unpack dispatch now and freed when the op ends: kernels
   * that read the packed pairs themselves (the decode GEMV, gather) bind `own` instead. Take it
   * right before the dispatch that binds it, never across a nested backend op.
   */
  get buffer(): GPUBuffer {
    return this.half ? this.half.unpack(this) : this.own;
  }
}

/**
 * Pool size classes: powers of two up to 1 MiB, then 8 steps per octave (<= 12.5% slack), so
 * buffers of nearby sizes are shared and a freed buffer is reused by the next op of that size.
 */
export function sizeClass(bytes: number): number {
  const n = Math.max(16, Math.ceil(bytes / 16) * 16);
  if (n <= 1 << 20) return 2 ** Math.ceil(Math.log2(n));
  const octave = 2 ** Math.floor(Math.log2(n));
  const step = octave / 8;
  return Math.ceil(n / step) * step;
}

interface FreeBuffer {
  buffer: GPUBuffer;
  /** Released while commands using it were still unsubmitted: only encoded work may reuse it. */
  dirty: boolean;
}

/**
 * Free storage buffers by size class, staging buffers for readback, and buffers whose
 * destruction waits for the next submit. Byte counters feed `Runtime.stats()`.
 */
export class BufferPool {
  private readonly free = new Map<number, FreeBuffer[]>();
  private readonly staging = new Map<number, GPUBuffer[]>();
  private readonly deferred: GPUBuffer[] = [];
  /** Bytes of pool overflow waiting in `deferred` (a submit frees them). */
  deferredBytes = 0;
  liveBytes = 0;
  pooledBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Free bytes kept before released buffers are destroyed instead. */
    readonly limit: number,
  ) {}

  /** A free buffer of size class `cls` (one no unsubmitted command touches when `clean`), or undefined. */
  take(cls: number, clean: boolean): GPUBuffer | undefined {
    const list = this.free.get(cls);
    if (!list || !list.length) return undefined;
    const i = clean ? list.findIndex((f) => !f.dirty) : list.length - 1;
    if (i < 0) return undefined;
    const buffer = list[i].buffer;
    list.splice(i, 1);
    this.pooledBytes -= cls;
    return buffer;
  }

  create(cls: number): GPUBuffer {
    return this.device.createBuffer({ size: cls, usage: STORAGE_USAGE });
  }

  /**
   * Keeps a released buffer for reuse, or destroys it when the pool is full (after the next
   * submit when `dirty`). Returns true when the deferred overflow calls for a submit now.
   */
  put(buffer: GPUBuffer, dirty: boolean, flushAbove: number): boolean {
    const cls = buffer.size;
    if (this.pooledBytes + cls > this.limit) {
      if (!dirty) {
        buffer.destroy();
        return false;
      }
      this.deferred.push(buffer);
      this.deferredBytes += cls;
      return this.deferredBytes > flushAbove;
    }
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push({ buffer, dirty });
    this.pooledBytes += cls;
    return false;
  }

  /** Destroys `b` after the next submit (or now, when nothing is open). */
  destroyLater(b: GPUBuffer, encoderOpen: boolean): void {
    if (encoderOpen) this.deferred.push(b);
    else b.destroy();
  }

  /** After a submit: every free buffer is clean, deferred ones are destroyed. */
  submitted(): void {
    for (const list of this.free.values()) for (const f of list) f.dirty = false;
    for (const b of this.deferred) b.destroy();
    this.deferred.length = 0;
    this.deferredBytes = 0;
  }

  takeStaging(cls: number): GPUBuffer {
    return this.staging.get(cls)?.pop() ?? this.device.createBuffer({ size: cls, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  }

  giveStaging(cls: number, b: GPUBuffer): void {
    let list = this.staging.get(cls);
    if (!list) this.staging.set(cls, (list = []));
    list.push(b);
  }

  /** Destroys the free buffers (live tensors keep theirs). */
  trim(): void {
    for (const list of this.free.values()) for (const f of list) f.buffer.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  dispose(): void {
    this.trim();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.staging.clear();
  }
}
