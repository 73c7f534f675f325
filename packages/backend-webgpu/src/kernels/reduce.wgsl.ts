/**
 * Reductions, arg-reductions and running sums.
 *
 * reduce: the input's dims split into kept dims (the output, row-major) and reduced dims
 * (R elements per output), each collapsed and given its strides into x. Large R: one
 * workgroup of 128 per output, a strided partial per invocation, then a tree in workgroup
 * memory. Small R: one invocation per output, a plain loop.
 * argReduce: x viewed as [outer, D, inner]; same two shapes of kernel over D, (value, index)
 * pairs with the first index winning ties.
 * cumsum: x viewed as [outer, D, inner]; one invocation per (outer, inner) line walks D in
 * order (or reverse), so consecutive invocations read consecutive inner elements.
 */
import type { ArgReduceOp, ReduceOp } from '@mamba3/tensor';
import type { WgslType } from '../codegen.js';
import { COMPUTE_BUILTINS, flatIndex, halvingLoop, layoutDecl, layoutOffsets, layoutValues, rangeLoop, strideLoop } from '../codegen.js';

export const RED_WG = 128;

export interface ReduceLayout {
  nOut: number;
  R: number;
  keptShape: readonly number[];
  keptStrides: readonly number[];
  redShape: readonly number[];
  redStrides: readonly number[];
}

/**
 * The `Layout` uniform (codegen.ts) of a reduction: h0 = nOut, h1 = R, then h2 = S and h3 = chunk
 * for the first pass of a split reduction, else h2 = 1 and h3 = what mean divides by (the second
 * pass of a split mean divides by the original R, not by its own S); the kept dims, then the
 * reduced dims, each extent with its stride into x.
 */
export function reduceLayoutValues(l: ReduceLayout, split?: { S: number; chunk: number }, divisor = l.R): number[] {
  const head = [l.nOut, l.R, split?.S ?? 1, split?.chunk ?? divisor];
  return layoutValues(head, [...l.keptShape, ...l.redShape], [[...l.keptStrides, ...l.redStrides]]);
}

function identity(op: ReduceOp, t: WgslType): string {
  switch (op) {
    case 'sum':
    case 'mean':
      return t === 'f32' ? '0.0' : '0';
    case 'prod':
      return t === 'f32' ? '1.0' : '1';
    case 'max':
      return t === 'f32' ? 'nonfinite(0xff800000u)' : 'bitcast<i32>(0x80000000u)';
    case 'min':
      return t === 'f32' ? 'nonfinite(0x7f800000u)' : 'bitcast<i32>(0x7fffffffu)';
  }
}

function combine(op: ReduceOp, a: string, b: string): string {
  switch (op) {
    case 'sum':
    case 'mean':
      return `${a} + ${b}`;
    case 'prod':
      return `${a} * ${b}`;
    case 'max':
      return `max(${a}, ${b})`;
    case 'min':
      return `min(${a}, ${b})`;
  }
}

const NONFINITE = 'fn nonfinite(bits: u32) -> f32 { return bitcast<f32>(bits); }';

/**
 * Sizes from `reduceLayoutValues` (binding 2); `keptRank`/`redRank`: the ranks of the collapsed
 * kept and reduced shapes. `split`: the first pass of a two-pass reduction (few outputs, huge R):
 * workgroup (o, s) reduces elements [s·chunk, (s+1)·chunk) of output o into partial[o·S + s],
 * mean's division left to the second pass.
 */
export function reduceWgsl(op: ReduceOp, t: WgslType, keptRank: number, redRank: number, perWorkgroup: boolean, split: boolean): string {
  const finish = op === 'mean' && !split ? 'acc / f32(lay.h3)' : 'acc';
  const head = `${NONFINITE}
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${layoutDecl(2, keptRank + redRank)}`;
  const base = layoutOffsets('o', keptRank, 1, 'base');
  const roff = layoutOffsets('r', redRank, 1, 'roff', keptRank);
  if (!perWorkgroup) {
    return /* wgsl */ `${head}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = ${flatIndex(RED_WG)};
  if (o >= lay.h0) { return; }
  ${base}
  var acc = ${identity(op, t)};
  for (var r = 0u; r < lay.h1; r++) {
    ${roff}
    acc = ${combine(op, 'acc', 'x[base0 + roff0]')};
  }
  out[o] = ${finish};
}`;
  }
  return /* wgsl */ `${head}
var<workgroup> red: array<${t}, ${RED_WG}>;
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= lay.h0 * lay.h2) { return; }
  let o = g / lay.h2;
  let r0 = ${split ? '(g % lay.h2) * lay.h3' : '0u'};
  let r1 = ${split ? 'min(r0 + lay.h3, lay.h1)' : 'lay.h1'};
  ${base}
  var acc = ${identity(op, t)};
  for (var r = r0 + lid3.x; r < r1; r += ${RED_WG}u) {
    ${roff}
    acc = ${combine(op, 'acc', 'x[base0 + roff0]')};
  }
  red[lid3.x] = acc;
  workgroupBarrier();
  ${halvingLoop('s', RED_WG / 2, `if (lid3.x < s) { red[lid3.x] = ${combine(op, 'red[lid3.x]', 'red[lid3.x + s]')}; }
    workgroupBarrier();`)}
  if (lid3.x == 0u) { let acc = red[0]; out[g] = ${finish}; }
}`;
}

/** Workgroup memory of an arg-reduction's (value, index) tree. */
function argShared(t: WgslType): string {
  return `
var<workgroup> rv: array<${t}, ${RED_WG}>;
var<workgroup> ri: array<u32, ${RED_WG}>;`;
}

/**
 * Every invocation's (best, bi) reduced into rv[0], ri[0], `better` ('>' or '<') deciding and the
 * lower index winning ties, whatever the invocations' order.
 */
function argTree(better: string): string {
  return `
  rv[lid3.x] = best;
  ri[lid3.x] = bi;
  workgroupBarrier();
  ${halvingLoop('s', RED_WG / 2, `if (lid3.x < s) {
      let v = rv[lid3.x + s];
      let i = ri[lid3.x + s];
      if (v ${better} rv[lid3.x] || (v == rv[lid3.x] && i < ri[lid3.x])) { rv[lid3.x] = v; ri[lid3.x] = i; }
    }
    workgroupBarrier();`)}`;
}

/**
 * A workgroup's arg-reduction of positions [k0, k1) of the line at `base` (stride `inner`), left in
 * rv[0], ri[0]. Each invocation scans k = k0 + lid, + WG, ... in order, so its first best has the
 * lowest k; invocations past k1 repeat the last position.
 */
function argScanRange(better: string, inner: number, span: number): string {
  return `
  var bi = min(k0 + lid3.x, k1 - 1u);
  var best = x[base + bi * ${inner}u];
  ${rangeLoop('k', `k0 + lid3.x + ${RED_WG}u`, 'k1', span, RED_WG, `let v = x[base + k * ${inner}u];
    if (v ${better} best) { best = v; bi = k; }`)}${argTree(better)}`;
}

/** x viewed as [outer, D, inner]; out [outer, inner] int32. */
export function argReduceWgsl(op: ArgReduceOp, t: WgslType, outer: number, D: number, inner: number, perWorkgroup: boolean): string {
  const better = op === 'argmax' ? '>' : '<';
  const nOut = outer * inner;
  const head = `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;`;
  if (!perWorkgroup) {
    return /* wgsl */ `${head}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = ${flatIndex(RED_WG)};
  if (o >= ${nOut}u) { return; }
  let base = (o / ${inner}u) * ${D * inner}u + o % ${inner}u;
  var best = x[base];
  var bi = 0u;
  for (var k = 1u; k < ${D}u; k++) {
    let v = x[base + k * ${inner}u];
    if (v ${better} best) { best = v; bi = k; }
  }
  out[o] = i32(bi);
}`;
  }
  return /* wgsl */ `${head}${argShared(t)}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= ${nOut}u) { return; }
  let base = (o / ${inner}u) * ${D * inner}u + o % ${inner}u;
  let k0 = 0u;
  let k1 = ${D}u;${argScanRange(better, inner, D)}
  if (lid3.x == 0u) { out[o] = i32(ri[0]); }
}`;
}

/**
 * Split arg-reduction of long rows, x viewed as [outer, D, inner]: pass 1 ('chunks') gives each
 * output S workgroups, each over `chunk` consecutive positions of D, and writes its (value,
 * index) to [nOut, S] partials; pass 2 ('partials') reduces each output's S pairs. Both keep the
 * first index among equal values, so the result is the single pass's. One workgroup scanning a
 * 50k vocabulary alone made the LM head and argmax of an H200 decode step 173 µs; split, 53.
 */
export function argReduceSplitWgsl(op: ArgReduceOp, t: WgslType, pass: 'chunks' | 'partials', outer: number, D: number, inner: number, S: number, chunk: number): string {
  const better = op === 'argmax' ? '>' : '<';
  const nOut = outer * inner;
  const shared = argShared(t);
  if (pass === 'chunks') {
    return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> pv: array<${t}>;
@group(0) @binding(2) var<storage, read_write> pi: array<u32>;${shared}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= ${nOut * S}u) { return; }
  let o = g / ${S}u;
  let k0 = (g % ${S}u) * ${chunk}u;
  let k1 = min(k0 + ${chunk}u, ${D}u);
  let base = (o / ${inner}u) * ${D * inner}u + o % ${inner}u;${argScanRange(better, inner, chunk)}
  if (lid3.x == 0u) { pv[g] = rv[0]; pi[g] = ri[0]; }
}`;
  }
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> pv: array<${t}>;
@group(0) @binding(1) var<storage, read> pi: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<i32>;${shared}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= ${nOut}u) { return; }
  let j0 = min(lid3.x, ${S - 1}u);
  var best = pv[o * ${S}u + j0];
  var bi = pi[o * ${S}u + j0];
  ${strideLoop('j', `lid3.x + ${RED_WG}u`, S, RED_WG, `let v = pv[o * ${S}u + j];
    let i = pi[o * ${S}u + j];
    if (v ${better} best || (v == best && i < bi)) { best = v; bi = i; }`)}${argTree(better)}
  if (lid3.x == 0u) { out[o] = i32(ri[0]); }
}`;
}

/** Sizes from a `Layout` uniform (binding 2): h0 = outer·inner, h1 = D, h2 = inner. */
export function cumsumWgsl(t: WgslType, exclusive: boolean, reverse: boolean): string {
  const zero = t === 'f32' ? '0.0' : '0';
  const kAt = reverse ? 'D - 1u - j' : 'j';
  const body = exclusive ? 'out[at] = acc; acc += x[at];' : 'acc += x[at]; out[at] = acc;';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> out: array<${t}>;
${layoutDecl(2, 0)}
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let o = ${flatIndex(RED_WG)};
  if (o >= lay.h0) { return; }
  let D = lay.h1;
  let inner = lay.h2;
  let base = (o / inner) * D * inner + o % inner;
  var acc = ${zero};
  for (var j = 0u; j < D; j++) {
    let at = base + (${kAt}) * inner;
    ${body}
  }
}`;
}

/** Positions per chunk of the two-pass running sum. */
export const CUMSUM_CHUNK = 64;

/**
 * Long running sums (D > 256) in two passes over chunks of 64 scan-order positions, one
 * invocation per (line, chunk), consecutive invocations on consecutive lines (coalesced):
 *  1. chunk sums -> sums [nChunks, lines];  2. each chunk starts from the sum of the chunks
 *  before it and walks its own 64 positions.
 */
export function cumsumChunkSumsWgsl(t: WgslType, outer: number, D: number, inner: number, reverse: boolean): string {
  const lines = outer * inner;
  const nC = Math.ceil(D / CUMSUM_CHUNK);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read_write> sums: array<${t}>;
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let id = ${flatIndex(RED_WG)};
  if (id >= ${lines * nC}u) { return; }
  let o = id % ${lines}u;
  let c = id / ${lines}u;
  let base = (o / ${inner}u) * ${D * inner}u + o % ${inner}u;
  var acc = ${t === 'f32' ? '0.0' : '0'};
  for (var j = c * ${CUMSUM_CHUNK}u; j < min((c + 1u) * ${CUMSUM_CHUNK}u, ${D}u); j++) {
    acc += x[base + (${reverse ? `${D - 1}u - j` : 'j'}) * ${inner}u];
  }
  sums[id] = acc;
}`;
}

export function cumsumChunkedWgsl(t: WgslType, outer: number, D: number, inner: number, exclusive: boolean, reverse: boolean): string {
  const lines = outer * inner;
  const nC = Math.ceil(D / CUMSUM_CHUNK);
  const body = exclusive ? 'out[at] = acc; acc += x[at];' : 'acc += x[at]; out[at] = acc;';
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${t}>;
@group(0) @binding(1) var<storage, read> sums: array<${t}>;
@group(0) @binding(2) var<storage, read_write> out: array<${t}>;
@compute @workgroup_size(${RED_WG})
fn main(${COMPUTE_BUILTINS}) {
  let id = ${flatIndex(RED_WG)};
  if (id >= ${lines * nC}u) { return; }
  let o = id % ${lines}u;
  let c = id / ${lines}u;
  let base = (o / ${inner}u) * ${D * inner}u + o % ${inner}u;
  var acc = ${t === 'f32' ? '0.0' : '0'};
  for (var k = 0u; k < c; k++) { acc += sums[k * ${lines}u + o]; }
  for (var j = c * ${CUMSUM_CHUNK}u; j < min((c + 1u) * ${CUMSUM_CHUNK}u, ${D}u); j++) {
    let at = base + (${reverse ? `${D - 1}u - j` : 'j'}) * ${inner}u;
    ${body}
  }
}`;
}
