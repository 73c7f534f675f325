/**
 * 16-bit float storage of float32 tensors (`Backend.uploadHalf`): two halves per u32, element 2i
 * in the low half of word i (little-endian, as a Uint16Array of the values reads). Kernels
 * unpack as they read; math stays f32. Unpacking needs no `shader-f16` (the H100's Dawn has
 * none): bf16 is the top 16 bits of an f32 (a shift or a mask and a bitcast), f16 goes through
 * the core builtin `unpack2x16float`. The one definition of the packed layout every kernel reads.
 *
 * unpack: x [ceil(n/2)] u32 -> out [n] f32, one invocation per word (two elements).
 */
import type { HalfStorage } from '@mamba3/tensor';
import { floatToHalf } from '@mamba3/tensor';

/** The two 16-bit formats, as kernel keys and WGSL templates name them. */
export type HalfKind = 'f16' | 'bf16';

export function halfKind(storage: HalfStorage): HalfKind {
  return storage === 'float16' ? 'f16' : 'bf16';
}

/** WGSL f32 expressions of the low and high element of the u32 expression `w`. */
export function unpackPair(kind: HalfKind, w: string): [string, string] {
  if (kind === 'f16') return [`unpack2x16float(${w}).x`, `unpack2x16float(${w}).y`];
  return [`bitcast<f32>(${w} << 16u)`, `bitcast<f32>(${w} & 0xffff0000u)`];
}

/** The 8 weights of a vec4<u32> expression `w` as two vec4<f32> expressions (elements in order). */
export function unpackVec4(kind: HalfKind, w: string): [string, string] {
  if (kind === 'f16') return [`vec4<f32>(unpack2x16float(${w}.x), unpack2x16float(${w}.y))`, `vec4<f32>(unpack2x16float(${w}.z), unpack2x16float(${w}.w))`];
  const pair = (c: string) => unpackPair(kind, `${w}.${c}`).join(', ');
  return [`vec4<f32>(${pair('x')}, ${pair('y')})`, `vec4<f32>(${pair('z')}, ${pair('w')})`];
}

/** A WGSL function `name(i) -> f32` reading element i of the packed u32 array `array`. */
export function halfElementFn(kind: HalfKind, name: string, array: string): string {
  const [lo, hi] = unpackPair(kind, 'w');
  return `fn ${name}(i: u32) -> f32 {
  let w = ${array}[i >> 1u];
  return select(${lo}, ${hi}, (i & 1u) == 1u);
}`;
}

export const UNPACK_WG = 256;

/** out[2i], out[2i+1] = the halves of x[i] (the last word of an odd n holds one element). */
export function unpackWgsl(kind: HalfKind, n: number): string {
  const [lo, hi] = unpackPair(kind, 'w');
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(${UNPACK_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * ${UNPACK_WG}u + gid.x;
  if (i >= ${Math.ceil(n / 2)}u) { return; }
  let w = x[i];
  out[2u * i] = ${lo};
  if (2u * i + 1u < ${n}u) { out[2u * i + 1u] = ${hi}; }
}`;
}

/**
 * Host-side packing (upload): two values' 16-bit patterns to a u32, element 2i in the low half.
 * The values are already exact in the format (the caller rounded them); bf16 rounds to nearest
 * even anyway, on the f32 bits (no per-element float round trip: 1.5B weights pack in seconds).
 */
export function packHalves(values: Float32Array, kind: HalfKind): Uint32Array {
  const out = new Uint32Array(Math.ceil(values.length / 2));
  const n = values.length;
  if (kind === 'bf16') {
    const u = new Uint32Array(values.buffer, values.byteOffset, n);
    for (let i = 0, j = 0; i < n; i += 2, j++) out[j] = (bf16Bits(u[i]) | (i + 1 < n ? bf16Bits(u[i + 1]) << 16 : 0)) >>> 0;
  } else {
    for (let i = 0, j = 0; i < n; i += 2, j++) out[j] = (floatToHalf(values[i]) | (i + 1 < n ? floatToHalf(values[i + 1]) << 16 : 0)) >>> 0;
  }
  return out;
}

/** bf16 bits of f32 bits, round to nearest even; NaN stays a (quiet) NaN (as `floatToBf16`). */
function bf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
