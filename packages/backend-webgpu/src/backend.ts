import type { Backend, BackendInfo, DType, KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { sizeOf, UnsupportedError } from '@mamba3/tensor';
import type { DeviceOptions } from './device.js';
import { acquireDevice } from './device.js';
import { binary, cast, fill, unary, where } from './kernels/elementwise.js';
import { concat, gather, pad, scatterAdd, slice, transpose } from './kernels/layout.js';
import { checkMatmulTile, fusedLinear, linearWithEpilogue, matmul } from './kernels/matmul.js';
import type { GemvEpilogue } from './kernels/gemv.wgsl.js';
import { halfElementFn } from './kernels/half.wgsl.js';
import { rmsNorm, softmax } from './kernels/nn.js';
import { argReduce, cumsum, reduce } from './kernels/reduce.js';
import { COMMON, f32Lit, loopHead } from './codegen.js';
import type { RuntimeOptions, RuntimeStats } from './runtime.js';
import { GPUStorage, Runtime } from './runtime.js';

export interface WebGPUBackendOptions extends DeviceOptions, RuntimeOptions {
  /** Registry name (default `webgpu`). */
  name?: string;
}

/** The WebGPU backend: the `Backend` ops plus what GPU callers need (stats, timing, the device). */
export interface WebGPUBackend extends Backend {
  readonly device: GPUDevice;
  /** Device features in use (`subgroups`, `timestamp-query`, and `shader-f16` when asked for, where the adapter has them). */
  readonly features: ReadonlySet<string>;
  sync(): Promise<void>;
  memoryBytes(): number;
  dispose(): void;
  /** Whether the opt-in f16 weight path is on (asked for and the device has shader-f16). */
  readonly f16: boolean;
  /** Submits queued work now without waiting. */
  flush(): void;
  /** Counters: live and pooled bytes, pipelines, submits, dispatches. */
  stats(): RuntimeStats;
  /** Destroys the pooled free buffers. */
  trimPool(): void;
  /** GPU milliseconds of the work `fn` encodes (needs `timestamp-query`; see `features`). */
  timeGpu(fn: () => void): Promise<number>;
  /** GPU milliseconds per kernel of the work `fn` encodes, each dispatch timed alone (needs `timestamp-query`). */
  profile(fn: () => void): Promise<{ kernels: { kernel: string; calls: number; ms: number }[]; skipped: number }>;
  /**
   * The kernel-authoring API, for fused-op kernels registered from other packages (a model
   * package's `registerKernel({ backendName: 'webgpu', ... })`): buffers (`alloc`, `release`,
   * `copy`, `uniform`), cached pipelines and dispatch (`dispatch(key, wgsl, buffers, groups)`,
   * recorded by step-graph capture like every kernel here), and the device `limits`.
   */
  readonly runtime: Runtime;
  /**
   * WGSL helpers for kernel templates: the shared function prelude, f32 literals, loop heads that
   * Dawn's robustness transform leaves without an iteration counter (codegen.ts `loopHead`), and a
   * reader of one element of a 16-bit storage's packed pairs (`halfElementFn`: a kernel binds
   * `GPUStorage.own` of a storage whose `half` is set, and skips the per-op float32 copy).
   */
  readonly wgsl: { readonly COMMON: string; f32Lit(v: number): string; loopHead: typeof loopHead; halfElementFn: typeof halfElementFn };
  /**
   * x·Wᵀ (rmsNorm(x)·Wᵀ with `norm`: weight g) with a fused op's epilogue run on each output
   * (`GemvEpilogue`): up to `gemvMaxRows` rows inside the decode GEMV behind fusedLinear, so a
   * kernel finishes its op in the product instead of a dispatch of its own; more rows (with
   * `norm`) on fusedLinear's tiled product (faster there: a Mamba-1 step of 32 sequences took 2.19
   * GPU ms with the GEMV, 1.39 on the tiled product; H200), then the epilogue in a pass over the
   * outputs. Null for a shape or storage neither serves; the kernel then runs its composite.
   */
  linearWithEpilogue(x: KernelTensor, w: KernelTensor, epilogue: GemvEpilogue, norm?: { g: KernelTensor; eps: number }): GPUStorage | null;
}

const DTYPES: readonly DType[] = ['float32', 'int32'];

function checkDType(op: string, dtype: DType): void {
  if (!DTYPES.includes(dtype)) {
    throw new UnsupportedError(`webgpu ${op}: ${dtype} is not supported (WebGPU has no float64); the webgpu backend stores ${DTYPES.join(', ')}`);
  }
}

/**
 * Creates a WebGPU backend. Without `device`/`adapter`/`gpu`, it uses `navigator.gpu` in
 * browsers and loads Dawn (the optional `webgpu` package) in Node; it throws a
 * `BackendUnavailableError` saying why and how to get an adapter when there is none.
 */
export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  checkMatmulTile(opts.matmulTile);
  const acquired = await acquireDevice(opts);
  const rt = new Runtime(acquired.device, { ...opts, subgroupSizes: acquired.subgroupSizes, softwareAdapter: acquired.software });
  const name = opts.name ?? 'webgpu';
  const limits = acquired.device.limits;
  const info: BackendInfo = { name, kind: 'webgpu', dtypes: DTYPES, syncRead: false, device: acquired.description, maxTensorBytes: Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) };
  const st = (x: KernelTensor) => x.storage as GPUStorage;
  // Every op is bracketed: float32 copies that kernels unpack from 16-bit weights live for one op.
  const guard = <T>(op: string, fn: () => T): T => {
    rt.check(op);
    rt.beginOp();
    try {
      return fn();
    } finally {
      rt.endOp();
    }
  };

  const backend: WebGPUBackend = {
    name,
    info,
    device: acquired.device,
    features: acquired.features,
    f16: rt.f16,
    runtime: rt,
    wgsl: { COMMON, f32Lit, loopHead, halfElementFn },
    linearWithEpilogue: (x, w, epilogue, norm) => linearWithEpilogue(rt, x, w, epilogue, norm),
    upload: (values: TypedArray, _shape: Shape, dtype: DType) => {
      checkDType('upload', dtype);
      const typed = dtype === 'int32' ? (values instanceof Int32Array ? values : Int32Array.from(values)) : values instanceof Float32Array ? values : Float32Array.from(values);
      return rt.upload('upload', typed, dtype);
    },
    uploadHalf: (values, _shape, storage) => rt.uploadHalf('uploadHalf', values, storage),
    fill: (shape, dtype, value) => {
      checkDType('fill', dtype);
      return fill(rt, shape, dtype, value);
    },
    read: (x) => rt.read('read', st(x), x.size * 4, x.dtype),
    release: (storage) => rt.release(storage as GPUStorage),
    sync: () => rt.sync(),
    flush: () => rt.flush(),
    memoryBytes: () => rt.memoryBytes,
    stats: () => rt.stats(),
    trimPool: () => rt.trimPool(),
    timeGpu: (fn) => rt.timeGpu(fn),
    profile: (fn) => rt.profile(fn),
    dispose: () => rt.dispose(),
    unary: (op, x) => guard(op, () => unary(rt, op, x)),
    binary: (op, a, b, outShape) => guard(op, () => binary(rt, op, a, b, outShape)),
    where: (c, a, b, outShape) => guard('where', () => where(rt, c, a, b, outShape)),
    cast: (x, dtype) => {
      checkDType('cast', dtype);
      return guard('cast', () => cast(rt, x, dtype));
    },
    matmul: (a, b, ta, tb, outShape) => guard('matmul', () => matmul(rt, a, b, ta, tb, outShape)),
    reduce: (op, x, axes, outShape) => guard(op, () => reduce(rt, op, x, axes, outShape)),
    argReduce: (op, x, axis, outShape) => guard(op, () => argReduce(rt, op, x, axis, outShape)),
    cumsum: (x, axis, exclusive, reverse) => guard('cumsum', () => cumsum(rt, x, axis, exclusive, reverse)),
    transpose: (x, perm, outShape) => guard('transpose', () => transpose(rt, x, perm, outShape)),
    slice: (x, begin, size) => guard('slice', () => slice(rt, x, begin, size)),
    concat: (xs, axis, outShape) => guard('concat', () => concat(rt, xs, axis, outShape)),
    pad: (x, paddings, value, outShape) => guard('pad', () => pad(rt, x, paddings, value, outShape)),
    gather: (x, indices, axis, outShape) => guard('gather', () => gather(rt, x, indices, axis, outShape)),
    scatterAdd: (u, indices, axis, outShape) => guard('scatterAdd', () => scatterAdd(rt, u, indices, axis, outShape)),
    fusedLinear: (x, w, g, eps, r) => guard('fusedLinear', () => fusedLinear(rt, x, w, g, eps, r)),
    softmax: (x) => guard('softmax', () => softmax(rt, x, false)),
    logSoftmax: (x) => guard('logSoftmax', () => softmax(rt, x, true)),
    rmsNorm: (x, w, eps) => guard('rmsNorm', () => rmsNorm(rt, x, null, w, eps, lastOf(x.shape), true)),
    gatedRmsNorm: (x, z, w, eps, groupSize, normBeforeGate) => guard('gatedRmsNorm', () => rmsNorm(rt, x, z, w, eps, groupSize, normBeforeGate)),
    beginCapture: () => rt.beginCapture(),
    endCapture: (io) => rt.endCapture({ inputs: io.inputs as GPUStorage[], outputs: io.outputs as GPUStorage[], feedback: io.feedback }),
    cancelCapture: () => rt.cancelCapture(),
  };
  return backend;
}

function lastOf(shape: Shape): number {
  return shape.length ? shape[shape.length - 1] : sizeOf(shape);
}
