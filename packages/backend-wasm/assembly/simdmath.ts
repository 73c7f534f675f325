// Vectorised exp and log for f32x4 (Cody-Waite range reduction and short polynomials; relative
// error ~2e-7, well inside float32 kernel tolerances). Written here because wasm has no
// transcendental instructions and the AssemblyScript Mathf routines are scalar.

const LOG2E: f32 = 1.44269504;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
/** 1.5·2^23 and its bits. */
const ROUND_MAGIC: f32 = 12582912.0;
const ROUND_MAGIC_BITS: i32 = 0x4b400000;

/** e^x lanewise: +inf above 88.72, 0 below -87.33. */
@inline
export function exp4(x: v128): v128 {
  const hi = f32x4.splat(88.72283);
  const lo = f32x4.splat(-87.33654);
  // pmin/pmax are one instruction each on x64 (min/max cost about seven for their NaN and ±0
  // rules); a NaN x stays NaN through them, as the first operand.
  const xc = f32x4.pmax(f32x4.pmin(x, hi), lo);
  // Nearest integer (ties to even, as f32x4.nearest) by adding 1.5·2^23: |n| ≤ 128 lands in the
  // low mantissa bits, which also gives n as an integer without a float-to-int conversion.
  const t = f32x4.add(f32x4.mul(xc, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(t, f32x4.splat(ROUND_MAGIC));
  let r = f32x4.sub(xc, f32x4.mul(n, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LO)));
  // Taylor to r^6 on |r| <= ln2/2.
  let p = f32x4.splat(1.0 / 720.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  // 2^n split in two factors so n = 128 (x near the top) does not overflow the exponent field.
  const ni = i32x4.sub(t, i32x4.splat(ROUND_MAGIC_BITS));
  const n1 = i32x4.shr_s(ni, 1);
  const n2 = i32x4.sub(ni, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  let y = f32x4.mul(f32x4.mul(p, s1), s2);
  y = v128.bitselect(f32x4.splat(Infinity), y, f32x4.gt(x, hi));
  y = v128.bitselect(f32x4.splat(0), y, f32x4.lt(x, lo));
  return y;
}

/** ln x lanewise for x > 0 (NaN below 0, -inf at 0, +inf at +inf). */
@inline
export function log4(x: v128): v128 {
  // Denormals: scale up by 2^23 first.
  const tiny = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, tiny);
  const bits = xs;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(127));
  let m = v128.or(v128.and(bits, i32x4.splat(0x007fffff)), i32x4.splat(0x3f800000));
  // Bring m into [sqrt(1/2), sqrt(2)).
  const big = f32x4.gt(m, f32x4.splat(1.41421356));
  m = v128.bitselect(f32x4.mul(m, f32x4.splat(0.5)), m, big);
  e = i32x4.sub(e, big); // big lanes are -1: e + 1
  e = v128.bitselect(i32x4.sub(e, i32x4.splat(23)), e, tiny);
  const t = f32x4.div(f32x4.sub(m, f32x4.splat(1)), f32x4.add(m, f32x4.splat(1)));
  const t2 = f32x4.mul(t, t);
  let p = f32x4.splat(1.0 / 9.0);
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(1.0 / 7.0));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(1.0 / 5.0));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(1.0 / 3.0));
  p = f32x4.add(f32x4.mul(p, t2), f32x4.splat(1.0));
  let y = f32x4.add(f32x4.mul(f32x4.mul(p, t), f32x4.splat(2)), f32x4.mul(f32x4.convert_i32x4_s(e), f32x4.splat(0.693147181)));
  y = v128.bitselect(f32x4.splat(-Infinity), y, f32x4.eq(x, f32x4.splat(0)));
  y = v128.bitselect(f32x4.splat(NaN), y, f32x4.lt(x, f32x4.splat(0)));
  y = v128.bitselect(x, y, f32x4.eq(x, f32x4.splat(Infinity)));
  y = v128.bitselect(x, y, f32x4.ne(x, x));
  return y;
}

/** ln(1 + y) accurate for small y (y > -1): log(u)·y/(u−1) with u = 1 + y. */
@inline
export function log1p4(y: v128): v128 {
  const u = f32x4.add(y, f32x4.splat(1));
  const d = f32x4.sub(u, f32x4.splat(1));
  const r = f32x4.mul(log4(u), f32x4.div(y, d));
  const same = f32x4.eq(d, f32x4.splat(0));
  const inf = f32x4.eq(u, f32x4.splat(Infinity));
  return v128.bitselect(u, v128.bitselect(y, r, same), inf);
}

/** e^x − 1 accurate for small x: (u−1)·x/ln u with u = e^x. */
@inline
export function expm14(x: v128): v128 {
  const u = exp4(x);
  const d = f32x4.sub(u, f32x4.splat(1));
  const r = f32x4.mul(d, f32x4.div(x, log4(u)));
  const one = f32x4.eq(u, f32x4.splat(1));
  const edge = v128.or(f32x4.eq(u, f32x4.splat(Infinity)), f32x4.eq(u, f32x4.splat(0)));
  return v128.bitselect(x, v128.bitselect(d, r, edge), one);
}

@inline
export function sigmoid4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), exp4(f32x4.neg(x))));
}

/** log(1 + e^x) = max(x, 0) + log1p(e^−|x|), never overflowing. */
@inline
export function softplus4(x: v128): v128 {
  return f32x4.add(f32x4.max(x, f32x4.splat(0)), log1p4(exp4(f32x4.neg(f32x4.abs(x)))));
}

// π/2 in two parts (fdlibm's PIO2_1, PIO2_1T): k·π/2 subtracted exactly for |k| < 2^20.
const PIO2_HI: f64 = 1.57079632673412561417e+00;
const PIO2_LO: f64 = 6.07710050650619224932e-11;
const TWO_OVER_PI: f64 = 6.36619772367581382433e-01;

/** The nearest k to x / (π/2), two f64 lanes. */
@inline function reduce2(x: v128): v128 {
  return f64x2.nearest(f64x2.mul(x, f64x2.splat(TWO_OVER_PI)));
}

/**
 * cos and sin of four f32 angles, stored as f32x4 at outCos and outSin: the reduction to
 * [−π/4, π/4] in f64 (exact for the growing rotary angles), then Cephes' f32 polynomials
 * (about 1 ulp). Angles beyond 2^20·π/2 (far past any sequence) go to the library routines.
 */
@inline
export function sincos4(th: v128, outCos: usize, outSin: usize): void {
  const lo = f64x2.promote_low_f32x4(th);
  const hi = f64x2.promote_low_f32x4(v128.shuffle<i32>(th, th, 2, 3, 0, 1));
  const klo = reduce2(lo);
  const khi = reduce2(hi);
  const rlo = f64x2.sub(f64x2.sub(lo, f64x2.mul(klo, f64x2.splat(PIO2_HI))), f64x2.mul(klo, f64x2.splat(PIO2_LO)));
  const rhi = f64x2.sub(f64x2.sub(hi, f64x2.mul(khi, f64x2.splat(PIO2_HI))), f64x2.mul(khi, f64x2.splat(PIO2_LO)));
  const r = v128.shuffle<i32>(f32x4.demote_f64x2_zero(rlo), f32x4.demote_f64x2_zero(rhi), 0, 1, 4, 5);
  const q = v128.shuffle<i32>(i32x4.trunc_sat_f64x2_s_zero(klo), i32x4.trunc_sat_f64x2_s_zero(khi), 0, 1, 4, 5);
  const z = f32x4.mul(r, r);
  let ps = f32x4.add(f32x4.mul(z, f32x4.splat(-1.9515295891e-4)), f32x4.splat(8.3321608736e-3));
  ps = f32x4.add(f32x4.mul(z, ps), f32x4.splat(-1.6666654611e-1));
  const s = f32x4.add(r, f32x4.mul(f32x4.mul(r, z), ps));
  let pc = f32x4.add(f32x4.mul(z, f32x4.splat(2.443315711809948e-5)), f32x4.splat(-1.388731625493765e-3));
  pc = f32x4.add(f32x4.mul(z, pc), f32x4.splat(4.166664568298827e-2));
  const c = f32x4.add(f32x4.sub(f32x4.splat(1), f32x4.mul(z, f32x4.splat(0.5))), f32x4.mul(f32x4.mul(z, z), pc));
  // Quadrant q: odd swaps sin and cos; sin is negated in quadrants 2, 3, cos in 1, 2.
  const swap = i32x4.eq(v128.and(q, i32x4.splat(1)), i32x4.splat(1));
  const sinv = v128.xor(v128.bitselect(c, s, swap), i32x4.shl(v128.and(q, i32x4.splat(2)), 30));
  const cosv = v128.xor(v128.bitselect(s, c, swap), i32x4.shl(v128.and(i32x4.add(q, i32x4.splat(1)), i32x4.splat(2)), 30));
  v128.store(outCos, cosv);
  v128.store(outSin, sinv);
  if (v128.any_true(f32x4.gt(f32x4.abs(th), f32x4.splat(1.6e6)))) {
    libSincos(<f64>f32x4.extract_lane(th, 0), outCos, outSin);
    libSincos(<f64>f32x4.extract_lane(th, 1), outCos + 4, outSin + 4);
    libSincos(<f64>f32x4.extract_lane(th, 2), outCos + 8, outSin + 8);
    libSincos(<f64>f32x4.extract_lane(th, 3), outCos + 12, outSin + 12);
  }
}

function libSincos(x: f64, outCos: usize, outSin: usize): void {
  store<f32>(outCos, <f32>Math.cos(x));
  store<f32>(outSin, <f32>Math.sin(x));
}
