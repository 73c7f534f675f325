/**
 * @mamba3/tensor: tensors, the backend interface and registry, memory scopes, autograd, the
 * primitive op set, the fused-op kernel registry (`defineFusedOp`, `registerKernel`), and
 * safetensors. It knows no model: model-specific fused ops live in their model's package.
 */
export type { DType, FloatDType, HalfStorage, TypedArray, DTypeArrays } from './dtype.js';
export { DTYPES, isDType, isFloatDType, bytesPerElement, allocArray, dtypeOfArray, toArrayOf } from './dtype.js';
export type { Shape } from './shape.js';
export {
  sizeOf,
  shapesEqual,
  formatShape,
  stridesOf,
  broadcastShapes,
  broadcastStrides,
  normalizeAxis,
  normalizeAxes,
} from './shape.js';
export {
  Mamba3Error,
  ShapeError,
  DTypeError,
  DisposedError,
  BackendError,
  BackendUnavailableError,
  UnsupportedError,
  SafetensorsError,
  CheckpointError,
  UnsafePickleError,
  WeightsError,
  ConfigError,
  ArgumentError,
} from './errors.js';
export { booleanValue, describeValue, intRule, isIntAtLeast, isPositiveNumber, positiveInt, positiveNumber } from './validate.js';
export { Tensor } from './tensor.js';
export type { NestedArray } from './tensor.js';
export type {
  Backend,
  BackendInfo,
  BackendFactory,
  KernelTensor,
  KernelInputs,
  KernelOutputs,
  UnaryOp,
  BinaryOp,
  ArithmeticOp,
  CompareOp,
  ReduceOp,
  ArgReduceOp,
  BackendGraph,
} from './backend.js';
export { UNARY_OPS, BINARY_OPS, INT_UNARY_OPS } from './backend.js';
export { Engine, engine, Tape } from './engine.js';
export type { MemoryInfo, GradFn } from './engine.js';
export { AUTO_BACKEND_ORDER, isSoftwareAdapter, resolveAutoBackend, setAutoBackend } from './auto-backend.js';
export type { AutoBackend, AutoBackendOptions, SkippedBackend } from './auto-backend.js';
export { Rng } from './random.js';
export { tidy, keep, dispose, memory, resetPeakMemory, collectTensors } from './scope.js';
export type { TensorContainer } from './scope.js';
export { captureStep, StepGraph } from './capture.js';
export type { CaptureStepOptions } from './capture.js';
export {
  defineFusedOp,
  registerKernel,
  unregisterKernel,
  getKernel,
  hasKernel,
  explainKernels,
  backendKind,
  KernelRegistry,
  kernelRegistry,
} from './kernels.js';
export type { OpInputs, OpOutputs, TensorFields, TensorResults, KernelArgs, KernelFunc, KernelConfig, FusedGradFunc, FusedOpSpec, FusedOp, KernelExplanation } from './kernels.js';
export { grad, grads, valueAndGrad, valueAndGrads, vjp, recordCompositeGrad } from './autograd.js';

export * from './ops/creation.js';
export * from './ops/elementwise.js';
export * from './ops/layout.js';
export * from './ops/reduce.js';
export * from './ops/matmul.js';
export * from './ops/nn.js';
// Argument checks for fused-op authors (typed errors naming the op and the argument).
export { checkInputs, checkFloat, checkSameDType, expectShape } from './ops/util.js';
// The Mamba fused ops (scans, mixers) live in @mamba3/core (src/ops), their kernels in core/src/kernels.

export {
  SafetensorsReader,
  serializeSafetensors,
  planSafetensors,
  encodeTensor,
  saveSafetensors,
  loadSafetensors,
  bytesSource,
  blobSource,
  halfToFloat,
  floatToHalf,
  floatToBf16,
  MAX_HEADER_BYTES,
} from './safetensors.js';
export type { SafetensorsDType, SafetensorsEntry, ByteSource, ReadTensorData, TensorRecord, SaveOptions, TensorFileReader, TensorSpec, SafetensorsPlan } from './safetensors.js';
export { openTensorFile } from './tensor-file.js';
export { writeTorchCheckpoint, serializeTorchCheckpoint, torchStateDictPickle } from './torch-write.js';
export type { TorchTensorSpec, ByteSink } from './torch-write.js';
export { TorchCheckpointReader, TORCH_STORAGE_DTYPES } from './torch-bin.js';
export type { TorchStorage, TorchTensorEntry } from './torch-bin.js';
export { loadPickle, PickleTuple, PickleDict, PickleGlobal, PickleObject } from './pickle.js';
export type { PickleValue, PickleGlobals, PickleOptions } from './pickle.js';
export { ZipArchive, crc32, MAX_CENTRAL_DIRECTORY_BYTES } from './zip.js';
export type { ZipEntry } from './zip.js';

import type { Backend, BackendFactory } from './backend.js';
import { engine as defaultEngine } from './engine.js';

/** Registers a backend factory under a name; higher `priority` wins in `setBestBackend`. */
export function registerBackend(name: string, factory: BackendFactory, priority = 1): void {
  defaultEngine.registerBackend(name, factory, priority);
}

/** Initialises (once) and activates a registered backend. */
export function setBackend(name: string): Promise<Backend> {
  return defaultEngine.setBackend(name);
}

/** Activates the highest-priority backend that starts (optionally among `names`). */
export function setBestBackend(names?: string[]): Promise<Backend> {
  return defaultEngine.setBestBackend(names);
}

/** The active backend. */
export function getBackend(): Backend {
  return defaultEngine.getBackend();
}

/** Initialises a registered backend without activating it. */
export function initBackend(name: string): Promise<Backend> {
  return defaultEngine.initBackend(name);
}

export function listBackends(): string[] {
  return defaultEngine.listBackends();
}

/** Activates a backend object created directly (e.g. `createCpuBackend()`). */
export function useBackend(backend: Backend): void {
  defaultEngine.useBackend(backend);
}

export function removeBackend(name: string): void {
  defaultEngine.removeBackend(name);
}
