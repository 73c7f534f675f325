import { DTypeError } from './errors.js';

/**
 * Element types. `float64` exists for gradient checks and is offered by the CPU backend only;
 * half-precision weights are converted to float32 when loaded.
 */
export type DType = 'float32' | 'int32' | 'float64';
export type FloatDType = 'float32' | 'float64';
/**
 * A 16-bit device storage for float32 tensors (weights): the tensor stays `float32` to every op,
 * the backend keeps two halves per u32 and unpacks as its kernels read (see `Backend.uploadHalf`).
 */
export type HalfStorage = 'float16' | 'bfloat16';

export type TypedArray = Float32Array | Int32Array | Float64Array;

export interface DTypeArrays {
  float32: Float32Array;
  int32: Int32Array;
  float64: Float64Array;
}

export const DTYPES: readonly DType[] = ['float32', 'int32', 'float64'];

export function isDType(value: unknown): value is DType {
  return value === 'float32' || value === 'int32' || value === 'float64';
}

export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype === 'float32' || dtype === 'float64';
}

export function bytesPerElement(dtype: DType): number {
  return dtype === 'float64' ? 8 : 4;
}

export function allocArray<D extends DType>(dtype: D, size: number): DTypeArrays[D] {
  switch (dtype) {
    case 'float32':
      return new Float32Array(size) as DTypeArrays[D];
    case 'int32':
      return new Int32Array(size) as DTypeArrays[D];
    case 'float64':
      return new Float64Array(size) as DTypeArrays[D];
    default:
      throw new DTypeError(`unknown dtype ${String(dtype)}`);
  }
}

export function dtypeOfArray(values: TypedArray): DType {
  if (values instanceof Float32Array) return 'float32';
  if (values instanceof Int32Array) return 'int32';
  if (values instanceof Float64Array) return 'float64';
  throw new DTypeError(`unsupported typed array ${Object.prototype.toString.call(values)}`);
}

/** Copies (and converts) `values` into a fresh array of `dtype`; int32 truncates toward zero. */
export function toArrayOf<D extends DType>(dtype: D, values: ArrayLike<number>): DTypeArrays[D] {
  const out = allocArray(dtype, values.length);
  if (dtype === 'int32') {
    for (let i = 0; i < values.length; i++) out[i] = Math.trunc(values[i]);
  } else {
    out.set(values);
  }
  return out;
}
