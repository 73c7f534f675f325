// The whole Mamba-3 mixer between in_proj and out_proj, fused, run position by position (the
// decode step is the case L = 1). Per (batch, head) pair, which threads split:
//   dt = softplus(dd_dt + dt_bias), adt = −max(heavyTail(dd_A), A_floor)·dt, λ = sigmoid(trap)
//   θ += tanh(angles)·dt·π;  B̃_r, C̃_r = rotate_θ(rmsNorm_N(B_r|C_r)·w + bias[h, r])
//   x̃_r = x ⊙ mimo_x[h, r] (SISO: x)
//   S = α S + β Σ_r x̃_{prev,r} ⊗ B̃_{prev,r} + γ Σ_r x̃_r ⊗ B̃_r,  y_r = S C̃_r + D·x̃_r
//   out = Σ_r gate(y_r, z ⊙ mimo_z[h, r]) ⊙ mimo_o[h, r]  (SISO: gate(y, z)), where gate is
//   y·silu(z) or, with the output norm, rmsNorm_P(y)·w·silu(z).
// Shapes: zxbcdt [b, L, dInProj] split (z, x, B, C, dd_dt, dd_A, trap, angles) with B, C laid
// out (r g n); y [b, L, H·P]; cache angle [b, H, A], ssm [b, H, P, N], k [b, R, H, N], v [b, H, P]
// (state pointers 0: start from zeros). See packages/tensor/src/ops/mamba3/mixer.ts.
import { exp4, expm14, sigmoid4, sincos4, softplus4 } from './simdmath';

@inline function f(v: v128): f32 { return f32x4.extract_lane(v, 0); }
@inline function sigmoid1(x: f32): f32 { return f(sigmoid4(f32x4.splat(x))); }
@inline function silu1(x: f32): f32 { return x * sigmoid1(x); }
/** tanh lanewise: −expm1(−2|x|) / (expm1(−2|x|) + 2), with x's sign. */
@inline function tanh4(x: v128): v128 {
  const e = expm14(f32x4.mul(f32x4.abs(x), f32x4.splat(-2)));
  const t = f32x4.div(f32x4.neg(e), f32x4.add(e, f32x4.splat(2)));
  return v128.or(t, v128.and(x, i32x4.splat(0x80000000)));
}

/** Params and sizes, in one block of i32/f32 words (too many for arguments): see src/kernels/mixer.ts. */
const P_DTBIAS = 0, P_BBIAS = 1, P_CBIAS = 2, P_BNORM = 3, P_CNORM = 4, P_D = 5, P_MIMOX = 6, P_MIMOZ = 7, P_MIMOO = 8, P_NORM = 9;
const S_ANGLE = 10, S_SSM = 11, S_K = 12, S_V = 13;
const O_Y = 14, O_ANGLE = 15, O_SSM = 16, O_K = 17, O_V = 18;
const D_B = 19, D_L = 20, D_H = 21, D_P = 22, D_N = 23, D_G = 24, D_R = 25, D_A = 26, D_MIMO = 27, D_COMPLEX = 28, D_OUTNORM = 29;
const F_AFLOOR = 30, F_EPS = 31, SCRATCH = 32;

@inline function word(blk: usize, i: i32): i32 { return load<i32>(blk + (<usize>i << 2)); }

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** Σ src[i]² over n. */
@inline function sumSquares(src: usize, n: i32): f32 {
  let acc = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) { const v = v128.load(src + (<usize>i << 2)); acc = f32x4.add(acc, f32x4.mul(v, v)); }
  let ss = hsum(acc);
  for (; i < n; i++) { const v = load<f32>(src + (<usize>i << 2)); ss += v * v; }
  return ss;
}

/** rmsNorm over n of src, times w, plus bias -> dst. */
function normBias(src: usize, w: usize, bias: usize, dst: usize, n: i32, eps: f32): void {
  const scale: f32 = 1 / Mathf.sqrt(sumSquares(src, n) / <f32>n + eps);
  const sv = f32x4.splat(scale);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(f32x4.mul(f32x4.mul(v128.load(src + o), sv), v128.load(w + o)), v128.load(bias + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(src + o) * scale * load<f32>(w + o) + load<f32>(bias + o));
  }
}

/**
 * out[p] (+)= y[p]·scale·(norm[p])·silu(z[p]·(mz[p]))·(mo[p]) over P (pointers 0: factor absent),
 * four lanes at a time: the gate of one head and rank.
 */
function gateRow(out: usize, y: usize, z: usize, scale: f32, norm: usize, mz: usize, mo: usize, accumulate: bool, P: i32): void {
  const sv = f32x4.splat(scale);
  let p = 0;
  for (; p + 4 <= P; p += 4) {
    const o = <usize>p << 2;
    let zv = v128.load(z + o);
    if (mz != 0) zv = f32x4.mul(zv, v128.load(mz + o));
    let v = f32x4.mul(v128.load(y + o), sv);
    if (norm != 0) v = f32x4.mul(v, v128.load(norm + o));
    v = f32x4.mul(v, f32x4.mul(zv, sigmoid4(zv)));
    if (mo != 0) v = f32x4.mul(v, v128.load(mo + o));
    if (accumulate) v = f32x4.add(v, v128.load(out + o));
    v128.store(out + o, v);
  }
  for (; p < P; p++) {
    const o = <usize>p << 2;
    let zs = load<f32>(z + o);
    if (mz != 0) zs *= load<f32>(mz + o);
    let v = load<f32>(y + o) * scale;
    if (norm != 0) v *= load<f32>(norm + o);
    v *= silu1(zs);
    if (mo != 0) v *= load<f32>(mo + o);
    if (accumulate) v += load<f32>(out + o);
    store<f32>(out + o, v);
  }
}

/** Lanes [0, n) of the f32x4 at p, zeros after (n < 4): reads no further than p + 4n. */
function tailLanes(p: usize, n: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Rotates pairs of v by θ (cos cs[i], sin cs[A4 + i], i < A): SISO pairs (2i, 2i+1), MIMO (i, i + N/2). */
function rotate(v: usize, cs: usize, A: i32, A4: i32, N: i32, mimo: bool): void {
  for (let i = 0; i < A; i++) {
    const c = load<f32>(cs + (<usize>i << 2));
    const s = load<f32>(cs + ((<usize>A4 + i) << 2));
    const iu = mimo ? i : 2 * i;
    const iw = mimo ? i + (N >> 1) : 2 * i + 1;
    const u = load<f32>(v + (<usize>iu << 2));
    const w = load<f32>(v + (<usize>iw << 2));
    store<f32>(v + (<usize>iu << 2), u * c - w * s);
    store<f32>(v + (<usize>iw << 2), u * s + w * c);
  }
}

/**
 * One pass over S per row p (see the caller): the state update and y. Out of line on purpose:
 * inlined into mamba3Mixer, V8's register allocator kept this loop's vectors on the stack (the
 * default model's step took 26 µs per layer, 13.5 µs like this). Binaryen does not inline
 * functions with loops, so it stays a call.
 */
function updateState(S: usize, Sin: usize, P: i32, N: i32, R: i32, alpha: f32, beta: f32, gamma: f32, havePrev: bool, Xt: usize, Vp: usize, Bt: usize, Kp: usize, Ct: usize, Yr: usize, Dh: f32): void {
  const av = f32x4.splat(alpha);
  for (let p = 0; p < P; p++) {
    const srow = S + ((<usize>p * N) << 2);
    const sin = Sin + ((<usize>p * N) << 2);
    for (let r = 0; r < R; r++) {
      const gx = gamma * load<f32>(Xt + ((<usize>r * P + p) << 2));
      const bv: f32 = havePrev ? beta * load<f32>(Vp + ((<usize>r * P + p) << 2)) : 0;
      const gxv = f32x4.splat(gx), bvv = f32x4.splat(bv);
      const kc = Bt + ((<usize>r * N) << 2), kp = Kp + ((<usize>r * N) << 2);
      const c = Ct + ((<usize>r * N) << 2);
      // With one rank the dot product with C̃ rides along the update.
      const fuseDot = R == 1;
      let acc = f32x4.splat(0);
      let n = 0;
      if (r == 0) {
        // Two accumulators: the dot product's add chain would otherwise set the pace.
        let acc1 = f32x4.splat(0);
        for (; n + 8 <= N; n += 8) {
          const o = <usize>n << 2;
          const s0 = f32x4.add(f32x4.add(f32x4.mul(v128.load(sin + o), av), f32x4.mul(gxv, v128.load(kc + o))), f32x4.mul(bvv, v128.load(kp + o)));
          const s1 = f32x4.add(f32x4.add(f32x4.mul(v128.load(sin + o, 16), av), f32x4.mul(gxv, v128.load(kc + o, 16))), f32x4.mul(bvv, v128.load(kp + o, 16)));
          v128.store(srow + o, s0);
          v128.store(srow + o, s1, 16);
          acc = f32x4.add(acc, f32x4.mul(s0, v128.load(c + o)));
          acc1 = f32x4.add(acc1, f32x4.mul(s1, v128.load(c + o, 16)));
        }
        for (; n + 4 <= N; n += 4) {
          const o = <usize>n << 2;
          const s = f32x4.add(f32x4.add(f32x4.mul(v128.load(sin + o), av), f32x4.mul(gxv, v128.load(kc + o))), f32x4.mul(bvv, v128.load(kp + o)));
          v128.store(srow + o, s);
          acc = f32x4.add(acc, f32x4.mul(s, v128.load(c + o)));
        }
        acc = f32x4.add(acc, acc1);
      } else {
        for (; n + 4 <= N; n += 4) {
          const o = <usize>n << 2;
          v128.store(srow + o, f32x4.add(f32x4.add(v128.load(srow + o), f32x4.mul(gxv, v128.load(kc + o))), f32x4.mul(bvv, v128.load(kp + o))));
        }
      }
      let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
      for (; n < N; n++) {
        const o = <usize>n << 2;
        let s = r == 0 ? load<f32>(sin + o) * alpha : load<f32>(srow + o);
        s += gx * load<f32>(kc + o) + bv * load<f32>(kp + o);
        store<f32>(srow + o, s);
        sum += s * load<f32>(c + o);
      }
      if (fuseDot) store<f32>(Yr + (<usize>p << 2), sum + Dh * load<f32>(Xt + (<usize>p << 2)));
    }
    if (R > 1) {
      for (let r = 0; r < R; r++) {
        const c = Ct + ((<usize>r * N) << 2);
        let acc = f32x4.splat(0);
        let n = 0;
        for (; n + 4 <= N; n += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(srow + (<usize>n << 2)), v128.load(c + (<usize>n << 2))));
        let sum = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        for (; n < N; n++) sum += load<f32>(srow + (<usize>n << 2)) * load<f32>(c + (<usize>n << 2));
        store<f32>(Yr + ((<usize>r * P + p) << 2), sum + Dh * load<f32>(Xt + ((<usize>r * P + p) << 2)));
      }
    }
  }
}

export function mamba3Mixer(tid: i32, nt: i32, zxbcdt: usize, blk: usize): void {
  const b = word(blk, D_B), L = word(blk, D_L), H = word(blk, D_H), P = word(blk, D_P), N = word(blk, D_N);
  const G = word(blk, D_G), R = word(blk, D_R), A = word(blk, D_A);
  const mimo = word(blk, D_MIMO) != 0, complex = word(blk, D_COMPLEX) != 0, outNorm = word(blk, D_OUTNORM) != 0;
  const AFloor = load<f32>(blk + (F_AFLOOR << 2)), eps = load<f32>(blk + (F_EPS << 2));
  const dInner = H * P;
  const NGR = N * G * R;
  const dIn = 2 * dInner + 2 * NGR + 3 * H + A;
  // Per-thread scratch: B̃, C̃, previous B̃ (R×N each), x̃, previous x̃, y (R×P each), cos, sin
  // and θ (A rounded up to 4 each): src/kernels/mixer.ts sizes it.
  const per = 3 * R * N + 3 * R * P + 3 * ((A + 3) & ~3);
  const sc = <usize>word(blk, SCRATCH) + ((<usize>tid * per) << 2);
  const Bt = sc, Ct = Bt + ((<usize>R * N) << 2), Kp = Ct + ((<usize>R * N) << 2);
  const Xt = Kp + ((<usize>R * N) << 2), Vp = Xt + ((<usize>R * P) << 2), Yr = Vp + ((<usize>R * P) << 2);
  const A4 = (A + 3) & ~3;
  const CS = Yr + ((<usize>R * P) << 2), TH = CS + ((<usize>A4 * 2) << 2);
  const pairs = b * H;
  const j0 = (pairs * tid) / nt, j1 = (pairs * (tid + 1)) / nt;
  const PN = <usize>P * N;
  for (let j = j0; j < j1; j++) {
    const bi = j / H, h = j % H;
    const g = h / (H / G);
    const S = <usize>word(blk, O_SSM) + ((<usize>j * PN) << 2);
    const theta = <usize>word(blk, O_ANGLE) + ((<usize>j * A) << 2);
    // The first position reads the cached state where it is (no copy), later ones S itself.
    const s0 = <usize>word(blk, S_SSM);
    if (s0 == 0) memory.fill(S, 0, PN << 2);
    let Sin = s0 != 0 ? s0 + ((<usize>j * PN) << 2) : S;
    const a0 = <usize>word(blk, S_ANGLE);
    memory.fill(TH, 0, <usize>A4 << 2);
    if (a0 != 0) memory.copy(TH, a0 + ((<usize>j * A) << 2), <usize>A << 2);
    if (!complex) memory.copy(theta, TH, <usize>A << 2);
    // The previous position's (B̃, x̃): from the cache, or none.
    let havePrev = word(blk, S_K) != 0;
    // Without one, zeros (the update multiplies them by β = 0; scratch may hold NaN).
    memory.fill(Kp, 0, (<usize>R * N) << 2);
    memory.fill(Vp, 0, (<usize>R * P) << 2);
    if (havePrev) {
      for (let r = 0; r < R; r++) {
        memory.copy(Kp + ((<usize>r * N) << 2), <usize>word(blk, S_K) + ((((<usize>bi * R + r) * H + h) * N) << 2), <usize>N << 2);
        for (let p = 0; p < P; p++) {
          const xv = load<f32>(<usize>word(blk, S_V) + ((<usize>j * P + p) << 2));
          const m: f32 = mimo ? load<f32>(<usize>word(blk, P_MIMOX) + (((<usize>h * R + r) * P + p) << 2)) : 1;
          store<f32>(Vp + ((<usize>r * P + p) << 2), xv * m);
        }
      }
    }
    for (let t = 0; t < L; t++) {
      const row = zxbcdt + ((<usize>(bi * L + t) * dIn) << 2);
      const zr = row + ((<usize>h * P) << 2);
      const xr = row + ((<usize>(dInner + h * P)) << 2);
      const tail = row + ((<usize>(2 * dInner + 2 * NGR)) << 2);
      const dt = f(softplus4(f32x4.splat(load<f32>(tail + (<usize>h << 2)) + load<f32>(<usize>word(blk, P_DTBIAS) + (<usize>h << 2)))));
      const dA = load<f32>(tail + ((<usize>(H + h)) << 2));
      const heavy: f32 = max(dA, 0) + 1 / (1 - min(dA, 0));
      const adt = -max(heavy, AFloor) * dt;
      const lam = sigmoid1(load<f32>(tail + ((<usize>(2 * H + h)) << 2)));
      const alpha = f(exp4(f32x4.splat(adt)));
      const beta: f32 = (<f32>1 - lam) * dt * alpha;
      const gamma = lam * dt;
      if (complex) {
        // θ += tanh(angles)·dt·π, then cos θ (CS[0, A)) and sin θ (CS[A4, A4 + A)), 4 at a time;
        // θ's tail past A is scratch (CS is sized for A rounded up to 4).
        const angles = tail + ((<usize>(3 * H)) << 2);
        const scale = f32x4.splat(dt * <f32>Math.PI);
        for (let i = 0; i < A; i += 4) {
          const o = <usize>i << 2;
          const inc = i + 4 <= A ? v128.load(angles + o) : tailLanes(angles + o, A - i);
          const th = f32x4.add(v128.load(TH + o), f32x4.mul(tanh4(inc), scale));
          v128.store(TH + o, th);
          sincos4(th, CS + o, CS + ((<usize>A4 + i) << 2));
        }
        memory.copy(theta, TH, <usize>A << 2);
      }
      for (let r = 0; r < R; r++) {
        const grp = (<usize>(r * G + g) * N) << 2;
        const bias = (((<usize>h * R + r) * N) << 2);
        normBias(row + ((<usize>(2 * dInner)) << 2) + grp, <usize>word(blk, P_BNORM), <usize>word(blk, P_BBIAS) + bias, Bt + ((<usize>r * N) << 2), N, eps);
        normBias(row + ((<usize>(2 * dInner + NGR)) << 2) + grp, <usize>word(blk, P_CNORM), <usize>word(blk, P_CBIAS) + bias, Ct + ((<usize>r * N) << 2), N, eps);
        if (complex) {
          rotate(Bt + ((<usize>r * N) << 2), CS, A, A4, N, mimo);
          rotate(Ct + ((<usize>r * N) << 2), CS, A, A4, N, mimo);
        }
        const xt = Xt + ((<usize>r * P) << 2);
        if (mimo) {
          const mx = <usize>word(blk, P_MIMOX) + (((<usize>h * R + r) * P) << 2);
          for (let p = 0; p < P; p++) store<f32>(xt + (<usize>p << 2), load<f32>(xr + (<usize>p << 2)) * load<f32>(mx + (<usize>p << 2)));
        } else {
          memory.copy(xt, xr, <usize>P << 2);
        }
      }
      // One pass over S per row p: S[p] = α S[p] + β Σ_r Vp_r[p] Kp_r + γ Σ_r Xt_r[p] Bt_r, then
      // y_r[p] = S[p] · C̃_r + D x̃_r[p] while the row is in L1.
      updateState(S, Sin, P, N, R, alpha, beta, gamma, havePrev, Xt, Vp, Bt, Kp, Ct, Yr, load<f32>(<usize>word(blk, P_D) + (<usize>h << 2)));
      // Gate (or output norm and gate), mixed over ranks.
      const yOut = <usize>word(blk, O_Y) + ((<usize>(bi * L + t) * dInner + <usize>h * P) << 2);
      for (let r = 0; r < R; r++) {
        const yr = Yr + ((<usize>r * P) << 2);
        const scale: f32 = outNorm ? 1 / Mathf.sqrt(sumSquares(yr, P) / <f32>P + eps) : 1;
        const hr = ((<usize>h * R + r) * P) << 2;
        gateRow(
          yOut, yr, zr, scale,
          outNorm ? <usize>word(blk, P_NORM) + ((<usize>h * P) << 2) : 0,
          mimo ? <usize>word(blk, P_MIMOZ) + hr : 0,
          mimo ? <usize>word(blk, P_MIMOO) + hr : 0,
          mimo && r > 0, P,
        );
      }
      Sin = S;
      // This position becomes the previous one.
      memory.copy(Kp, Bt, (<usize>R * N) << 2);
      memory.copy(Vp, Xt, (<usize>R * P) << 2);
      havePrev = true;
      if (t == L - 1) {
        for (let r = 0; r < R; r++) memory.copy(<usize>word(blk, O_K) + ((((<usize>bi * R + r) * H + h) * N) << 2), Bt + ((<usize>r * N) << 2), <usize>N << 2);
        memory.copy(<usize>word(blk, O_V) + ((<usize>j * P) << 2), xr, <usize>P << 2);
      }
    }
  }
}
