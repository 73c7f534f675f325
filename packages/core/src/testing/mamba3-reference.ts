/**
 * The Mamba-3 SSM recurrence, one position at a time in float64 (see ops/mamba3/types.ts), for
 * checking the chunked scan and the step op on any backend.
 */
export interface ScanArrays {
  dims: { b: number; L: number; R: number; H: number; P: number; N: number };
  C: ArrayLike<number>; // [b, L, R, H, N]
  B: ArrayLike<number>; // [b, L, R, H, N]
  x: ArrayLike<number>; // [b, L, R, H, P]
  adt: ArrayLike<number>; // [b, L, H]
  dt: ArrayLike<number>; // [b, L, H]
  trap: ArrayLike<number>; // [b, L, H]
  initialSsm?: ArrayLike<number>; // [b, H, P, N]
  initialK?: ArrayLike<number>; // [b, R, H, N]
  initialV?: ArrayLike<number>; // [b, R, H, P]
}

export function referenceMamba3Recurrence(a: ScanArrays): { y: Float64Array; finalSsm: Float64Array } {
  const { b, L, R, H, P, N } = a.dims;
  const y = new Float64Array(b * L * R * H * P);
  const finalSsm = new Float64Array(b * H * P * N);
  for (let bi = 0; bi < b; bi++) {
    for (let h = 0; h < H; h++) {
      const S = new Float64Array(P * N);
      const prevK = new Float64Array(R * N);
      const prevV = new Float64Array(R * P);
      if (a.initialSsm) for (let i = 0; i < P * N; i++) S[i] = a.initialSsm[(bi * H + h) * P * N + i];
      if (a.initialK && a.initialV) {
        for (let r = 0; r < R; r++) {
          for (let n = 0; n < N; n++) prevK[r * N + n] = a.initialK[((bi * R + r) * H + h) * N + n];
          for (let p = 0; p < P; p++) prevV[r * P + p] = a.initialV[((bi * R + r) * H + h) * P + p];
        }
      }
      for (let t = 0; t < L; t++) {
        const th = (bi * L + t) * H + h;
        const alpha = Math.exp(a.adt[th]);
        const beta = (1 - a.trap[th]) * a.dt[th] * alpha;
        const gamma = a.trap[th] * a.dt[th];
        const k = new Float64Array(R * N);
        const v = new Float64Array(R * P);
        for (let r = 0; r < R; r++) {
          const base = (((bi * L + t) * R + r) * H + h);
          for (let n = 0; n < N; n++) k[r * N + n] = a.B[base * N + n];
          for (let p = 0; p < P; p++) v[r * P + p] = a.x[base * P + p];
        }
        for (let p = 0; p < P; p++) {
          for (let n = 0; n < N; n++) {
            let s = alpha * S[p * N + n];
            for (let r = 0; r < R; r++) s += beta * prevV[r * P + p] * prevK[r * N + n] + gamma * v[r * P + p] * k[r * N + n];
            S[p * N + n] = s;
          }
        }
        for (let r = 0; r < R; r++) {
          const base = (((bi * L + t) * R + r) * H + h);
          for (let p = 0; p < P; p++) {
            let acc = 0;
            for (let n = 0; n < N; n++) acc += S[p * N + n] * a.C[base * N + n];
            y[base * P + p] = acc;
          }
        }
        prevK.set(k);
        prevV.set(v);
      }
      finalSsm.set(S, (bi * H + h) * P * N);
    }
  }
  return { y, finalSsm };
}
