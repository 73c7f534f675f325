import type { Backend, BackendInfo, DType, KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { allocArray, sizeOf } from '@mamba3/tensor';
import { binary, cast, unary, where } from './kernels/elementwise.js';
import { matmul } from './kernels/matmul.js';
import { rmsNorm, softmax } from './kernels/nn.js';
import { argReduce, cumsum, reduce } from './kernels/reduce.js';
import { concat, gather, pad, scatterAdd, slice, transpose } from './kernels/layout.js';

export interface CpuBackendOptions {
  /** Registry name (default `cpu`). */
  name?: string;
}

/**
 * The CPU backend with its kernel-authoring API, for fused-op kernels registered from other
 * packages (`registerKernel({ backendName: 'cpu', ... })`): storage is a typed array; kernels
 * read `x.storage` and return arrays made with `alloc` (so `memoryBytes` counts them).
 */
export interface CpuBackend extends Backend {
  /** A zeroed typed array of `size` elements of `dtype`, counted as live storage. */
  alloc(dtype: DType, size: number): TypedArray;
}

/**
 * Creates the plain-TypeScript backend: storage is a typed array per tensor, kernels are loops.
 * It is the reference every other backend is checked against, and it supports float64.
 */
export function createCpuBackend(opts?: CpuBackendOptions): CpuBackend {
  const name = opts?.name ?? 'cpu';
  let liveBytes = 0;
  const track = (a: TypedArray): TypedArray => {
    liveBytes += a.byteLength;
    return a;
  };
  const info: BackendInfo = { name, kind: 'cpu', dtypes: ['float32', 'int32', 'float64'], syncRead: true, device: 'JavaScript (typed arrays)' };
  return {
    name,
    info,
    upload: (values: TypedArray, _shape: Shape, dtype: DType) => {
      const out = allocArray(dtype, values.length);
      out.set(values);
      return track(out);
    },
    fill: (shape, dtype, value) => {
      const out = allocArray(dtype, sizeOf(shape));
      if (value !== 0) out.fill(value);
      return track(out);
    },
    read: async (x: KernelTensor) => (x.storage as TypedArray).slice(),
    readSync: (x: KernelTensor) => (x.storage as TypedArray).slice(),
    release: (storage) => {
      liveBytes -= (storage as TypedArray).byteLength;
    },
    memoryBytes: () => liveBytes,
    alloc: (dtype, size) => track(allocArray(dtype, size)),
    unary: (op, x) => track(unary(op, x)),
    binary: (op, a, b, outShape) => track(binary(op, a, b, outShape)),
    where: (c, a, b, outShape) => track(where(c, a, b, outShape)),
    cast: (x, dtype) => track(cast(x, dtype)),
    matmul: (a, b, ta, tb, outShape) => track(matmul(a, b, ta, tb, outShape)),
    reduce: (op, x, axes, outShape) => track(reduce(op, x, axes, outShape)),
    argReduce: (op, x, axis, outShape) => track(argReduce(op, x, axis, outShape)),
    cumsum: (x, axis, exclusive, reverse) => track(cumsum(x, axis, exclusive, reverse)),
    transpose: (x, perm, outShape) => track(transpose(x, perm, outShape)),
    slice: (x, begin, size) => track(slice(x, begin, size)),
    concat: (xs, axis, outShape) => track(concat(xs, axis, outShape)),
    pad: (x, paddings, value, outShape) => track(pad(x, paddings, value, outShape)),
    gather: (x, indices, axis, outShape) => track(gather(x, indices, axis, outShape)),
    scatterAdd: (u, indices, axis, outShape) => track(scatterAdd(u, indices, axis, outShape)),
    softmax: (x) => track(softmax(x, false)),
    logSoftmax: (x) => track(softmax(x, true)),
    rmsNorm: (x, w, eps) => track(rmsNorm(x, w, eps)),
    gatedRmsNorm: (x, z, w, eps, groupSize, normBeforeGate) => track(rmsNorm(x, w, eps, z, groupSize, normBeforeGate)),
  };
}
