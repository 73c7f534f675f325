import type { DType, HalfStorage, TypedArray } from '@mamba3/tensor';
import { BackendError, UnsupportedError } from '@mamba3/tensor';
import type { Capture, CaptureIO, Recorded } from './capture.js';
import { closeCapture, newCapture, releaseCaptured, StepGraphGPU } from './capture.js';
import { CommandStream } from './encoding.js';
import type { PipelineEntry } from './pipelines.js';
import { makeBindGroup, PipelineCache } from './pipelines.js';
import { halfKind, packHalves, UNPACK_WG, unpackWgsl } from './kernels/half.wgsl.js';
import { COPY_WORDS_WG, copyWordsWgsl } from './kernels/layout.wgsl.js';
import { BufferPool, GPUStorage, sizeClass } from './pool.js';
import type { KernelProfile } from './profiling.js';
import { GpuTimer } from './profiling.js';
import { waitGently, wantsGentleWaits } from './waiting.js';
import type { GemvLanes, GraphCopies, MatmulTile, RuntimeOptions, RuntimeStats } from './options.js';
import { DEFAULT_GRAPH_COPIES, DEFAULT_KICK_DISPATCHES } from './options.js';

export { GPUStorage, sizeClass } from './pool.js';
export { StepGraphGPU } from './capture.js';
export type { CaptureIO } from './capture.js';
export type { RuntimeOptions, RuntimeStats } from './options.js';

const MAP_MODE_READ = 0x0001;
/** Pool overflow waiting for a submit beyond which the runtime submits at once. */
const DEFERRED_FLUSH_BYTES = 512 * 2 ** 20;
/**
 * Default `halfMinElements`: below 64K elements (256 KB in float32) a 16-bit storage saves little
 * and costs an unpack dispatch wherever a kernel without a packed path reads it (norm weights,
 * conv weights, the mixers' per-head parameters: every decode step).
 */
export const DEFAULT_HALF_MIN_ELEMENTS = 65536;

/**
 * See `RuntimeOptions.gemvMaxRows`. H200, 130M SISO graph decode (tools/gpu/tiles-batch.sh):
 * batch 32 took 3.54 ms a step through the GEMV (two chunks of 16 rows) and 1.84 through the
 * tiled kernel; batch 8 0.98 against 1.44.
 */
const DEFAULT_GEMV_MAX_ROWS = 16;

/**
 * See `RuntimeOptions.splitKWorkgroups`. With the slices a split takes rounded up to a power of two
 * (matmul.ts `splitK`), 528 gives batch 32's in_proj 6 splits of 8 slices (15.5 µs on an H200,
 * kernel-time.mjs, and 6.7 µs for the sum against 7.5 at 12 splits) and batch 128's 6 of 16.
 * Before the rounding, 1056 beat 264 at batch 32 (1.618-1.658 ms a step against 1.656-1.687,
 * BENCHMARKS "Issue 16 ... third session"), whose 5 splits of 10 slices ran slow.
 */
const DEFAULT_SPLIT_K_WORKGROUPS = 528;

/**
 * Owns the device-side state and puts its parts together: the buffer pool (pool.ts), the
 * pipeline cache (pipelines.ts), the lazily submitted command stream (encoding.ts), step-graph
 * capture (capture.ts) and GPU timing (profiling.ts). Kernels encode into it and return storage
 * at once; nothing waits on the GPU except `read` and `sync`.
 */
export class Runtime {
  readonly limits: GPUSupportedLimits;
  private readonly pool: BufferPool;
  private readonly cache: PipelineCache;
  private readonly stream: CommandStream;
  private readonly timer: GpuTimer;
  private readonly releaseHooks: ((s: GPUStorage) => void)[] = [];
  private cacheBytes = 0;
  private graphBytes = 0;
  private capture: Capture | null = null;
  private lostReason: string | null = null;
  private firstError: string | null = null;
  private disposed = false;
  private readonly maxBatch: number;
  /** While `timeGpu`/`profile` encode: no submits until the timer's own. */
  private timing = false;
  /** See `RuntimeOptions.kickDispatches`: the first early submit, and the next one (pending dispatches). */
  private readonly kickFirst: number;
  private kickAt: number;
  /** Readbacks not yet resolved: while any is, queued work keeps the GPU busy and nothing is kicked. */
  private reading = 0;

  /**
   * Subgroups exist and are at most 32 wide: kernels that give a row 32 lanes along lid.x can
   * reduce it with subgroupAdd (wider subgroups would mix rows).
   */
  readonly subgroupReduce: boolean;
  readonly matmulTile: MatmulTile;
  /** See `RuntimeOptions.gemvRowsPerThread`. */
  readonly gemvRowsPerThread: number;
  /** See `RuntimeOptions.gemvLanes`. */
  readonly gemvLanes: GemvLanes;
  /** See `RuntimeOptions.gemvMaxRows`. */
  readonly gemvMaxRows: number;
  /** See `RuntimeOptions.splitKWorkgroups`. */
  readonly splitKWorkgroups: number;
  /** Matmul weights in f16 (opt-in, and only with the device's shader-f16). */
  readonly f16: boolean;
  /** Tensors given to `uploadHalf` with fewer elements stay float32 (see `RuntimeOptions.halfMinElements`). */
  readonly halfMinElements: number;
  /** See `RuntimeOptions.graphCopies`. */
  readonly graphCopies: GraphCopies;
  /** Float32 copies of 16-bit storages made for the op being encoded (see `unpacked`). */
  private readonly transients = new Map<GPUStorage, GPUStorage>();
  private opDepth = 0;
  /** Waits poll Dawn gently (a software adapter in Node: see waiting.ts). */
  private readonly gentleWaits: boolean;

  constructor(
    readonly device: GPUDevice,
    opts: RuntimeOptions & { subgroupSizes?: [number, number]; softwareAdapter?: boolean } = {},
  ) {
    this.gentleWaits = wantsGentleWaits(!!opts.softwareAdapter);
    this.limits = device.limits;
    const [lo, hi] = opts.subgroupSizes ?? [0, 0];
    this.subgroupReduce = device.features.has('subgroups') && lo >= 4 && hi <= 32 && !opts.noSubgroups;
    this.maxBatch = opts.maxBatchDispatches ?? 512;
    this.kickFirst = opts.kickDispatches ?? DEFAULT_KICK_DISPATCHES;
    this.kickAt = this.kickFirst || Infinity;
    this.matmulTile = opts.matmulTile ?? 'auto';
    this.gemvRowsPerThread = opts.gemvRowsPerThread ?? 2;
    if (![1, 2, 4].includes(this.gemvRowsPerThread)) throw new UnsupportedError(`webgpu: gemvRowsPerThread must be 1, 2 or 4, got ${opts.gemvRowsPerThread}`);
    this.gemvLanes = opts.gemvLanes ?? 'auto';
    if (![32, 64, 128, 'auto'].includes(this.gemvLanes)) throw new UnsupportedError(`webgpu: gemvLanes must be 32, 64, 128 or 'auto', got ${String(opts.gemvLanes)}`);
    this.splitKWorkgroups = opts.splitKWorkgroups ?? DEFAULT_SPLIT_K_WORKGROUPS;
    if (!Number.isInteger(this.splitKWorkgroups) || this.splitKWorkgroups < 1) throw new UnsupportedError(`webgpu: splitKWorkgroups must be a whole number of workgroups (1 or more), got ${opts.splitKWorkgroups}`);
    this.gemvMaxRows = opts.gemvMaxRows ?? DEFAULT_GEMV_MAX_ROWS;
    if (!Number.isInteger(this.gemvMaxRows) || this.gemvMaxRows < 0) throw new UnsupportedError(`webgpu: gemvMaxRows must be a whole number of rows (0 or more), got ${opts.gemvMaxRows}`);
    this.f16 = !!opts.f16 && device.features.has('shader-f16');
    if ((opts as { weights16?: unknown }).weights16 !== undefined) {
      throw new UnsupportedError("webgpu: the weights16 option is gone: load the model with dtype 'bfloat16' or 'float16' (loadPretrained / fromPretrained `dtype`, the CLI's --dtype), which keeps the weights in 16 bits on the device");
    }
    this.halfMinElements = opts.halfMinElements ?? DEFAULT_HALF_MIN_ELEMENTS;
    this.graphCopies = opts.graphCopies ?? DEFAULT_GRAPH_COPIES;
    if (!['dispatch', 'copy'].includes(this.graphCopies)) throw new UnsupportedError(`webgpu: graphCopies must be 'dispatch' or 'copy', got ${String(opts.graphCopies)}`);
    this.pool = new BufferPool(device, opts.poolLimitBytes ?? 4 * 2 ** 30);
    this.cache = new PipelineCache(device);
    this.stream = new CommandStream(device, () => this.pool.submitted());
    this.timer = new GpuTimer(device, this.stream, (p) => this.waitFor(p));
    device.lost.then((info) => {
      if (!this.disposed) this.lostReason = `${info.reason}${info.message ? `: ${info.message}` : ''}`;
    });
    device.addEventListener('uncapturederror', (ev) => {
      const msg = (ev as GPUUncapturedErrorEvent).error.message;
      this.firstError ??= msg;
    });
  }

  /** Throws if the device is gone or the backend was disposed: every op checks before encoding. */
  check(op: string): void {
    if (this.disposed) throw new BackendError(`webgpu ${op}: the backend was disposed`);
    if (this.lostReason !== null) {
      throw new BackendError(`webgpu ${op}: the GPU device was lost (${this.lostReason}); its tensors are gone: create a new backend`);
    }
  }

  /** Marks the device lost (also what `device.lost` does); exposed for tests and for callers that detect loss first. */
  markLost(reason: string): void {
    this.lostReason ??= reason;
  }

  get isLost(): boolean {
    return this.lostReason !== null;
  }

  private throwDeviceErrors(op: string): void {
    if (this.firstError !== null) {
      const msg = this.firstError;
      this.firstError = null;
      throw new BackendError(`webgpu ${op}: the GPU reported an error: ${msg}`);
    }
  }

  // Buffers ----------------------------------------------------------------------------------

  private checkSize(op: string, bytes: number): void {
    const max = Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize);
    if (bytes > max) {
      throw new UnsupportedError(
        `webgpu ${op}: a ${bytes}-byte tensor exceeds this adapter's largest storage binding (maxStorageBufferBindingSize ${this.limits.maxStorageBufferBindingSize}, maxBufferSize ${this.limits.maxBufferSize} bytes); split the tensor or use a GPU with larger limits`,
      );
    }
  }

  private maxBinding(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize) & ~15;
  }

  /**
   * A storage buffer of at least `bytes`. `clean` asks for one that no unsubmitted command
   * touches, for `queue.writeBuffer` (which runs before the open encoder is submitted).
   */
  alloc(op: string, bytes: number, dtype: DType, clean = false): GPUStorage {
    this.check(op);
    this.checkSize(op, bytes);
    const cls = Math.max(Math.ceil(bytes / 4) * 4, Math.min(sizeClass(bytes), this.maxBinding()));
    let buffer: GPUBuffer | undefined;
    if (this.capture) {
      // From the capture's own free list (its commands run in the same order on every replay,
      // so reuse inside it is safe), else a pooled or new buffer the graph will own (a released
      // buffer is no tensor's, so the graph may take it: a recorded prefill starts warm).
      // Host-written buffers are never reused inside the capture: see `Capture.constants`.
      const cap = this.capture;
      buffer = clean ? undefined : cap.free.get(cls)?.pop();
      if (!buffer) {
        buffer = this.pool.take(cls, clean) ?? this.pool.create(cls);
        cap.owned.add(buffer);
        if (clean) cap.constants.add(buffer);
      }
    } else {
      buffer = this.pool.take(cls, clean) ?? this.pool.create(cls);
    }
    this.pool.liveBytes += cls;
    return new GPUStorage(buffer, bytes, dtype);
  }

  /** Runs `fn` on every storage the backend releases (caches derived from tensors drop entries). */
  onRelease(fn: (s: GPUStorage) => void): void {
    this.releaseHooks.push(fn);
  }

  /**
   * A buffer outside the pool and outside `memoryBytes` (counted as `cacheBytes`), for data
   * derived from tensors and dropped with them (packed parameters).
   */
  createCacheBuffer(op: string, bytes: number): GPUBuffer {
    this.check(op);
    this.checkSize(op, bytes);
    const b = this.pool.create(Math.max(16, Math.ceil(bytes / 16) * 16));
    this.cacheBytes += b.size;
    return b;
  }

  /** Destroys a cache buffer once no unsubmitted command can use it. */
  destroyCacheBuffer(b: GPUBuffer): void {
    this.cacheBytes -= b.size;
    if (this.disposed) return;
    this.pool.destroyLater(b, this.stream.open);
  }

  /** Returns a tensor's buffer to the pool (or destroys it when the pool is full). */
  release(s: GPUStorage): void {
    if (s.released || s.pinned) return;
    s.released = true;
    for (const hook of this.releaseHooks) hook(s);
    this.pool.liveBytes -= s.own.size;
    if (this.disposed) return;
    if (this.capture?.owned.has(s.own)) {
      releaseCaptured(this.capture, s.own);
      return;
    }
    // Destroyed after the next submit when the pool is full; submit early rather than hold
    // gigabytes until a read.
    if (this.pool.put(s.own, this.stream.open, DEFERRED_FLUSH_BYTES)) this.flush();
  }

  /** Writes host values into a fresh (clean) buffer. */
  upload(op: string, values: TypedArray, dtype: DType): GPUStorage {
    const s = this.alloc(op, values.byteLength, dtype, true);
    if (values.byteLength > 0) this.device.queue.writeBuffer(s.own, 0, values.buffer, values.byteOffset, values.byteLength);
    return s;
  }

  /**
   * A float32 tensor of `values` (already exact in `storage`) kept as 16-bit pairs in u32: half
   * the bytes. Small tensors (below `halfMinElements`) are stored as float32 instead.
   */
  uploadHalf(op: string, values: Float32Array, storage: HalfStorage): GPUStorage {
    if (values.length < this.halfMinElements) return this.upload(op, values, 'float32');
    const kind = halfKind(storage);
    const packed = packHalves(values, kind);
    const s = this.alloc(op, packed.byteLength, 'float32', true);
    this.device.queue.writeBuffer(s.own, 0, packed.buffer, 0, packed.byteLength);
    return new GPUStorage(s.own, s.bytes, 'float32', { kind, size: values.length, unpack: (p) => this.unpacked(p) });
  }

  /**
   * The float32 copy of a 16-bit storage for the op being encoded: one unpack dispatch per
   * storage and op (recorded by a capture like any dispatch), freed when the op ends (`endOp`),
   * so 16-bit weights never stay resident in float32.
   */
  unpacked(s: GPUStorage): GPUBuffer {
    const half = s.half!;
    const hit = this.transients.get(s);
    if (hit) return hit.own;
    const out = this.alloc('unpack', half.size * 4, 'float32');
    this.transients.set(s, out);
    this.dispatch(`unpack16/${half.kind}/${half.size}`, () => unpackWgsl(half.kind, half.size), [s.own, out.own], this.grid(Math.ceil(half.size / 2 / UNPACK_WG)));
    return out.own;
  }

  /** Frees the transient float32 copies (see `unpacked`). */
  private releaseTransients(): void {
    if (!this.transients.size) return;
    for (const t of this.transients.values()) this.release(t);
    this.transients.clear();
  }

  /**
   * Brackets a backend op (nested ops count once): transient copies made by earlier work go at
   * the start, the op's own at the end. Registered fused kernels run outside these brackets; their
   * copies go at the next op, capture boundary or read.
   */
  beginOp(): void {
    if (this.opDepth++ === 0) this.releaseTransients();
  }

  endOp(): void {
    if (--this.opDepth === 0) this.releaseTransients();
  }

  /** Destroys the pooled buffers (live tensors keep theirs). */
  trimPool(): void {
    this.flush();
    this.pool.trim();
  }

  // Pipelines and encoding -------------------------------------------------------------------

  /** The compute pipeline for `key`, compiling `wgsl()` on the first use. */
  pipeline(key: string, wgsl: () => string): PipelineEntry {
    return this.cache.get(key, wgsl);
  }

  /** A small uniform buffer holding `values` as u32, cached by value. */
  uniform(values: readonly number[]): GPUBuffer {
    return this.cache.uniform(values);
  }

  /**
   * Encodes one dispatch: `buffers` bind to @binding(0..n-1) of group 0 in order. `groups` is
   * the workgroup grid; callers split large 1-D grids over y (see `grid`).
   */
  dispatch(key: string, wgsl: () => string, buffers: readonly GPUBuffer[], groups: readonly [number, number?, number?], opts?: { record?: boolean }): void {
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    const entry = this.cache.get(key, wgsl);
    const bindGroup = this.cache.bindGroup(entry, buffers);
    if (this.timer.profiling) this.timer.beforeDispatch(key);
    this.stream.dispatch(entry.pipeline, bindGroup, x, y, z);
    // `record: false`: work a capture must not replay (deriving a cached copy of a weight).
    if (opts?.record !== false) this.capture?.commands.push({ kind: 'dispatch', pipeline: entry.pipeline, layout: entry.layout, buffers: [...buffers], groups: [x, y, z] });
    this.submitIfDue();
  }

  /** Submits when the batch is full, or early to start an idle GPU (see `kickDispatches`). */
  private submitIfDue(): void {
    // Timed work stays one submission, however long: a mid-stream submit lets host gaps into GPU time.
    if (this.timing) return;
    const pending = this.stream.pending;
    if (pending >= this.maxBatch) {
      this.flush();
    } else if (pending >= this.kickAt && this.reading === 0) {
      this.kickAt = Math.min(2 * this.kickAt, this.maxBatch);
      this.flush();
    }
  }

  /** The host is about to wait on the GPU: the next burst of work is kicked early again. */
  private rearmKick(): void {
    if (this.kickFirst > 0) this.kickAt = this.kickFirst;
  }

  /** Copies bytes between buffers in stream order (`record: false` as for `dispatch`). */
  copy(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset = 0, opts?: { record?: boolean }): void {
    if (bytes <= 0) return;
    this.stream.copy(src, srcOffset, dst, dstOffset, bytes);
    if (opts?.record !== false) this.capture?.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
  }

  /**
   * Copies whole 4-byte words between buffers in stream order as a dispatch, inside the open
   * compute pass (`copy` ends it). Not recorded by a capture: step graphs call it as they run.
   */
  copyInPass(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset = 0): void {
    if (bytes <= 0) return;
    if (bytes % 4 || dstOffset % 4 || srcOffset % 4) throw new BackendError(`webgpu copyInPass: ${bytes} bytes from ${srcOffset} to ${dstOffset}; a dispatch copies whole 4-byte words`);
    const [s, d, n] = [srcOffset / 4, dstOffset / 4, bytes / 4];
    this.dispatch(`copyWords/${n}`, () => copyWordsWgsl(n), [this.uniform([s, d, 0, 0]), src, dst], this.grid(Math.ceil(n / COPY_WORDS_WG)), { record: false });
  }

  /** Zeroes a buffer range in stream order. */
  clear(buffer: GPUBuffer, bytes: number): void {
    if (bytes <= 0) return;
    this.stream.endPass().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
    this.capture?.commands.push({ kind: 'clear', buffer, bytes });
  }

  /** Splits `n` workgroups over x and y (each at most maxComputeWorkgroupsPerDimension). */
  grid(n: number): [number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (n <= max) return [n, 1];
    const y = Math.ceil(n / max);
    return [Math.ceil(n / y), y];
  }

  /** Submits the open encoder (if any). Buffers freed before now become clean. */
  flush(): void {
    this.stream.flush();
  }

  /** Submits and waits for the queue to drain. */
  async sync(): Promise<void> {
    this.check('sync');
    this.flush();
    this.rearmKick();
    await this.waitFor(this.device.queue.onSubmittedWorkDone());
    this.check('sync');
    this.throwDeviceErrors('sync');
  }

  // Step graphs -------------------------------------------------------------------------------

  /** Starts recording the commands that ops encode (see `endCapture`). */
  beginCapture(): void {
    this.check('captureStep');
    if (this.capture) throw new BackendError('webgpu captureStep: a capture is already in progress (captures do not nest)');
    this.releaseTransients();
    this.capture = newCapture();
  }

  /** Drops a capture whose function threw: its buffers go back to the pool once unused. */
  cancelCapture(): void {
    this.releaseTransients();
    const cap = this.capture;
    this.capture = null;
    if (cap) this.cancelCaptured(cap);
  }

  private cancelCaptured(cap: Capture): void {
    // Buffers of tensors still alive stay theirs (released later to the pool as usual).
    for (const list of cap.free.values()) for (const b of list) this.pool.destroyLater(b, true);
    for (const b of cap.retired) this.pool.destroyLater(b, true);
    this.flush();
  }

  /**
   * Ends a capture and returns the graph that replays it. Outputs and the inputs they feed back
   * into become the graph's (pinned: disposing their tensors leaves the buffers alone).
   */
  endCapture(io: CaptureIO): StepGraphGPU {
    const cap = this.capture;
    if (!cap) throw new BackendError('webgpu captureStep: endCapture without beginCapture');
    // The step's transient copies belong to its graph: freed into the capture, not the pool.
    this.releaseTransients();
    this.capture = null;
    if (io.inputs.some((s) => s.half)) {
      this.cancelCaptured(cap);
      throw new UnsupportedError('webgpu captureStep: an input is a 16-bit weight (uploadHalf); pass float32 tensors as step inputs and close over weights');
    }
    let closed: ReturnType<typeof closeCapture>;
    try {
      closed = closeCapture(cap, io);
    } catch (err) {
      this.cancelCaptured(cap);
      throw err;
    }
    for (const s of [...io.outputs, ...io.feedback.map(([, i]) => io.inputs[i])]) {
      if (!s.pinned && !s.released) this.pool.liveBytes -= s.own.size;
      s.pinned = true;
    }
    let bytes = 0;
    for (const b of closed.held) bytes += b.size;
    this.graphBytes += bytes;
    const fed = new Set(io.feedback.map(([, i]) => i));
    const inputs = io.inputs.map((s, i) => ({ buffer: s.own, bytes: s.bytes, dtype: s.dtype, fed: fed.has(i) }));
    const outputTypes = io.outputs.map((s) => [s.bytes, s.dtype] as const);
    return new StepGraphGPU(this, cap.commands, closed.swaps, io.outputs.map((s) => s.own), outputTypes, inputs, closed.held, bytes);
  }

  /** Encodes recorded commands (bind groups made once per variant by the graph). */
  encodeRecorded(commands: readonly Recorded[], bindGroups: readonly (GPUBindGroup | null)[], map: (b: GPUBuffer) => GPUBuffer): void {
    this.check('captureStep run');
    if (this.capture) throw new BackendError('webgpu captureStep: cannot run a step graph while capturing another');
    commands.forEach((c, k) => {
      if (c.kind === 'dispatch') {
        this.stream.dispatch(c.pipeline, bindGroups[k]!, c.groups[0], c.groups[1], c.groups[2]);
        this.stream.replayed++;
        this.submitIfDue();
        return;
      }
      if (c.kind === 'copy') this.stream.copy(map(c.src), c.srcOffset, map(c.dst), c.dstOffset, c.bytes);
      else this.stream.endPass().clearBuffer(map(c.buffer), 0, Math.ceil(c.bytes / 4) * 4);
    });
  }

  /**
   * Writes host values into a buffer after all work queued so far: into a clean pooled buffer,
   * then a copy in stream order, so nothing is submitted early (a timed or overlapped run stays
   * one stream).
   */
  writeAfterQueued(buffer: GPUBuffer, values: TypedArray): void {
    this.check('captureStep write');
    if (this.capture) throw new BackendError('webgpu captureStep: cannot write a step graph input while capturing another');
    const staged = this.upload('captureStep write', values, values instanceof Int32Array ? 'int32' : 'float32');
    this.copy(staged.own, buffer, 0, Math.ceil(values.byteLength / 4) * 4);
    this.release(staged);
  }

  makeBindGroup(layout: GPUBindGroupLayout, buffers: readonly GPUBuffer[]): GPUBindGroup {
    return makeBindGroup(this.device, layout, buffers);
  }

  /**
   * Gives a graph's buffers back to the pool (queued commands that use them run first: later work
   * is ordered after them); what the pool has no room for is destroyed once unused.
   */
  releaseGraph(buffers: Iterable<GPUBuffer>, bytes: number): void {
    this.graphBytes -= bytes;
    if (this.disposed) return;
    let flush = false;
    for (const b of buffers) flush = this.pool.put(b, this.stream.open, DEFERRED_FLUSH_BYTES) || flush;
    if (flush) this.flush();
  }

  // Readback and timing ----------------------------------------------------------------------

  /** Copies `bytes` of `s` back: one copy, one submit, one map. */
  async read(op: string, s: GPUStorage, bytes: number, dtype: DType): Promise<TypedArray> {
    this.check(op);
    if (this.capture) {
      const msg = `webgpu ${op}: cannot read a tensor back while capturing a step graph (a captured step must not depend on values read on the host)`;
      this.capture.poisoned ??= msg;
      throw new UnsupportedError(msg);
    }
    if (bytes === 0) return dtype === 'int32' ? new Int32Array(0) : new Float32Array(0);
    const cls = sizeClass(bytes);
    const staging = this.pool.takeStaging(cls);
    const src = s.buffer; // before ending the pass: a 16-bit storage dispatches its unpack here
    this.stream.endPass().copyBufferToBuffer(src, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    if (this.opDepth === 0) this.releaseTransients();
    this.flush();
    this.rearmKick();
    this.reading++;
    try {
      await this.waitFor(staging.mapAsync(MAP_MODE_READ, 0, cls));
    } catch (err) {
      this.check(op);
      throw new BackendError(`webgpu ${op}: reading a buffer back failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.reading--;
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    this.pool.giveStaging(cls, staging);
    this.throwDeviceErrors(op);
    return dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  /** Awaits a GPU promise (a map, the queue draining) the way this adapter wants: see waiting.ts. */
  waitFor<T>(pending: Promise<T>): Promise<T> {
    return this.gentleWaits ? waitGently(pending) : pending;
  }

  /** Whether GPU timestamps can be taken (the `timestamp-query` feature). */
  get hasTimestamps(): boolean {
    return this.timer.available;
  }

  /** GPU time in ms of the work `fn` encodes (see `GpuTimer.time`). */
  timeGpu(fn: () => void): Promise<number> {
    return this.timer.time(() => this.asOneSubmission(fn));
  }

  /** Runs `fn` with early and full-batch submits off: timed work is one stream, so host gaps are not GPU time. */
  private asOneSubmission(fn: () => void): void {
    this.timing = true;
    try {
      fn();
    } finally {
      this.timing = false;
    }
  }

  /** GPU time per kernel of the work `fn` encodes (see `GpuTimer.profile`). */
  profile(fn: () => void): Promise<KernelProfile> {
    return this.timer.profile(() => this.asOneSubmission(fn), () => this.throwDeviceErrors('profile'));
  }

  // Lifetime ---------------------------------------------------------------------------------

  stats(): RuntimeStats {
    return {
      liveBytes: this.pool.liveBytes,
      pooledBytes: this.pool.pooledBytes,
      pipelines: this.cache.size,
      submits: this.stream.submits,
      dispatches: this.stream.dispatches,
      copies: this.stream.copies,
      pendingDispatches: this.stream.pending,
      pipelineMisses: this.cache.misses,
      pipelineHits: this.cache.hits,
      compileMs: this.cache.compileMs,
      cacheBytes: this.cacheBytes,
      graphBytes: this.graphBytes,
      replayedDispatches: this.stream.replayed,
    };
  }

  get memoryBytes(): number {
    return this.pool.liveBytes;
  }

  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch {
      // A lost device cannot submit; destroying below is all that is left.
    }
    this.disposed = true;
    this.pool.dispose();
    this.cache.clear();
    this.device.destroy();
  }
}
