import type * as tfc from '@tensorflow/tfjs-core';
import type { DType, KernelTensor, Shape } from '@mamba3/tensor';
import { DTypeError, shapesEqual } from '@mamba3/tensor';

/** The tfjs namespace: `@tensorflow/tfjs-core`, `@tensorflow/tfjs` or `@tensorflow/tfjs-node` all fit. */
export type Tf = typeof tfc;
export type TfTensor = tfc.Tensor;
export type TfRank = tfc.Rank;

/**
 * The tfjs tensor behind a kernel input, in the kernel's shape. Storage keeps the shape it was
 * made with, and the op layer hands views (reshapes) of it, so reshape when they differ; the
 * reshape shares tfjs's buffer and dies with the surrounding `tf.tidy`.
 */
export function input(tf: Tf, x: KernelTensor): TfTensor {
  const t = x.storage as TfTensor;
  return shapesEqual(t.shape, x.shape) ? t : tf.reshape(t, x.shape as number[]);
}

/** A mutable copy of a shape, as tfjs's signatures want. */
export function dims(shape: Shape): number[] {
  return [...shape];
}

/** Our dtype as tfjs's; tfjs has no float64, and the op layer keeps it from reaching us. */
export function tfDtype(dtype: DType): 'float32' | 'int32' {
  if (dtype === 'float64') throw new DTypeError('tfjs backend: float64 is not supported (TensorFlow.js stores float32 and int32)');
  return dtype;
}
