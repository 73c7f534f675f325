import type { DType, HalfStorage, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';
/**
 * What a backend kernel sees of a tensor: its contiguous row-major storage (the backend's own
 * object: a typed array, a GPU buffer, a tfjs tensor) with shape and dtype.
 */
export interface KernelTensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly size: number;
  /** The backend's own storage object; only the backend that made it may read it. */
  readonly storage: unknown;
}

export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'expm1'
  | 'log'
  | 'log1p'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sigmoid'
  | 'softplus'
  | 'silu'
  | 'tanh'
  | 'relu'
  | 'sin'
  | 'cos'
  | 'floor'
  | 'ceil'
  | 'round';

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg', 'abs', 'sign', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'rsqrt', 'square', 'reciprocal',
  'sigmoid', 'softplus', 'silu', 'tanh', 'relu', 'sin', 'cos', 'floor', 'ceil', 'round',
];

/** Unary ops defined on int32 (the rest need a float dtype). */
export const INT_UNARY_OPS: ReadonlySet<UnaryOp> = new Set<UnaryOp>(['neg', 'abs', 'sign', 'square', 'relu']);

export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum';
export type CompareOp = 'equal' | 'notEqual' | 'less' | 'lessEqual' | 'greater' | 'greaterEqual';
/** Comparisons return 1 or 0 in the inputs' dtype. */
export type BinaryOp = ArithmeticOp | CompareOp;

export const BINARY_OPS: readonly BinaryOp[] = [
  'add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum',
  'equal', 'notEqual', 'less', 'lessEqual', 'greater', 'greaterEqual',
];

export type ReduceOp = 'sum' | 'mean' | 'max' | 'min' | 'prod';
export type ArgReduceOp = 'argmax' | 'argmin';

export interface BackendInfo {
  /** Registry name, e.g. `cpu`, `webgpu`, `tfjs`. */
  readonly name: string;
  /** Dtypes this backend stores. */
  readonly dtypes: readonly DType[];
  /** Whether `readSync` works. */
  readonly syncRead: boolean;
  /** Human-readable device description (adapter, tfjs backend, ...). */
  readonly device?: string;
  /**
   * The kernel-registry key: kernels registered for this kind run on this backend (default: the
   * name). Instances registered under other names (`tfjs-wasm`, `webgpu-2`) keep their kind.
   */
  readonly kind?: string;
  /**
   * The largest tensor storage, in bytes, the device allows (WebGPU: the adapter's
   * maxStorageBufferBindingSize and maxBufferSize); absent: no limit below host memory.
   * Long sequences are split to stay under it (e.g. prefill in slices).
   */
  readonly maxTensorBytes?: number;
}

/**
 * The op set every backend implements. The op layer (`@mamba3/tensor`'s functions) validates
 * arguments, infers output shapes and records gradients; a backend only computes, always on
 * contiguous row-major storage, and returns its new storage object.
 *
 * Optional methods are generic fused fast paths (softmax, norms, fusedLinear). Each has a
 * reference composite on the required ops, used when a backend leaves it out, so a new backend
 * works before it is fast. Model-specific fused ops are not methods: they are defined with
 * `defineFusedOp` and their kernels registered per backend kind with `registerKernel`.
 */
export interface Backend {
  readonly name: string;
  readonly info: BackendInfo;

  // Memory --------------------------------------------------------------------------------
  /** New storage holding a copy of `values` (`values.length` == size of `shape`). */
  upload(values: TypedArray, shape: Shape, dtype: DType): unknown;
  fill(shape: Shape, dtype: DType, value: number): unknown;
  /**
   * Optional: storage for a float32 tensor kept in 16 bits on the device, half the bytes of
   * `upload`. `values` already hold numbers exact in `storage` (rounded by the caller). Every op
   * sees a float32 tensor: kernels that read it unpack as they go (or into a transient copy), and
   * `read` returns float32. Without it, callers upload the rounded values as float32.
   */
  uploadHalf?(values: Float32Array, shape: Shape, storage: HalfStorage): unknown;
  read(x: KernelTensor): Promise<TypedArray>;
  readSync?(x: KernelTensor): TypedArray;
  /** Frees storage: called once, when the last tensor sharing it is disposed. */
  release(storage: unknown): void;
  /** Resolves when all queued work has finished (GPU backends queue). */
  sync?(): Promise<void>;
  /** Bytes held by live storage, if the backend tracks it. */
  memoryBytes?(): number;
  /** Frees everything the backend holds (device, pools). */
  dispose?(): void;

  // Elementwise ---------------------------------------------------------------------------
  unary(op: UnaryOp, x: KernelTensor): unknown;
  /** NumPy broadcasting; `a` and `b` share a dtype, which the result keeps. */
  binary(op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): unknown;
  /** `cond != 0 ? a : b`, broadcasting all three; the result has `a`'s dtype. */
  where(cond: KernelTensor, a: KernelTensor, b: KernelTensor, outShape: Shape): unknown;
  cast(x: KernelTensor, dtype: DType): unknown;

  // Linear algebra ------------------------------------------------------------------------
  /** a: [...batchA, M, K] (or [..., K, M] with transA), b: [...batchB, K, N] (or [..., N, K]); batch dims broadcast. */
  matmul(a: KernelTensor, b: KernelTensor, transA: boolean, transB: boolean, outShape: Shape): unknown;

  // Reductions ----------------------------------------------------------------------------
  /** Reduces sorted, distinct `axes`; `outShape` has them removed. */
  reduce(op: ReduceOp, x: KernelTensor, axes: readonly number[], outShape: Shape): unknown;
  /** int32 indices along `axis` (first occurrence on ties); `outShape` has the axis removed. */
  argReduce(op: ArgReduceOp, x: KernelTensor, axis: number, outShape: Shape): unknown;
  /** Inclusive (or exclusive) running sum along `axis`, optionally from the end. */
  cumsum(x: KernelTensor, axis: number, exclusive: boolean, reverse: boolean): unknown;

  // Layout --------------------------------------------------------------------------------
  transpose(x: KernelTensor, perm: readonly number[], outShape: Shape): unknown;
  slice(x: KernelTensor, begin: readonly number[], size: readonly number[]): unknown;
  concat(xs: readonly KernelTensor[], axis: number, outShape: Shape): unknown;
  pad(x: KernelTensor, paddings: readonly (readonly [number, number])[], value: number, outShape: Shape): unknown;
  /** x.shape[:axis] + indices.shape + x.shape[axis+1:]; indices int32, already range-checked. */
  gather(x: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): unknown;
  /** The adjoint of `gather`: zeros of `outShape`, `updates` summed into the rows `indices` name. */
  scatterAdd(updates: KernelTensor, indices: KernelTensor, axis: number, outShape: Shape): unknown;

  // Fused (optional) ----------------------------------------------------------------------
  softmax?(x: KernelTensor): unknown;
  logSoftmax?(x: KernelTensor): unknown;
  /** RMSNorm over the last axis, times `weight` (last-axis sized) when given. */
  rmsNorm?(x: KernelTensor, weight: KernelTensor | null, eps: number): unknown;
  /** The official RMSNormGated: groups of `groupSize` along the last axis, gate silu(z). */
  gatedRmsNorm?(
    x: KernelTensor,
    z: KernelTensor,
    weight: KernelTensor | null,
    eps: number,
    groupSize: number,
    normBeforeGate: boolean,
  ): unknown;
  /**
   * rmsNorm(x)·weightᵀ + residual in one kernel (either part optional): x [..., K], weight
   * [N, K], normWeight [K], residual [..., N]. Returns null for shapes it has no fused kernel for
   * (the op layer then runs the composite).
   */
  fusedLinear?(x: KernelTensor, weight: KernelTensor, normWeight: KernelTensor | null, eps: number, residual: KernelTensor | null): unknown;

  // Step graphs (optional) ----------------------------------------------------------------
  /**
   * Starts recording the device work of the ops that follow, for `captureStep`. Backends that
   * queue work (GPUs) replay the recording without the op layer; the others leave these out and
   * `captureStep` re-runs the function instead.
   */
  beginCapture?(): void;
  /**
   * Ends the recording: storages of the step's inputs and outputs, their element counts and
   * dtypes (for backends whose storage does not carry them), and [output, input] feedback pairs.
   */
  endCapture?(io: {
    inputs: readonly unknown[];
    outputs: readonly unknown[];
    inputTypes: readonly (readonly [number, DType])[];
    outputTypes: readonly (readonly [number, DType])[];
    feedback: readonly (readonly [number, number])[];
  }): BackendGraph;
  /** Abandons a recording (the step function threw). */
  cancelCapture?(): void;
}

/** A recorded step (see `captureStep`): the backend's replay of it. */
export interface BackendGraph {
  /** Queues the recorded work again; each feedback output becomes the next run's input. */
  run(): void;
  /** Output i as of the last run, read back. */
  read(i: number): Promise<TypedArray>;
  /** The same at once, on backends that read synchronously (`info.syncRead`): a view valid until the next run. */
  readSync?(i: number): TypedArray;
  /** New storage holding a copy of output i as of the last run. */
  copyOutput(i: number): unknown;
  /** New values (the input's dtype and size) for input i, one not fed back, from the next run on. */
  write(i: number, values: TypedArray): void;
  /**
   * From the next run on, copy output i of each run into a device-side log of `capacity` runs
   * (optional: `StepGraph.collect` keeps output copies as tensors where a backend has none).
   */
  collect?(i: number, capacity: number): void;
  /** The first `runs` entries of output i's log, read back in one transfer; the log then starts over. */
  readCollected?(i: number, runs: number): Promise<TypedArray>;
  /**
   * Values of input i for each of the next `runs` runs ([runs, ...input] flattened), kept on the
   * device: each run first takes its row (optional: `StepGraph.writeAhead` writes each row before
   * its run where a backend has no table).
   */
  writeAhead?(i: number, values: TypedArray, runs: number): void;
  /** Device bytes the graph holds (intermediates, outputs, donated inputs). */
  readonly bytes: number;
  dispose(): void;
}

/** Maps a record of tensors to the same record of kernel tensors. */
export type KernelInputs<T> = { [K in keyof T]: T[K] extends infer V ? (V extends object ? KernelTensor : V) : never };
/** Maps a record of tensors to the same record of backend storages. */
export type KernelOutputs<T> = { [K in keyof T]: unknown };

export type BackendFactory = () => Backend | Promise<Backend>;
