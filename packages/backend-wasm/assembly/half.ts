// 16-bit weight storage (Backend.uploadHalf): bfloat16 or IEEE float16 values, two bytes each,
// decoded to f32 as kernels read them. Codes (one list on the TypeScript side: src/heap.ts
// HALF_CODES): 0 float32 (4 bytes), 1 bfloat16, 2 float16.
//   bf16: the f32's top 16 bits, so f32 bits = h << 16.
//   f16:  exponent rebias 15 → 127 on the shifted bits; subnormals through one f32 subtraction
//         of normal numbers (no subnormal arithmetic, which is slow on x86), Inf/NaN kept.

export const F32: i32 = 0;
export const BF16: i32 = 1;
export const F16: i32 = 2;

/** f32 bits of 2^-14 (113 << 23): the f16 subnormal unit, subtracted after rebiasing. */
const MAGIC: u32 = 113 << 23;

@inline
export function halfToF32(h: u32, code: i32): f32 {
  if (code == BF16) return reinterpret<f32>(h << 16);
  let o: u32 = (h & 0x7fff) << 13;
  const e: u32 = o & (0x7c00 << 13);
  o += (127 - 15) << 23;
  if (e == 0x7c00 << 13) o += (128 - 16) << 23;
  else if (e == 0) o = reinterpret<u32>(reinterpret<f32>(o + (1 << 23)) - reinterpret<f32>(MAGIC));
  return reinterpret<f32>(o | ((h & 0x8000) << 16));
}

/** Four f16 values (zero-extended in i32 lanes) as f32x4: halfToF32 lane-wise. */
@inline
export function f16x4(h: v128): v128 {
  let o = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  const e = v128.and(o, i32x4.splat(0x7c00 << 13));
  o = i32x4.add(o, i32x4.splat((127 - 15) << 23));
  o = i32x4.add(o, v128.and(i32x4.eq(e, i32x4.splat(0x7c00 << 13)), i32x4.splat((128 - 16) << 23)));
  const sub = f32x4.sub(i32x4.add(o, i32x4.splat(1 << 23)), i32x4.splat(MAGIC));
  o = v128.bitselect(sub, o, i32x4.eq(e, i32x4.splat(0)));
  return v128.or(o, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** Eight 16-bit values at p as two f32x4 (elements 0-3, 4-7); `hi` selects which. */
@inline
export function half8lo(p: usize, code: i32): v128 {
  const lo = i32x4.extend_low_i16x8_u(v128.load(p));
  return code == BF16 ? i32x4.shl(lo, 16) : f16x4(lo);
}

@inline
export function half8hi(p: usize, code: i32): v128 {
  const hi = i32x4.extend_high_i16x8_u(v128.load(p));
  return code == BF16 ? i32x4.shl(hi, 16) : f16x4(hi);
}

/** The scalar element i of a tensor stored as `code` at p. */
@inline
export function loadAs(p: usize, i: usize, code: i32): f32 {
  return code == F32 ? load<f32>(p + (i << 2)) : halfToF32(<u32>load<u16>(p + (i << 1)), code);
}

/** dst[0 .. n) = src decoded (f32 out), threads over contiguous shares of 16 elements. */
export function unpackHalf(tid: i32, nt: i32, src: usize, dst: usize, n: i32, code: i32): void {
  const blocks = (n + 15) >> 4;
  const i0 = min(n, ((blocks * tid) / nt) << 4);
  const i1 = min(n, ((blocks * (tid + 1)) / nt) << 4);
  let i = i0;
  for (; i + 8 <= i1; i += 8) {
    const s = src + (<usize>i << 1);
    const d = dst + (<usize>i << 2);
    v128.store(d, half8lo(s, code));
    v128.store(d, half8hi(s, code), 16);
  }
  for (; i < i1; i++) store<f32>(dst + (<usize>i << 2), halfToF32(<u32>load<u16>(src + (<usize>i << 1)), code));
}

/**
 * Rows of x picked by int32 indices (gather): out[o, i, :] = x[o, idx[i], :], rows of `row`
 * elements, x stored as `code` (0: 4-byte elements copied as they are, f32 or i32). Threads
 * split the (o, i) rows.
 */
export function gatherRows(tid: i32, nt: i32, x: usize, idx: usize, out: usize, outer: i32, nIdx: i32, dimAxis: i32, row: i32, code: i32): void {
  const rows = outer * nIdx;
  const r0 = (rows * tid) / nt, r1 = (rows * (tid + 1)) / nt;
  for (let r = r0; r < r1; r++) {
    const o = r / nIdx, i = r % nIdx;
    const srcRow = <usize>(o * dimAxis + load<i32>(idx + (<usize>i << 2))) * <usize>row;
    const dst = out + ((<usize>r * row) << 2);
    if (code == F32) memory.copy(dst, x + (srcRow << 2), <usize>row << 2);
    else unpackHalf(0, 1, x + (srcRow << 1), dst, row, code);
  }
}
