/**
 * Row-wise fused kernels over the last axis: softmax / logSoftmax, RMSNorm, gated RMSNorm.
 *
 * Layout: x is [rows, D] row-major (D = last dim, or `groupSize` for gated norms, whose rows
 * are the groups). One workgroup of NN_WG per row: strided partial sums per invocation, then a
 * tree in workgroup memory; the row is read two or three times, L2-resident for usual D.
 * weight is [D] (gated: [D·groups], indexed by the group's position along the last axis).
 */
import { COMMON, COMPUTE_BUILTINS } from '../codegen.js';

export const NN_WG = 128;

function treeReduce(name: string, combine: (a: string, b: string) => string): string {
  return `workgroupBarrier();
  for (var s = ${NN_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid3.x < s) { ${name}[lid3.x] = ${combine(`${name}[lid3.x]`, `${name}[lid3.x + s]`)}; }
    workgroupBarrier();
  }`;
}

const ROWS = (binding: number) => `struct Rows { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(${binding}) var<uniform> rows: Rows;`;

/** Row counts come from a uniform (they follow the sequence length); D is baked. */
export function softmaxWgsl(D: number, log: boolean): string {
  const write = log ? 'x[base + k] - m - logS' : 'exp(x[base + k] - m) / s';
  return /* wgsl */ `${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${ROWS(2)}
var<workgroup> red: array<f32, ${NN_WG}>;
@compute @workgroup_size(${NN_WG})
fn main(${COMPUTE_BUILTINS}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= rows.n) { return; }
  let base = row * ${D}u;
  var mx = nonfinite(0xff800000u);
  for (var k = lid3.x; k < ${D}u; k += ${NN_WG}u) { mx = max(mx, x[base + k]); }
  red[lid3.x] = mx;
  ${treeReduce('red', (a, b) => `max(${a}, ${b})`)}
  let m = red[0];
  workgroupBarrier();
  var acc = 0.0;
  for (var k = lid3.x; k < ${D}u; k += ${NN_WG}u) { acc += exp(x[base + k] - m); }
  red[lid3.x] = acc;
  ${treeReduce('red', (a, b) => `${a} + ${b}`)}
  let s = red[0];
  let logS = log(s);
  for (var k = lid3.x; k < ${D}u; k += ${NN_WG}u) { out[base + k] = ${write}; }
}`;
}

/**
 * Plain (gate = null) or gated RMSNorm over rows of D = groupSize elements; `groups` rows make
 * one row of the original last axis (the weight offset is (row % groups)·D).
 */
export function rmsNormWgsl(D: number, groups: number, eps: string, weight: boolean, gate: 'none' | 'before' | 'after'): string {
  const gated = gate !== 'none';
  const bindings = [
    '@group(0) @binding(0) var<storage, read> x: array<f32>;',
    ...(gated ? ['@group(0) @binding(1) var<storage, read> z: array<f32>;'] : []),
    ...(weight ? [`@group(0) @binding(${gated ? 2 : 1}) var<storage, read> w: array<f32>;`] : []),
    `@group(0) @binding(${1 + +gated + +weight}) var<storage, read_write> out: array<f32>;`,
    ROWS(2 + +gated + +weight),
  ];
  // normBeforeGate=false normalises u = x·silu(z); otherwise x itself.
  const input = gate === 'after' ? 'x[base + k] * silu_(z[base + k])' : 'x[base + k]';
  let y = 'v * r';
  if (weight) y += ' * w[wbase + k]';
  if (gate === 'before') y += ' * silu_(z[base + k])';
  return /* wgsl */ `${COMMON}
fn silu_(v: f32) -> f32 { return v * sigmoid_(v); }
${bindings.join('\n')}
var<workgroup> red: array<f32, ${NN_WG}>;
@compute @workgroup_size(${NN_WG})
fn main(${COMPUTE_BUILTINS}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= rows.n) { return; }
  let base = row * ${D}u;
  let wbase = (row % ${groups}u) * ${D}u;
  var acc = 0.0;
  for (var k = lid3.x; k < ${D}u; k += ${NN_WG}u) { let v = ${input}; acc += v * v; }
  red[lid3.x] = acc;
  ${treeReduce('red', (a, b) => `${a} + ${b}`)}
  let r = 1.0 / sqrt(red[0] / ${D}.0 + ${eps});
  for (var k = lid3.x; k < ${D}u; k += ${NN_WG}u) { let v = ${input}; out[base + k] = ${y}; }
}`;
}
