// The Mamba-3 SSM recurrence, run sequentially (exact, and fast on a CPU: the P×N state of a
// head stays in L1 while the sequence streams past). Shapes (b batch, L length, R mimo rank,
// H heads, P headdim, N dState):
//   C, B: [b, L, R, H, N]   x: [b, L, R, H, P]   adt, dt, trap: [b, L, H]
//   s0: [b, H, P, N] (or 0)   k0: [b, R, H, N], v0: [b, R, H, P] (or 0: none)
//   y: [b, L, R, H, P]   sOut: [b, H, P, N] (the state after the last position)
// Per position t of head h:
//   α = exp(adt), β = (1 − λ)·dt·α, γ = λ·dt
//   S = α S + β Σ_r v_{t−1,r} ⊗ k_{t−1,r} + γ Σ_r x_{t,r} ⊗ B_{t,r};   y_{t,r} = S C_{t,r}
// Threads split the (batch, head) pairs.
import { exp4 } from './simdmath';

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

export function mamba3Scan(
  tid: i32, nt: i32,
  C: usize, B: usize, x: usize, adt: usize, dt: usize, trap: usize,
  s0: usize, k0: usize, v0: usize, y: usize, sOut: usize,
  b: i32, L: i32, R: i32, H: i32, P: i32, N: i32,
): void {
  const pairs = b * H;
  const j0 = (pairs * tid) / nt;
  const j1 = (pairs * (tid + 1)) / nt;
  const PN = <usize>P * N;
  for (let j = j0; j < j1; j++) {
    const bi = j / H;
    const h = j % H;
    const S = sOut + ((<usize>j * PN) << 2);
    if (s0 != 0) memory.copy(S, s0 + ((<usize>j * PN) << 2), PN << 2);
    else memory.fill(S, 0, PN << 2);
    for (let t = 0; t < L; t++) {
      const bt = <usize>bi * L + t;
      const hOff = (bt * H + h) << 2;
      const a = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(adt + hOff))), 0);
      const d = load<f32>(dt + hOff);
      const lam = load<f32>(trap + hOff);
      const beta: f32 = (1 - lam) * d * a;
      const gamma: f32 = lam * d;
      // The previous position's (k, v): position t−1 of this sequence, or the initial pair.
      let kPrev: usize = 0, vPrev: usize = 0;
      if (t > 0) {
        kPrev = B + ((((bt - 1) * R) * H + h) * N << 2);
        vPrev = x + ((((bt - 1) * R) * H + h) * P << 2);
      } else if (k0 != 0) {
        kPrev = k0 + (((<usize>bi * R * H + h) * N) << 2);
        vPrev = v0 + (((<usize>bi * R * H + h) * P) << 2);
      }
      const kCur = B + (((bt * R) * H + h) * N << 2);
      const vCur = x + (((bt * R) * H + h) * P << 2);
      const rStrideN = (<usize>H * N) << 2;
      const rStrideP = (<usize>H * P) << 2;
      const av = f32x4.splat(a);
      for (let p = 0; p < P; p++) {
        const row = S + ((<usize>p * N) << 2);
        for (let r = 0; r < R; r++) {
          const gx = f32x4.splat(gamma * load<f32>(vCur + <usize>r * rStrideP + (<usize>p << 2)));
          const kc = kCur + <usize>r * rStrideN;
          if (vPrev != 0) {
            const bv = f32x4.splat(beta * load<f32>(vPrev + <usize>r * rStrideP + (<usize>p << 2)));
            const kp = kPrev + <usize>r * rStrideN;
            let n = 0;
            for (; n + 4 <= N; n += 4) {
              const o = <usize>n << 2;
              let s = v128.load(row + o);
              if (r == 0) s = f32x4.mul(s, av);
              s = f32x4.add(s, f32x4.add(f32x4.mul(bv, v128.load(kp + o)), f32x4.mul(gx, v128.load(kc + o))));
              v128.store(row + o, s);
            }
            for (; n < N; n++) {
              const o = <usize>n << 2;
              let s = load<f32>(row + o);
              if (r == 0) s *= a;
              store<f32>(row + o, s + f32x4.extract_lane(bv, 0) * load<f32>(kp + o) + f32x4.extract_lane(gx, 0) * load<f32>(kc + o));
            }
          } else {
            let n = 0;
            for (; n + 4 <= N; n += 4) {
              const o = <usize>n << 2;
              let s = v128.load(row + o);
              if (r == 0) s = f32x4.mul(s, av);
              v128.store(row + o, f32x4.add(s, f32x4.mul(gx, v128.load(kc + o))));
            }
            for (; n < N; n++) {
              const o = <usize>n << 2;
              let s = load<f32>(row + o);
              if (r == 0) s *= a;
              store<f32>(row + o, s + f32x4.extract_lane(gx, 0) * load<f32>(kc + o));
            }
          }
        }
      }
      // y_{t,r}[p] = S[p, :] · C_{t,r}
      for (let r = 0; r < R; r++) {
        const c = C + ((((bt * R + r) * H + h) * N) << 2);
        const yr = y + ((((bt * R + r) * H + h) * P) << 2);
        for (let p = 0; p < P; p++) {
          const row = S + ((<usize>p * N) << 2);
          let acc = f32x4.splat(0);
          let n = 0;
          for (; n + 4 <= N; n += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(row + (<usize>n << 2)), v128.load(c + (<usize>n << 2))));
          let sum = hsum(acc);
          for (; n < N; n++) sum += load<f32>(row + (<usize>n << 2)) * load<f32>(c + (<usize>n << 2));
          store<f32>(yr + (<usize>p << 2), sum);
        }
      }
    }
  }
}
