import type { DType, KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { allocArray, broadcastStrides, sizeOf } from '@mamba3/tensor';

/** The typed array behind a CPU tensor. */
export function arr(x: KernelTensor): TypedArray {
  return x.storage as TypedArray;
}

export function alloc(dtype: DType, shape: Shape): TypedArray {
  return allocArray(dtype, sizeOf(shape));
}

/**
 * Calls `inner(outOffset, offsets, n, innerStrides)` for every run along the last output dim,
 * with each input's element offset at the run's start. Inputs broadcast to `outShape`.
 */
export function forEachRun(
  outShape: Shape,
  inputShapes: readonly Shape[],
  inner: (outOffset: number, offsets: number[], n: number, innerStrides: number[]) => void,
): void {
  const rank = outShape.length;
  const total = sizeOf(outShape);
  if (total === 0) return;
  if (rank === 0) {
    inner(0, inputShapes.map(() => 0), 1, inputShapes.map(() => 0));
    return;
  }
  const strides = inputShapes.map((s) => broadcastStrides(s, outShape));
  const n = outShape[rank - 1];
  const innerStrides = strides.map((s) => s[rank - 1]);
  const idx = new Array<number>(rank - 1).fill(0);
  const offsets = inputShapes.map(() => 0);
  for (let out = 0; out < total; out += n) {
    inner(out, offsets, n, innerStrides);
    // Advance the odometer over all dims but the last.
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let k = 0; k < offsets.length; k++) offsets[k] += strides[k][d];
      if (idx[d] < outShape[d]) break;
      for (let k = 0; k < offsets.length; k++) offsets[k] -= strides[k][d] * outShape[d];
      idx[d] = 0;
    }
  }
}

/** [outer, dim, inner] view of a shape around `axis`. */
export function aroundAxis(shape: Shape, axis: number): [number, number, number] {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}
