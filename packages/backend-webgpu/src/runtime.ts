import type { DType, TypedArray } from '@mamba3/tensor';
import { BackendError, UnsupportedError } from '@mamba3/tensor';

// GPUBufferUsage / GPUMapMode values from the spec, so nothing depends on globals being installed.
const USAGE_MAP_READ = 0x0001;
const USAGE_COPY_SRC = 0x0004;
const USAGE_COPY_DST = 0x0008;
const USAGE_UNIFORM = 0x0040;
const USAGE_STORAGE = 0x0080;
const USAGE_QUERY_RESOLVE = 0x0200;
const MAP_MODE_READ = 0x0001;
const PROFILE_COMPILES = typeof process !== 'undefined' && process.env?.MAMBA3_WEBGPU_PROFILE_COMPILES === '1';
const STORAGE_USAGE = USAGE_STORAGE | USAGE_COPY_SRC | USAGE_COPY_DST;
/** Pool overflow waiting for a submit beyond which the runtime submits at once. */
const DEFERRED_FLUSH_BYTES = 512 * 2 ** 20;
/** Timestamp queries of one profile (WebGPU allows 4096 per query set): 2048 dispatches. */
const PROFILE_QUERIES = 4096;

/** A tensor's GPU storage: a pooled buffer (at least `bytes` long) holding `dtype` elements. */
export class GPUStorage {
  released = false;
  /** Owned by a step graph (see `Runtime.endCapture`): releasing the tensor leaves the buffer alone. */
  pinned = false;
  constructor(
    readonly buffer: GPUBuffer,
    /** Bytes of the tensor's elements (the buffer may be larger: pool size classes). */
    readonly bytes: number,
    readonly dtype: DType,
  ) {}
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

export interface RuntimeStats {
  /** Bytes in buffers held by live tensors. */
  liveBytes: number;
  /** Bytes in free buffers kept for reuse. */
  pooledBytes: number;
  /** Compiled pipelines (one per kernel and baked constants). */
  pipelines: number;
  /** Command buffers submitted so far. */
  submits: number;
  /** Compute dispatches encoded so far. */
  dispatches: number;
  /** Dispatches encoded and not yet submitted. */
  pendingDispatches: number;
  /** Pipeline cache misses (compilations) and hits. */
  pipelineMisses: number;
  pipelineHits: number;
  /** Milliseconds spent creating pipelines (shader compilation). */
  compileMs: number;
  /** Bytes in caches derived from live tensors (packed mixer parameters). */
  cacheBytes: number;
  /** Bytes held by captured step graphs (their intermediates, outputs and donated inputs). */
  graphBytes: number;
  /** Dispatches encoded by replaying step graphs (also counted in `dispatches`). */
  replayedDispatches: number;
}

export interface RuntimeOptions {
  /** Submit once this many dispatches are queued (default 512); reads and `sync()` submit too. */
  maxBatchDispatches?: number;
  /**
   * Free bytes the pool keeps before it destroys released buffers (default 4 GiB: a 130M-class
   * MIMO prefill of 8192 tokens frees ~2 GB per layer for the next to reuse; a smaller pool makes
   * every layer create, and the implementation clear, its buffers anew). `trimPool()` empties it.
   */
  poolLimitBytes?: number;
  /** Do not use subgroup operations even where the device has them (for comparison and tests). */
  noSubgroups?: boolean;
  /**
   * Opt-in: keep f16 copies of matmul weights (B operands used more than once) and read them in
   * the matmul kernels, accumulating in f32; halves weight traffic (decode GEMVs). Only when the
   * adapter has `shader-f16` (see `features`); results then differ from float32 by f16 rounding
   * of the weights. Default off: float32 results are unchanged.
   */
  f16?: boolean;
  /** Tile of unbatched large matmuls: 128 (8x8 per invocation), 64 (4x4), or 'auto' (default: by output size). */
  matmulTile?: 64 | 128 | 'auto';
}

interface PipelineEntry {
  id: number;
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const BIND_GROUP_CACHE_MAX = 8192;

/** One command of a captured step: what `dispatch`, `copy` and `clear` encoded. */
type Recorded =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; buffers: readonly GPUBuffer[]; groups: readonly [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; bytes: number };

/** A capture in progress: the commands, and the buffers allocated while recording. */
interface Capture {
  commands: Recorded[];
  /** Every buffer allocated during the capture: the graph owns them all afterwards. */
  owned: Set<GPUBuffer>;
  /** Buffers released during the capture, reusable by its later allocations (same order on replay). */
  free: Map<number, GPUBuffer[]>;
  /** Buffers written from the host (constants): never reused, or a replay would read them clobbered. */
  constants: Set<GPUBuffer>;
  /** Constants whose tensors were released during the capture (the graph still reads them). */
  retired: GPUBuffer[];
  /** Why the recording cannot be replayed (a readback was attempted), if so. */
  poisoned: string | null;
}

/** What `endCapture` needs: the graph's input and output storages, and which outputs feed which inputs. */
export interface CaptureIO {
  inputs: readonly GPUStorage[];
  outputs: readonly GPUStorage[];
  /** [output, input] pairs: after a run, the output is the next run's input. */
  feedback: readonly (readonly [number, number])[];
}

interface FreeBuffer {
  buffer: GPUBuffer;
  /** Released while commands using it were still unsubmitted: only encoded work may reuse it. */
  dirty: boolean;
}

/**
 * Owns the device-side state: a buffer pool, the pipeline cache and one open command encoder
 * with one open compute pass, submitted lazily. Kernels encode into it and return storage at
 * once; nothing waits on the GPU except `read` and `sync`.
 */
export class Runtime {
  readonly limits: GPUSupportedLimits;
  private readonly pipelines = new Map<string, PipelineEntry>();
  /** Bind groups by pipeline and buffers: a decode step reuses the same pooled buffers every token. */
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private readonly bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 0;
  private readonly free = new Map<number, FreeBuffer[]>();
  private readonly staging = new Map<number, GPUBuffer[]>();
  private readonly uniforms = new Map<string, GPUBuffer>();
  private readonly releaseHooks: ((s: GPUStorage) => void)[] = [];
  private cacheBytes = 0;
  private graphBytes = 0;
  private replayedDispatches = 0;
  private capture: Capture | null = null;
  private profiling: { set: GPUQuerySet; kernels: string[]; skipped: number } | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private lastPipeline: GPUComputePipeline | null = null;
  private readonly deferredDestroy: GPUBuffer[] = [];
  /** Bytes of pool overflow waiting in `deferredDestroy` (a submit frees them). */
  private deferredBytes = 0;
  private liveBytes = 0;
  private pooledBytes = 0;
  private submits = 0;
  private dispatches = 0;
  private pendingDispatches = 0;
  private pipelineMisses = 0;
  private pipelineHits = 0;
  private compileMs = 0;
  private lostReason: string | null = null;
  private firstError: string | null = null;
  private disposed = false;
  private readonly maxBatch: number;
  private readonly poolLimit: number;

  /**
   * Subgroups exist and are at most 32 wide: kernels that give a row 32 lanes along lid.x can
   * reduce it with subgroupAdd (wider subgroups would mix rows).
   */
  readonly subgroupReduce: boolean;
  readonly matmulTile: 64 | 128 | 'auto';
  /** Matmul weights in f16 (opt-in, and only with the device's shader-f16). */
  readonly f16: boolean;

  constructor(
    readonly device: GPUDevice,
    opts: RuntimeOptions & { subgroupSizes?: [number, number] } = {},
  ) {
    this.limits = device.limits;
    const [lo, hi] = opts.subgroupSizes ?? [0, 0];
    this.subgroupReduce = device.features.has('subgroups') && lo >= 4 && hi <= 32 && !opts.noSubgroups;
    this.maxBatch = opts.maxBatchDispatches ?? 512;
    this.matmulTile = opts.matmulTile ?? 'auto';
    this.f16 = !!opts.f16 && device.features.has('shader-f16');
    this.poolLimit = opts.poolLimitBytes ?? 4 * 2 ** 30;
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

  /**
   * A storage buffer of at least `bytes`. `clean` asks for one that no unsubmitted command
   * touches, for `queue.writeBuffer` (which runs before the open encoder is submitted).
   */
  alloc(op: string, bytes: number, dtype: DType, clean = false): GPUStorage {
    this.check(op);
    this.checkSize(op, bytes);
    const cls = Math.max(Math.ceil(bytes / 4) * 4, Math.min(sizeClass(bytes), this.maxBinding()));
    if (this.capture) return this.allocCaptured(cls, bytes, dtype, clean);
    const list = this.free.get(cls);
    let buffer: GPUBuffer | undefined;
    if (list && list.length) {
      const i = clean ? list.findIndex((f) => !f.dirty) : list.length - 1;
      if (i >= 0) {
        buffer = list[i].buffer;
        list.splice(i, 1);
        this.pooledBytes -= cls;
      }
    }
    buffer ??= this.device.createBuffer({ size: cls, usage: STORAGE_USAGE });
    this.liveBytes += cls;
    return new GPUStorage(buffer, bytes, dtype);
  }

  /**
   * Allocation while capturing: from the capture's own free list (its commands run in the same
   * order on every replay, so reuse inside it is safe), else a new buffer the graph will own.
   * Host-written buffers are always new: see `Capture.constants`.
   */
  private allocCaptured(cls: number, bytes: number, dtype: DType, clean: boolean): GPUStorage {
    const cap = this.capture!;
    let buffer = clean ? undefined : cap.free.get(cls)?.pop();
    if (!buffer) {
      buffer = this.device.createBuffer({ size: cls, usage: STORAGE_USAGE });
      cap.owned.add(buffer);
      if (clean) cap.constants.add(buffer);
    }
    this.liveBytes += cls;
    return new GPUStorage(buffer, bytes, dtype);
  }

  private maxBinding(): number {
    return Math.min(this.limits.maxStorageBufferBindingSize, this.limits.maxBufferSize) & ~15;
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
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 16) * 16), usage: STORAGE_USAGE });
    this.cacheBytes += b.size;
    return b;
  }

  /** Destroys a cache buffer once no unsubmitted command can use it. */
  destroyCacheBuffer(b: GPUBuffer): void {
    this.cacheBytes -= b.size;
    if (this.disposed) return;
    if (this.encoder) this.deferredDestroy.push(b);
    else b.destroy();
  }

  /** Returns a tensor's buffer to the pool (or destroys it when the pool is full). */
  release(s: GPUStorage): void {
    if (s.released || s.pinned) return;
    s.released = true;
    for (const hook of this.releaseHooks) hook(s);
    const cls = s.buffer.size;
    this.liveBytes -= cls;
    if (this.disposed) return;
    const cap = this.capture;
    if (cap?.owned.has(s.buffer)) {
      if (cap.constants.has(s.buffer)) {
        cap.retired.push(s.buffer);
      } else {
        let list = cap.free.get(cls);
        if (!list) cap.free.set(cls, (list = []));
        list.push(s.buffer);
      }
      return;
    }
    const dirty = this.encoder !== null;
    if (this.pooledBytes + cls > this.poolLimit) {
      if (!dirty) {
        s.buffer.destroy();
        return;
      }
      // Destroyed after the next submit; submit early rather than hold gigabytes until a read.
      this.deferredDestroy.push(s.buffer);
      this.deferredBytes += cls;
      if (this.deferredBytes > DEFERRED_FLUSH_BYTES) this.flush();
      return;
    }
    let list = this.free.get(cls);
    if (!list) this.free.set(cls, (list = []));
    list.push({ buffer: s.buffer, dirty });
    this.pooledBytes += cls;
  }

  /** Writes host values into a fresh (clean) buffer. */
  upload(op: string, values: TypedArray, dtype: DType): GPUStorage {
    const s = this.alloc(op, values.byteLength, dtype, true);
    if (values.byteLength > 0) this.device.queue.writeBuffer(s.buffer, 0, values.buffer, values.byteOffset, values.byteLength);
    return s;
  }

  /** Destroys the pooled buffers (live tensors keep theirs). */
  trimPool(): void {
    this.flush();
    for (const list of this.free.values()) for (const f of list) f.buffer.destroy();
    this.free.clear();
    this.pooledBytes = 0;
  }

  // Pipelines --------------------------------------------------------------------------------

  /** The compute pipeline for `key`, compiling `wgsl()` on the first use. */
  pipeline(key: string, wgsl: () => string): PipelineEntry {
    let entry = this.pipelines.get(key);
    if (entry) {
      this.pipelineHits++;
      return entry;
    }
    this.pipelineMisses++;
    const t0 = performance.now();
    const code = wgsl();
    // Fused kernels bind up to 11 storage buffers; some adapters (and browser limit tiers) allow
    // fewer: say so instead of failing validation later.
    const storage = code.match(/var<storage/g)?.length ?? 0;
    if (storage > this.limits.maxStorageBuffersPerShaderStage) {
      throw new UnsupportedError(
        `webgpu ${key.split('/')[0]}: the kernel binds ${storage} storage buffers but this device allows ${this.limits.maxStorageBuffersPerShaderStage} per shader stage (maxStorageBuffersPerShaderStage)`,
      );
    }
    const module = this.device.createShaderModule({ code, label: key });
    const pipeline = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
    this.compileMs += performance.now() - t0;
    if (PROFILE_COMPILES) console.log(`compile ${(performance.now() - t0).toFixed(1)} ms ${key}`);
    entry = { id: this.pipelines.size, pipeline, layout: pipeline.getBindGroupLayout(0) };
    this.pipelines.set(key, entry);
    return entry;
  }

  private bindGroup(p: PipelineEntry, buffers: readonly GPUBuffer[]): GPUBindGroup {
    let key = `${p.id}`;
    for (const b of buffers) {
      let id = this.bufferIds.get(b);
      if (id === undefined) this.bufferIds.set(b, (id = this.nextBufferId++));
      key += `,${id}`;
    }
    let bg = this.bindGroups.get(key);
    if (!bg) {
      bg = this.device.createBindGroup({ layout: p.layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
      if (this.bindGroups.size >= BIND_GROUP_CACHE_MAX) this.bindGroups.clear();
      this.bindGroups.set(key, bg);
    }
    return bg;
  }

  /**
   * A small uniform buffer holding `values` as u32, cached by value: shapes repeat, so after the
   * first call this is a map lookup (written at creation, so no queue-ordering concerns).
   */
  uniform(values: readonly number[]): GPUBuffer {
    const key = values.join(',');
    let b = this.uniforms.get(key);
    if (!b) {
      b = this.device.createBuffer({ size: Math.max(16, Math.ceil((values.length * 4) / 16) * 16), usage: USAGE_UNIFORM, mappedAtCreation: true });
      new Uint32Array(b.getMappedRange()).set(values);
      b.unmap();
      if (this.uniforms.size >= 4096) this.uniforms.clear();
      this.uniforms.set(key, b);
    }
    return b;
  }

  // Encoding ---------------------------------------------------------------------------------

  private ensureEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.pass = this.ensureEncoder().beginComputePass();
      this.lastPipeline = null;
    }
    return this.pass;
  }

  private endPass(): GPUCommandEncoder {
    const enc = this.ensureEncoder();
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
    return enc;
  }

  /**
   * Encodes one dispatch: `buffers` bind to @binding(0..n-1) of group 0 in order. `groups` is
   * the workgroup grid; callers split large 1-D grids over y (see `grid`).
   */
  dispatch(key: string, wgsl: () => string, buffers: readonly GPUBuffer[], groups: readonly [number, number?, number?]): void {
    const [x, y = 1, z = 1] = groups;
    if (x === 0 || y === 0 || z === 0) return;
    const entry = this.pipeline(key, wgsl);
    const bindGroup = this.bindGroup(entry, buffers);
    if (this.profiling) this.profilePass(key);
    const pass = this.ensurePass();
    if (this.lastPipeline !== entry.pipeline) {
      pass.setPipeline(entry.pipeline);
      this.lastPipeline = entry.pipeline;
    }
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.capture?.commands.push({ kind: 'dispatch', pipeline: entry.pipeline, layout: entry.layout, buffers: [...buffers], groups: [x, y, z] });
    this.dispatches++;
    if (++this.pendingDispatches >= this.maxBatch) this.flush();
  }

  /** Copies bytes between buffers in stream order. */
  copy(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset = 0): void {
    if (bytes <= 0) return;
    this.endPass().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.capture?.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
  }

  /** Zeroes a buffer range in stream order. */
  clear(buffer: GPUBuffer, bytes: number): void {
    if (bytes <= 0) return;
    this.endPass().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
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
    if (!this.encoder) return;
    this.endPass();
    const cb = this.encoder.finish();
    this.encoder = null;
    this.pendingDispatches = 0;
    this.device.queue.submit([cb]);
    this.submits++;
    for (const list of this.free.values()) for (const f of list) f.dirty = false;
    for (const b of this.deferredDestroy) b.destroy();
    this.deferredDestroy.length = 0;
    this.deferredBytes = 0;
  }

  /** Submits and waits for the queue to drain. */
  async sync(): Promise<void> {
    this.check('sync');
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check('sync');
    this.throwDeviceErrors('sync');
  }

  // Step graphs -------------------------------------------------------------------------------

  /** Starts recording the commands that ops encode (see `endCapture`). */
  beginCapture(): void {
    this.check('captureStep');
    if (this.capture) throw new BackendError('webgpu captureStep: a capture is already in progress (captures do not nest)');
    this.capture = { commands: [], owned: new Set(), free: new Map(), constants: new Set(), retired: [], poisoned: null };
  }

  /** Drops a capture whose function threw: its buffers go back to the pool once unused. */
  cancelCapture(): void {
    const cap = this.capture;
    this.capture = null;
    if (cap) this.cancelCaptured(cap);
  }

  private cancelCaptured(cap: Capture): void {
    // Buffers of tensors still alive stay theirs (released later to the pool as usual).
    for (const list of cap.free.values()) for (const b of list) this.deferredDestroy.push(b);
    this.deferredDestroy.push(...cap.retired);
    this.flush();
  }

  /**
   * Ends a capture and returns the graph that replays it. Outputs and the inputs they feed back
   * into become the graph's (pinned: disposing their tensors leaves the buffers alone).
   */
  endCapture(io: CaptureIO): StepGraphGPU {
    const cap = this.capture;
    if (!cap) throw new BackendError('webgpu captureStep: endCapture without beginCapture');
    this.capture = null;
    if (cap.poisoned) {
      this.cancelCaptured(cap);
      throw new UnsupportedError(cap.poisoned);
    }
    io.outputs.forEach((out, o) => {
      if (!cap.owned.has(out.buffer) || cap.constants.has(out.buffer)) {
        this.cancelCaptured(cap);
        throw new UnsupportedError(`webgpu captureStep: output ${o} is not a result computed by the step (a view of an input or a weight, or a constant); return a computed tensor`);
      }
    });
    const swaps = new Map<GPUBuffer, GPUBuffer>();
    io.feedback.forEach(([o, i]) => {
      const out = io.outputs[o];
      const inp = io.inputs[i];
      if (swaps.has(out.buffer) || swaps.has(inp.buffer)) {
        this.cancelCaptured(cap);
        throw new UnsupportedError(`webgpu captureStep: output ${o} or input ${i} appears in two feedback pairs (or shares storage with another); each pair needs its own tensors`);
      }
      swaps.set(out.buffer, inp.buffer).set(inp.buffer, out.buffer);
    });
    const held = new Set<GPUBuffer>(cap.owned);
    for (const [, i] of io.feedback) held.add(io.inputs[i].buffer);
    for (const [o, i] of io.feedback) {
      if (io.inputs[i].dtype !== io.outputs[o].dtype || io.inputs[i].bytes !== io.outputs[o].bytes) {
        this.cancelCaptured(cap);
        throw new UnsupportedError(`webgpu captureStep: output ${o} (${io.outputs[o].bytes} bytes ${io.outputs[o].dtype}) cannot feed input ${i} (${io.inputs[i].bytes} bytes ${io.inputs[i].dtype})`);
      }
    }
    for (const s of [...io.outputs, ...io.feedback.map(([, i]) => io.inputs[i])]) {
      if (!s.pinned && !s.released) this.liveBytes -= s.buffer.size;
      s.pinned = true;
    }
    let bytes = 0;
    for (const b of held) bytes += b.size;
    this.graphBytes += bytes;
    const fed = new Set(io.feedback.map(([, i]) => i));
    const inputs = io.inputs.map((s, i) => ({ buffer: s.buffer, bytes: s.bytes, dtype: s.dtype, fed: fed.has(i) }));
    return new StepGraphGPU(this, cap.commands, swaps, io.outputs.map((s) => s.buffer), io.outputs.map((s) => [s.bytes, s.dtype] as const), inputs, held, bytes);
  }

  /** Encodes recorded commands (bind groups made once per variant by the graph). */
  encodeRecorded(commands: readonly Recorded[], bindGroups: readonly (GPUBindGroup | null)[], map: (b: GPUBuffer) => GPUBuffer): void {
    this.check('captureStep run');
    if (this.capture) throw new BackendError('webgpu captureStep: cannot run a step graph while capturing another');
    let pass = this.ensurePass();
    let last: GPUComputePipeline | null = this.lastPipeline;
    commands.forEach((c, k) => {
      if (c.kind === 'dispatch') {
        if (c.pipeline !== last) pass.setPipeline((last = c.pipeline));
        pass.setBindGroup(0, bindGroups[k]!);
        pass.dispatchWorkgroups(c.groups[0], c.groups[1], c.groups[2]);
        this.dispatches++;
        this.replayedDispatches++;
        this.pendingDispatches++;
        return;
      }
      const enc = this.endPass();
      if (c.kind === 'copy') enc.copyBufferToBuffer(map(c.src), c.srcOffset, map(c.dst), c.dstOffset, c.bytes);
      else enc.clearBuffer(map(c.buffer), 0, Math.ceil(c.bytes / 4) * 4);
      pass = this.ensurePass();
      last = null;
    });
    this.lastPipeline = last;
    if (this.pendingDispatches >= this.maxBatch) this.flush();
  }

  /** Writes host values into a buffer after all work queued so far (submits it first). */
  writeAfterQueued(buffer: GPUBuffer, values: TypedArray): void {
    this.check('captureStep write');
    this.flush();
    this.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
  }

  makeBindGroup(layout: GPUBindGroupLayout, buffers: readonly GPUBuffer[]): GPUBindGroup {
    return this.device.createBindGroup({ layout, entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  }

  /** Frees a graph's buffers once no queued command uses them. */
  releaseGraph(buffers: Iterable<GPUBuffer>, bytes: number): void {
    this.graphBytes -= bytes;
    if (this.disposed) return;
    for (const b of buffers) {
      if (this.encoder) this.deferredDestroy.push(b);
      else b.destroy();
    }
  }

  // Readback ---------------------------------------------------------------------------------

  private takeStaging(cls: number): GPUBuffer {
    const list = this.staging.get(cls);
    return list?.pop() ?? this.device.createBuffer({ size: cls, usage: USAGE_MAP_READ | USAGE_COPY_DST });
  }

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
    const staging = this.takeStaging(cls);
    this.endPass().copyBufferToBuffer(s.buffer, 0, staging, 0, Math.ceil(bytes / 4) * 4);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, cls);
    } catch (err) {
      this.check(op);
      throw new BackendError(`webgpu ${op}: reading a buffer back failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    let list = this.staging.get(cls);
    if (!list) this.staging.set(cls, (list = []));
    list.push(staging);
    this.throwDeviceErrors(op);
    return dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  // Timing -----------------------------------------------------------------------------------

  /** Whether GPU timestamps can be taken (the `timestamp-query` feature). */
  get hasTimestamps(): boolean {
    return this.device.features.has('timestamp-query');
  }

  /**
   * GPU time in ms of the work `fn` encodes, from timestamps written around it (one submit
   * before and after). Needs `timestamp-query`.
   */
  async timeGpu(fn: () => void): Promise<number> {
    if (!this.hasTimestamps) throw new UnsupportedError('webgpu timeGpu: the device lacks the timestamp-query feature');
    this.flush();
    const set = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    this.pass = this.ensureEncoder().beginComputePass({ timestampWrites: { querySet: set, beginningOfPassWriteIndex: 0 } });
    // An empty pass marks the start; the work follows in its own passes; another marks the end.
    this.pass.end();
    this.pass = null;
    fn();
    const last = this.endPass().beginComputePass({ timestampWrites: { querySet: set, endOfPassWriteIndex: 1 } });
    last.end();
    const t = await this.readTimestamps(set, 2);
    return Number(t[1] - t[0]) / 1e6;
  }

  /** Resolves the first `count` timestamps of `set` after the queued work, reads them back, and destroys the set. */
  private async readTimestamps(set: GPUQuerySet, count: number): Promise<BigUint64Array> {
    const bytes = Math.max(16, count * 8);
    const resolve = this.device.createBuffer({ size: bytes, usage: USAGE_QUERY_RESOLVE | USAGE_COPY_SRC });
    const out = this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const enc = this.endPass();
    if (count > 0) {
      enc.resolveQuerySet(set, 0, count, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, out, 0, bytes);
    }
    this.flush();
    await out.mapAsync(MAP_MODE_READ);
    const t = new BigUint64Array(out.getMappedRange().slice(0));
    out.unmap();
    out.destroy();
    resolve.destroy();
    set.destroy();
    return t;
  }

  /** While profiling: the next dispatch gets a pass of its own with timestamps around it. */
  private profilePass(key: string): void {
    const prof = this.profiling!;
    this.endPass();
    const k = prof.kernels.length;
    if (2 * k + 2 > PROFILE_QUERIES) {
      prof.skipped++;
      return;
    }
    prof.kernels.push(key.split('/')[0]);
    this.pass = this.ensureEncoder().beginComputePass({ timestampWrites: { querySet: prof.set, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
    this.lastPipeline = null;
  }

  /**
   * GPU time per kernel of the work `fn` encodes (ops, not step-graph replays): each dispatch runs
   * in its own timed pass, so the total includes a pass boundary per dispatch. Needs
   * `timestamp-query`; at most 2048 dispatches are timed (`skipped` counts the rest).
   */
  async profile(fn: () => void): Promise<{ kernels: { kernel: string; calls: number; ms: number }[]; skipped: number }> {
    if (!this.hasTimestamps) throw new UnsupportedError('webgpu profile: the device lacks the timestamp-query feature');
    if (this.profiling) throw new BackendError('webgpu profile: already profiling');
    this.flush();
    const set = this.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES });
    const prof = { set, kernels: [] as string[], skipped: 0 };
    this.profiling = prof;
    try {
      fn();
    } finally {
      this.profiling = null;
    }
    const t = await this.readTimestamps(set, 2 * prof.kernels.length);
    this.throwDeviceErrors('profile');
    const byKernel = new Map<string, { calls: number; ms: number }>();
    prof.kernels.forEach((kernel, k) => {
      const e = byKernel.get(kernel) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += Number(t[2 * k + 1] - t[2 * k]) / 1e6;
      byKernel.set(kernel, e);
    });
    const kernels = [...byKernel].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
    return { kernels, skipped: prof.skipped };
  }

  // Lifetime ---------------------------------------------------------------------------------

  stats(): RuntimeStats {
    return {
      liveBytes: this.liveBytes,
      pooledBytes: this.pooledBytes,
      pipelines: this.pipelines.size,
      submits: this.submits,
      dispatches: this.dispatches,
      pendingDispatches: this.pendingDispatches,
      pipelineMisses: this.pipelineMisses,
      pipelineHits: this.pipelineHits,
      compileMs: this.compileMs,
      cacheBytes: this.cacheBytes,
      graphBytes: this.graphBytes,
      replayedDispatches: this.replayedDispatches,
    };
  }

  get memoryBytes(): number {
    return this.liveBytes;
  }

  dispose(): void {
    if (this.disposed) return;
    try {
      this.flush();
    } catch {
      // A lost device cannot submit; destroying below is all that is left.
    }
    this.disposed = true;
    for (const list of this.free.values()) for (const f of list) f.buffer.destroy();
    for (const list of this.staging.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.staging.clear();
    this.pipelines.clear();
    this.bindGroups.clear();
    this.device.destroy();
  }
}

/**
 * A captured step: the recorded commands, replayed without the op layer. Feedback pairs swap
 * roles on every run (ping-pong), so no copies are needed: run k reads what run k-1 wrote.
 */
export class StepGraphGPU {
  private runs = 0;
  private disposed = false;
  private readonly variants: (GPUBindGroup | null)[][];

  constructor(
    private readonly rt: Runtime,
    private readonly commands: readonly Recorded[],
    private readonly swaps: ReadonlyMap<GPUBuffer, GPUBuffer>,
    private readonly outputBuffers: readonly GPUBuffer[],
    private readonly outputTypes: readonly (readonly [number, DType])[],
    private readonly inputs: readonly { buffer: GPUBuffer; bytes: number; dtype: DType; fed: boolean }[],
    private readonly held: ReadonlySet<GPUBuffer>,
    readonly bytes: number,
  ) {
    // Variant 0 is the capture as recorded; variant 1 has every feedback pair swapped (the same
    // bind groups when nothing is fed back).
    const variant = (v: number) => commands.map((c) => (c.kind === 'dispatch' ? rt.makeBindGroup(c.layout, v ? c.buffers.map((b) => this.swapped(b)) : c.buffers) : null));
    const recorded = variant(0);
    this.variants = [recorded, swaps.size ? variant(1) : recorded];
  }

  private swapped(b: GPUBuffer): GPUBuffer {
    return this.swaps.get(b) ?? b;
  }

  /** The capture itself was run 0; run k uses variant k mod 2 (reads what run k-1 wrote). */
  run(): void {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    this.runs++;
    const v = this.runs % 2;
    this.rt.encodeRecorded(this.commands, this.variants[v], v ? (b) => this.swapped(b) : (b) => b);
  }

  /** Output i's buffer as of the last run. */
  private current(i: number): GPUBuffer {
    const b = this.outputBuffers[i];
    return this.runs % 2 ? this.swapped(b) : b;
  }

  /**
   * New values for input i (not one fed back) before the next run: written after everything
   * queued so far, so earlier runs keep reading the old ones.
   */
  write(i: number, values: TypedArray): void {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    const input = this.inputs[i];
    if (input.fed) throw new UnsupportedError(`webgpu captureStep write: input ${i} is fed back from an output; only the other inputs can be written`);
    if (values.byteLength !== input.bytes) throw new UnsupportedError(`webgpu captureStep write: input ${i} holds ${input.bytes} bytes, got ${values.byteLength}`);
    this.rt.writeAfterQueued(input.buffer, values);
  }

  read(i: number): Promise<TypedArray> {
    const [bytes, dtype] = this.outputTypes[i];
    return this.rt.read('captureStep read', new GPUStorage(this.current(i), bytes, dtype), bytes, dtype);
  }

  /** A new storage holding a copy of output i as of the last run. */
  copyOutput(i: number): GPUStorage {
    const [bytes, dtype] = this.outputTypes[i];
    const s = this.rt.alloc('captureStep output', bytes, dtype);
    this.rt.copy(this.current(i), s.buffer, 0, Math.ceil(bytes / 4) * 4);
    return s;
  }

  get commandCount(): number {
    return this.commands.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.rt.releaseGraph(this.held, this.bytes);
  }
}
