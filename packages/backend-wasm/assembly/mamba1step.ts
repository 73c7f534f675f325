// The Mamba-1 decode step's two fused kernels around x_proj (the contract: @mamba3/core's
// mamba1/step.ts: the same math as its composites). Threads split the (batch, channel) rows,
// four channels at a time.
//   mamba1ConvStep: conv ← [conv[..., 1:], x];  x ← silu(conv·w + bias)
//   mamba1StepScan: Δ = softplus(dt·dt_projᵀ + dtBias);  h ← exp(Δ·A) ⊙ h + Δ·x·B;
//                   y = (h·C + D·x)·silu(z)   (A = −exp(A_log), f32, computed by the caller)
// Shapes: xz [b, 2E] (x then z); conv [b, E, K]; convW [E, K]; convBias [E] (0: none); x [b, E];
// dbc [b, R + 2N] (dt, B, C); dtW [E, R]; dtBias, D [E]; A [E, N]; h, hOut [b, E, N]; y [b, E].
// Weights may be stored in 16 bits (their `code`: half.ts), decoded as they are read.
import { BF16, F32, f16x4, loadAs } from './half';
import { exp4, sigmoid4, softplus4 } from './simdmath';

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function lane(v: v128, i: i32): f32 {
  // extract_lane needs a constant index.
  return i == 0 ? f32x4.extract_lane(v, 0) : i == 1 ? f32x4.extract_lane(v, 1) : i == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

@inline function withLane(v: v128, i: i32, x: f32): v128 {
  return i == 0 ? f32x4.replace_lane(v, 0, x) : i == 1 ? f32x4.replace_lane(v, 1, x) : i == 2 ? f32x4.replace_lane(v, 2, x) : f32x4.replace_lane(v, 3, x);
}

/** Elements i .. i+3 of a tensor stored as `code` at p, as f32x4. */
@inline function load4(p: usize, i: usize, code: i32): v128 {
  if (code == F32) return v128.load(p + (i << 2));
  const h = i32x4.extend_low_i16x8_u(v128.load64_zero(p + (i << 1)));
  return code == BF16 ? i32x4.shl(h, 16) : f16x4(h);
}

/** n ≤ 4 elements from index i as lanes [0, n), zeros after: never reads past element i + n. */
@inline function loadLanes(p: usize, i: usize, n: i32, code: i32): v128 {
  if (n == 4) return load4(p, i, code);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, loadAs(p, i, code));
  if (n > 1) v = f32x4.replace_lane(v, 1, loadAs(p, i + 1, code));
  if (n > 2) v = f32x4.replace_lane(v, 2, loadAs(p, i + 2, code));
  return v;
}

/** This thread's rows of four channels: [r0, r1) of b·⌈E/4⌉, as (r1 << 32 | r0). */
@inline function shareRows(b: i32, E: i32, tid: i32, nt: i32): u64 {
  const rows = b * ((E + 3) >> 2);
  return (<u64>((rows * (tid + 1)) / nt) << 32) | <u64>((rows * tid) / nt);
}

export function mamba1ConvStep(
  tid: i32, nt: i32,
  xz: usize, conv: usize, convW: usize, convBias: usize, x: usize, convOut: usize,
  b: i32, E: i32, K: i32, codeW: i32, codeBias: i32,
): void {
  const groups = (E + 3) >> 2;
  const share = shareRows(b, E, tid, nt);
  for (let r = <i32>share; r < <i32>(share >> 32); r++) {
    const bi = r / groups;
    const e0 = (r % groups) << 2;
    const ne = min(4, E - e0);
    let acc = f32x4.splat(0);
    for (let i = 0; i < ne; i++) {
      const e = e0 + i;
      const src = conv + ((<usize>(bi * E + e) * K) << 2);
      const dst = convOut + ((<usize>(bi * E + e) * K) << 2);
      const wrow = <usize>e * K;
      const xv = load<f32>(xz + ((<usize>bi * 2 * E + e) << 2));
      if (K == 4) {
        // The usual d_conv: the row is one vector, shifted left with x entering at the end.
        const next = v128.shuffle<f32>(v128.load(src), f32x4.splat(xv), 1, 2, 3, 4);
        v128.store(dst, next);
        acc = withLane(acc, i, hsum(f32x4.mul(next, load4(convW, wrow, codeW))));
        continue;
      }
      let s: f32 = 0;
      for (let k = 0; k < K - 1; k++) {
        const v = load<f32>(src + (<usize>(k + 1) << 2));
        store<f32>(dst + (<usize>k << 2), v);
        s += v * loadAs(convW, wrow + k, codeW);
      }
      store<f32>(dst + (<usize>(K - 1) << 2), xv);
      s += xv * loadAs(convW, wrow + K - 1, codeW);
      acc = withLane(acc, i, s);
    }
    if (convBias != 0) acc = f32x4.add(acc, loadLanes(convBias, e0, ne, codeBias));
    const out = f32x4.mul(acc, sigmoid4(acc));
    const xo = x + ((<usize>bi * E + e0) << 2);
    if (ne == 4) v128.store(xo, out);
    else for (let i = 0; i < ne; i++) store<f32>(xo + (<usize>i << 2), lane(out, i));
  }
}

/** dt · w[0, R) with w stored as `code`: four lanes, then the lanes summed, then the tail. */
@inline function dotRow(dt: usize, w: usize, R: i32, code: i32): f32 {
  let acc = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= R; k += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(dt + (<usize>k << 2)), load4(w, k, code)));
  let s = hsum(acc);
  for (; k < R; k++) s += load<f32>(dt + (<usize>k << 2)) * loadAs(w, k, code);
  return s;
}

export function mamba1StepScan(
  tid: i32, nt: i32,
  xz: usize, x: usize, dbc: usize, dtW: usize, dtBias: usize, A: usize, D: usize, h: usize, y: usize, hOut: usize,
  b: i32, E: i32, N: i32, R: i32, codeDtW: i32, codeDtBias: i32, codeD: i32,
): void {
  const groups = (E + 3) >> 2;
  const share = shareRows(b, E, tid, nt);
  for (let r = <i32>share; r < <i32>(share >> 32); r++) {
    const bi = r / groups;
    const e0 = (r % groups) << 2;
    const ne = min(4, E - e0);
    const dt = dbc + ((<usize>bi * (R + 2 * N)) << 2);
    const bn = dt + (<usize>R << 2);
    const cn = bn + (<usize>N << 2);
    let dv = f32x4.splat(0);
    for (let i = 0; i < ne; i++) {
      dv = withLane(dv, i, dotRow(dt, dtW + ((<usize>(e0 + i) * R) << (codeDtW == F32 ? 2 : 1)), R, codeDtW));
    }
    const uv = loadLanes(x, <usize>bi * E + e0, ne, F32);
    const zv = loadLanes(xz, <usize>bi * 2 * E + E + e0, ne, F32);
    const dlt = softplus4(f32x4.add(dv, loadLanes(dtBias, e0, ne, codeDtBias)));
    const du = f32x4.mul(dlt, uv);
    const gate = f32x4.mul(zv, sigmoid4(zv));
    const skip = f32x4.mul(loadLanes(D, e0, ne, codeD), uv);
    let yv = f32x4.splat(0);
    for (let i = 0; i < ne; i++) {
      const d = f32x4.splat(lane(dlt, i));
      const dub = f32x4.splat(lane(du, i));
      const off = (<usize>(bi * E + e0 + i) * N) << 2;
      const arow = A + ((<usize>(e0 + i) * N) << 2);
      let acc = f32x4.splat(0);
      let n = 0;
      for (; n + 4 <= N; n += 4) {
        const o = <usize>n << 2;
        const dA = exp4(f32x4.mul(d, v128.load(arow + o)));
        const hn = f32x4.add(f32x4.mul(v128.load(h + off + o), dA), f32x4.mul(dub, v128.load(bn + o)));
        v128.store(hOut + off + o, hn);
        acc = f32x4.add(acc, f32x4.mul(hn, v128.load(cn + o)));
      }
      let s = hsum(acc);
      for (; n < N; n++) {
        const o = <usize>n << 2;
        const dA = f32x4.extract_lane(exp4(f32x4.splat(lane(dlt, i) * load<f32>(arow + o))), 0);
        const hn = load<f32>(h + off + o) * dA + lane(du, i) * load<f32>(bn + o);
        store<f32>(hOut + off + o, hn);
        s += hn * load<f32>(cn + o);
      }
      yv = withLane(yv, i, s);
    }
    const out = f32x4.mul(f32x4.add(yv, skip), gate);
    const yo = y + ((<usize>bi * E + e0) << 2);
    if (ne == 4) v128.store(yo, out);
    else for (let i = 0; i < ne; i++) store<f32>(yo + (<usize>i << 2), lane(out, i));
  }
}
