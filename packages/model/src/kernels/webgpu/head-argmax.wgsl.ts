/**
 * The greedy pick folded into the LM head: the argmax's first pass rides in the head GEMV's
 * epilogue, so a greedy decode step ends in two dispatches (the head, the pick) instead of three.
 *
 * Order keys: `orderKey(v)` maps a float32 to a u32 whose unsigned order is the floats' order
 * (-0 taken as +0, so equal floats have equal keys; NaN gets 0, below every number). The argmax
 * is then order-free: each logit v_i (i < V) of row r does atomicMax(keys[r, i / 256], key(v_i)),
 * whatever order the GEMV's workgroups finish in.
 *
 * `headArgmaxPick`, one workgroup a row: the largest key and the first chunk that holds it; then
 * the first id of that chunk whose key equals it. That is the first id of the largest logit, the
 * argmax's own rule. The workgroup sets its row's keys back to 0 as it reads them, so the buffer
 * (zeroed when made, see head-argmax.ts) is zero again before the next product.
 *
 * Shapes: logits [rows, stride] f32 (the head's padded vocabulary) of which the first V count,
 * keys [rows, chunks] u32 (chunks = ceil(V / 256)) -> ids [rows] i32.
 */

/** Ids a key covers by default: one for each thread of the pick, so the chunk's scan is one load a thread. */
export const ARGMAX_CHUNK = 256;
/** Threads of the pick. */
const PICK_THREADS = 256;

/**
 * How the head's epilogue reaches the keys: `each` output by its own atomicMax; `check` only
 * when its key beats the one it reads first; `flush` combined over the thread's outputs of a
 * chunk, one atomicMax a chunk the thread touches (the GEMV's `flush` hook).
 */
export type KeyForm = 'each' | 'check' | 'flush';

export interface HeadArgmaxShape {
  /** Ids a key covers (at most 256). */
  chunk: number;
  form: KeyForm;
}

export const HEAD_ARGMAX_DEFAULT: HeadArgmaxShape = { chunk: ARGMAX_CHUNK, form: 'each' };

const ORDER_KEY = /* wgsl */ `
fn orderKey(v: f32) -> u32 {
  if (v != v) { return 0u; }
  let b = bitcast<u32>(select(v, 0.0, v == 0.0));
  return select(~b, b | 0x80000000u, (b & 0x80000000u) == 0u);
}`;

/** The head GEMV's epilogue (`GemvEpilogue.wgsl`): keys bound at `first`. */
export function headArgmaxEpilogueWgsl(first: number, V: number, chunks: number, shape: HeadArgmaxShape = HEAD_ARGMAX_DEFAULT): string {
  const head = `
@group(0) @binding(${first}) var<storage, read_write> argmaxKeys: array<atomic<u32>>;${ORDER_KEY}`;
  const slot = (c: string) => `&argmaxKeys[row * ${chunks}u + ${c}]`;
  if (shape.form === 'each') {
    return /* wgsl */ `${head}
fn gemvEpilogue(row: u32, n: u32, v: f32) {
  if (n < ${V}u) { atomicMax(${slot(`n / ${shape.chunk}u`)}, orderKey(v)); }
}`;
  }
  if (shape.form === 'check') {
    return /* wgsl */ `${head}
fn gemvEpilogue(row: u32, n: u32, v: f32) {
  if (n < ${V}u) {
    let k = orderKey(v);
    if (k > atomicLoad(${slot(`n / ${shape.chunk}u`)})) { atomicMax(${slot(`n / ${shape.chunk}u`)}, k); }
  }
}`;
  }
  // One open chunk and its largest key for each batch row of the thread (at most 16 a chunk of
  // the GEMV's rows, consecutive, so row % 16 tells them apart).
  return /* wgsl */ `${head}
var<private> openChunk: array<u32, 16>;
var<private> openKey: array<u32, 16>;
fn gemvEpilogueFlush(row: u32) {
  let r = row % 16u;
  if (openChunk[r] != 0u) { atomicMax(${slot('openChunk[r] - 1u')}, openKey[r]); }
  openChunk[r] = 0u;
}
fn gemvEpilogue(row: u32, n: u32, v: f32) {
  if (n >= ${V}u) { return; }
  let r = row % 16u;
  let c = n / ${shape.chunk}u + 1u;
  let k = orderKey(v);
  if (openChunk[r] == c) { openKey[r] = max(openKey[r], k); return; }
  gemvEpilogueFlush(row);
  openChunk[r] = c;
  openKey[r] = k;
}`;
}

export function headArgmaxPickWgsl(V: number, stride: number, chunks: number, chunk = ARGMAX_CHUNK): string {
  const T = PICK_THREADS;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> ids: array<i32>;
var<workgroup> redKey: array<u32, ${T}>;
var<workgroup> redAt: array<u32, ${T}>;${ORDER_KEY}
const NONE = 0xffffffffu;
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x;
  // Each thread's largest key over its chunks, first chunk first.
  var key = 0u;
  var at = NONE;
  for (var c = tid; c < ${chunks}u; c += ${T}u) {
    let k = keys[row * ${chunks}u + c];
    keys[row * ${chunks}u + c] = 0u;
    if (at == NONE || k > key) { key = k; at = c; }
  }
  redKey[tid] = key;
  redAt[tid] = at;
  workgroupBarrier();
  // The largest key, then the first chunk (threads past the chunks hold NONE).
  for (var h = ${T / 2}u; h > 0u; h = h >> 1u) {
    if (tid < h) {
      let k = redKey[tid + h];
      let a = redAt[tid + h];
      if (a != NONE && (redAt[tid] == NONE || k > redKey[tid] || (k == redKey[tid] && a < redAt[tid]))) { redKey[tid] = k; redAt[tid] = a; }
    }
    workgroupBarrier();
  }
  let best = workgroupUniformLoad(&redKey[0]);
  let winner = workgroupUniformLoad(&redAt[0]);
  workgroupBarrier(); // every thread has read redAt[0] before thread 0 writes it
  // The first id of that chunk whose logit has the largest key.
  let i = winner * ${chunk}u + tid;
  var mine = NONE;
  if (tid < ${chunk}u && i < ${V}u && orderKey(logits[row * ${stride}u + i]) == best) { mine = i; }
  redAt[tid] = mine;
  workgroupBarrier();
  for (var h = ${T / 2}u; h > 0u; h = h >> 1u) {
    if (tid < h) { redAt[tid] = min(redAt[tid], redAt[tid + h]); }
    workgroupBarrier();
  }
  if (tid == 0u) { ids[row] = i32(redAt[0]); }
}`;
}
