/**
 * Temperature sampling by inverse CDF in two dispatches (the composite's softmax, running sum,
 * comparison and argmax take ten on a vocabulary-long row).
 *
 * The composite picks the first id whose running sum of softmax(l / T) over the logits l exceeds
 * u times the row's total. The normaliser cancels from both sides, so the kernels compare running
 * sums of exp((l - m) / T) against u times their total, for any shift m (taken before the
 * division, so that no exponent is positive and none overflows, however small T is).
 *
 * 1. `sampleChunkStats`, grid (chunks, rows): each 2048-long chunk c of a row gives its largest
 *    logit m_c and s_c = Σ exp((l - m_c) / T). A chunk of -∞ gives (-∞, 0).
 * 2. `samplePick`, grid (rows): with m the row's largest logit, chunk c weighs
 *    w_c = s_c·exp((m_c - m) / T).
 *    The workgroup stages the chunks' maxima, then their weights, in workgroup memory, each chunk
 *    read and weighed by one thread (every thread takes m from the staged maxima); thread 0 then
 *    walks the weights in order and hands the outcome to all through `workgroupUniformLoad`.
 *    The sums are those of one thread walking the statistics in global memory, in the same order.
 *    Target t = u·Σw. The chosen chunk is the first whose running weight exceeds t. Within it, each of
 *    256 threads sums 8 consecutive exp((l - m_c) / T). The first thread with a live id whose running
 *    total exceeds what is left of t then walks its 8 in order.
 *
 * A row with a NaN or +Infinity logit among its first V gives id -1: its chunks' statistics carry a
 * sum of -1, which the pick's walk finds (generate then stops with a NonFiniteLogitsError).
 *
 * Rounding can leave t at or above the last running sum. The pick then falls back to the last id
 * of non-zero weight, as the composite's total-relative target guarantees a pick. A row of no
 * weight at all (every logit -∞) gives id 0, the composite's argmax of an all-false row.
 *
 * Shapes: logits [rows, stride] f32 of which the first V columns count (a padded head's last
 * columns do not), u [rows] f32 in [0, 1) -> stats [rows, chunks, 2] f32 -> ids [rows] i32 (and
 * with the embedding [V', e], next [rows, e] f32: `sampleByInverseCdfEmbed`).
 * Sizes and T come from a uniform, so one pipeline serves every vocabulary.
 */

/** Ids per chunk of pass 1, and per pick of pass 2: 256 threads × 8. */
export const SAMPLE_CHUNK = 2048;
/** Most chunks a row may have (pass 2 stages them all): vocabularies up to 1,048,576 ids. */
export const SAMPLE_MAX_CHUNKS = 512;
/** Threads of a workgroup of either pass. */
export const SAMPLE_THREADS = 256;
const THREADS = SAMPLE_THREADS;
const PER_THREAD = SAMPLE_CHUNK / THREADS;

const DIMS = /* wgsl */ `
struct Dims { rows: u32, V: u32, chunks: u32, tBits: u32, stride: u32 }
@group(0) @binding(0) var<uniform> dims: Dims;`;

/**
 * exp((l_i - base) / T) for logit l_i of row `row`: the shift comes before the division, so no
 * argument is positive and none overflows, however small T is (l_i / T would for T below ~1e-37).
 */
const LOGIT = /* wgsl */ `
fn logit(row: u32, i: u32) -> f32 { return logits[row * dims.stride + i]; }
fn scaled(row: u32, i: u32, base: f32) -> f32 { return exp((logit(row, i) - base) / bitcast<f32>(dims.tBits)); }`;

/**
 * A logit no draw can be made against: NaN or +Infinity (-Infinity is a weight of 0, a masked id).
 * By its bits, since WGSL lets a compiler assume floats are finite.
 */
const UNSAMPLEABLE = /* wgsl */ `
fn unsampleable(v: f32) -> bool {
  let b = bitcast<u32>(v);
  return (b & 0x7f800000u) == 0x7f800000u && b != 0xff800000u;
}`;

/** A workgroup reduction of `red` (256 slots) with `op`, the result in red[0]. */
const tree = (op: string): string => /* wgsl */ `
  for (var h = ${THREADS / 2}u; h > 0u; h = h >> 1u) {
    if (tid < h) { red[tid] = ${op}(red[tid], red[tid + h]); }
    workgroupBarrier();
  }`;

/** `common`: the backend's shared WGSL (`nonfinite`). */
export const sampleChunkStatsWgsl = (common: string): string => /* wgsl */ `${common}${DIMS}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read_write> stats: array<f32>;
var<workgroup> red: array<f32, ${THREADS}>;
var<workgroup> flag: atomic<u32>;
${LOGIT}${UNSAMPLEABLE}
fn add(a: f32, b: f32) -> f32 { return a + b; }
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.y;
  let c = wid.x;
  let start = c * ${SAMPLE_CHUNK}u;
  let end = min(start + ${SAMPLE_CHUNK}u, dims.V);
  var m = nonfinite(0xff800000u);
  var bad = false;
  for (var i = start + tid; i < end; i += ${THREADS}u) {
    let l = logit(row, i);
    m = max(m, l);
    bad = bad || unsampleable(l);
  }
  if (bad) { atomicOr(&flag, 1u); }
  red[tid] = m;
  workgroupBarrier();
  ${tree('max')}
  let cm = red[0];
  workgroupBarrier();
  var s = 0.0;
  if (cm > nonfinite(0xff800000u)) {
    for (var i = start + tid; i < end; i += ${THREADS}u) { s += scaled(row, i, cm); }
  }
  red[tid] = s;
  workgroupBarrier();
  ${tree('add')}
  if (tid == 0u) {
    stats[(row * dims.chunks + c) * 2u] = cm;
    // A sum is never negative: -1 marks a chunk with a NaN or +Infinity logit.
    stats[(row * dims.chunks + c) * 2u + 1u] = select(red[0], -1.0, atomicLoad(&flag) != 0u);
  }
}`;

/**
 * `nextRows`: with `writeNext` and its bindings from 5 on (next-rows.ts), the workgroup also
 * writes the drawn id's row of the embedding (`sampleByInverseCdfEmbed`).
 */
export const samplePickWgsl = (common: string, nextRows = ''): string => /* wgsl */ `${common}${DIMS}
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read> u: array<f32>;
@group(0) @binding(4) var<storage, read_write> ids: array<i32>;
var<workgroup> scan: array<f32, ${THREADS}>;
var<workgroup> owner: atomic<u32>;
var<workgroup> lastLive: atomic<i32>;
/** The chunks' maxima m_c, then their weights w_c relative to the row's max. */
var<workgroup> chunkMax: array<f32, ${SAMPLE_MAX_CHUNKS}>;
var<workgroup> chunkWeight: array<f32, ${SAMPLE_MAX_CHUNKS}>;
/** The chunk walk's outcome, from thread 0 (read back through workgroupUniformLoad: the branches after it are uniform). */
struct Walk { goal: f32, total: f32, before: f32, chosen: u32, last: u32, bad: u32 }
var<workgroup> walk: Walk;
/** The owner and the last live id, then the owner's pick, for every thread (workgroupUniformLoad). */
var<workgroup> outcome: vec2<i32>;
var<workgroup> picked: i32;
${LOGIT}${nextRows}
/** Called by every thread with the row's id. */
fn finish(row: u32, id: i32, tid: u32) {
  if (tid == 0u) { ids[row] = id; }
  ${nextRows ? 'writeNext(row, u32(max(id, 0)), tid);' : ''}
}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x;
  for (var c = tid; c < dims.chunks; c += ${THREADS}u) { chunkMax[c] = stats[(row * dims.chunks + c) * 2u]; }
  workgroupBarrier();
  var m = nonfinite(0xff800000u);
  for (var c = 0u; c < dims.chunks; c++) { m = max(m, chunkMax[c]); }
  for (var c = tid; c < dims.chunks; c += ${THREADS}u) {
    let s = stats[(row * dims.chunks + c) * 2u + 1u];
    chunkWeight[c] = select(select(s * exp((chunkMax[c] - m) / bitcast<f32>(dims.tBits)), 0.0, s == 0.0), -1.0, s < 0.0);
  }
  workgroupBarrier();
  if (tid == 0u) {
    var total = 0.0;
    for (var c = 0u; c < dims.chunks; c++) { total += chunkWeight[c]; }
    let goal = u[row] * total;
    var chosen = dims.chunks;
    var last = dims.chunks;
    var before = 0.0;
    var run = 0.0;
    var bad = 0u;
    for (var c = 0u; c < dims.chunks; c++) {
      let w = chunkWeight[c];
      if (w < 0.0) { bad = 1u; }
      if (w > 0.0) { last = c; }
      if (chosen == dims.chunks) {
        if (run + w > goal) { chosen = c; before = run; }
        run += w;
      }
    }
    if (chosen == dims.chunks && last < dims.chunks) { chosen = last; before = run - chunkWeight[last]; }
    walk = Walk(goal, total, before, chosen, last, bad);
  }
  let w = workgroupUniformLoad(&walk);
  if (w.bad != 0u) {
    finish(row, -1, tid);
    return;
  }
  if (w.last == dims.chunks || !(w.total > 0.0)) {
    finish(row, 0, tid);
    return;
  }
  let chosen = w.chosen;
  // What is left of the target, in the chosen chunk's own scale exp(x - m_c).
  let cm = chunkMax[chosen];
  let left = (w.goal - w.before) / exp((cm - m) / bitcast<f32>(dims.tBits));
  let start = chosen * ${SAMPLE_CHUNK}u + tid * ${PER_THREAD}u;
  let end = min(chosen * ${SAMPLE_CHUNK}u + ${SAMPLE_CHUNK}u, dims.V);
  var mine = 0.0;
  var myLast = -1;
  for (var i = start; i < min(start + ${PER_THREAD}u, end); i++) {
    let e = scaled(row, i, cm);
    mine += e;
    if (e > 0.0) { myLast = i32(i); }
  }
  if (tid == 0u) { atomicStore(&owner, ${THREADS}u); atomicStore(&lastLive, -1); }
  scan[tid] = mine;
  workgroupBarrier();
  // Inclusive running totals of the threads' sums (Hillis-Steele).
  for (var d = 1u; d < ${THREADS}u; d = d << 1u) {
    var add = 0.0;
    if (tid >= d) { add = scan[tid - d]; }
    workgroupBarrier();
    scan[tid] += add;
    workgroupBarrier();
  }
  // Only a thread with live ids may own the draw: the tree's sums round in another order for each
  // thread, so a thread past the last live one (its own sum 0) can exceed what is left of t where
  // the last live one did not; it has no id to give, and the draw falls back as below.
  if (mine > 0.0 && scan[tid] > left) { atomicMin(&owner, tid); }
  atomicMax(&lastLive, myLast);
  workgroupBarrier();
  if (tid == 0u) { outcome = vec2<i32>(i32(atomicLoad(&owner)), atomicLoad(&lastLive)); }
  let o = workgroupUniformLoad(&outcome);
  let who = u32(o.x);
  if (who == ${THREADS}u) {
    // Rounding left the target past every running total: the last id of non-zero weight.
    finish(row, o.y, tid);
    return;
  }
  if (tid == who) {
    var acc = 0.0;
    if (tid > 0u) { acc = scan[tid - 1u]; }
    var pick = myLast;
    for (var i = start; i < min(start + ${PER_THREAD}u, end); i++) {
      acc += scaled(row, i, cm);
      if (acc > left) { pick = i32(i); break; }
    }
    picked = pick;
  }
  finish(row, workgroupUniformLoad(&picked), tid);
}`;
