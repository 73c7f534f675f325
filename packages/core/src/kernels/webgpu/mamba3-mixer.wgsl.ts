/**
 * The Mamba-3 mixer decode step in ONE dispatch: everything between in_proj and out_proj.
 *
 * Shapes: b batch, H nheads, P headdim, N dState, G ngroups, R mimoRank, A rotation angles.
 *   zx (in_proj output): [b, dIn], split z [H·P] | x [H·P] | B (r g n) | C (r g n) | dd_dt [H] |
 *     dd_A [H] | trap [H] | angles [A]
 *   params: one packed f32 buffer (offsets baked): dtBias [H], BBias [H, R, N], CBias [H, R, N],
 *     BNormWeight [N], CNormWeight [N], D [H], (MIMO) mimoX/mimoZ/mimoO [H, R, P], (norm) normWeight [H·P]
 *   state in/out: angle [b, H, A], ssm [b, H, P, N], k [b, R, H, N], v [b, H, P];  y [b, H·P]
 *
 * One workgroup of 256 per (head, batch row); the head's whole state (P·N) streams through it:
 *  A. DT, A·DT, λ; B and C rows: RMSNorm over N (group g = h / (H/G)), weight, per-head bias,
 *     then the data-dependent rotation by θ = θ_prev + tanh(angle_proj)·DT·π (SISO pairs
 *     (2i, 2i+1), MIMO (i, i+N/2)) -> Bt, Ct [R, N] and x̃, ṽ [R, P] in workgroup memory.
 *  B. S' = α S + β Σ_r ṽ_r ⊗ k_r + γ Σ_r x̃_r ⊗ B̃_r, and y_r = S'·C̃_r: 32 rows × 8 lanes per
 *     pass, lane partials to workgroup memory (no barrier inside the pass).
 *  C. y_r + D·x̃_r, then silu(z̃_r) gating or the gated RMSNorm over P, and the MIMO sum over r.
 */

export interface MixerDims {
  H: number;
  P: number;
  N: number;
  G: number;
  R: number;
  A: number;
  isMimo: boolean;
  complex: boolean;
  outNorm: boolean;
  AFloor: number;
  eps: number;
}

/** Element offsets of each parameter inside the packed buffer. */
export interface ParamLayout {
  dtBias: number;
  BBias: number;
  CBias: number;
  BNormWeight: number;
  CNormWeight: number;
  D: number;
  mimoX: number;
  mimoZ: number;
  mimoO: number;
  normWeight: number;
}

import { inProjLayout } from '../../ops/mamba3/layout.js';

/** What the templates need from the backend: its shared WGSL prelude and f32 literals (`WebGPUBackend.wgsl`). */
export interface WgslLib {
  readonly COMMON: string;
  f32Lit(v: number): string;
}

const WG = 256;
const LANES = 8;

/** Lanes per state row in the step kernel: at least 8, more when a slice has few rows (a power of two). */
export function stepLanes(rows: number): number {
  let lanes = LANES;
  while (lanes * 2 * rows <= WG) lanes *= 2;
  return lanes;
}

/**
 * How many slices of P the step kernel splits a head into: rows of at least 16 per slice, and one
 * slice with the gated output norm (it reduces over the whole of P).
 */
export function stepSlices(P: number, outNorm: boolean): number {
  if (outNorm) return 1;
  for (const s of [4, 2]) if (P % s === 0 && P / s >= 16) return s;
  return 1;
}

/**
 * The gated output norm's per-rank statistics: rr[r] = 1/sqrt(mean(src[r, :]²) + eps) for the R
 * rows of P values in `src` (workgroup memory); nothing without the out-proj norm. `eps` is a WGSL literal.
 */
function rankRmsWgsl(outNorm: boolean, src: string, P: number, eps: string): string {
  if (!outNorm) return '';
  return `if (tid < R) {
    var ss = 0.0;
    for (var p = 0u; p < P; p++) { let v = ${src}[tid * P + p]; ss += v * v; }
    rr[tid] = 1.0 / sqrt(ss / ${P}.0 + ${eps});
  }
  workgroupBarrier();`;
}

export function mixerStepWgsl(d: MixerDims, o: ParamLayout, w: WgslLib, slices = 1): string {
  const { COMMON, f32Lit: f32 } = w;
  const { H, P, N, G, R, A } = d;
  // Each workgroup owns PS rows of its head's state (workgroup_id.z picks the slice): more
  // workgroups for a one-token step. The per-head prologue (B/C norms, rotation) is redone per slice.
  const PS = P / slices;
  const lanes = stepLanes(PS);
  const { dInner, OX, OB, OC, ODT, ODA, OTRAP, OANG, DIN } = sections(d);
  const scratch = Math.max(2 * R * WG, R * PS * lanes);
  const rot = d.complex && A > 0;
  const pair = d.isMimo ? ['i', `i + ${N / 2}u`] : ['2u * i', '2u * i + 1u'];
  const mimo = (base: number, r: string, p: string) => `prm[${base}u + (h * R + ${r}) * P + ${p}]`;
  return /* wgsl */ `
const H = ${H}u; const P = ${P}u; const N = ${N}u; const R = ${R}u; const A = ${A}u;
const DIN = ${DIN}u; const DINNER = ${dInner}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> angleIn: array<f32>;
@group(0) @binding(3) var<storage, read> ssmIn: array<f32>;
@group(0) @binding(4) var<storage, read> kIn: array<f32>;
@group(0) @binding(5) var<storage, read> vIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> angleOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> ssmOut: array<f32>;
@group(0) @binding(9) var<storage, read_write> kOut: array<f32>;
@group(0) @binding(10) var<storage, read_write> vOut: array<f32>;
var<workgroup> Bt: array<f32, ${R * N}>;
var<workgroup> Ct: array<f32, ${R * N}>;
var<workgroup> Kp: array<f32, ${R * N}>;
var<workgroup> xs: array<f32, ${R * PS}>;
var<workgroup> vs: array<f32, ${R * PS}>;
var<workgroup> ys: array<f32, ${R * PS}>;
var<workgroup> scratch: array<f32, ${scratch}>;
var<workgroup> rr: array<f32, ${2 * R}>;
${COMMON}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let h = wid.x;
  let bi = wid.y;
  let p0s = wid.z * ${PS}u;
  let lead = wid.z == 0u;
  let row = bi * DIN;
  let bh = bi * H + h;
  let dt = softplus_(zx[row + ${ODT}u + h] + prm[${o.dtBias}u + h]);
  let dda = zx[row + ${ODA}u + h];
  // heavyTail(x) = 1 + x (x >= 0), 1 / (1 - x) (x < 0)
  let adt = -max(max(dda, 0.0) + 1.0 / (1.0 - min(dda, 0.0)), ${f32(d.AFloor)}) * dt;
  let trap = sigmoid_(zx[row + ${OTRAP}u + h]);
  let g = h / ${H / G}u;

  // A. RMS of the raw B and C rows (2R sums over N).
  for (var r = 0u; r < R; r++) {
    var sb = 0.0;
    var sc = 0.0;
    for (var n = tid; n < N; n += ${WG}u) {
      let b = zx[row + ${OB}u + (r * ${G}u + g) * N + n];
      let c = zx[row + ${OC}u + (r * ${G}u + g) * N + n];
      sb += b * b;
      sc += c * c;
    }
    scratch[(2u * r) * ${WG}u + tid] = sb;
    scratch[(2u * r + 1u) * ${WG}u + tid] = sc;
  }
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (tid < s) {
      for (var q = 0u; q < 2u * R; q++) { scratch[q * ${WG}u + tid] += scratch[q * ${WG}u + tid + s]; }
    }
    workgroupBarrier();
  }
  if (tid < 2u * R) { rr[tid] = 1.0 / sqrt(scratch[tid * ${WG}u] / ${N}.0 + ${f32(d.eps)}); }
  workgroupBarrier();
  for (var e = tid; e < R * N; e += ${WG}u) {
    let r = e / N;
    let n = e % N;
    let src = row + (r * ${G}u + g) * N + n;
    let bias = (h * R + r) * N + n;
    Bt[e] = zx[src + ${OB}u] * rr[2u * r] * prm[${o.BNormWeight}u + n] + prm[${o.BBias}u + bias];
    Ct[e] = zx[src + ${OC}u] * rr[2u * r + 1u] * prm[${o.CNormWeight}u + n] + prm[${o.CBias}u + bias];
    Kp[e] = kIn[((bi * R + r) * H + h) * N + n];
  }
  for (var e = tid; e < R * ${PS}u; e += ${WG}u) {
    let r = e / ${PS}u;
    let p = p0s + e % ${PS}u;
    let xv = zx[row + ${OX}u + h * P + p];
    let vv = vIn[bh * P + p];
    ${d.isMimo ? `let mx = ${mimo(o.mimoX, 'r', 'p')};\n    xs[e] = xv * mx;\n    vs[e] = vv * mx;` : 'xs[e] = xv;\n    vs[e] = vv;'}
    if (r == 0u) { vOut[bh * P + p] = xv; }
  }
  workgroupBarrier();
  ${
    rot
      ? `// Rotation: each (r, i) pair is owned by one invocation, so in place is safe.
  for (var e = tid; e < R * A; e += ${WG}u) {
    let r = e / A;
    let i = e % A;
    let theta = angleIn[bh * A + i] + tanh_(zx[row + ${OANG}u + i]) * dt * ${f32(Math.PI)};
    if (r == 0u && lead) { angleOut[bh * A + i] = theta; }
    let cs = cos(theta);
    let sn = sin(theta);
    let i0 = r * N + ${pair[0]};
    let i1 = r * N + ${pair[1]};
    let bu = Bt[i0];
    let bw = Bt[i1];
    Bt[i0] = bu * cs - bw * sn;
    Bt[i1] = bu * sn + bw * cs;
    let cu = Ct[i0];
    let cw = Ct[i1];
    Ct[i0] = cu * cs - cw * sn;
    Ct[i1] = cu * sn + cw * cs;
  }
  workgroupBarrier();`
      : `if (lead) { for (var i = tid; i < A; i += ${WG}u) { angleOut[bh * A + i] = angleIn[bh * A + i]; } }`
  }
  if (lead) {
    for (var e = tid; e < R * N; e += ${WG}u) {
      kOut[((bi * R + e / N) * H + h) * N + e % N] = Bt[e];
    }
  }

  // B. The state update and y_r = S'·C̃_r, lane partials per (r, p).
  let alpha = exp(adt);
  let beta = (1.0 - trap) * dt * alpha;
  let gamma = trap * dt;
  let lane = tid % ${lanes}u;
  for (var pl0 = 0u; pl0 < ${PS}u; pl0 += ${WG / lanes}u) {
    let pl = pl0 + tid / ${lanes}u;
    let p = p0s + pl;
    if (pl < ${PS}u) {
      var acc = array<f32, ${R}>();
      for (var n = lane; n < N; n += ${lanes}u) {
        let at = (bh * P + p) * N + n;
        var s = alpha * ssmIn[at];
        for (var r = 0u; r < R; r++) {
          s += beta * vs[r * ${PS}u + pl] * Kp[r * N + n] + gamma * xs[r * ${PS}u + pl] * Bt[r * N + n];
        }
        ssmOut[at] = s;
        for (var r = 0u; r < R; r++) { acc[r] += s * Ct[r * N + n]; }
      }
      for (var r = 0u; r < R; r++) { scratch[(r * ${PS}u + pl) * ${lanes}u + lane] = acc[r]; }
    }
  }
  workgroupBarrier();

  // C. D skip, gating / gated norm over P, MIMO mix.
  let Dh = prm[${o.D}u + h];
  for (var e = tid; e < R * ${PS}u; e += ${WG}u) {
    var s = 0.0;
    for (var l = 0u; l < ${lanes}u; l++) { s += scratch[e * ${lanes}u + l]; }
    ys[e] = s + Dh * xs[e];
  }
  workgroupBarrier();
  ${rankRmsWgsl(d.outNorm, 'ys', PS, f32(d.eps))}
  for (var pl = tid; pl < ${PS}u; pl += ${WG}u) {
    let p = p0s + pl;
    let zv = zx[row + h * P + p];
    var out = 0.0;
    for (var r = 0u; r < R; r++) {
      let zt = zv${d.isMimo ? ` * ${mimo(o.mimoZ, 'r', 'p')}` : ''};
      let gate = zt * sigmoid_(zt);
      let gv = ys[r * ${PS}u + pl]${d.outNorm ? ` * rr[r]${o.normWeight >= 0 ? ` * prm[${o.normWeight}u + h * P + p]` : ''}` : ''} * gate;
      out += gv${d.isMimo ? ` * ${mimo(o.mimoO, 'r', 'p')}` : ''};
    }
    y[bi * DINNER + h * P + p] = out;
  }
}`;
}

/** Batch and sequence length from a uniform: prefill lengths vary, pipelines should not. */
const SEQ_DIMS = (binding: number) => `struct Seq { b: u32, L: u32, pad0: u32, pad1: u32 }
@group(0) @binding(${binding}) var<uniform> seq: Seq;`;

/** Offsets of the in_proj output's sections, from the one layout definition (ops/mamba3/layout.ts). */
function sections(d: MixerDims) {
  const l = inProjLayout({ nheads: d.H, headdim: d.P, dState: d.N, ngroups: d.G, mimoRank: d.R, numRopeAngles: d.A });
  const o = l.offsets;
  return { dInner: l.sizes.z, OX: o.x, OB: o.B, OC: o.C, ODT: o.ddDt, ODA: o.ddA, OTRAP: o.trap, OANG: o.angles, DIN: l.dInProj };
}

/** Positions per workgroup of the angle running sum. */
export const ANGLE_CHUNK = 64;

const ANGLE_STEP = (s: ReturnType<typeof sections>, o: ParamLayout, f32: (v: number) => string) => `
fn dtAt(row: u32, h: u32) -> f32 { return softplus_(zx[row + ${s.ODT}u + h] + prm[${o.dtBias}u + h]); }
fn stepAt(row: u32, i: u32, dt: f32) -> f32 { return tanh_(zx[row + ${s.OANG}u + i]) * dt * ${f32(Math.PI)}; }`;

/**
 * Chunked mixer, dispatches 1-2 (complex with A > 0 only): the rotation angles, a running sum
 * over the sequence, θ[b, t, h, i] = θ_prev + Σ_{t' <= t} tanh(angle_proj[t', i])·DT[t', h]·π.
 * Grid (chunks of 64 positions, b·H); one invocation per angle i (A <= 64 per workgroup pass).
 *  1. chunk sums -> sums [b, H, nChunks, A]
 *  2. each chunk adds the sums of the chunks before it, then runs through its 64 positions
 *     -> theta [b, L, H, A], and the last chunk writes angleOut [b, H, A].
 * Every loop is at most 64 (or nChunks) long and the grid covers all chunks at once.
 */
export function mixerAngleSumsWgsl(d: MixerDims, o: ParamLayout, w: WgslLib): string {
  const { COMMON, f32Lit: f32 } = w;
  const { H, A } = d;
  const s = sections(d);
  return /* wgsl */ `${COMMON}
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read_write> sums: array<f32>;
${SEQ_DIMS(3)}
var<workgroup> dts: array<f32, ${ANGLE_CHUNK}>;
${ANGLE_STEP(s, o, f32)}
@compute @workgroup_size(${ANGLE_CHUNK})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let L = seq.L;
  let c = wid.x;
  let bi = wid.y / ${H}u;
  let h = wid.y % ${H}u;
  let t0 = c * ${ANGLE_CHUNK}u;
  let n = min(${ANGLE_CHUNK}u, L - t0);
  if (tid < n) { dts[tid] = dtAt((bi * L + t0 + tid) * ${s.DIN}u, h); }
  workgroupBarrier();
  for (var i = tid; i < ${A}u; i += ${ANGLE_CHUNK}u) {
    var acc = 0.0;
    for (var t = 0u; t < n; t++) { acc += stepAt((bi * L + t0 + t) * ${s.DIN}u, i, dts[t]); }
    sums[(wid.y * nwg.x + c) * ${A}u + i] = acc;
  }
}`;
}

export function mixerAngleScanWgsl(d: MixerDims, o: ParamLayout, hasState: boolean, w: WgslLib): string {
  const { COMMON, f32Lit: f32 } = w;
  const { H, A } = d;
  const s = sections(d);
  return /* wgsl */ `${COMMON}
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>;
@group(0) @binding(3) var<storage, read_write> theta: array<f32>;
@group(0) @binding(4) var<storage, read_write> angleOut: array<f32>;
${hasState ? '@group(0) @binding(5) var<storage, read> angleIn: array<f32>;' : ''}
${SEQ_DIMS(hasState ? 6 : 5)}
var<workgroup> dts: array<f32, ${ANGLE_CHUNK}>;
${ANGLE_STEP(s, o, f32)}
@compute @workgroup_size(${ANGLE_CHUNK})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let L = seq.L;
  let c = wid.x;
  let bh = wid.y;
  let bi = bh / ${H}u;
  let h = bh % ${H}u;
  let t0 = c * ${ANGLE_CHUNK}u;
  let n = min(${ANGLE_CHUNK}u, L - t0);
  if (tid < n) { dts[tid] = dtAt((bi * L + t0 + tid) * ${s.DIN}u, h); }
  workgroupBarrier();
  for (var i = tid; i < ${A}u; i += ${ANGLE_CHUNK}u) {
    var acc = 0.0;
    for (var k = 0u; k < c; k++) { acc += sums[(bh * nwg.x + k) * ${A}u + i]; }
    let a0 = ${hasState ? `angleIn[bh * ${A}u + i]` : '0.0'};
    for (var t = 0u; t < n; t++) {
      let pos = bi * L + t0 + t;
      acc += stepAt(pos * ${s.DIN}u, i, dts[t]);
      theta[(pos * ${H}u + h) * ${A}u + i] = acc + a0;
    }
    if (c == nwg.x - 1u) { angleOut[bh * ${A}u + i] = acc + a0; }
  }
}`;
}

/**
 * Chunked mixer, dispatch 3: everything per position before the scan. One workgroup of 256 per
 * position (b·L of them): DT, A·DT, λ -> dt, adt, trap [b, L, H]; B̃, C̃ (RMSNorm over N per
 * (r, g), weight, per-head bias, rotation by theta) -> [b, L, R, H, N]; x̃ = x ⊙ mimo_x -> [b, L, R, H, P].
 */
export function mixerPrepWgsl(d: MixerDims, o: ParamLayout, w: WgslLib): string {
  const { COMMON, f32Lit: f32 } = w;
  const { H, P, N, G, R, A } = d;
  const s = sections(d);
  const rot = d.complex && A > 0;
  const RG2 = 2 * R * G;
  // Invocations per B/C row in the RMS sums: a power of two, at most 16, all rows in one workgroup of 256.
  const tpr = Math.max(1, Math.min(16, 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(256 / RG2))))));
  // Which θ index and partner rotate element n (-1: not rotated), and whether n is the pair's first.
  const pairOf = d.isMimo
    ? `if (n < A) { i = i32(n); partner = n + ${N / 2}u; first = true; } else if (n >= ${N / 2}u && n < ${N / 2}u + A) { i = i32(n - ${N / 2}u); partner = n - ${N / 2}u; first = false; }`
    : `if (n < 2u * A) { i = i32(n / 2u); partner = n ^ 1u; first = (n & 1u) == 0u; }`;
  return /* wgsl */ `${COMMON}
const H = ${H}u; const P = ${P}u; const N = ${N}u; const G = ${G}u; const R = ${R}u; const A = ${A}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read_write> Bt: array<f32>;
@group(0) @binding(3) var<storage, read_write> Ct: array<f32>;
@group(0) @binding(4) var<storage, read_write> xt: array<f32>;
@group(0) @binding(5) var<storage, read_write> adtOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> dtOut: array<f32>;
@group(0) @binding(7) var<storage, read_write> trapOut: array<f32>;
${rot ? '@group(0) @binding(8) var<storage, read> theta: array<f32>;' : ''}
${SEQ_DIMS(rot ? 9 : 8)}
var<workgroup> rr: array<f32, ${RG2}>;
var<workgroup> part: array<f32, ${RG2 * tpr}>;
fn normed(row: u32, base: u32, which: u32, r: u32, h: u32, n: u32) -> f32 {
  let rg = r * G + h / ${H / G}u;
  let w = select(prm[${o.BNormWeight}u + n], prm[${o.CNormWeight}u + n], which == 1u);
  let bias = select(prm[${o.BBias}u + (h * R + r) * N + n], prm[${o.CBias}u + (h * R + r) * N + n], which == 1u);
  return zx[row + base + rg * N + n] * rr[2u * rg + which] * w + bias;
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let pos = wid.y * nwg.x + wid.x;
  if (pos >= seq.b * seq.L) { return; }
  let row = pos * ${s.DIN}u;
  for (var h = tid; h < H; h += 256u) {
    let dt = softplus_(zx[row + ${s.ODT}u + h] + prm[${o.dtBias}u + h]);
    let dda = zx[row + ${s.ODA}u + h];
    adtOut[pos * H + h] = -max(max(dda, 0.0) + 1.0 / (1.0 - min(dda, 0.0)), ${f32(d.AFloor)}) * dt;
    dtOut[pos * H + h] = dt;
    trapOut[pos * H + h] = sigmoid_(zx[row + ${s.OTRAP}u + h]);
  }
  // The RMS of each of the ${RG2} B/C rows: ${tpr} invocations per row sum strided squares (loads in
  // flight at once, not one row's ${N} in a chain), then one sums the ${tpr} partials.
  if (tid < ${RG2 * tpr}u) {
    let q = tid / ${tpr}u;
    let base = select(${s.OB}u, ${s.OC}u, (q & 1u) == 1u) + (q / 2u) * N;
    var ss = 0.0;
    for (var n = tid % ${tpr}u; n < N; n += ${tpr}u) { let v = zx[row + base + n]; ss += v * v; }
    part[tid] = ss;
  }
  workgroupBarrier();
  if (tid < ${RG2}u) {
    var ss = 0.0;
    for (var j = 0u; j < ${tpr}u; j++) { ss += part[tid * ${tpr}u + j]; }
    rr[tid] = 1.0 / sqrt(ss / ${N}.0 + ${f32(d.eps)});
  }
  workgroupBarrier();
  for (var e = tid; e < R * H * N; e += 256u) {
    let n = e % N;
    let h = (e / N) % H;
    let r = e / (H * N);
    var bv = normed(row, ${s.OB}u, 0u, r, h, n);
    var cv = normed(row, ${s.OC}u, 1u, r, h, n);
    ${
      rot
        ? `var i = -1;
    var partner = 0u;
    var first = true;
    ${pairOf}
    if (i >= 0) {
      let th = theta[(pos * H + h) * A + u32(i)];
      let cs = cos(th);
      let sn = sin(th);
      let bp = normed(row, ${s.OB}u, 0u, r, h, partner);
      let cp = normed(row, ${s.OC}u, 1u, r, h, partner);
      if (first) { bv = bv * cs - bp * sn; cv = cv * cs - cp * sn; } else { bv = bp * sn + bv * cs; cv = cp * sn + cv * cs; }
    }`
        : ''
    }
    Bt[pos * R * H * N + e] = bv;
    Ct[pos * R * H * N + e] = cv;
  }
  for (var e = tid; e < R * H * P; e += 256u) {
    let hp = e % (H * P);
    let r = e / (H * P);
    let xv = zx[row + ${s.OX}u + hp];
    xt[pos * R * H * P + e] = xv${d.isMimo ? ` * prm[${o.mimoX}u + ((hp / P) * R + r) * P + hp % P]` : ''};
  }
}`;
}

/**
 * Chunked mixer, last dispatch: per (position, head), a workgroup of 64 over P:
 * y_r + D·x̃_r, silu(z̃_r) gating or the gated RMSNorm over P, the MIMO sum over r -> out [b, L, H·P].
 */
export function mixerPostWgsl(d: MixerDims, o: ParamLayout, w: WgslLib): string {
  const { COMMON, f32Lit: f32 } = w;
  const { H, P, R } = d;
  const s = sections(d);
  const mimo = (base: number) => `prm[${base}u + (h * R + r) * P + p]`;
  return /* wgsl */ `${COMMON}
const H = ${H}u; const P = ${P}u; const R = ${R}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read> xt: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${SEQ_DIMS(5)}
var<workgroup> yd: array<f32, ${R * P}>;
var<workgroup> rr: array<f32, ${R}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let ph = wid.y * nwg.x + wid.x;
  if (ph >= seq.b * seq.L * H) { return; }
  let pos = ph / H;
  let h = ph % H;
  let Dh = prm[${o.D}u + h];
  for (var e = tid; e < R * P; e += 64u) {
    let r = e / P;
    let at = ((pos * R + r) * H + h) * P + e % P;
    yd[e] = ys[at] + Dh * xt[at];
  }
  workgroupBarrier();
  ${rankRmsWgsl(d.outNorm, 'yd', P, f32(d.eps))}
  let row = pos * ${s.DIN}u;
  for (var p = tid; p < P; p += 64u) {
    let zv = zx[row + h * P + p];
    var acc = 0.0;
    for (var r = 0u; r < R; r++) {
      let zt = zv${d.isMimo ? ` * ${mimo(o.mimoZ)}` : ''};
      let gv = yd[r * P + p]${d.outNorm ? ` * rr[r]${o.normWeight >= 0 ? ` * prm[${o.normWeight}u + h * P + p]` : ''}` : ''} * zt * sigmoid_(zt);
      acc += gv${d.isMimo ? ` * ${mimo(o.mimoO)}` : ''};
    }
    out[pos * ${s.dInner}u + h * P + p] = acc;
  }
}`;
}
