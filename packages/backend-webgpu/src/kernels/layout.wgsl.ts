/**
 * Layout kernels: data movement only, one invocation per output element unless noted.
 *
 * copy: out[i] = x[base + Σ c_d·stride_d] over the collapsed output shape (transpose, slice).
 * concatPart: input k of a concat, read flat; as [outer, rowIn] it lands at
 *   out[p·rowOut + dst + r] (rowIn = d_k·inner, rowOut = total·inner, dst = offset_k·inner).
 * pad: out coordinates minus `before` inside x read x, else the baked value.
 * Their sizes come from a `Layout` uniform (codegen.ts): one pipeline per rank, not per shape.
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
import { COMMON, COMPUTE_BUILTINS, flatIndex, layoutDecl, layoutOffsets } from '../codegen.js';
import type { HalfKind } from './half.wgsl.js';
import { halfElementFn } from './half.wgsl.js';

export const LAYOUT_WG = 256;

const io = (t: WgslType, extra = '', xType: string = t) => `${COMMON}
@group(0) @binding(0) var<storage, read> x: array<${xType}>;${extra}
@group(0) @binding(${extra ? 2 : 1}) var<storage, read_write> out: array<${t}>;`;

/** Layout: h0 = n, h1 = base (slicing the last position of a prompt moves it with L); d = extent, stride. */
export function copyWgsl(t: WgslType, rank: number): string {
  return /* wgsl */ `${io(t)}
${layoutDecl(2, rank)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= lay.h0) { return; }
  ${layoutOffsets('i', rank, 1)}
  out[i] = x[lay.h1 + off0];
}`;
}

/** Layout: h0 = n, h1 = rowIn, h2 = rowOut, h3 = dst. */
export function concatPartWgsl(t: WgslType): string {
  return /* wgsl */ `${io(t)}
${layoutDecl(2, 0)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= lay.h0) { return; }
  out[(i / lay.h1) * lay.h2 + lay.h3 + i % lay.h1] = x[i];
}`;
}

/** The `Layout` of a pad: h0 = n; per dim the output extent, the padding before, x's extent and x's stride. */
export function padLayout(outShape: readonly number[], inShape: readonly number[], before: readonly number[]): number[] {
  const n = outShape.reduce((a, b) => a * b, 1);
  const out = [n, 0, 0, 0];
  let inStride = 1;
  const dims: number[][] = [];
  for (let d = outShape.length - 1; d >= 0; d--) {
    dims.unshift([outShape[d], before[d], inShape[d], inStride]);
    inStride *= inShape[d];
  }
  return out.concat(...dims);
}

export function padWgsl(t: WgslType, rank: number, value: string): string {
  const lines: string[] = ['var rem = i;', 'var src = 0u;', 'var inside = true;'];
  for (let d = rank - 1; d >= 0; d--) {
    lines.push(`{ let dim = lay.d[${d}]; let c = i32(rem % dim.x) - i32(dim.y); rem = rem / dim.x;`);
    lines.push(`  inside = inside && c >= 0 && c < i32(dim.z); src += u32(max(c, 0)) * dim.w; }`);
  }
  return /* wgsl */ `${io(t)}
${layoutDecl(2, rank)}
@compute @workgroup_size(${LAYOUT_WG})
fn main(${COMPUTE_BUILTINS}) {
  let i = ${flatIndex(LAYOUT_WG)};
  if (i >= lay.h0) { return; }
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

/** Threads a workgroup of `copyWordsWgsl`. */
export const COPY_WORDS_WG = 64;

/**
 * `words` 4-byte words from src (from word `at.x`) to dst (from word `at.y`), as a dispatch: a
 * copy inside the open compute pass, where a buffer copy would end it (`Runtime.copyInPass`). The
 * offsets come from a uniform, so every slot of a log shares one pipeline.
 */
export function copyWordsWgsl(words: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<uniform> at: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read_write> dst: array<u32>;
@compute @workgroup_size(${COPY_WORDS_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * ${COPY_WORDS_WG}u + lid;
  if (i < ${words}u) { dst[at.y + i] = src[at.x + i]; }
}`;
}
