// Row kernels: norms, softmax and reductions. Rows are split over threads.
import { exp4, log4, sigmoid4 } from './simdmath';

@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline
function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

@inline
function silu1(v: f32): f32 {
  return v * f32x4.extract_lane(sigmoid4(f32x4.splat(v)), 0);
}

/**
 * RMSNorm over groups of `group` along rows of `n`: x, z (gate, or 0), w (weight [n], or 0) ->
 * out. gateFirst: multiply x by silu(z) before the norm (norm_before_gate=False), else after.
 */
export function rmsNorm(tid: i32, nt: i32, x: usize, z: usize, w: usize, out: usize, rows: i32, n: i32, group: i32, eps: f32, gateFirst: i32): void {
  const r0 = (rows * tid) / nt;
  const r1 = (rows * (tid + 1)) / nt;
  for (let r = r0; r < r1; r++) {
    for (let g0 = 0; g0 < n; g0 += group) {
      const base = (<usize>r * n + g0) << 2;
      const xp = x + base, op = out + base, zp = z + base;
      // Gate-first writes the gated x into out, then normalises it in place.
      const src = z != 0 && gateFirst ? op : xp;
      if (z != 0 && gateFirst) for (let i = 0; i < group; i++) store<f32>(op + (<usize>i << 2), load<f32>(xp + (<usize>i << 2)) * silu1(load<f32>(zp + (<usize>i << 2))));
      let acc = f32x4.splat(0);
      let i = 0;
      for (; i + 4 <= group; i += 4) {
        const v = v128.load(src + (<usize>i << 2));
        acc = f32x4.add(acc, f32x4.mul(v, v));
      }
      let ss = hsum(acc);
      for (; i < group; i++) {
        const v = load<f32>(src + (<usize>i << 2));
        ss += v * v;
      }
      const scale: f32 = 1 / Mathf.sqrt(ss / <f32>group + eps);
      const sv = f32x4.splat(scale);
      i = 0;
      const wp = w + (<usize>g0 << 2);
      for (; i + 4 <= group; i += 4) {
        const o = <usize>i << 2;
        let v = f32x4.mul(v128.load(src + o), sv);
        if (w != 0) v = f32x4.mul(v, v128.load(wp + o));
        if (z != 0 && !gateFirst) {
          const zv = v128.load(zp + o);
          v = f32x4.mul(v, f32x4.mul(zv, sigmoid4(zv)));
        }
        v128.store(op + o, v);
      }
      for (; i < group; i++) {
        const o = <usize>i << 2;
        let v = load<f32>(src + o) * scale;
        if (w != 0) v *= load<f32>(wp + o);
        if (z != 0 && !gateFirst) v *= silu1(load<f32>(zp + o));
        store<f32>(op + o, v);
      }
    }
  }
}

/** Softmax (or log-softmax) over rows of n. */
export function softmax(tid: i32, nt: i32, x: usize, out: usize, rows: i32, n: i32, logOut: i32): void {
  const r0 = (rows * tid) / nt;
  const r1 = (rows * (tid + 1)) / nt;
  for (let r = r0; r < r1; r++) {
    const xp = x + ((<usize>r * n) << 2);
    const op = out + ((<usize>r * n) << 2);
    let mv = f32x4.splat(-Infinity);
    let i = 0;
    for (; i + 4 <= n; i += 4) mv = f32x4.max(mv, v128.load(xp + (<usize>i << 2)));
    let m = hmax(mv);
    for (; i < n; i++) m = max(m, load<f32>(xp + (<usize>i << 2)));
    const ms = f32x4.splat(m);
    let sv = f32x4.splat(0);
    i = 0;
    for (; i + 4 <= n; i += 4) {
      const e = exp4(f32x4.sub(v128.load(xp + (<usize>i << 2)), ms));
      if (!logOut) v128.store(op + (<usize>i << 2), e);
      sv = f32x4.add(sv, e);
    }
    let s = hsum(sv);
    for (; i < n; i++) {
      const e = f32x4.extract_lane(exp4(f32x4.splat(load<f32>(xp + (<usize>i << 2)) - m)), 0);
      if (!logOut) store<f32>(op + (<usize>i << 2), e);
      s += e;
    }
    if (logOut) {
      const lse = f32x4.splat(f32x4.extract_lane(log4(f32x4.splat(s)), 0) + m);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(op + (<usize>i << 2), f32x4.sub(v128.load(xp + (<usize>i << 2)), lse));
      for (; i < n; i++) store<f32>(op + (<usize>i << 2), load<f32>(xp + (<usize>i << 2)) - f32x4.extract_lane(lse, 0));
    } else {
      const inv = f32x4.splat(1 / s);
      i = 0;
      for (; i + 4 <= n; i += 4) v128.store(op + (<usize>i << 2), f32x4.mul(v128.load(op + (<usize>i << 2)), inv));
      for (; i < n; i++) store<f32>(op + (<usize>i << 2), load<f32>(op + (<usize>i << 2)) / s);
    }
  }
}

const SUM = 0, MEAN = 1, MAX = 2, MIN = 3;

@inline
function combine(op: i32, a: v128, b: v128): v128 {
  return op == MAX ? f32x4.max(a, b) : op == MIN ? f32x4.min(a, b) : f32x4.add(a, b);
}

/**
 * x viewed as [outer, mid, inner] reduced over mid -> out [outer, inner]. Threads split outer
 * when there are several rows, else inner.
 */
export function reduce(tid: i32, nt: i32, op: i32, x: usize, out: usize, outer: i32, mid: i32, inner: i32): void {
  const init: f32 = op == MAX ? -Infinity : op == MIN ? Infinity : 0;
  const scale: f32 = op == MEAN ? 1 / <f32>mid : 1;
  let o0 = 0, o1 = outer, j0 = 0, j1 = inner;
  if (outer >= nt) {
    o0 = (outer * tid) / nt;
    o1 = (outer * (tid + 1)) / nt;
  } else {
    j0 = (inner * tid) / nt;
    j1 = (inner * (tid + 1)) / nt;
  }
  for (let o = o0; o < o1; o++) {
    const base = x + ((<usize>o * mid * inner) << 2);
    if (inner == 1) {
      let acc = f32x4.splat(init);
      let m = 0;
      for (; m + 4 <= mid; m += 4) acc = combine(op, acc, v128.load(base + (<usize>m << 2)));
      let s = f32x4.extract_lane(acc, 0);
      for (let l = 1; l < 4; l++) s = f32x4.extract_lane(combine(op, f32x4.splat(s), f32x4.splat(l == 1 ? f32x4.extract_lane(acc, 1) : l == 2 ? f32x4.extract_lane(acc, 2) : f32x4.extract_lane(acc, 3))), 0);
      for (; m < mid; m++) s = f32x4.extract_lane(combine(op, f32x4.splat(s), f32x4.splat(load<f32>(base + (<usize>m << 2)))), 0);
      store<f32>(out + (<usize>o << 2), s * scale);
      continue;
    }
    const orow = out + ((<usize>o * inner) << 2);
    let j = j0;
    for (; j + 4 <= j1; j += 4) {
      let acc = f32x4.splat(init);
      for (let m = 0; m < mid; m++) acc = combine(op, acc, v128.load(base + ((<usize>m * inner + j) << 2)));
      v128.store(orow + (<usize>j << 2), f32x4.mul(acc, f32x4.splat(scale)));
    }
    for (; j < j1; j++) {
      let s = init;
      for (let m = 0; m < mid; m++) s = f32x4.extract_lane(combine(op, f32x4.splat(s), f32x4.splat(load<f32>(base + ((<usize>m * inner + j) << 2)))), 0);
      store<f32>(orow + (<usize>j << 2), s * scale);
    }
  }
}
