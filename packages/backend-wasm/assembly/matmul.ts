// f32 matrix products on packed panels (GotoBLAS-style), split over threads by the caller.
//
// C[M, N] = A[M, K] · B[K, N]. A and B are read through element strides (rsA, csA, rsB, csB), so
// transposed operands cost nothing extra: packing gathers them into contiguous panels.
//   Apack: ceil(M/MR) panels of [K][MR]   (rows past M are zero)
//   Bpack: ceil(N/NR) panels of [K][NR]   (columns past N are zero)
// The micro-kernel keeps an MR×NR tile of C in 8 SIMD registers (4 rows × two f32x4) and walks K
// with one broadcast of A and two loads of B per row: 16 multiply-adds per 6 loads.

import { BF16, F16, F32, half8hi, half8lo, loadAs } from './half';

export const MR: i32 = 4;
export const NR: i32 = 8;
/** K block: an A micro-panel (KC·MR·4 = 4 KiB) and a B micro-panel (8 KiB) stay in L1. */
const KC: i32 = 256;
/** Column panels per block: KC × NC_PANELS·NR floats of B (128 KiB) stay in L2 while A streams. */
const NC_PANELS: i32 = 16;

/** Packs rows [p0·MR, p1·MR) of A (strides in elements, stored as `code`: see half.ts) into MR-row panels. */
export function packA(tid: i32, nt: i32, a: usize, rsA: i32, csA: i32, M: i32, K: i32, out: usize, code: i32): void {
  const panels = (M + MR - 1) / MR;
  const p0 = (panels * tid) / nt;
  const p1 = (panels * (tid + 1)) / nt;
  for (let p = p0; p < p1; p++) {
    let dst = out + ((<usize>p * <usize>K * MR) << 2);
    for (let k = 0; k < K; k++) {
      for (let r = 0; r < MR; r++) {
        const row = p * MR + r;
        const v: f32 = row < M ? loadAs(a, <usize>row * rsA + <usize>k * csA, code) : 0;
        store<f32>(dst, v);
        dst += 4;
      }
    }
  }
}

/** Packs columns of B (stored as `code`) into NR-column panels [q0, q1) of this thread's share. */
export function packB(tid: i32, nt: i32, b: usize, rsB: i32, csB: i32, K: i32, N: i32, out: usize, code: i32): void {
  const panels = (N + NR - 1) / NR;
  const q0 = (panels * tid) / nt;
  const q1 = (panels * (tid + 1)) / nt;
  for (let q = q0; q < q1; q++) {
    let dst = out + ((<usize>q * <usize>K * NR) << 2);
    const full = q * NR + NR <= N;
    for (let k = 0; k < K; k++) {
      if (full && csB == 1 && code == F32) {
        const src = b + ((<usize>k * rsB + <usize>q * NR) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
      } else if (full && csB == 1) {
        const src = b + ((<usize>k * rsB + <usize>q * NR) << 1);
        v128.store(dst, half8lo(src, code));
        v128.store(dst, half8hi(src, code), 16);
      } else {
        for (let c = 0; c < NR; c++) {
          const col = q * NR + c;
          const v: f32 = col < N ? loadAs(b, <usize>k * rsB + <usize>col * csB, code) : 0;
          store<f32>(dst + (<usize>c << 2), v);
        }
      }
      dst += NR << 2;
    }
  }
}

/**
 * C tile (mv ≤ MR rows, nv ≤ NR columns at c, row stride ldc floats) (+)= A panel · B panel over
 * kc steps. Partial tiles go through `tmp` (MR·NR floats).
 */
@inline
function micro(a: usize, b: usize, kc: i32, c: usize, ldc: i32, accumulate: bool, mv: i32, nv: i32, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(b);
    const b1 = v128.load(b, 16);
    let av = v128.load32_splat(a);
    c00 = f32x4.add(c00, f32x4.mul(av, b0));
    c01 = f32x4.add(c01, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 4);
    c10 = f32x4.add(c10, f32x4.mul(av, b0));
    c11 = f32x4.add(c11, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 8);
    c20 = f32x4.add(c20, f32x4.mul(av, b0));
    c21 = f32x4.add(c21, f32x4.mul(av, b1));
    av = v128.load32_splat(a, 12);
    c30 = f32x4.add(c30, f32x4.mul(av, b0));
    c31 = f32x4.add(c31, f32x4.mul(av, b1));
    a += MR << 2;
    b += NR << 2;
  }
  const full = mv == MR && nv == NR;
  const dst = full ? c : tmp;
  const ld: usize = full ? <usize>ldc << 2 : NR << 2;
  if (accumulate && full) {
    c00 = f32x4.add(c00, v128.load(dst)); c01 = f32x4.add(c01, v128.load(dst, 16));
    c10 = f32x4.add(c10, v128.load(dst + ld)); c11 = f32x4.add(c11, v128.load(dst + ld, 16));
    c20 = f32x4.add(c20, v128.load(dst + 2 * ld)); c21 = f32x4.add(c21, v128.load(dst + 2 * ld, 16));
    c30 = f32x4.add(c30, v128.load(dst + 3 * ld)); c31 = f32x4.add(c31, v128.load(dst + 3 * ld, 16));
  }
  v128.store(dst, c00); v128.store(dst, c01, 16);
  v128.store(dst + ld, c10); v128.store(dst + ld, c11, 16);
  v128.store(dst + 2 * ld, c20); v128.store(dst + 2 * ld, c21, 16);
  v128.store(dst + 3 * ld, c30); v128.store(dst + 3 * ld, c31, 16);
  if (!full) {
    for (let r = 0; r < mv; r++) {
      for (let j = 0; j < nv; j++) {
        const p = c + ((<usize>r * ldc + j) << 2);
        const v = load<f32>(tmp + ((<usize>r * NR + j) << 2));
        store<f32>(p, accumulate ? load<f32>(p) + v : v);
      }
    }
  }
}

/**
 * C = Apack · Bpack for this thread's share of tiles: column panels when there are enough of
 * them to go round, else row panels. `tmp` is MR·NR floats per thread.
 */
export function gemmPacked(tid: i32, nt: i32, ap: usize, bp: usize, c: usize, M: i32, N: i32, K: i32, tmpBase: usize): void {
  const tmp = tmpBase + ((<usize>tid * MR * NR) << 2);
  const rowPanels = (M + MR - 1) / MR;
  const colPanels = (N + NR - 1) / NR;
  let p0 = 0, p1 = rowPanels, q0 = 0, q1 = colPanels;
  if (colPanels >= 2 * nt || colPanels >= rowPanels) {
    q0 = (colPanels * tid) / nt;
    q1 = (colPanels * (tid + 1)) / nt;
  } else {
    p0 = (rowPanels * tid) / nt;
    p1 = (rowPanels * (tid + 1)) / nt;
  }
  for (let pc = 0; pc < K; pc += KC) {
    const kc = min(KC, K - pc);
    const acc = pc > 0;
    for (let qb = q0; qb < q1; qb += NC_PANELS) {
      const qe = min(qb + NC_PANELS, q1);
      for (let p = p0; p < p1; p++) {
        const aPanel = ap + ((<usize>p * K + pc) * MR << 2);
        const row = p * MR;
        const mv = min(MR, M - row);
        for (let q = qb; q < qe; q++) {
          const col = q * NR;
          micro(aPanel, bp + ((<usize>q * K + pc) * NR << 2), kc, c + ((<usize>row * N + col) << 2), N, acc, mv, min(NR, N - col), tmp);
        }
      }
    }
  }
}

/**
 * Matrix-vector rows for small M (decode): C[m, n] = Σ_k A[m, k]·B[k, n] with B row-major
 * [K, N] (csB == 1). Vectorised over n; this thread takes a slice of columns (multiples of 16).
 */
export function gemvRowMajor(tid: i32, nt: i32, a: usize, rsA: i32, csA: i32, b: usize, rsB: i32, c: usize, M: i32, N: i32, K: i32): void {
  const blocks = (N + 15) >> 4;
  const n0 = ((blocks * tid) / nt) << 4;
  const n1 = min(N, ((blocks * (tid + 1)) / nt) << 4);
  for (let m = 0; m < M; m++) {
    const crow = c + ((<usize>m * N) << 2);
    let n = n0;
    for (; n + 16 <= n1; n += 16) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let bp = b + (<usize>n << 2);
      let ak = a + ((<usize>m * rsA) << 2);
      for (let k = 0; k < K; k++) {
        const av = v128.load32_splat(ak);
        s0 = f32x4.add(s0, f32x4.mul(av, v128.load(bp)));
        s1 = f32x4.add(s1, f32x4.mul(av, v128.load(bp, 16)));
        s2 = f32x4.add(s2, f32x4.mul(av, v128.load(bp, 32)));
        s3 = f32x4.add(s3, f32x4.mul(av, v128.load(bp, 48)));
        bp += <usize>rsB << 2;
        ak += <usize>csA << 2;
      }
      const cp = crow + (<usize>n << 2);
      v128.store(cp, s0); v128.store(cp, s1, 16); v128.store(cp, s2, 32); v128.store(cp, s3, 48);
    }
    for (; n < n1; n++) {
      let s: f32 = 0;
      for (let k = 0; k < K; k++) s += load<f32>(a + ((<usize>m * rsA + <usize>k * csA) << 2)) * load<f32>(b + ((<usize>k * rsB + n) << 2));
      store<f32>(crow + (<usize>n << 2), s);
    }
  }
}

/**
 * Small-M rows against B stored [N, K] (a PyTorch Linear weight, transB): C[m, n] = A[m, :] · B[n, :],
 * a dot product per output, vectorised over k. A's rows must be contiguous (csA == 1).
 */
export function gemvTransB(tid: i32, nt: i32, a: usize, rsA: i32, b: usize, rsB: i32, c: usize, M: i32, N: i32, K: i32): void {
  // Four weight rows at a time share each load of x (13 instructions per 16 multiply-adds, not 16).
  const n0 = (N * tid) / nt;
  const n1 = (N * (tid + 1)) / nt;
  const K4 = K & ~3;
  for (let m = 0; m < M; m++) {
    const arow = a + ((<usize>m * rsA) << 2);
    const crow = c + ((<usize>m * N) << 2);
    let n = n0;
    for (; n + 4 <= n1; n += 4) {
      const b0 = b + ((<usize>n * rsB) << 2), b1 = b0 + ((<usize>rsB) << 2), b2 = b1 + ((<usize>rsB) << 2), b3 = b2 + ((<usize>rsB) << 2);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) {
        const o = <usize>k << 2;
        const x = v128.load(arow + o);
        s0 = f32x4.add(s0, f32x4.mul(x, v128.load(b0 + o)));
        s1 = f32x4.add(s1, f32x4.mul(x, v128.load(b1 + o)));
        s2 = f32x4.add(s2, f32x4.mul(x, v128.load(b2 + o)));
        s3 = f32x4.add(s3, f32x4.mul(x, v128.load(b3 + o)));
      }
      let t0 = hsum4(s0), t1 = hsum4(s1), t2 = hsum4(s2), t3 = hsum4(s3);
      for (let k = K4; k < K; k++) {
        const o = <usize>k << 2;
        const x = load<f32>(arow + o);
        t0 += x * load<f32>(b0 + o); t1 += x * load<f32>(b1 + o); t2 += x * load<f32>(b2 + o); t3 += x * load<f32>(b3 + o);
      }
      store<f32>(crow + (<usize>n << 2), t0);
      store<f32>(crow + (<usize>n << 2), t1, 4);
      store<f32>(crow + (<usize>n << 2), t2, 8);
      store<f32>(crow + (<usize>n << 2), t3, 12);
    }
    for (; n < n1; n++) {
      const b0 = b + ((<usize>n * rsB) << 2);
      let s0 = f32x4.splat(0);
      for (let k = 0; k < K4; k += 4) s0 = f32x4.add(s0, f32x4.mul(v128.load(arow + (<usize>k << 2)), v128.load(b0 + (<usize>k << 2))));
      let t = hsum4(s0);
      for (let k = K4; k < K; k++) t += load<f32>(arow + (<usize>k << 2)) * load<f32>(b0 + (<usize>k << 2));
      store<f32>(crow + (<usize>n << 2), t);
    }
  }
}

/**
 * gemvTransB with B stored in 16 bits (`code`: half.ts), decoded as it streams: the decode GEMV
 * of a 16-bit weight reads half the bytes. Same lanes and summation order as gemvTransB, so a
 * weight gives the same result from either storage.
 */
export function gemvTransBHalf(tid: i32, nt: i32, a: usize, rsA: i32, b: usize, rsB: i32, c: usize, M: i32, N: i32, K: i32, code: i32, xs: usize): void {
  // Each storage gets its own loop (the inlined code is a constant there).
  if (code == BF16) gemvBf16Rows(tid, nt, a, rsA, b, rsB, c, M, N, K, xs + ((<usize>tid * M * K) << 2));
  else gemvHalfRows(tid, nt, a, rsA, b, rsB, c, M, N, K, F16);
}

/**
 * bf16 weights, decoded with two instructions per eight: a v128 of eight bf16 is four i32
 * lanes (odd << 16 | even), so `shl 16` gives the even elements as f32 and `and 0xffff0000` the
 * odd ones; x is split into its even and odd elements once (xs: M·K floats of this thread's
 * scratch). Four weight rows at a time share each load of x.
 */
@inline
function gemvBf16Rows(tid: i32, nt: i32, a: usize, rsA: i32, b: usize, rsB: i32, c: usize, M: i32, N: i32, K: i32, xs: usize): void {
  const n0 = (N * tid) / nt;
  const n1 = (N * (tid + 1)) / nt;
  const K8 = K & ~7;
  const half = <usize>K8 >> 1;
  for (let m = 0; m < M; m++) {
    const arow = a + ((<usize>m * rsA) << 2);
    const xe = xs + ((<usize>m * K) << 2), xo = xe + (half << 2);
    for (let k = 0; k < K8; k += 8) {
      const x0 = v128.load(arow + (<usize>k << 2));
      const x1 = v128.load(arow + (<usize>k << 2), 16);
      v128.store(xe + (<usize>k << 1), v128.shuffle<f32>(x0, x1, 0, 2, 4, 6));
      v128.store(xo + (<usize>k << 1), v128.shuffle<f32>(x0, x1, 1, 3, 5, 7));
    }
  }
  const hiMask = i32x4.splat(0xffff0000);
  for (let m = 0; m < M; m++) {
    const arow = a + ((<usize>m * rsA) << 2);
    const xe = xs + ((<usize>m * K) << 2), xo = xe + (half << 2);
    const crow = c + ((<usize>m * N) << 2);
    let n = n0;
    for (; n + 4 <= n1; n += 4) {
      const b0 = b + ((<usize>n * rsB) << 1), b1 = b0 + ((<usize>rsB) << 1), b2 = b1 + ((<usize>rsB) << 1), b3 = b2 + ((<usize>rsB) << 1);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        const o = <usize>k << 1;
        const ev = v128.load(xe + o), od = v128.load(xo + o);
        let w = v128.load(b0 + o);
        s0 = f32x4.add(s0, f32x4.add(f32x4.mul(i32x4.shl(w, 16), ev), f32x4.mul(v128.and(w, hiMask), od)));
        w = v128.load(b1 + o);
        s1 = f32x4.add(s1, f32x4.add(f32x4.mul(i32x4.shl(w, 16), ev), f32x4.mul(v128.and(w, hiMask), od)));
        w = v128.load(b2 + o);
        s2 = f32x4.add(s2, f32x4.add(f32x4.mul(i32x4.shl(w, 16), ev), f32x4.mul(v128.and(w, hiMask), od)));
        w = v128.load(b3 + o);
        s3 = f32x4.add(s3, f32x4.add(f32x4.mul(i32x4.shl(w, 16), ev), f32x4.mul(v128.and(w, hiMask), od)));
      }
      let t0 = hsum4(s0), t1 = hsum4(s1), t2 = hsum4(s2), t3 = hsum4(s3);
      for (let k = K8; k < K; k++) {
        const x = load<f32>(arow + (<usize>k << 2));
        t0 += x * loadAs(b0, k, BF16); t1 += x * loadAs(b1, k, BF16); t2 += x * loadAs(b2, k, BF16); t3 += x * loadAs(b3, k, BF16);
      }
      store<f32>(crow + (<usize>n << 2), t0);
      store<f32>(crow + (<usize>n << 2), t1, 4);
      store<f32>(crow + (<usize>n << 2), t2, 8);
      store<f32>(crow + (<usize>n << 2), t3, 12);
    }
    for (; n < n1; n++) {
      const b0 = b + ((<usize>n * rsB) << 1);
      let s0 = f32x4.splat(0);
      for (let k = 0; k < K8; k += 8) {
        const o = <usize>k << 1;
        const w = v128.load(b0 + o);
        s0 = f32x4.add(s0, f32x4.add(f32x4.mul(i32x4.shl(w, 16), v128.load(xe + o)), f32x4.mul(v128.and(w, hiMask), v128.load(xo + o))));
      }
      let t = hsum4(s0);
      for (let k = K8; k < K; k++) t += load<f32>(arow + (<usize>k << 2)) * loadAs(b0, k, BF16);
      store<f32>(crow + (<usize>n << 2), t);
    }
  }
}

@inline function hsum4(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline
function gemvHalfRows(tid: i32, nt: i32, a: usize, rsA: i32, b: usize, rsB: i32, c: usize, M: i32, N: i32, K: i32, code: i32): void {
  const n0 = (N * tid) / nt;
  const n1 = (N * (tid + 1)) / nt;
  const K16 = K & ~15;
  for (let m = 0; m < M; m++) {
    const arow = a + ((<usize>m * rsA) << 2);
    for (let n = n0; n < n1; n++) {
      const brow = b + ((<usize>n * rsB) << 1);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let k = 0;
      for (; k < K16; k += 16) {
        const ap = arow + (<usize>k << 2);
        const bq = brow + (<usize>k << 1);
        s0 = f32x4.add(s0, f32x4.mul(v128.load(ap), half8lo(bq, code)));
        s1 = f32x4.add(s1, f32x4.mul(v128.load(ap, 16), half8hi(bq, code)));
        s2 = f32x4.add(s2, f32x4.mul(v128.load(ap, 32), half8lo(bq + 16, code)));
        s3 = f32x4.add(s3, f32x4.mul(v128.load(ap, 48), half8hi(bq + 16, code)));
      }
      const s = f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3));
      let t: f32 = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
      for (; k < K; k++) t += load<f32>(arow + (<usize>k << 2)) * loadAs(brow, k, code);
      store<f32>(c + ((<usize>m * N + n) << 2), t);
    }
  }
}
