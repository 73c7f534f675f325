/**
 * Elementwise kernels: unary, binary (NumPy broadcasting), where, cast, and the broadcast fill.
 *
 * Layout: every operand is a flat row-major array; one invocation per output element, 256 per
 * workgroup, workgroups over a 2-D grid (x*y >= ceil(n/256)). Broadcast reads use per-operand
 * strides over the (collapsed) output shape, baked in as constants. Flat same-shape ops read
 * their length from `arrayLength(&out)` instead, so one pipeline serves every size.
 */
import type { BinaryOp, UnaryOp } from '@mamba3/tensor';
import type { WgslType } from '../codegen.js';
import { COMMON, COMPUTE_BUILTINS, flatIndex, layoutDecl, layoutOffsets } from '../codegen.js';

export const WG = 256;

const UNARY_F32: Record<UnaryOp, string> = {
  neg: '-v',
  abs: 'abs(v)',
  sign: 'sign(v)',
  exp: 'exp(v)',
  expm1: 'expm1_(v)',
  log: 'log(v)',
  log1p: 'log1p_(v)',
  sqrt: 'sqrt(v)',
  rsqrt: '1.0 / sqrt(v)',
  square: 'v * v',
  reciprocal: '1.0 / v',
  sigmoid: 'sigmoid_(v)',
  softplus: 'softplus_(v)',
  silu: 'v * sigmoid_(v)',
  tanh: 'tanh_(v)',
  relu: 'max(v, 0.0)',
  sin: 'sin(v)',
  cos: 'cos(v)',
  floor: 'floor(v)',
  ceil: 'ceil(v)',
  round: 'round_(v)',
};

const UNARY_I32: Partial<Record<UnaryOp, string>> = {
  neg: '-v',
  abs: 'abs(v)',
  sign: 'sign(v)',
  square: 'v * v',
  relu: 'max(v, 0)',
};

export function unaryExpr(op: UnaryOp, t: WgslType): string {
  const e = t === 'f32' ? UNARY_F32[op] : UNARY_I32[op];
  if (!e) throw new Error(`unary ${op} has no ${t} kernel`);
  return e;
}

export function binaryExpr(op: BinaryOp, t: WgslType): string {
  const one = t === 'f32' ? '1.0' : '1';
  const zero = t === 'f32' ? '0.0' : '0';
  const cmp = (c: string) => `select(${zero}, ${one}, ${c})`;
  switch (op) {
    case 'add':
      return 'a + b';
    case 'sub':
      return 'a - b';
    case 'mul':
      return 'a * b';
    case 'div':
      // int32: truncating, and 0 for a zero divisor (as the reference backend does).
      return t === 'f32' ? 'a / b' : 'select(a / select(b, 1, b == 0), 0, b == 0)';
    case 'pow':
      return 'pow_(a, b)';
    case 'maximum':
      return 'max(a, b)';
    case 'minimum':
      return 'min(a, b)';
    case 'equal':
      return cmp('a == b');
    case 'notEqual':
      return cmp('a != b');
    case 'less':
      return cmp('a < b');
    case 'lessEqual':
      return cmp('a <= b');
    case 'greater':
      return cmp('a > b');
    case 'greaterEqual':
      return cmp('a >= b');
  }
}

/** out[i] = f(x[i]) over a flat array. */
export function unaryWgsl(op: UnaryOp, t: WgslType): string {
  return /* wgsl */ `${COMMON}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(WG)};
  if (i >= arrayLength(&out)) { return; }
  let v = x[i];
  out[i] = ${unaryExpr(op, t)};
}`;
}

/**
 * out[i] = a[offA(i)] (op) b[offB(i)]. `rank`: the collapsed output shape's, whose extents and
 * the operands' strides come from a `Layout` uniform (binding 3, n in h0); `flat`: both operands
 * are read flat (a[i], b[i]) or are a scalar.
 */
export function binaryWgsl(
  expr: string,
  t: WgslType,
  outT: WgslType,
  layout: { rank: number } | { flat: [boolean, boolean] },
): string {
  let index: string;
  let bound: string;
  let decl = '';
  if ('flat' in layout) {
    bound = 'arrayLength(&out)';
    index = `let off0 = ${layout.flat[0] ? 'i' : '0u'};\n  let off1 = ${layout.flat[1] ? 'i' : '0u'};`;
  } else {
    bound = 'lay.h0';
    index = layoutOffsets('i', layout.rank, 2);
    decl = `\n${layoutDecl(3, layout.rank)}`;
  }
  return /* wgsl */ `${COMMON}
@group(0) @binding(0) var<storage, read> A: array<${t}>;
@group(0) @binding(1) var<storage, read> B: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${outT}>;${decl}
@compute @workgroup_size(${WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(WG)};
  if (i >= ${bound}) { return; }
  ${index}
  let a = A[off0];
  let b = B[off1];
  out[i] = ${expr};
}`;
}

/** out[i] = cond[offC] != 0 ? a[offA] : b[offB], all broadcast over the collapsed output shape (of `rank`; a `Layout` at binding 4). */
export function whereWgsl(tc: WgslType, t: WgslType, rank: number): string {
  const zero = tc === 'f32' ? '0.0' : '0';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> C: array<${tc}>;
@group(0) @binding(1) var<storage, read> A: array<${t}>;
@group(0) @binding(2) var<storage, read> B: array<${t}>;
@group(0) @binding(3) var<storage, read_write> out: array<${t}>;
${layoutDecl(4, rank)}
@compute @workgroup_size(${WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(WG)};
  if (i >= lay.h0) { return; }
  ${layoutOffsets('i', rank, 3)}
  out[i] = select(B[off2], A[off1], C[off0] != ${zero});
}`;
}

/** int32 <-> float32: f32 -> i32 truncates toward zero (saturating at the i32 range). */
export function castWgsl(from: WgslType, to: WgslType): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${from}>;
@group(0) @binding(1) var<storage, read_write> out: array<${to}>;
@compute @workgroup_size(${WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(WG)};
  if (i >= arrayLength(&out)) { return; }
  out[i] = ${to}(x[i]);
}`;
}

/** out[i] = src[0] for the whole buffer, bit for bit (any 4-byte dtype): large constant fills. */
export function splatWgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size(${WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(WG)};
  if (i >= arrayLength(&out)) { return; }
  out[i] = src[0];
}`;
}
