import type { KernelTensor } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';
import { addInto } from './elementwise.js';
import { gemm } from './matmul.js';
import { rmsNormInto } from './nn.js';

/**
 * rmsNorm(x)·weightᵀ + residual without leaving the kernel layer: x [..., K], weight [N, K]
 * (a Linear weight), normWeight [K], residual [..., N]. The norm goes to scratch, the product
 * runs as matrix-vector rows for decode, and the residual is added in place.
 */
export function fusedLinear(ctx: WasmContext, x: KernelTensor, weight: KernelTensor, normWeight: KernelTensor | null, eps: number, residual: KernelTensor | null): WasmStorage | null {
  if (x.dtype !== 'float32') return null;
  const [N, K] = weight.shape;
  const M = K === 0 ? 0 : x.size / K;
  if (M === 0 || N === 0 || K === 0) return null;
  let a = ctx.ptr(x);
  if (normWeight) {
    a = ctx.scratchPtr('fusedLinear.norm', x.size * 4);
    rmsNormInto(ctx, x, null, normWeight, eps, K, true, a);
  }
  const out = ctx.alloc(M * N);
  const w = ctx.raw(weight);
  gemm(ctx, { ptr: a, rs: K, cs: 1 }, { ptr: w.ptr, rs: 1, cs: K, code: w.half }, out.ptr, M, N, K);
  if (residual) addInto(ctx, out.ptr, ctx.ptr(residual), out.ptr, M * N);
  return out;
}
