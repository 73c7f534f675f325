import type { KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { broadcastStrides, sizeOf } from '@mamba3/tensor';
import { alloc, arr } from './util.js';

/** Column block: 4 accumulator rows of this many doubles stay in L1, a [K, block] panel of B in L2. */
const COL_BLOCK = 256;
/** Below this many rows, a transposed B is read row by row as dot products instead of packed. */
const DOT_ROWS = 8;

/*
 * a: [...batchA, M, K] (or [..., K, M] when transA), b: [...batchB, K, N] (or [..., N, K]
 * when transB), out: [...batch, M, N]. Accumulates in doubles.
 */
export function matmul(a: KernelTensor, b: KernelTensor, transA: boolean, transB: boolean, outShape: Shape): TypedArray {
  const out = alloc(a.dtype, outShape);
  const rank = outShape.length;
  const M = outShape[rank - 2];
  const N = outShape[rank - 1];
  const aRank = a.shape.length;
  const K = transA ? a.shape[aRank - 2] : a.shape[aRank - 1];
  const batchShape = outShape.slice(0, -2);
  const batches = sizeOf(batchShape);
  const aStrides = broadcastStrides(a.shape.slice(0, -2), batchShape);
  const bStrides = broadcastStrides(b.shape.slice(0, -2), batchShape);
  const av = arr(a);
  const bv = arr(b);
  const aMat = M * K;
  const bMat = K * N;
  const idx = new Array<number>(batchShape.length).fill(0);
  let packedA: Float64Array | null = null;
  let packedB: Float64Array | null = null;
  let lastB = -1;
  for (let batch = 0; batch < batches; batch++) {
    let ao = 0;
    let bo = 0;
    for (let d = 0; d < idx.length; d++) {
      ao += idx[d] * aStrides[d];
      bo += idx[d] * bStrides[d];
    }
    ao *= aMat;
    bo *= bMat;
    const co = batch * M * N;
    if (transB && M < DOT_ROWS) {
      if (transA) {
        packedA ??= new Float64Array(aMat);
        transposeInto(av, ao, K, M, packedA);
        dotRows(packedA, 0, bv, bo, out, co, M, N, K);
      } else {
        dotRows(av, ao, bv, bo, out, co, M, N, K);
      }
    } else {
      let A: ArrayLike<number> = av;
      let aOff = ao;
      if (transA) {
        packedA ??= new Float64Array(aMat);
        transposeInto(av, ao, K, M, packedA);
        A = packedA;
        aOff = 0;
      }
      let B: ArrayLike<number> = bv;
      let bOff = bo;
      if (transB) {
        packedB ??= new Float64Array(bMat);
        // Batches that broadcast one b reuse its packed copy.
        if (bo !== lastB) transposeInto(bv, bo, N, K, packedB);
        lastB = bo;
        B = packedB;
        bOff = 0;
      }
      blocked(A, aOff, B, bOff, out, co, M, N, K);
    }
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d] < batchShape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

/** dst[c, r] = src[off + r * cols + c] for a [rows, cols] source. */
function transposeInto(src: ArrayLike<number>, off: number, rows: number, cols: number, dst: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const base = off + r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[base + c];
  }
}

/** out[i, j] = A[i, :] · Bt[j, :] with Bt stored [N, K]: few rows against many columns. */
function dotRows(A: ArrayLike<number>, ao: number, Bt: ArrayLike<number>, bo: number, out: TypedArray, co: number, M: number, N: number, K: number): void {
  const k4 = K - (K % 4);
  for (let i = 0; i < M; i++) {
    const ai = ao + i * K;
    for (let j = 0; j < N; j++) {
      const bj = bo + j * K;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let k = 0;
      for (; k < k4; k += 4) {
        s0 += A[ai + k] * Bt[bj + k];
        s1 += A[ai + k + 1] * Bt[bj + k + 1];
        s2 += A[ai + k + 2] * Bt[bj + k + 2];
        s3 += A[ai + k + 3] * Bt[bj + k + 3];
      }
      for (; k < K; k++) s0 += A[ai + k] * Bt[bj + k];
      out[co + i * N + j] = s0 + s1 + s2 + s3;
    }
  }
}

/** C = A [M, K] @ B [K, N], four rows of A per pass over a column panel of B. */
function blocked(A: ArrayLike<number>, ao: number, B: ArrayLike<number>, bo: number, out: TypedArray, co: number, M: number, N: number, K: number): void {
  const acc0 = new Float64Array(COL_BLOCK);
  const acc1 = new Float64Array(COL_BLOCK);
  const acc2 = new Float64Array(COL_BLOCK);
  const acc3 = new Float64Array(COL_BLOCK);
  for (let j0 = 0; j0 < N; j0 += COL_BLOCK) {
    const jn = Math.min(COL_BLOCK, N - j0);
    let i = 0;
    for (; i + 4 <= M; i += 4) {
      acc0.fill(0, 0, jn);
      acc1.fill(0, 0, jn);
      acc2.fill(0, 0, jn);
      acc3.fill(0, 0, jn);
      const r0 = ao + i * K;
      for (let k = 0; k < K; k++) {
        const a0 = A[r0 + k];
        const a1 = A[r0 + K + k];
        const a2 = A[r0 + 2 * K + k];
        const a3 = A[r0 + 3 * K + k];
        const bk = bo + k * N + j0;
        for (let j = 0; j < jn; j++) {
          const bvj = B[bk + j];
          acc0[j] += a0 * bvj;
          acc1[j] += a1 * bvj;
          acc2[j] += a2 * bvj;
          acc3[j] += a3 * bvj;
        }
      }
      const c0 = co + i * N + j0;
      for (let j = 0; j < jn; j++) {
        out[c0 + j] = acc0[j];
        out[c0 + N + j] = acc1[j];
        out[c0 + 2 * N + j] = acc2[j];
        out[c0 + 3 * N + j] = acc3[j];
      }
    }
    for (; i < M; i++) {
      acc0.fill(0, 0, jn);
      const r0 = ao + i * K;
      for (let k = 0; k < K; k++) {
        const a0 = A[r0 + k];
        if (a0 === 0) continue;
        const bk = bo + k * N + j0;
        for (let j = 0; j < jn; j++) acc0[j] += a0 * B[bk + j];
      }
      const c0 = co + i * N + j0;
      for (let j = 0; j < jn; j++) out[c0 + j] = acc0[j];
    }
  }
}
