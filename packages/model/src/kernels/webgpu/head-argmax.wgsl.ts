/**
 * The greedy pick folded into the LM head: the argmax's first pass rides in the head GEMV's
 * epilogue, so a greedy decode step ends in two dispatches (the head, the pick) instead of three,
 * and a vocabulary shorter than the padded head needs no copy of the logits.
 *
 * Order keys: `orderKey(v)` maps a float32 to a u32 whose unsigned order is the floats' order
 * (-0 taken as +0, so equal floats have equal keys; NaN gets 0, below every number). The argmax
 * is then order-free: each logit v_i (i < V) of row r does atomicMax(keys[r, i / chunk], key(v_i)),
 * whatever order the GEMV's workgroups finish in.
 *
 * `headArgmaxPick`, one workgroup a row: the largest key and the first chunk that holds it; then
 * the first id of that chunk whose key equals it. That is the first id of the largest logit, the
 * argmax's own rule. The workgroup sets its row's keys back to 0 as it reads them, so the buffer
 * (zeroed when made, see head-argmax.ts) is zero again before the next product. Each thread
 * issues all its key loads before it uses one (straight-line code), so they wait on memory once.
 *
 * A row with a NaN or infinite logit among its first V gives id -1: the epilogue sets the row's
 * flag, which the pick reads and clears (generate then stops with a NonFiniteLogitsError, as it
 * does where the host checks the logits).
 *
 * Shapes: logits [rows, stride] f32 (the head's padded vocabulary) of which the first V count,
 * keys [rows, chunks + 1] u32 (chunks = ceil(V / chunk); the last word the flag) -> ids [rows]
 * i32 (and with the embedding [V', e], next [rows, e] f32: `lmHeadArgmaxEmbed`).
 */

/** Threads of the pick: a chunk holds at most this many ids, scanned one a thread. */
export const PICK_THREADS = 256;

/**
 * Ids a key covers. Many: more atomics meet on each key (the GEMV's neighbouring workgroups
 * write neighbouring ids). Few: more keys for the pick to read. Against the old step's head and
 * argmax (two passes) on an H200, GPU µs a greedy step (BENCHMARKS.md, issue 16, seventeenth
 * session): keys of 16 ids -3.2 (bf16) and -4.1 (f32), 32 -2.3 / -1.6, 64 -0.8 / -0.6, 128
 * +2.0 / +3.2, 256 +11.3 / +12.5.
 */
export const ARGMAX_CHUNK = 16;

const ORDER_KEY = /* wgsl */ `
fn orderKey(v: f32) -> u32 {
  if (v != v) { return 0u; }
  let b = bitcast<u32>(select(v, 0.0, v == 0.0));
  return select(~b, b | 0x80000000u, (b & 0x80000000u) == 0u);
}`;

/** A row's words in the keys buffer: its chunks' keys, then its non-finite flag. */
export const keyWordsOfRow = (chunks: number): number => chunks + 1;

/**
 * The head GEMV's epilogue (`GemvEpilogue.wgsl`): keys bound at `first`. A logit that is NaN or
 * infinite (its exponent bits all set: WGSL lets a compiler assume floats are finite, so no
 * comparison is trusted with this) sets its row's flag.
 */
export function headArgmaxEpilogueWgsl(first: number, V: number, chunks: number, chunk = ARGMAX_CHUNK): string {
  const words = keyWordsOfRow(chunks);
  return /* wgsl */ `
@group(0) @binding(${first}) var<storage, read_write> argmaxKeys: array<atomic<u32>>;${ORDER_KEY}
fn gemvEpilogue(row: u32, n: u32, v: f32) {
  if (n < ${V}u) {
    atomicMax(&argmaxKeys[row * ${words}u + n / ${chunk}u], orderKey(v));
    if ((bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u) { atomicOr(&argmaxKeys[row * ${words}u + ${chunks}u], 1u); }
  }
}`;
}

/**
 * `nextRows`: with `writeNext` and its bindings from 3 on (next-rows.ts), the workgroup also
 * writes the picked id's row of the embedding (`lmHeadArgmaxEmbed`).
 */
export function headArgmaxPickWgsl(V: number, stride: number, chunks: number, chunk = ARGMAX_CHUNK, nextRows = ''): string {
  if (chunk > PICK_THREADS) throw new Error(`headArgmaxPick: chunks of ${chunk} ids (at most ${PICK_THREADS})`);
  const T = PICK_THREADS;
  const per = Math.ceil(chunks / T);
  const js = Array.from({ length: per }, (_, j) => j);
  // Key j of this thread is chunk tid + j·T; the last round's may lie past the row.
  const guard = (j: number) => ((j + 1) * T > chunks ? `tid + ${j * T}u < ${chunks}u` : '');
  const loads = js.map((j) => (guard(j) ? `var k${j} = 0u; if (${guard(j)}) { k${j} = keys[base + tid + ${j * T}u]; }` : `let k${j} = keys[base + tid + ${j * T}u];`));
  const resets = js.map((j) => (guard(j) ? `if (${guard(j)}) { keys[base + tid + ${j * T}u] = 0u; }` : `keys[base + tid + ${j * T}u] = 0u;`));
  // In increasing chunk order, so the thread keeps its first chunk of the largest key.
  const bests = js.map((j) => `if (${guard(j) ? `${guard(j)} && ` : ''}(at == NONE || k${j} > key)) { key = k${j}; at = tid + ${j * T}u; }`);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read_write> keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> ids: array<i32>;
var<workgroup> redKey: array<u32, ${T}>;
var<workgroup> redAt: array<u32, ${T}>;${ORDER_KEY}${nextRows}
const NONE = 0xffffffffu;
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row = wid.x;
  let base = row * ${keyWordsOfRow(chunks)}u;
  ${loads.join('\n  ')}
  var flagged = 0u;
  if (tid == 0u) { flagged = keys[base + ${chunks}u]; keys[base + ${chunks}u] = 0u; }
  ${resets.join('\n  ')}
  var key = 0u;
  var at = NONE;
  ${bests.join('\n  ')}
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
  // A row with a non-finite logit gives -1 (the row of the embedding written is then that of the
  // largest key's id, which means nothing there).
  ${
    nextRows
      ? `let id = workgroupUniformLoad(&redAt[0]);
  if (tid == 0u) { ids[row] = select(i32(id), -1, flagged != 0u); }
  writeNext(row, id, tid);`
      : 'if (tid == 0u) { ids[row] = select(i32(redAt[0]), -1, flagged != 0u); }'
  }
}`;
}
