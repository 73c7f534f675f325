// Elementwise f32 kernels, vectorised four lanes at a time; each thread takes a contiguous
// share of the output (multiples of 16 elements so shares never split a vector).
import { exp4, expm14, log1p4, log4, sigmoid4, softplus4 } from './simdmath';

// Unary op codes (the TypeScript side maps names to these; one list: src/opcodes.ts).
const NEG = 0, ABS = 1, EXP = 2, EXPM1 = 3, LOG = 4, LOG1P = 5, SQRT = 6, RSQRT = 7, SQUARE = 8;
const RECIPROCAL = 9, SIGMOID = 10, SOFTPLUS = 11, SILU = 12, TANH = 13, RELU = 14, FLOOR = 15, CEIL = 16;

@inline
function unary4(op: i32, x: v128): v128 {
  switch (op) {
    case NEG: return f32x4.neg(x);
    case ABS: return f32x4.abs(x);
    case EXP: return exp4(x);
    case EXPM1: return expm14(x);
    case LOG: return log4(x);
    case LOG1P: return log1p4(x);
    case SQRT: return f32x4.sqrt(x);
    case RSQRT: return f32x4.div(f32x4.splat(1), f32x4.sqrt(x));
    case SQUARE: return f32x4.mul(x, x);
    case RECIPROCAL: return f32x4.div(f32x4.splat(1), x);
    case SIGMOID: return sigmoid4(x);
    case SOFTPLUS: return softplus4(x);
    case SILU: return f32x4.mul(x, sigmoid4(x));
    case TANH: {
      // tanh|x| = −expm1(−2|x|) / (expm1(−2|x|) + 2), with x's sign.
      const e = expm14(f32x4.mul(f32x4.abs(x), f32x4.splat(-2)));
      const t = f32x4.div(f32x4.neg(e), f32x4.add(e, f32x4.splat(2)));
      return v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
    }
    case RELU: return f32x4.max(x, f32x4.splat(0));
    case FLOOR: return f32x4.floor(x);
    case CEIL: return f32x4.ceil(x);
    default: return f32x4.splat(NaN);
  }
}

@inline
function share(n: i32, tid: i32, nt: i32): i32 {
  const blocks = (n + 15) >> 4;
  return min(n, ((blocks * tid) / nt) << 4);
}

export function unary(tid: i32, nt: i32, op: i32, x: usize, out: usize, n: i32): void {
  const i0 = share(n, tid, nt);
  const i1 = share(n, tid + 1, nt);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, unary4(op, v128.load(x + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, f32x4.extract_lane(unary4(op, f32x4.splat(load<f32>(x + o))), 0));
  }
}

// Binary op codes.
const ADD = 0, SUB = 1, MUL = 2, DIV = 3, MAX = 4, MIN = 5;

@inline
function binary4(op: i32, a: v128, b: v128): v128 {
  switch (op) {
    case ADD: return f32x4.add(a, b);
    case SUB: return f32x4.sub(a, b);
    case MUL: return f32x4.mul(a, b);
    case DIV: return f32x4.div(a, b);
    case MAX: return f32x4.max(a, b);
    case MIN: return f32x4.min(a, b);
    default: return f32x4.splat(NaN);
  }
}

@inline
function binary1(op: i32, a: f32, b: f32): f32 {
  return f32x4.extract_lane(binary4(op, f32x4.splat(a), f32x4.splat(b)), 0);
}

/**
 * out = a op b over an output collapsed to 4 dims [n0, n1, n2, n3], each operand read through
 * element strides (0 where it broadcasts). The innermost dim is vectorised when both operands
 * are contiguous or constant along it. Threads split the n0·n1·n2 rows (or n3 when that is all).
 */
export function binary(
  tid: i32, nt: i32, op: i32, a: usize, b: usize, out: usize,
  n0: i32, n1: i32, n2: i32, n3: i32,
  sa0: i32, sa1: i32, sa2: i32, sa3: i32,
  sb0: i32, sb1: i32, sb2: i32, sb3: i32,
): void {
  const rows = n0 * n1 * n2;
  let r0 = 0, r1 = rows, c0 = 0, c1 = n3;
  if (rows >= nt) {
    r0 = (rows * tid) / nt;
    r1 = (rows * (tid + 1)) / nt;
  } else {
    c0 = share(n3, tid, nt);
    c1 = share(n3, tid + 1, nt);
  }
  for (let r = r0; r < r1; r++) {
    const i2 = r % n2;
    const q = r / n2;
    const i1 = q % n1;
    const i0 = q / n1;
    const ar = a + ((<usize>i0 * sa0 + <usize>i1 * sa1 + <usize>i2 * sa2) << 2);
    const br = b + ((<usize>i0 * sb0 + <usize>i1 * sb1 + <usize>i2 * sb2) << 2);
    const orow = out + ((<usize>r * n3) << 2);
    let j = c0;
    if (sa3 == 1 && sb3 == 1) {
      for (; j + 4 <= c1; j += 4) v128.store(orow + (<usize>j << 2), binary4(op, v128.load(ar + (<usize>j << 2)), v128.load(br + (<usize>j << 2))));
    } else if (sa3 == 1 && sb3 == 0) {
      const bv = v128.load32_splat(br);
      for (; j + 4 <= c1; j += 4) v128.store(orow + (<usize>j << 2), binary4(op, v128.load(ar + (<usize>j << 2)), bv));
    } else if (sa3 == 0 && sb3 == 1) {
      const av = v128.load32_splat(ar);
      for (; j + 4 <= c1; j += 4) v128.store(orow + (<usize>j << 2), binary4(op, av, v128.load(br + (<usize>j << 2))));
    }
    for (; j < c1; j++) {
      store<f32>(orow + (<usize>j << 2), binary1(op, load<f32>(ar + ((<usize>j * sa3) << 2)), load<f32>(br + ((<usize>j * sb3) << 2))));
    }
  }
}

/** sin (op 0) or cos (op 1), in f64 for exact range reduction of large angles (rotary positions). */
export function trig(tid: i32, nt: i32, op: i32, x: usize, out: usize, n: i32): void {
  const i0 = share(n, tid, nt);
  const i1 = share(n, tid + 1, nt);
  for (let i = i0; i < i1; i++) {
    const o = <usize>i << 2;
    const v = <f64>load<f32>(x + o);
    store<f32>(out + o, <f32>(op == 0 ? Math.sin(v) : Math.cos(v)));
  }
}

/** rows × len 4-byte elements from src (row stride ss) to dst (row stride ds); threads split rows. */
export function copyRows(tid: i32, nt: i32, src: usize, ss: i32, dst: usize, ds: i32, rows: i32, len: i32): void {
  const r0 = (rows * tid) / nt;
  const r1 = (rows * (tid + 1)) / nt;
  const bytes = <usize>len << 2;
  for (let r = r0; r < r1; r++) memory.copy(dst + ((<usize>r * ds) << 2), src + ((<usize>r * ss) << 2), bytes);
}
