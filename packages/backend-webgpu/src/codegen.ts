/**
 * Small helpers the WGSL templates share: exact literals, element types, and index arithmetic,
 * with the shapes baked in (`offsets`: each distinct shape is its own cached pipeline) or read
 * from a uniform (`layoutOffsets`: one pipeline per rank).
 */
import type { DType, Shape } from '@mamba3/tensor';

export type WgslType = 'f32' | 'i32';

export function wgslType(dtype: DType): WgslType {
  return dtype === 'int32' ? 'i32' : 'f32';
}

const f32View = new Float32Array(1);
const u32View = new Uint32Array(f32View.buffer);

/** An f32 literal that round-trips exactly (also ±Infinity and NaN). */
export function f32Lit(v: number): string {
  f32View[0] = v;
  return Number.isFinite(v) ? `bitcast<f32>(${u32View[0]}u)` : `nonfinite(${u32View[0]}u)`;
}

/** An i32 literal (also -2^31, which WGSL cannot spell directly). */
export function i32Lit(v: number): string {
  return `bitcast<i32>(${(v | 0) >>> 0}u)`;
}

export function lit(v: number, t: WgslType): string {
  return t === 'f32' ? f32Lit(v) : i32Lit(v);
}

export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Strides of `inShape` read broadcast into `outShape` (0 along broadcast dims). */
export function broadcastStrides(inShape: Shape, outShape: Shape): number[] {
  const s = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  return outShape.map((_, d) => (d < lead || inShape[d - lead] === 1 ? 0 : s[d - lead]));
}

/**
 * Merges adjacent output dims that every operand walks contiguously (and drops size-1 dims),
 * so a same-shape op becomes one flat loop and index arithmetic stays short.
 */
export function collapse(shape: Shape, strides: readonly (readonly number[])[]): { shape: number[]; strides: number[][] } {
  const outShape: number[] = [];
  const out: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => out[k][last] === s[d] * shape[d])) {
      outShape[last] *= shape[d];
      strides.forEach((s, k) => (out[k][last] = s[d]));
    } else {
      outShape.push(shape[d]);
      strides.forEach((s, k) => out[k].push(s[d]));
    }
  }
  return { shape: outShape, strides: out };
}

/**
 * Shapes read at run time: a uniform `Layout` of four u32s (`head`: sizes the kernel needs) and
 * one vec4 per dim (its extent, then up to three operands' strides; uniform arrays step by 16
 * bytes). Kernels whose shapes vary with the input read them from here, so one pipeline serves
 * every shape of a rank: each distinct pipeline costs a shader compile (milliseconds on a GPU
 * driver, a second or more on a CPU one), which a new shape per call would pay again and again.
 */
export function layoutDecl(binding: number, rank: number): string {
  const dims = rank > 0 ? `, d: array<vec4<u32>, ${rank}>` : '';
  return `struct Layout { h0: u32, h1: u32, h2: u32, h3: u32${dims} }\n@group(0) @binding(${binding}) var<uniform> lay: Layout;`;
}

/** The u32s of a `Layout`: `head` (up to four), then per dim its extent and the operands' strides. */
export function layoutValues(head: readonly number[], shape: readonly number[], strides: readonly (readonly number[])[]): number[] {
  const out = [0, 1, 2, 3].map((k) => head[k] ?? 0);
  for (let d = 0; d < shape.length; d++) out.push(shape[d], strides[0]?.[d] ?? 0, strides[1]?.[d] ?? 0, strides[2]?.[d] ?? 0);
  return out;
}

/**
 * Like `offsets`, with the extents and strides read from `lay.d[first..first+rank)` (see
 * `layoutDecl`) for `operands` operands.
 */
export function layoutOffsets(idx: string, rank: number, operands: number, prefix = 'off', first = 0): string {
  const lines = Array.from({ length: operands }, (_, k) => `var ${prefix}${k} = 0u;`);
  if (rank === 0) return lines.join('\n  ');
  const rem = `rem_${prefix}`;
  const comp = ['y', 'z', 'w'];
  lines.push(`var ${rem} = ${idx};`);
  for (let d = rank - 1; d >= 0; d--) {
    const adds = Array.from({ length: operands }, (_, k) => `${prefix}${k} += c * dim.${comp[k]};`).join(' ');
    const step = d === 0 ? `let c = ${rem};` : `let c = ${rem} % dim.x; ${rem} = ${rem} / dim.x;`;
    lines.push(`{ let dim = lay.d[${first + d}]; ${step} ${adds} }`);
  }
  return lines.join('\n  ');
}

/**
 * WGSL statements that turn the flat row-major index `idx` of `shape` into one offset per
 * operand (`off0`, `off1`, ...), given each operand's strides over `shape`.
 */
export function offsets(idx: string, shape: readonly number[], strides: readonly (readonly number[])[], prefix = 'off'): string {
  const lines = strides.map((_, k) => `var ${prefix}${k} = 0u;`);
  if (shape.length === 0) return lines.join('\n  ');
  const rem = `rem_${prefix}`;
  lines.push(`var ${rem} = ${idx};`);
  for (let d = shape.length - 1; d >= 0; d--) {
    const used = strides.some((s) => s[d] !== 0);
    if (d === 0) {
      if (used) lines.push(`{ let c = ${rem};`, ...strides.map((s, k) => (s[d] ? `  ${prefix}${k} += c * ${s[d]}u;` : '')).filter(Boolean), `}`);
      break;
    }
    lines.push(`{ let c = ${rem} % ${shape[d]}u; ${rem} = ${rem} / ${shape[d]}u;`, ...strides.map((s, k) => (s[d] ? `  ${prefix}${k} += c * ${s[d]}u;` : '')).filter(Boolean), `}`);
  }
  return lines.join('\n  ');
}

/** Flat invocation index over a 2-D grid of 1-D workgroups of `wg` threads. */
export function flatIndex(wg: number): string {
  return `(wid.y * nwg.x + wid.x) * ${wg}u + lid3.x`;
}

/*
 * Loops Tint can prove finite. Dawn's robustness transform gives every other loop (any shape but
 * `for (var i = C0; i < C1; i++)`: `j += sg`, `k = lid; k < n; k += 256`, `s = 128; s > 0; s >>= 1`)
 * a 64-bit iteration counter that is decremented and tested each pass and keeps the driver from
 * unrolling it. These count 0, 1, 2, ... up to a constant instead (tools/gpu/clamps.mjs finds the
 * rest). `loopHead` is also the fused ops' (`WebGPUBackend.wgsl`).
 */

/**
 * The head of `for (var v = from; v < bound; v += step) {`, `from` ≥ 0: it counts to a constant
 * and breaks at the bound (the caller closes the brace). `bound` and `step` are numbers or WGSL
 * expressions (a run-time step at least 1: a subgroup's size). The count: `trips` when given, else
 * ceil(bound / step) for a constant bound and step, the bound itself for a run-time step, and as
 * far as u32 reaches for a run-time bound.
 */
export function loopHead(v: string, from: string, bound: number | string, step: number | string, trips?: number): string {
  const count = trips ?? (typeof bound === 'string' ? Math.floor(0xffffffff / (typeof step === 'number' ? step : 1)) : typeof step === 'number' ? Math.ceil(bound / step) : bound);
  const end = typeof bound === 'number' ? `${bound}u` : bound;
  const by = typeof step === 'number' ? `${step}u` : step;
  return `for (var ${v}_i = 0u; ${v}_i < ${count}u; ${v}_i++) {
    let ${v} = ${from} + ${v}_i * ${by};
    if (${v} >= ${end}) { break; }`;
}

/** `for (var v = from; v < bound; v += step) { body }` for constant `bound` and `step`, any `from` ≥ 0. */
export function strideLoop(v: string, from: string, bound: number, step: number, body: string): string {
  return `${loopHead(v, from, bound, step)}
    ${body}
  }`;
}

/**
 * `for (var v = from; v < end; v += step) { body }` over a run-time range [start, end) no longer
 * than the constant `span`, for any `from` at or after its start (ceil(span / step) trips reach `end`).
 */
export function rangeLoop(v: string, from: string, end: string, span: number, step: number, body: string): string {
  return `${loopHead(v, from, end, step, Math.ceil(span / step))}
    ${body}
  }`;
}

/** `for (var v = 0; v < bound; v += step) { body }` with a run-time `step` of at least 1 (a subgroup's size). */
export function runtimeStepLoop(v: string, bound: number, step: string, body: string): string {
  return `${loopHead(v, '0u', bound, step)}
    ${body}
  }`;
}

/** `for (var v = top; v > 0; v >>= 1)` for a power of two `top` (a reduction tree's levels). */
export function halvingLoop(v: string, top: number, body: string): string {
  const levels = Math.log2(top) + 1;
  if (!Number.isInteger(levels)) throw new Error(`halvingLoop: ${top} is not a power of two`);
  return `for (var ${v}_i = 0u; ${v}_i < ${levels}u; ${v}_i++) {
    let ${v} = ${top}u >> ${v}_i;
    ${body}
  }`;
}

export const COMPUTE_BUILTINS =
  '@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>';

/**
 * Shared WGSL: `nonfinite` builds ±Inf/NaN at run time (WGSL constant expressions reject them),
 * and the float helpers are written for accuracy over the whole range, not the naive formulas.
 */
export const COMMON = /* wgsl */ `
fn nonfinite(bits: u32) -> f32 { return bitcast<f32>(bits); }
fn sigmoid_(v: f32) -> f32 {
  if (v >= 0.0) { return 1.0 / (1.0 + exp(-v)); }
  let e = exp(v);
  return e / (1.0 + e);
}
fn expm1_(v: f32) -> f32 {
  // Kahan's trick: exact cancellation of the rounding in exp(v) for small |v|.
  let u = exp(v);
  if (u == 1.0) { return v; }
  let um1 = u - 1.0;
  if (abs(v) > 0.5) { return um1; }
  return um1 * v / log(u);
}
fn log1p_(v: f32) -> f32 {
  let u = 1.0 + v;
  if (u == 1.0) { return v; }
  if (abs(v) > 0.5) { return log(u); }
  return log(u) * v / (u - 1.0);
}
fn softplus_(v: f32) -> f32 {
  if (v > 30.0) { return v; }
  return max(v, 0.0) + log1p_(exp(-abs(v)));
}
fn tanh_(v: f32) -> f32 {
  // tanh|v| = -expm1(-2|v|) / (2 + expm1(-2|v|)): no overflow, no cancellation near 0.
  let e = expm1_(-2.0 * abs(v));
  let r = -e / (2.0 + e);
  return select(r, -r, v < 0.0);
}
fn round_(v: f32) -> f32 {
  // Math.round: halves go up (WGSL round() goes to even).
  let f = floor(v);
  return select(f, f + 1.0, v - f >= 0.5);
}
fn pow_(a: f32, b: f32) -> f32 {
  if (b == 0.0) { return 1.0; }
  if (a == 0.0) { return select(nonfinite(0x7f800000u), 0.0, b > 0.0); }
  let m = exp2(b * log2(abs(a)));
  if (a > 0.0) { return m; }
  if (floor(b) != b) { return nonfinite(0x7fc00000u); }
  let odd = b - 2.0 * floor(b * 0.5) == 1.0;
  return select(m, -m, odd);
}
`;
