import type { BinaryOp, KernelTensor, Shape, UnaryOp } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** Unary ops with a wasm kernel, by their code in assembly/elementwise.ts; the rest go to cpu. */
const UNARY_CODES: Partial<Record<UnaryOp, number>> = {
  neg: 0, abs: 1, exp: 2, expm1: 3, log: 4, log1p: 5, sqrt: 6, rsqrt: 7, square: 8, reciprocal: 9,
  sigmoid: 10, softplus: 11, silu: 12, tanh: 13, relu: 14, floor: 15, ceil: 16,
};

const BINARY_CODES: Partial<Record<BinaryOp, number>> = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 };

export function unary(ctx: WasmContext, op: UnaryOp, x: KernelTensor): WasmStorage {
  const code = UNARY_CODES[op];
  if (x.dtype !== 'float32' || code === undefined) return ctx.viaCpu((cpu) => cpu.unary(op, ctx.view(x)));
  const out = ctx.alloc(x.size);
  ctx.run('unary', [code, ctx.ptr(x), out.ptr, x.size], x.size);
  return out;
}

/** An operand over the output seen as rows × cols: element strides (0 where it broadcasts). */
interface Grid {
  rows: number;
  cols: number;
  a: [number, number];
  b: [number, number];
}

/**
 * Splits the output dims into a prefix (rows) and suffix (cols) such that each operand is, on
 * each part, either the output's dims or all ones; null when no split works (e.g. [2,1,3]·[1,4,1]).
 */
function grid(aShape: Shape, bShape: Shape, out: Shape): Grid | null {
  const r = out.length;
  const pa = [...new Array<number>(r - aShape.length).fill(1), ...aShape];
  const pb = [...new Array<number>(r - bShape.length).fill(1), ...bShape];
  const prod = (s: readonly number[]): number => s.reduce((p, d) => p * d, 1);
  const kind = (s: number[], lo: number, hi: number): 'full' | 'one' | null => {
    let full = true;
    let one = true;
    for (let d = lo; d < hi; d++) {
      if (s[d] !== out[d]) full = false;
      if (s[d] !== 1) one = false;
    }
    return full ? 'full' : one ? 'one' : null;
  };
  for (let s = 0; s <= r; s++) {
    const ka = [kind(pa, 0, s), kind(pa, s, r)];
    const kb = [kind(pb, 0, s), kind(pb, s, r)];
    if (ka.includes(null) || kb.includes(null)) continue;
    const cols = prod(out.slice(s));
    const strides = (k: ('full' | 'one' | null)[]): [number, number] => [k[0] === 'full' ? (k[1] === 'full' ? cols : 1) : 0, k[1] === 'full' ? 1 : 0];
    return { rows: prod(out.slice(0, s)), cols, a: strides(ka), b: strides(kb) };
  }
  return null;
}

export function binary(ctx: WasmContext, op: BinaryOp, a: KernelTensor, b: KernelTensor, outShape: Shape): WasmStorage {
  const code = BINARY_CODES[op];
  const g = a.dtype === 'float32' && code !== undefined ? grid(a.shape, b.shape, outShape) : null;
  if (!g || code === undefined) return ctx.viaCpu((cpu) => cpu.binary(op, ctx.view(a), ctx.view(b), outShape));
  const out = ctx.alloc(g.rows * g.cols);
  binaryInto(ctx, code, ctx.ptr(a), g.a, ctx.ptr(b), g.b, out.ptr, g.rows, g.cols);
  return out;
}

export function binaryInto(ctx: WasmContext, code: number, a: number, sa: [number, number], b: number, sb: [number, number], out: number, rows: number, cols: number): void {
  ctx.run('binary', [code, a, sa[0], sa[1], b, sb[0], sb[1], out, rows, cols], rows * cols);
}

export const ADD_CODE = BINARY_CODES.add as number;
