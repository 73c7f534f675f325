/**
 * @mamba3/tensor: tensors, the backend interface and registry, memory scopes, autograd, the
 * op set (including the Mamba-3 fused scans), and safetensors.
 */
export type { DType, FloatDType, TypedArray, DTypeArrays } from './dtype.js';
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
  WeightsError,
  ConfigError,
  ArgumentError,
} from './errors.js';
export { intRule, isIntAtLeast, isPositiveNumber, positiveInt, positiveNumber } from './validate.js';
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
  MixerKernelOutputs,
  BackendGraph,
} from './backend.js';
export { UNARY_OPS, BINARY_OPS, INT_UNARY_OPS } from './backend.js';
export { Engine, engine, Tape } from './engine.js';
export type { MemoryInfo, GradFn } from './engine.js';
export { Rng } from './random.js';
export { tidy, keep, dispose, memory, resetPeakMemory, collectTensors } from './scope.js';
export type { TensorContainer } from './scope.js';
export { captureStep, StepGraph } from './capture.js';
export type { CaptureStepOptions } from './capture.js';
export { grad, grads, valueAndGrad, valueAndGrads, vjp, recordCompositeGrad } from './autograd.js';

export * from './ops/creation.js';
export * from './ops/elementwise.js';
export * from './ops/layout.js';
export * from './ops/reduce.js';
export * from './ops/matmul.js';
export * from './ops/nn.js';
export * from './ops/mamba3/scan.js';
export type * from './ops/mamba3/types.js';
export { mamba3MixerChunked, mamba3MixerStep, mamba3MixerComposites, checkMixerAttrs } from './ops/mamba3/mixer.js';
export { dInProjOf, MIXER_PARAM_KEYS, MIXER_STATE_KEYS } from './ops/mamba3/mixer-types.js';
export type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerState, Mamba3MixerResult } from './ops/mamba3/mixer-types.js';

export {
  SafetensorsReader,
  serializeSafetensors,
  saveSafetensors,
  loadSafetensors,
  bytesSource,
  blobSource,
  halfToFloat,
  floatToHalf,
  floatToBf16,
  MAX_HEADER_BYTES,
} from './safetensors.js';
export type { SafetensorsDType, SafetensorsEntry, ByteSource, ReadTensorData, TensorRecord, SaveOptions } from './safetensors.js';

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
