// The Mamba-1 selective scan (official selective_scan_fn with delta_softplus, z and D), run
// sequentially with each channel's N-state in registers; the decode step is the case L = 1.
//   Δ = softplus(delta + deltaBias);  h_t = exp(Δ_t·A) ⊙ h_{t−1} + Δ_t·u_t·B_t;
//   y_t = (h_t·C_t + D·u_t)·silu(z_t)
// Shapes: u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; h0 [b, E, N] (or 0:
// zeros); y [b, L, E]; hOut [b, E, N] (the state after the last position). Threads split the
// (batch, channel) rows; channels go four at a time (u, Δ, z are contiguous along E).
import { exp4, sigmoid4, softplus4 } from './simdmath';

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function lane(v: v128, i: i32): f32 {
  // extract_lane needs a constant index.
  return i == 0 ? f32x4.extract_lane(v, 0) : i == 1 ? f32x4.extract_lane(v, 1) : i == 2 ? f32x4.extract_lane(v, 2) : f32x4.extract_lane(v, 3);
}

export function mamba1Scan(
  tid: i32, nt: i32,
  u: usize, delta: usize, A: usize, B: usize, C: usize, D: usize, z: usize, deltaBias: usize,
  h0: usize, y: usize, hOut: usize,
  b: i32, L: i32, E: i32, N: i32,
): void {
  // Rows of 4 channels (the last group may be partial).
  const groups = (E + 3) >> 2;
  const rows = b * groups;
  const r0 = (rows * tid) / nt, r1 = (rows * (tid + 1)) / nt;
  const EN = <usize>E * N;
  for (let r = r0; r < r1; r++) {
    const bi = r / groups;
    const e0 = (r % groups) << 2;
    const ne = min(4, E - e0);
    const hb = hOut + ((<usize>bi * EN + <usize>e0 * N) << 2);
    if (h0 != 0) memory.copy(hb, h0 + ((<usize>bi * EN + <usize>e0 * N) << 2), (<usize>ne * N) << 2);
    else memory.fill(hb, 0, (<usize>ne * N) << 2);
    for (let t = 0; t < L; t++) {
      const row = (<usize>bi * L + t) * E + e0;
      const bn = B + (((<usize>bi * L + t) * N) << 2);
      const cn = C + (((<usize>bi * L + t) * N) << 2);
      const dv = loadLanes(delta + (row << 2), ne);
      const uv = loadLanes(u + (row << 2), ne);
      const zv = loadLanes(z + (row << 2), ne);
      const biasv = loadLanes(deltaBias + (<usize>e0 << 2), ne);
      const Dv = loadLanes(D + (<usize>e0 << 2), ne);
      const dlt = softplus4(f32x4.add(dv, biasv));
      const du = f32x4.mul(dlt, uv);
      const gate = f32x4.mul(zv, sigmoid4(zv));
      const out = f32x4.mul(Dv, uv);
      for (let i = 0; i < ne; i++) {
        const d = f32x4.splat(lane(dlt, i));
        const dub = f32x4.splat(lane(du, i));
        const hrow = hb + ((<usize>i * N) << 2);
        const arow = A + (((<usize>e0 + i) * N) << 2);
        let acc = f32x4.splat(0);
        let n = 0;
        for (; n + 4 <= N; n += 4) {
          const o = <usize>n << 2;
          const h = f32x4.add(f32x4.mul(v128.load(hrow + o), exp4(f32x4.mul(d, v128.load(arow + o)))), f32x4.mul(dub, v128.load(bn + o)));
          v128.store(hrow + o, h);
          acc = f32x4.add(acc, f32x4.mul(h, v128.load(cn + o)));
        }
        let s = hsum(acc);
        for (; n < N; n++) {
          const o = <usize>n << 2;
          const h = load<f32>(hrow + o) * f32x4.extract_lane(exp4(f32x4.splat(lane(dlt, i) * load<f32>(arow + o))), 0) + lane(du, i) * load<f32>(bn + o);
          store<f32>(hrow + o, h);
          s += h * load<f32>(cn + o);
        }
        store<f32>(y + ((row + i) << 2), (s + lane(out, i)) * lane(gate, i));
      }
    }
  }
}

/** n ≤ 4 floats at p as lanes [0, n), zeros after: never reads past p + 4n. */
@inline function loadLanes(p: usize, n: i32): v128 {
  if (n == 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (n > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (n > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}
