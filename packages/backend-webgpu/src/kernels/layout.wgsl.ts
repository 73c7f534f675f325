/**
 * Layout kernels: data movement only, one invocation per output element unless noted.
 *
 * copy: out[i] = x[base + Σ c_d·stride_d] over the collapsed output shape (transpose, slice);
 *   base from a uniform.
 * concatPart: input k of a concat, read flat; as [outer, rowIn] it lands at
 *   out[p·rowOut + dst + r] (rowIn = d_k·inner, rowOut = total·inner, dst = offset_k·inner).
 * pad: out coordinates minus `before` inside x read x, else the baked value.
 * gather: x [outer, D, inner], indices [J] -> out [outer, J, inner]. Indices are clamped into
 *   [0, D): GPU kernels cannot throw, and the op layer only range-checks on backends that read
 *   synchronously.
 * scatterAdd: updates [outer, J, inner] -> out [outer, D, inner]; one invocation owns a whole
 *   (outer, inner) column and adds its J rows in order: no atomics, deterministic sums. When
 *   there are few columns and many rows (an embedding's gradient: d_model columns, every token a
 *   row), one invocation per update element adds with atomics instead (float32: a
 *   compare-and-swap loop on the bits; the order of the additions, hence the last bits, may vary).
 */
import type { WgslType } from '../codegen.js';
import { COMMON, COMPUTE_BUILTINS, flatIndex, offsets } from '../codegen.js';
import type { HalfKind } from './half.wgsl.js';
import { halfElementFn } from './half.wgsl.js';

export const LAYOUT_WG = 256;

const io = (t: WgslType, extra = '', xType: string = t) => `${COMMON}
@group(0) @binding(0) var<storage, read> x: array<${xType}>;${extra}
@group(0) @binding(${extra ? 2 : 1}) var<storage, read_write> out: array<${t}>;`;

/** The start offset comes from a uniform: slicing the last position of a prompt moves it with L. */
export function copyWgsl(t: WgslType, n: number, shape: readonly number[], strides: readonly number[]): string {
  return /* wgsl */ `${io(t)}
struct Base { at: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(2) var<uniform> base: Base;
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= ${n}u) { return; }
  ${offsets('i', shape, [strides])}
  out[i] = x[base.at + off0];
}`;
}

export function concatPartWgsl(t: WgslType, n: number, rowIn: number, rowOut: number, dst: number): string {
  return /* wgsl */ `${io(t)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= ${n}u) { return; }
  out[(i / ${rowIn}u) * ${rowOut}u + ${dst}u + i % ${rowIn}u] = x[i];
}`;
}

export function padWgsl(t: WgslType, outShape: readonly number[], inShape: readonly number[], before: readonly number[], value: string): string {
  const n = outShape.reduce((a, b) => a * b, 1);
  const lines: string[] = ['var rem = i;', 'var src = 0u;', 'var inside = true;'];
  let inStride = 1;
  for (let d = outShape.length - 1; d >= 0; d--) {
    lines.push(`{ let c = i32(rem % ${outShape[d]}u) - ${before[d]}; rem = rem / ${outShape[d]}u;`);
    lines.push(`  inside = inside && c >= 0 && c < ${inShape[d]}; src += u32(max(c, 0)) * ${inStride}u; }`);
    inStride *= inShape[d];
  }
  return /* wgsl */ `${io(t)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= ${n}u) { return; }
  ${lines.join('\n  ')}
  if (inside) { out[i] = x[src]; } else { out[i] = ${value}; }
}`;
}

const idxBinding = '\n@group(0) @binding(1) var<storage, read> indices: array<i32>;';

/** J (the number of indices: tokens, for an embedding) comes from a uniform. */
export function gatherWgsl(t: WgslType, outer: number, D: number, inner: number, half?: HalfKind): string {
  // x as 16-bit pairs (half.wgsl.ts): declared u32 and read through `xAt`.
  const head = half ? `${io(t, idxBinding, 'u32')}\n${halfElementFn(half, 'xAt', 'x')}` : io(t, idxBinding);
  const idx = `(p * ${D}u + row) * ${inner}u + q`;
  return /* wgsl */ `${head}
struct Count { J: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(3) var<uniform> count: Count;
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  let J = count.J;
  if (i >= ${outer}u * J * ${inner}u) { return; }
  let q = i % ${inner}u;
  let j = (i / ${inner}u) % J;
  let p = i / (J * ${inner}u);
  let row = u32(clamp(indices[j], 0, ${D - 1}));
  out[i] = ${half ? `xAt(${idx})` : `x[${idx}]`};
}`;
}

export function scatterAddWgsl(t: WgslType, outer: number, D: number, J: number, inner: number): string {
  const zero = t === 'f32' ? '0.0' : '0';
  return /* wgsl */ `${io(t, idxBinding)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = ${flatIndex(LAYOUT_WG)};
  if (o >= ${outer * inner}u) { return; }
  let q = o % ${inner}u;
  let p = o / ${inner}u;
  for (var d = 0u; d < ${D}u; d++) { out[(p * ${D}u + d) * ${inner}u + q] = ${zero}; }
  for (var j = 0u; j < ${J}u; j++) {
    let row = u32(clamp(indices[j], 0, ${D - 1}));
    let at = (p * ${D}u + row) * ${inner}u + q;
    out[at] = out[at] + x[(p * ${J}u + j) * ${inner}u + q];
  }
}`;
}

export function scatterAddAtomicWgsl(t: WgslType, outer: number, D: number, J: number, inner: number): string {
  const n = outer * J * inner;
  const add =
    t === 'i32'
      ? 'atomicAdd(&out[at], v);'
      : `var old = atomicLoad(&out[at]);
  loop {
    let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<atomic<${t === 'i32' ? 'i32' : 'u32'}>>;
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= ${n}u) { return; }
  let q = i % ${inner}u;
  let j = (i / ${inner}u) % ${J}u;
  let p = i / ${J * inner}u;
  let row = u32(clamp(indices[j], 0, ${D - 1}));
  let at = (p * ${D}u + row) * ${inner}u + q;
  let v = x[i];
  ${add}
}`;
}
