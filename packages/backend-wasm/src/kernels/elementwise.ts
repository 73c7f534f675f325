import type { BinaryOp, KernelTensor, Shape, UnaryOp } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** Unary ops with a wasm kernel, by their code in assembly/elementwise.ts; the rest go to cpu. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0, abs: 1, exp: 2, expm1: 3, log: 4, log1p: 5, sqrt: 6, rsqrt: 7, square: 8, reciprocal: 9,
  sigmoid: 10, softplus: 11, silu: 12, tanh: 13, relu: 14, floor: 15, ceil: 16,
};

const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };

const TRIG_CODES: Partial<Record<UnaryOp, number>> = { sin: 0, cos: 1 };

export function unary(ctx: WasmContext, op: UnaryOp, x: KernelTensor): WasmStorage {
  const trig = TRIG_CODES[op];
  if (x.dtype === 'float32' && trig !== undefined) {
    const out = ctx.alloc(x.size);
    ctx.run('trig', [trig, ctx.ptr(x), out.ptr, x.size], x.size);
    return out;
  }
  const code = UNARY_CODES[op];
  if (x.dtype !== 'float32' || code === undefined) return ctx.viaCpu((cpu) => cpu.unary(op, ctx.view(x)));
  const out = ctx.alloc(x.size);
  ctx.run('unary', [code, ctx.ptr(x), out.ptr, x.size], x.size);
  return out;
}

/** dst[0, n) = op(src[0, n)) on f32 at byte pointers (dst may be src). */
export function unaryInto(ctx: WasmContext, op: keyof typeof UNARY_CODES, src: number, dst: number, n: number): void {
  ctx.run('unary', [UNARY_CODES[op]!, src, dst, n], n);
}

/**
 * The output's dims collapsed to at most 4, with each operand's element strides over them (0
 * where it broadcasts); null when more than 4 dims remain after merging.
 */
export function collapse(aShape: Shape, bShape: Shape, out: Shape): { n: number[]; sa: number[]; sb: number[] } | null {
  const strides = (shape: Shape): number[] => {
    const pad = out.length - shape.length;
    const st = new Array<number>(out.length).fill(0);
    let acc = 1;
    for (let d = out.length - 1; d >= pad; d--) {
      const own = shape[d - pad];
      st[d] = own === 1 ? 0 : acc;
      acc *= own;
    }
    return st;
  };
  const A = strides(aShape);
  const B = strides(bShape);
  const n: number[] = [];
  const sa: number[] = [];
  const sb: number[] = [];
  for (let d = 0; d < out.length; d++) {
    if (out[d] === 1) continue;
    const k = n.length - 1;
    // Merge with the previous dim when both operands step through the pair as one run.
    if (k >= 0 && sa[k] === A[d] * out[d] && sb[k] === B[d] * out[d]) {
      n[k] *= out[d];
      sa[k] = A[d];
      sb[k] = B[d];
      continue;
    }
    n.push(out[d]);
    sa.push(A[d]);
    sb.push(B[d]);
  }
  if (n.length > 4) return null;
  while (n.length < 4) {
    n.unshift(1);
    sa.unshift(0);
    sb.unshift(0);
  }
  return { n, sa, sb };
}

export function binary(ctx: WasmContext, op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): WasmStorage {
  const code = BINARY_CODES[op];
  const g = a.dtype === 'float32' && code !== undefined ? collapse(a.shape, b.shape, outShape) : null;
  if (!g || code === undefined) {
    const [va, vb] = ctx.views(a, b);
    return ctx.viaCpu((cpu) => cpu.binary(op, va, vb, outShape));
  }
  const size = g.n[0] * g.n[1] * g.n[2] * g.n[3];
  const out = ctx.alloc(size);
  if (size > 0) ctx.run('binary', [code, ctx.ptr(a), ctx.ptr(b), out.ptr, ...g.n, ...g.sa, ...g.sb], size);
  return out;
}

/** out = a + b elementwise, all three of n elements (out may be a or b). */
export function addInto(ctx: WasmContext, a: number, b: number, out: number, n: number): void {
  ctx.run('binary', [BINARY_CODES.add as number, a, b, out, 1, 1, 1, n, 0, 0, 0, 1, 0, 0, 0, 1], n);
}
