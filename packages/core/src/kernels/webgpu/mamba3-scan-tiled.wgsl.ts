/**
 * The chunked Mamba-3 scan's three kernels with vec4 memory traffic (issue 16): the same math,
 * layouts and dispatch grids as mamba3-scan.wgsl.ts (read its header for the formulas), used when
 * P and N are multiples of 4. What differs:
 *  - C, B, x, states and y are bound as vec4 arrays: every global load and store moves 16 bytes;
 *  - the staged 64x16 tiles are vec4 rows in workgroup memory (`[k][m/4]`), so each k step of a
 *    4x4 register block reads one vec4 of A and one of B for 16 FMAs (the scalar version read 8
 *    floats for 16 FMAs and was bound by shared-memory issue); nested arrays, so that Tint proves
 *    `[k][ty]` in bounds and Dawn's robustness transform adds no clamp to the inner loops' reads;
 *  - R is baked into the shader, so the row -> (position, rank) splits are shifts, not divisions
 *    by a uniform (one pipeline per rank; trip counts of barrier loops stay uniforms, as there);
 *  - chunkOutput stages C once per N step for both C·Bᵀ and C·S_enteringᵀ (the exp(cumA_t) factor
 *    moves to the output rows) and skips the work the causal mask zeroes: C·Bᵀ in the warps whose
 *    columns all lie after their rows (a quarter of it), and the k blocks of (W ∘ G)·x after a
 *    thread's rows;
 *  - the cumulative decay is summed per row in parallel, not by one invocation;
 *  - statePass moves 4 state elements per invocation and issues 8 chunks' loads before their
 *    stores, in workgroups of 64 so that one head's 2,048 invocations spread over 32 SMs;
 *  - one set of tiles, staged and multiplied between two barriers: an SM gives WebGPU kernels
 *    about 48 KiB of workgroup memory (H200), so chunkOutput's 13 KiB already hold it to three
 *    workgroups an SM, and double-buffered tiles (25 KiB: one) ran 1.9× slower (BENCHMARKS,
 *    issue 16, thirteenth session).
 * Shapes (vec4 units: N4 = N/4, P4 = P/4):
 *   C, B: [b, L, R, H, N4]   x, y: [b, L, R, H, P4]   adt, dt, trap: [b, L, H]
 *   states: [b, H, nc, P, N4]   decay: [b, H, nc]   initialSsm, finalSsm: [b, H, P, N4]
 *   initialK: [b, R, H, N4]   initialV: [b, R, H, P] (scalar)
 * x, B and C may instead be formed from the mixer's zxbcdt rows (mamba3-scan-rows.wgsl.ts); B and
 * C may be per group (`addressing`): Mamba-2's SSD runs on these kernels with λ = 1.
 */
import type { WgslLib } from './mamba3-mixer.wgsl.js';
import type { XRows } from './mamba3-scan-rows.wgsl.js';
import { rowBindings, rowSourceWgsl } from './mamba3-scan-rows.wgsl.js';
import { CHUNK_COORDS, LOAD_GROUP, SCAN_DIM_NAMES, TRAP_WEIGHTS } from './mamba3-scan.wgsl.js';
import type { OutputSkip } from './mamba2-ssd-tiled.wgsl.js';
import { CB_TILE, skipWgsl } from './mamba2-ssd-tiled.wgsl.js';
import { ACC, addressing, COMP, dimsDecl, HEAD, kSteps, LOAD_DIMS, MAIN, stageK, stageRow } from './scan-tiles.wgsl.js';

/** Sets the chunk coordinates and fills cum (inclusive cumsum of adt, each row its own sum in the serial order), wOff and wDiag. */
const PROLOGUE = /* wgsl */ `
  ${LOAD_DIMS}
  ${CHUNK_COORDS}
  if (tid < tc) { raw[tid] = adt[hAt(tid)]; }
  workgroupBarrier();
  if (tid < tc) {
    var acc = 0.0;
    for (var t = 0u; t < 64u; t++) {
      if (t > tid) { break; }
      acc += raw[t];
    }
    cum[tid] = acc;
    ${TRAP_WEIGHTS}
  }
  workgroupBarrier();
`;

/**
 * Grid (P/64, chunk, b·H): states[c][p, n] = Σ_i wState_t(i) · x̃[i, p] · B̃[i, n], a workgroup
 * taking its 64 rows of P across all of N, 64 columns at a time, so that the chunk's prologue
 * (decays, trapezoid weights) runs once per 64 rows, not once per 64×64 tile (H200, 8192-token
 * prefill: SISO 4.12 → 3.88 ms, MIMO r4 14.51 → 13.28; 128 columns a pass, each staged x̃ serving
 * both halves, was slower: 4.03 and 13.40).
 * Bindings: adt, dt, trap, the row source (x̃, B̃: rowSourceWgsl), states, decay, dims.
 */
export function chunkStateTiledWgsl(R: number, rows: XRows | null, w: WgslLib, bcGroups = 0): string {
  const { loopHead } = w;
  const at = 3 + rowBindings(rows, false);
  return /* wgsl */ `${dimsDecl(at + 2)}
${HEAD(`@group(0) @binding(${at}) var<storage, read_write> states: array<vec4<f32>>;
@group(0) @binding(${at + 1}) var<storage, read_write> decay: array<f32>;`)}
${addressing(R, bcGroups)}
${rowSourceWgsl(rows, false, 3)}
var<workgroup> wState: array<f32, 64>;
${MAIN} {
  let tx = lid.x;
  let ty = lid.y;
  ${PROLOGUE}
  let p0 = wid.x * 64u;
  let cumEnd = cum[tc - 1u];
  if (tid < tc) { wState[tid] = exp(cumEnd - cum[tid]) * wOff[tid]; }
  if (tid == 0u && wid.x == 0u) { decay[wid.z * NC + c] = cumEnd; }
  workgroupBarrier();
  let base = (wid.z * NC + c) * P;
  let pr = p0 + ty * 4u;
  // Every 64 columns of N in turn, after one prologue (the chunk's decays and weights).
  ${loopHead('n0', '0u', 'dims.N', 64)}
    ${ACC('acc')}
    ${loopHead('i0', '0u', 'dims.TR', 16)}
      ${stageRow('As', 'valid(i0 + k) && p0 + q * 4u < P', 'xAt4(i0 + k, p0 / 4u + q) * wState[(i0 + k) / R]')}
      ${stageRow('Bs', 'valid(i0 + k) && n0 + q * 4u < N', 'bAt4(i0 + k, n0 / 4u + q)')}
      workgroupBarrier();
      ${kSteps([['acc', 'Bs']])}
      workgroupBarrier();
    }
    if (n0 + tx * 4u < N) {
      ${[0, 1, 2, 3].map((a) => `if (pr + ${a}u < P) { states[(base + pr + ${a}u) * N4 + n0 / 4u + tx] = acc${a}; }`).join('\n      ')}
    }
  }
}`;
}

/**
 * The SISO mixer's output step (mixerPostWgsl without the output norm) folded into the chunk
 * outputs' writes: y = (y + D_h·x̃)·silu(z), with z at element `z` of each zxbcdt row and D_h at
 * prm[D + h]. Needs x̃ from the rows with B̃ and C̃ formed there (so prm is bound) and R = 1.
 */
export interface OutputGate {
  z: number;
  D: number;
}

/** A pipeline-key fragment for a gate. */
export function gateKey(gate: OutputGate | null): string {
  return gate ? `/gate${gate.z}+${gate.D}` : '';
}

/**
 * The gated write of one vec4 of outputs, in mixerPostWgsl's operations and order (so the same
 * values): (y + D·x̃)·z·sigmoid(z), with the backend's sigmoid_ (COMMON) a component at a time.
 */
function gateWgsl(gate: OutputGate, stride: number, w: WgslLib): string {
  return `${w.COMMON}
fn gated(v: vec4<f32>, i: u32, p4: u32, Dh: f32) -> vec4<f32> {
  let yd = v + Dh * xAt4(i, p4);
  let zv = zx4(rowAt(i) * ${stride}u + ${gate.z}u + h * P + p4 * 4u);
  return yd * zv * vec4<f32>(sigmoid_(zv.x), sigmoid_(zv.y), sigmoid_(zv.z), sigmoid_(zv.w));
}`;
}

/**
 * Grid (P/64, chunk, b·H): y_i = Σ_j W[t_i, s_j]·(C̃_i·B̃_j)·x̃_j + exp(cumA_t)·C̃_i·S_enteringᵀ,
 * then (`gate`) the SISO mixer's output step on it, or (`skip`) Mamba-2's; with `sharedCB` the
 * scores C̃·B̃ᵀ come ready from chunkScoresWgsl (Mamba-2's groups) instead of being formed here.
 * Bindings: adt, dt, trap, the row source (x̃, C̃, B̃: rowSourceWgsl; sharedCB: the scores in B̃'s
 * place), states, y, dims, then the skip's (D, zxbcdt).
 */
export function chunkOutputTiledWgsl(R: number, rows: XRows | null, w: WgslLib, bcGroups = 0, gate: OutputGate | null = null, skip: OutputSkip | null = null, sharedCB = false): string {
  const { loopHead } = w;
  if (gate && (!rows?.bc || rows.scaled || R !== 1)) throw new Error('chunkOutputTiledWgsl: the output gate needs x̃, B̃ and C̃ from zxbcdt rows, unscaled, rank 1');
  if (skip && (gate || rows || R !== 1)) throw new Error('chunkOutputTiledWgsl: the skip needs x̃ from a buffer, rank 1 and no gate');
  if (sharedCB && (rows || R !== 1 || bcGroups === 0)) throw new Error('chunkOutputTiledWgsl: C·Bᵀ per group needs B and C per group from buffers, rank 1');
  // With sharedCB the group's C·Bᵀ (chunkScoresWgsl) takes B̃'s binding: B̃ is read nowhere else here.
  const at = 3 + rowBindings(rows, true, !sharedCB) + (sharedCB ? 1 : 0);
  return /* wgsl */ `${dimsDecl(at + 2)}
${HEAD(`@group(0) @binding(${at}) var<storage, read> states: array<vec4<f32>>;
@group(0) @binding(${at + 1}) var<storage, read_write> y: array<vec4<f32>>;`)}
${addressing(R, bcGroups)}
${rowSourceWgsl(rows, true, 3, !sharedCB)}
${sharedCB ? `@group(0) @binding(${at - 1}) var<storage, read> cb: array<vec4<f32>>;
fn cbAt(i: u32, j4: u32) -> u32 { return ((bi * NC + c) * ${bcGroups}u + h / (H / ${bcGroups}u)) * ${CB_TILE}u + i * 16u + j4; }` : ''}
${gate && rows ? gateWgsl(gate, rows.stride, w) : ''}
${skip ? skipWgsl(skip, at + 3, w) : ''}
var<workgroup> Ss: array<array<vec4<f32>, 16>, 16>;
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
  // Each warp of 32 owns a 16-row × 32-column region of 4x4 blocks (rows ty, columns tx), so
  // the two warps whose score columns all follow their rows' positions skip C·Bᵀ as a whole.
  let warp = tid / 32u;
  let lane = tid % 32u;
  let ty = (warp / 2u) * 4u + lane / 8u;
  let tx = (warp % 2u) * 8u + lane % 8u;
  let needG = ((warp % 2u) * 32u) / R <= ((warp / 2u) * 16u + 15u) / R;
  ${PROLOGUE}
  let p0 = wid.x * 64u;
  let sBase = (wid.z * NC + c) * P;
  // One pass over N: scores G = C·Bᵀ (rows × rows) and C·S_enteringᵀ (rows × p) share the C tile.
  ${ACC('g')}
  ${ACC('acc')}
  ${loopHead('n0', '0u', 'dims.N', 16)}
    ${stageK('As', 0, 'valid(m) && n0 + kq * 4u < N', 'cAt4(m, n0 / 4u + kq)')}
    ${sharedCB ? '' : stageK('Bs', 64, 'valid(m) && n0 + kq * 4u < N', 'bAt4(m, n0 / 4u + kq)')}
    ${stageK('Ss', 128, 'p0 + m < P && n0 + kq * 4u < N', 'states[(sBase + p0 + m) * N4 + n0 / 4u + kq]')}
    workgroupBarrier();
    ${
      sharedCB
        ? kSteps([['acc', 'Ss']])
        : `if (needG) {
      ${kSteps([['g', 'Bs'], ['acc', 'Ss']])}
    } else {
      ${kSteps([['acc', 'Ss']])}
    }`
    }
    workgroupBarrier();
  }
  let i0 = ty * 4u;
  ${sharedCB ? `if (needG) {\n    ${[0, 1, 2, 3].map((a) => `g${a} = cb[cbAt(i0 + ${a}u, tx)];`).join('\n    ')}
  }` : ''}
  ${[0, 1, 2, 3].map((a) => `if (valid(i0 + ${a}u)) { acc${a} *= exp(cum[(i0 + ${a}u) / R]); }`).join('\n  ')}
  // The two-band trapezoid mask, applied in place.
  ${[0, 1, 2, 3].flatMap((a) => COMP.map((x, j) => `g${a}.${x} *= maskW(i0 + ${a}u, tx * 4u + ${j}u);`)).join('\n  ')}
  // Intra-chunk: (W ∘ G)·x, 16 score columns at a time; a thread skips the blocks whose positions
  // all follow its rows' (the mask is zero there).
  let lastT = (i0 + 3u) / R;
  ${loopHead('j0', '0u', 'dims.TR', 16)}
    if (tx * 4u >= j0 && tx * 4u < j0 + 16u) {
      let at = tx * 4u - j0;
      ${COMP.map((x, j) => `As[at + ${j}u][ty] = vec4<f32>(g0.${x}, g1.${x}, g2.${x}, g3.${x});`).join('\n      ')}
    }
    ${stageRow('Bs', 'valid(j0 + k) && p0 + q * 4u < P', 'xAt4(j0 + k, p0 / 4u + q)')}
    workgroupBarrier();
    if (j0 / R <= lastT) {
      ${kSteps([['acc', 'Bs']])}
    }
    workgroupBarrier();
  }
  if (p0 + tx * 4u < P) {
    ${gate ? `let dAt = ${gate.D}u + h;\n    let Dh = prm[dAt / 4u][dAt % 4u];` : ''}
    ${[0, 1, 2, 3].map((a) => `if (valid(i0 + ${a}u)) { y[x4(i0 + ${a}u, p0 / 4u + tx)] = ${gate ? `gated(acc${a}, i0 + ${a}u, p0 / 4u + tx, Dh)` : skip ? `skipped(acc${a}, i0 + ${a}u, p0 / 4u + tx)` : `acc${a}`}; }`).join('\n    ')}
  }
}`;
}

/**
 * Grid (P·N/4/64, b·H): the state hand-off, 4 elements of one row p per invocation, `unroll`
 * chunks' loads issued before their stores (see LOAD_GROUP; MIMO r4's 512 chunks: 487 µs a layer
 * with 8, 246 with 16).
 */
export function statePassTiledWgsl(initialSsm: boolean, initialKV: boolean, w: WgslLib, unroll = LOAD_GROUP): string {
  const { loopHead } = w;
  const bindings = [
    '@group(0) @binding(0) var<storage, read> decay: array<f32>;',
    '@group(0) @binding(1) var<storage, read_write> states: array<vec4<f32>>;',
    '@group(0) @binding(2) var<storage, read_write> finalSsm: array<vec4<f32>>;',
  ];
  let next = 3;
  const bind = (name: string, type: string) => bindings.push(`@group(0) @binding(${next++}) var<storage, read> ${name}: array<${type}>;`);
  if (initialSsm) bind('initialSsm', 'vec4<f32>');
  if (initialKV) [['dt', 'f32'], ['trap', 'f32'], ['initialK', 'vec4<f32>'], ['initialV', 'f32']].forEach(([n, t]) => bind(n, t));
  const init = [
    initialSsm ? 's = initialSsm[bh * PN4 + q];' : '',
    initialKV
      ? `let at0 = bi * L * H + h;
    let beta0 = (1.0 - trap[at0]) * dt[at0];
    var kv = vec4<f32>(0.0);
    ${loopHead('r', '0u', 'dims.R', 1)}
      let kr = (bi * dims.R + r) * H + h;
      kv += initialV[kr * P + p] * initialK[kr * N4 + n4];
    }
    s += beta0 * kv;`
      : '',
  ].join('\n    ');
  const UNROLL = unroll;
  const ks = Array.from({ length: UNROLL }, (_, k) => k);
  return /* wgsl */ `struct Dims { ${SCAN_DIM_NAMES.map((n) => `${n}: u32`).join(', ')} }
@group(0) @binding(${next}) var<uniform> dims: Dims;
${bindings.join('\n')}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let L = dims.L;
  let H = dims.H;
  let P = dims.P;
  let N4 = dims.N / 4u;
  let NC = dims.NC;
  let PN4 = P * N4;
  let q = wid.x * 64u + lid.x;
  if (q >= PN4) { return; }
  let bh = wid.y;
  let bi = bh / H;
  let h = bh % H;
  let p = q / N4;
  let n4 = q % N4;
  var s = vec4<f32>(0.0);
  ${init}
  // ${UNROLL} chunks per iteration, all loads before any store: the chain is one FMA per chunk,
  // so the loop runs at memory throughput, not at one load latency per chunk.
  var c = 0u;
  for (var ci = 0u; ci < ${Math.floor(0xffffffff / UNROLL)}u; ci++) {
    if (c + ${UNROLL}u > NC) { break; } // (a loop Tint proves finite: WgslLib.loopHead)
    let at = (bh * NC + c) * PN4 + q;
    ${ks.map((k) => `let l${k} = states[at + ${k}u * PN4];`).join('\n    ')}
    ${ks.map((k) => `let e${k} = exp(decay[bh * NC + c + ${k}u]);`).join('\n    ')}
    ${ks.map((k) => `states[at + ${k}u * PN4] = s;\n    s = e${k} * s + l${k};`).join('\n    ')}
    c += ${UNROLL}u;
  }
  for (var ci = 0u; ci < ${UNROLL}u; ci++) {
    if (c >= NC) { break; }
    let at = (bh * NC + c) * PN4 + q;
    let loc = states[at];
    states[at] = s;
    s = exp(decay[bh * NC + c]) * s + loc;
    c++;
  }
  finalSsm[bh * PN4 + q] = s;
}`;
}
