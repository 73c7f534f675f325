/**
 * Row-wise fused kernels over the last axis: softmax / logSoftmax, RMSNorm, gated RMSNorm.
 *
 * Layout: x is [rows, D] row-major (D = last dim, or `groupSize` for gated norms, whose rows
 * are the groups). One workgroup of NN_WG per row: strided partial sums per invocation, then a
 * subgroup reduction (where subgroups are at most 32 wide) or a tree in workgroup memory; the
 * row is read two or three times, L2-resident for usual D.
 * weight is [D] (gated: [D·groups], indexed by the group's position along the last axis).
 */
import { COMMON, COMPUTE_BUILTINS, rangeLoop, strideLoop } from '../codegen.js';
import { allReduceWgsl } from './workgroup-reduce.wgsl.js';

export const NN_WG = 128;

const allReduce = (name: string, value: string, kind: 'sum' | 'max', sg: boolean) => allReduceWgsl([name], [value], kind, NN_WG, 'lid3.x', sg);

const builtins = (sg: boolean) => `${COMPUTE_BUILTINS}${sg ? ', @builtin(subgroup_size) sgs: u32, @builtin(subgroup_invocation_id) sgi: u32' : ''}`;
const enableSg = (sg: boolean) => (sg ? 'enable subgroups;\n' : '');

const ROWS = (binding: number) => `struct Rows { n: u32, pad0: u32, pad1: u32, pad2: u32 }
@group(0) @binding(${binding}) var<uniform> rows: Rows;`;

/** Row counts come from a uniform (they follow the sequence length); D is baked. */
export function softmaxWgsl(D: number, log: boolean, sg: boolean): string {
  const write = log ? 'x[base + k] - m - logS' : 'exp(x[base + k] - m) / s';
  return /* wgsl */ `${enableSg(sg)}${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
${ROWS(2)}
var<workgroup> red: array<f32, ${NN_WG}>;
@compute @workgroup_size(${NN_WG})
fn main(${builtins(sg)}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= rows.n) { return; }
  let base = row * ${D}u;
  var mx = nonfinite(0xff800000u);
  ${strideLoop('k', 'lid3.x', D, NN_WG, `mx = max(mx, x[base + k]);`)}
  ${allReduce('m', 'mx', 'max', sg)}
  var acc = 0.0;
  ${strideLoop('k', 'lid3.x', D, NN_WG, `acc += exp(x[base + k] - m);`)}
  ${allReduce('s', 'acc', 'sum', sg)}
  let logS = log(s);
  ${strideLoop('k', 'lid3.x', D, NN_WG, `out[base + k] = ${write};`)}
}`;
}

/**
 * Softmax / logSoftmax of long rows (a vocabulary) split over S workgroups of `chunk` elements
 * each: pass 'stats' writes each chunk's max m_c and Σ exp(x − m_c) to part [rows, S, 2]; pass
 * 'write' combines its row's S pairs (M = max m_c, Σ = Σ s_c·exp(m_c − M)) and writes its chunk.
 * A chunk of −∞ only counts 0. (One workgroup per row walks a 50k vocabulary three times, one
 * position after another per invocation.)
 */
export function softmaxSplitWgsl(D: number, log: boolean, S: number, chunk: number, pass: 'stats' | 'write', sg: boolean): string {
  const head = `${enableSg(sg)}${COMMON}
@group(0) @binding(0) var<storage, read> x: array<f32>;
${pass === 'stats' ? '@group(0) @binding(1) var<storage, read_write> part: array<f32>;' : `@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;`}
${ROWS(pass === 'stats' ? 2 : 3)}
var<workgroup> red: array<f32, ${NN_WG}>;
@compute @workgroup_size(${NN_WG})
fn main(${builtins(sg)}) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= rows.n * ${S}u) { return; }
  let row = g / ${S}u;
  let base = row * ${D}u;
  let k0 = (g % ${S}u) * ${chunk}u;
  let k1 = min(k0 + ${chunk}u, ${D}u);`;
  if (pass === 'stats') {
    return /* wgsl */ `${head}
  var mx = nonfinite(0xff800000u);
  ${rangeLoop('k', 'k0 + lid3.x', 'k1', chunk, NN_WG, `mx = max(mx, x[base + k]);`)}
  ${allReduce('m', 'mx', 'max', sg)}
  var acc = 0.0;
  if (m != nonfinite(0xff800000u)) {
    ${rangeLoop('k', 'k0 + lid3.x', 'k1', chunk, NN_WG, `acc += exp(x[base + k] - m);`)}
  }
  ${allReduce('s', 'acc', 'sum', sg)}
  if (lid3.x == 0u) { part[2u * g] = m; part[2u * g + 1u] = s; }
}`;
  }
  const write = log ? 'x[base + k] - m - logS' : 'exp(x[base + k] - m) / s';
  return /* wgsl */ `${head}
  let p0 = row * ${2 * S}u;
  var m = nonfinite(0xff800000u);
  for (var c = 0u; c < ${S}u; c++) { m = max(m, part[p0 + 2u * c]); }
  var s = 0.0;
  for (var c = 0u; c < ${S}u; c++) {
    let mc = part[p0 + 2u * c];
    if (mc != nonfinite(0xff800000u)) { s += part[p0 + 2u * c + 1u] * exp(mc - m); }
  }
  let logS = log(s);
  ${rangeLoop('k', 'k0 + lid3.x', 'k1', chunk, NN_WG, `out[base + k] = ${write};`)}
}`;
}

/**
 * Plain (gate = null) or gated RMSNorm over rows of D = groupSize elements; `groups` rows make
 * one row of the original last axis (the weight offset is (row % groups)·D).
 */
export function rmsNormWgsl(D: number, groups: number, eps: string, weight: boolean, gate: 'none' | 'before' | 'after', sg: boolean): string {
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
  return /* wgsl */ `${enableSg(sg)}${COMMON}
fn silu_(v: f32) -> f32 { return v * sigmoid_(v); }
${bindings.join('\n')}
var<workgroup> red: array<f32, ${NN_WG}>;
@compute @workgroup_size(${NN_WG})
fn main(${builtins(sg)}) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= rows.n) { return; }
  let base = row * ${D}u;
  let wbase = (row % ${groups}u) * ${D}u;
  var acc = 0.0;
  ${strideLoop('k', 'lid3.x', D, NN_WG, `let v = ${input}; acc += v * v;`)}
  ${allReduce('ss', 'acc', 'sum', sg)}
  let r = 1.0 / sqrt(ss / ${D}.0 + ${eps});
  ${strideLoop('k', 'lid3.x', D, NN_WG, `let v = ${input}; out[base + k] = ${y};`)}
}`;
}
