import type { KernelTensor, Shape } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** Register tile of the micro-kernel (assembly/matmul.ts). */
const MR = 4;
const NR = 8;
/** Rows up to which a product runs as matrix-vector rows (decode) instead of packed tiles. */
const GEMV_MAX_ROWS = 4;
/**
 * Multiply-adds from which matrix-vector rows go parallel: waking a worker costs tens of
 * microseconds (far more on a loaded machine), so only weights of several MB gain from it.
 */
const GEMV_PARALLEL_MIN_MACS = 1 << 20;

/** Element strides of an operand: (row, column) of the logical matrix; `code` its storage (HALF_CODES, 0: f32). */
export interface Operand {
  ptr: number;
  rs: number;
  cs: number;
  code?: number;
}

/**
 * C[M, N] = A·B on f32 at byte pointers: small M as matrix-vector rows, the rest packed into
 * MR×NR panels and tiled (see assembly/matmul.ts). Threads share the work when it is large.
 */
export function gemm(ctx: WasmContext, a: Operand, b: Operand, c: number, M: number, N: number, K: number): void {
  const par = M * N * K >= ctx.parallelMinMacs;
  const codeA = a.code ?? 0;
  const codeB = b.code ?? 0;
  if (M <= GEMV_MAX_ROWS && codeA === 0) {
    // 16-bit weights stream half the bytes: worth threads from half the work.
    const parGemv = par && M * N * K * (codeB ? 2 : 1) >= Math.min(GEMV_PARALLEL_MIN_MACS, ctx.parallelMinMacs * 8);
    if (b.cs === 1 && codeB === 0) return ctx.pool.run('gemvRowMajor', [a.ptr, a.rs, a.cs, b.ptr, b.rs, c, M, N, K], parGemv);
    if (b.rs === 1 && a.cs === 1 && codeB === 0) return ctx.pool.run('gemvTransB', [a.ptr, a.rs, b.ptr, b.cs, c, M, N, K], parGemv);
    if (b.rs === 1 && a.cs === 1) {
      // Scratch for x split into even and odd elements (bf16), per thread.
      const xs = ctx.scratchPtr('gemv.x', ctx.pool.threads * M * K * 4);
      return ctx.pool.run('gemvTransBHalf', [a.ptr, a.rs, b.ptr, b.cs, c, M, N, K, codeB, xs], parGemv);
    }
  }
  const ap = ctx.scratchPtr('packA', Math.ceil(M / MR) * MR * K * 4);
  const bp = ctx.scratchPtr('packB', Math.ceil(N / NR) * NR * K * 4);
  const tmp = ctx.scratchPtr('tile', ctx.pool.threads * MR * NR * 4);
  // Packing decodes 16-bit operands: the micro-kernel always sees f32 panels.
  ctx.pool.run('packA', [a.ptr, a.rs, a.cs, M, K, ap, codeA], par);
  ctx.pool.run('packB', [b.ptr, b.rs, b.cs, K, N, bp, codeB], par);
  ctx.pool.run('gemmPacked', [ap, bp, c, M, N, K, tmp], par);
}

/** The Backend's matmul: batch dims broadcast, either operand transposed. f32 only (callers check). */
export function matmul(ctx: WasmContext, a: KernelTensor, b: KernelTensor, transA: boolean, transB: boolean, outShape: Shape): WasmStorage {
  const r = outShape.length;
  const M = outShape[r - 2];
  const N = outShape[r - 1];
  const K = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  let size = 1;
  for (const d of outShape) size *= d;
  const out = K === 0 ? ctx.zeros(size) : ctx.alloc(size);
  if (size === 0 || K === 0) return out;
  const batch = outShape.slice(0, r - 2);
  const aOff = batchOffsets(a.shape.slice(0, -2), batch, M * K);
  const bOff = batchOffsets(b.shape.slice(0, -2), batch, K * N);
  // 16-bit operands are read as they are (packing and the GEMV decode them).
  const ra = ctx.raw(a);
  const rb = ctx.raw(b);
  const ea = ra.half ? 2 : 4;
  const eb = rb.half ? 2 : 4;
  for (let i = 0; i < aOff.length; i++) {
    gemm(
      ctx,
      { ptr: ra.ptr + ea * aOff[i], rs: transA ? 1 : K, cs: transA ? M : 1, code: ra.half },
      { ptr: rb.ptr + eb * bOff[i], rs: transB ? 1 : N, cs: transB ? K : 1, code: rb.half },
      out.ptr + 4 * i * M * N,
      M,
      N,
      K,
    );
  }
  return out;
}

/** Element offset of each output batch's matrix in an operand whose batch dims broadcast. */
function batchOffsets(dims: Shape, batch: Shape, matrix: number): number[] {
  let count = 1;
  for (const d of batch) count *= d;
  const pad = batch.length - dims.length;
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    let rem = i;
    let off = 0;
    let stride = matrix;
    for (let d = batch.length - 1; d >= 0; d--) {
      const idx = rem % batch[d];
      rem = Math.floor(rem / batch[d]);
      const own = d - pad >= 0 ? dims[d - pad] : 1;
      if (own !== 1) off += idx * stride;
      stride *= own;
    }
    out[i] = off;
  }
  return out;
}
