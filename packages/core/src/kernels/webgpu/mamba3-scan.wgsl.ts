/**
 * The Mamba-3 SSM scans (see @mamba3/tensor ops/mamba3/types.ts for the recurrence).
 * Shapes: b batch, L seqlen, R mimoRank, H nheads, P headdim, N dState.
 *   C, B: [b, L, R, H, N]   x, y: [b, L, R, H, P]   adt, dt, trap: [b, L, H]
 *   initialSsm, finalSsm: [b, H, P, N]   initialK: [b, R, H, N]   initialV: [b, R, H, P]
 *
 * Chunked scan, three dispatches (the state hand-off between chunks is the only sequential
 * part; everything else is chunk-parallel GEMM work on 64x64 tiles in workgroup memory):
 *  1. chunkState  (grid: P/64·N/64 tiles, chunk, b·H): each chunk's own end state
 *       local_c[p, n] = Σ_(s,r) exp(cumA_end − cumA_s)·wOff_s · x[s,r,p] · B[s,r,n]
 *     -> states [b, H, nc, P, N], and the chunk's decay sum cumA_end -> decay [b, H, nc].
 *  2. statePass   (grid: P·N/256, b·H): S = initialSsm + β'_0 Σ_r V_r ⊗ K_r; for each chunk,
 *     states[c] <- S (the state entering it, in place), S = exp(decay_c)·S + local_c;
 *     finalSsm = S.
 *  3. chunkOutput (grid: P/64, chunk, b·H): rows i = (t, r) of the chunk (T·R <= 64):
 *       y_i = Σ_j W[t_i, s_j]·(C_i·B_j) x_j + exp(cumA_t)·C_i·S_enteringᵀ
 *     with the two-band mask W[t,s] = exp(cumA_t − cumA_s)·wOff_s (s < t), γ_s (s = t), 0 (s > t),
 *     wOff_s = γ_s + (1 − λ_{s+1})·dt_{s+1}, γ_s = λ_s·dt_s. C·Bᵀ stays in registers and is
 *     staged to workgroup memory 16 columns at a time for the product with x.
 * The chunk length T = floor(64 / R) is the kernel's own choice: the result does not depend on
 * it (attrs.chunkSize is a hint for composite backends).
 *
 * Step (decode): one dispatch, grid (P/8, H, b); 8 rows p × 32 lanes along N per workgroup;
 * each invocation updates its S[p, n] elements in place order and sums y_r = S·C_r across
 * lanes in workgroup memory.
 */

export interface ScanDims {
  b: number;
  L: number;
  R: number;
  H: number;
  P: number;
  N: number;
  /** Positions per chunk (T·R <= 64) and the number of chunks. */
  T: number;
  nc: number;
}

/**
 * The dims come from a small uniform buffer, not baked constants: one pipeline serves every
 * shape, and loops with barriers keep runtime trip counts (llvmpipe, which turns each barrier
 * into a coroutine suspend, otherwise unrolls them into multi-second compiles).
 */
export const SCAN_DIM_NAMES = ['L', 'R', 'H', 'P', 'N', 'T', 'NC', 'TR'] as const;

/**
 * Terms of a chained sum (the scans' state hand-off, the angle running sums) whose loads a thread
 * issues together before adding them in order: a plain loop waits on one load per term. H200,
 * 8192 tokens (BENCHMARKS.md, ninth session): the SISO hand-off 120.8 µs a layer with 8, 64.2
 * with 16, 63.5 with 32; Mamba-1's 116.1 with 1, 32.0 with 16.
 */
export const LOAD_GROUP = 16;

export function scanDimValues(d: ScanDims): number[] {
  return [d.L, d.R, d.H, d.P, d.N, d.T, d.nc, d.T * d.R];
}

const dimsDecl = (binding: number) => `struct Dims { ${SCAN_DIM_NAMES.map((n) => `${n}: u32`).join(', ')} }
@group(0) @binding(${binding}) var<uniform> dims: Dims;
${SCAN_DIM_NAMES.map((n) => `var<private> ${n}: u32;`).join('\n')}`;

const LOAD_DIMS = SCAN_DIM_NAMES.map((n) => `${n} = dims.${n};`).join(' ');

/**
 * Per-workgroup chunk coordinates and the row functions both kernel sets (this file's and the
 * vec4 ones, mamba3-scan-tiled.wgsl.ts) address by: row i = t·R + r of chunk c.
 */
export const CHUNK_ROWS = /* wgsl */ `
var<private> bi: u32;
var<private> h: u32;
var<private> c: u32;
var<private> tc: u32;
fn pos(i: u32) -> u32 { return (bi * L + c * T + i / R) * R + i % R; }
fn hAt(t: u32) -> u32 { return (bi * L + c * T + t) * H + h; }
fn valid(i: u32) -> bool { return i < tc * R; }`;

/** The chunk coordinates from the workgroup id (grid: tiles, chunk, b·H). */
export const CHUNK_COORDS = /* wgsl */ `bi = wid.z / H;
  h = wid.z % H;
  c = wid.y;
  tc = min(T, L - c * T);`;

/**
 * The exponential-trapezoid weights of position tid of the chunk: wDiag = γ_t = λ_t·dt_t and
 * wOff = γ_t + (1 − λ_{t+1})·dt_{t+1} (no next term past L). Inside `if (tid < tc)`.
 */
export const TRAP_WEIGHTS = /* wgsl */ `let g = trap[hAt(tid)] * dt[hAt(tid)];
    var next = 0.0;
    if (c * T + tid + 1u < L) { next = (1.0 - trap[hAt(tid + 1u)]) * dt[hAt(tid + 1u)]; }
    wOff[tid] = g + next;
    wDiag[tid] = g;`;

/** Row addressing of this file's kernels, and their workgroup tiles. */
const ADDRESSING = /* wgsl */ `${CHUNK_ROWS}
fn bnAt(i: u32, n: u32) -> u32 { return (pos(i) * H + h) * N + n; }
fn xAt(i: u32, p: u32) -> u32 { return (pos(i) * H + h) * P + p; }
var<workgroup> As: array<f32, 1024>;
var<workgroup> Bs: array<f32, 1024>;
var<workgroup> cum: array<f32, 64>;
var<workgroup> wOff: array<f32, 64>;
var<workgroup> wDiag: array<f32, 64>;
`;

/** Sets the chunk coordinates and fills cum (inclusive cumsum of adt), wOff and wDiag. */
const PROLOGUE = /* wgsl */ `
  ${LOAD_DIMS}
  ${CHUNK_COORDS}
  // Loads in parallel, then one invocation's running sum over workgroup memory (<= 64 adds).
  if (tid < tc) { cum[tid] = adt[hAt(tid)]; }
  workgroupBarrier();
  if (tid == 0u) {
    var acc = 0.0;
    for (var t = 0u; t < tc; t++) { acc += cum[t]; cum[t] = acc; }
  }
  if (tid < tc) {
    ${TRAP_WEIGHTS}
  }
  workgroupBarrier();
`;

/** 16 rank-1 updates of the 4x4 register block from the staged tiles (As [k][m], Bs [k][n]). */
function mma(acc: string): string {
  return `for (var k = 0u; k < 16u; k++) {
      let ab = k * 64u + ty * 4u;
      let bb = k * 64u + tx * 4u;
      let bv = vec4<f32>(Bs[bb], Bs[bb + 1u], Bs[bb + 2u], Bs[bb + 3u]);
      ${acc}0 += As[ab] * bv;
      ${acc}1 += As[ab + 1u] * bv;
      ${acc}2 += As[ab + 2u] * bv;
      ${acc}3 += As[ab + 3u] * bv;
    }`;
}

/**
 * Stages a 64x16 tile: `contig` when the 64-wide coordinate is contiguous in memory (m = e % 64),
 * else the 16-wide k is (m = e / 16).
 */
function stage(target: 'As' | 'Bs', contig: boolean, cond: string, value: string): string {
  return `for (var q = 0u; q < 4u; q++) {
      let e = tid + q * 256u;
      let m = ${contig ? 'e % 64u' : 'e / 16u'};
      let k = ${contig ? 'e / 64u' : 'e % 16u'};
      var v = 0.0;
      if (${cond}) { v = ${value}; }
      ${target}[k * 64u + m] = v;
    }`;
}

const COMP = ['x', 'y', 'z', 'w'];

/** The 16 statements of a 4x4 register block, unrolled here so the compiler sees no private arrays. */
function each4x4(body: (a: number, j: number, el: (acc: string) => string) => string): string {
  const out: string[] = [];
  for (let a = 0; a < 4; a++) for (let j = 0; j < 4; j++) out.push(body(a, j, (acc) => `${acc}${a}.${COMP[j]}`));
  return out.join('\n  ');
}

const ACC = (name: string) => [0, 1, 2, 3].map((i) => `var ${name}${i} = vec4<f32>(0.0);`).join('\n  ');

const HEAD = (extra: string) => `
@group(0) @binding(0) var<storage, read> adt: array<f32>;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> trap: array<f32>;
${extra}`;

const MAIN = '@compute @workgroup_size(16, 16)\nfn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) tid: u32)';

export function chunkStateWgsl(): string {
  return /* wgsl */ `${dimsDecl(7)}
${HEAD(`@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read_write> states: array<f32>;
@group(0) @binding(6) var<storage, read_write> decay: array<f32>;`)}
${ADDRESSING}
var<workgroup> wState: array<f32, 64>;
${MAIN} {
  let tx = lid.x;
  let ty = lid.y;
  ${PROLOGUE}
  let tilesP = (P + 63u) / 64u;
  let p0 = (wid.x % tilesP) * 64u;
  let n0 = (wid.x / tilesP) * 64u;
  let cumEnd = cum[tc - 1u];
  if (tid < tc) { wState[tid] = exp(cumEnd - cum[tid]) * wOff[tid]; }
  if (tid == 0u && wid.x == 0u) { decay[wid.z * NC + c] = cumEnd; }
  workgroupBarrier();
  ${ACC('acc')}
  for (var i0 = 0u; i0 < dims.TR; i0 += 16u) {
    ${stage('As', true, 'valid(i0 + k) && p0 + m < P', 'x[xAt(i0 + k, p0 + m)] * wState[(i0 + k) / R]')}
    ${stage('Bs', true, 'valid(i0 + k) && n0 + m < N', 'B[bnAt(i0 + k, n0 + m)]')}
    workgroupBarrier();
    ${mma('acc')}
    workgroupBarrier();
  }
  let base = (wid.z * NC + c) * P * N;
  let pr = p0 + ty * 4u;
  let nc0 = n0 + tx * 4u;
  ${each4x4((a, j, el) => `if (pr + ${a}u < P && nc0 + ${j}u < N) { states[base + (pr + ${a}u) * N + nc0 + ${j}u] = ${el('acc')}; }`)}
}`;
}

export function statePassWgsl(initialSsm: boolean, initialKV: boolean): string {
  const bindings = [
    '@group(0) @binding(0) var<storage, read> decay: array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> states: array<f32>;',
    '@group(0) @binding(2) var<storage, read_write> finalSsm: array<f32>;',
  ];
  let next = 3;
  const bind = (name: string) => bindings.push(`@group(0) @binding(${next++}) var<storage, read> ${name}: array<f32>;`);
  if (initialSsm) bind('initialSsm');
  if (initialKV) ['dt', 'trap', 'initialK', 'initialV'].forEach(bind);
  const init = [
    initialSsm ? 's = initialSsm[bh * P * N + pn];' : '',
    initialKV
      ? `let at0 = bi * L * H + h;
    let beta0 = (1.0 - trap[at0]) * dt[at0];
    var kv = 0.0;
    for (var r = 0u; r < R; r++) {
      let kr = (bi * R + r) * H + h;
      kv += initialV[kr * P + p] * initialK[kr * N + n];
    }
    s += beta0 * kv;`
      : '',
  ].join('\n    ');
  return /* wgsl */ `${dimsDecl(next)}
${bindings.join('\n')}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  ${LOAD_DIMS}
  let pn = wid.x * 256u + lid.x;
  if (pn >= P * N) { return; }
  let bh = wid.y;
  let bi = bh / H;
  let h = bh % H;
  let p = pn / N;
  let n = pn % N;
  var s = 0.0;
  ${init}
  // Four chunks per iteration with their loads issued first: the chain itself is one FMA per
  // chunk, so the loop runs at memory throughput, not at one load latency per chunk.
  let stride = P * N;
  var c = 0u;
  for (; c + 4u <= NC; c += 4u) {
    let at = (bh * NC + c) * stride + pn;
    let l0 = states[at];
    let l1 = states[at + stride];
    let l2 = states[at + 2u * stride];
    let l3 = states[at + 3u * stride];
    let e0 = exp(decay[bh * NC + c]);
    let e1 = exp(decay[bh * NC + c + 1u]);
    let e2 = exp(decay[bh * NC + c + 2u]);
    let e3 = exp(decay[bh * NC + c + 3u]);
    states[at] = s;
    s = e0 * s + l0;
    states[at + stride] = s;
    s = e1 * s + l1;
    states[at + 2u * stride] = s;
    s = e2 * s + l2;
    states[at + 3u * stride] = s;
    s = e3 * s + l3;
  }
  for (; c < NC; c++) {
    let at = (bh * NC + c) * stride + pn;
    let loc = states[at];
    states[at] = s;
    s = exp(decay[bh * NC + c]) * s + loc;
  }
  finalSsm[bh * P * N + pn] = s;
}`;
}

export function chunkOutputWgsl(): string {
  return /* wgsl */ `${dimsDecl(8)}
${HEAD(`@group(0) @binding(3) var<storage, read> C: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> y: array<f32>;`)}
${ADDRESSING}
/** W[t_i, s_j] of the two-band mask for rows i, j of the chunk. */
fn maskW(i: u32, j: u32) -> f32 {
  if (!valid(i) || !valid(j)) { return 0.0; }
  let t = i / R;
  let s = j / R;
  if (s < t) { return exp(cum[t] - cum[s]) * wOff[s]; }
  if (s == t) { return wDiag[s]; }
  return 0.0;
}
${MAIN} {
  let tx = lid.x;
  let ty = lid.y;
  ${PROLOGUE}
  let p0 = wid.x * 64u;
  // Scores G = C·Bᵀ over the chunk's rows (t, r), kept in registers.
  ${ACC('g')}
  for (var n0 = 0u; n0 < dims.N; n0 += 16u) {
    ${stage('As', false, 'valid(m) && n0 + k < N', 'C[bnAt(m, n0 + k)]')}
    ${stage('Bs', false, 'valid(m) && n0 + k < N', 'B[bnAt(m, n0 + k)]')}
    workgroupBarrier();
    ${mma('g')}
    workgroupBarrier();
  }
  // The two-band trapezoid mask, applied in place.
  ${each4x4((a, j, el) => `${el('g')} *= maskW(ty * 4u + ${a}u, tx * 4u + ${j}u);`)}
  ${ACC('acc')}
  // Intra-chunk: (W ∘ G)·x, staging 16 score columns at a time.
  for (var j0 = 0u; j0 < dims.TR; j0 += 16u) {
    if (tx * 4u >= j0 && tx * 4u < j0 + 16u) {
      let at = (tx * 4u - j0) * 64u + ty * 4u;
      ${each4x4((a, j, el) => `As[at + ${j * 64 + a}u] = ${el('g')};`)}
    }
    ${stage('Bs', true, 'valid(j0 + k) && p0 + m < P', 'x[xAt(j0 + k, p0 + m)]')}
    workgroupBarrier();
    ${mma('acc')}
    workgroupBarrier();
  }
  // Inter-chunk: exp(cumA_t)·C·S_enteringᵀ.
  let sBase = (wid.z * NC + c) * P * N;
  for (var n0 = 0u; n0 < dims.N; n0 += 16u) {
    ${stage('As', false, 'valid(m) && n0 + k < N', 'C[bnAt(m, n0 + k)] * exp(cum[m / R])')}
    ${stage('Bs', false, 'p0 + m < P && n0 + k < N', 'states[sBase + (p0 + m) * N + n0 + k]')}
    workgroupBarrier();
    ${mma('acc')}
    workgroupBarrier();
  }
  let i0 = ty * 4u;
  let pc = p0 + tx * 4u;
  ${each4x4((a, j, el) => `if (valid(i0 + ${a}u) && pc + ${j}u < P) { y[xAt(i0 + ${a}u, pc + ${j}u)] = ${el('acc')}; }`)}
}`;
}


/**
 * One recurrent step. C, B, prevK: [b, R, H, N]; x, prevV, y: [b, R, H, P]; adt, dt, trap: [b, H];
 * ssm, ssmOut: [b, H, P, N].
 */
export function stepScanWgsl(R: number): string {
  const rs = Array.from({ length: R }, (_, r) => r);
  // R is baked (it unrolls the per-rank sums); H, P, N come from the uniform.
  return /* wgsl */ `
const R = ${R}u;
struct Dims { H: u32, P: u32, N: u32, pad: u32 }
@group(0) @binding(11) var<uniform> dims: Dims;
@group(0) @binding(0) var<storage, read> C: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> adt: array<f32>;
@group(0) @binding(4) var<storage, read> dt: array<f32>;
@group(0) @binding(5) var<storage, read> trap: array<f32>;
@group(0) @binding(6) var<storage, read> ssm: array<f32>;
@group(0) @binding(7) var<storage, read> prevK: array<f32>;
@group(0) @binding(8) var<storage, read> prevV: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<storage, read_write> ssmOut: array<f32>;
var<workgroup> red: array<f32, ${256 * R}>;
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let p = wid.x * 8u + lid.y;
  let h = wid.y;
  let bi = wid.z;
  let bh = bi * H + h;
  let alpha = exp(adt[bh]);
  let beta = (1.0 - trap[bh]) * dt[bh] * alpha;
  let gamma = trap[bh] * dt[bh];
  ${rs.map((r) => `var y${r} = 0.0;`).join('\n  ')}
  if (p < P) {
    ${rs.map((r) => `let k${r} = (bi * R + ${r}u) * H + h;\n    let pv${r} = beta * prevV[k${r} * P + p];\n    let v${r} = gamma * x[k${r} * P + p];`).join('\n    ')}
    for (var n = lid.x; n < N; n += 32u) {
      let at = (bh * P + p) * N + n;
      var s = alpha * ssm[at];
      ${rs.map((r) => `s += pv${r} * prevK[k${r} * N + n] + v${r} * B[k${r} * N + n];`).join('\n      ')}
      ssmOut[at] = s;
      ${rs.map((r) => `y${r} += s * C[k${r} * N + n];`).join('\n      ')}
    }
  }
  let slot = lid.y * 32u + lid.x;
  ${rs.map((r) => `red[${r}u * 256u + slot] = y${r};`).join('\n  ')}
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (lid.x < s) {
      ${rs.map((r) => `red[${r}u * 256u + slot] += red[${r}u * 256u + slot + s];`).join('\n      ')}
    }
    workgroupBarrier();
  }
  if (lid.x == 0u && p < P) {
    ${rs.map((r) => `y[((bi * R + ${r}u) * H + h) * P + p] = red[${r}u * 256u + slot];`).join('\n    ')}
  }
}`;
}
