/**
 * WGSL of the Mamba-3 mixer's prefill kernels (angle sums and scan, per-position prep and output)
 * and what they share with the decode step (mamba3-mixer-step.wgsl.ts): the dims, the packed
 * parameter layout, zxbcdt's sections.
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
import { LOAD_GROUP } from './mamba3-scan.wgsl.js';

/** What the templates need from the backend: its shared WGSL prelude and f32 literals (`WebGPUBackend.wgsl`). */
export interface WgslLib {
  readonly COMMON: string;
  f32Lit(v: number): string;
  /**
   * The head of `for (var v = from; v < bound; v += step) {` as a loop Tint proves finite, so that
   * Dawn's robustness transform adds no iteration counter to it (backend-webgpu's codegen.ts);
   * `trips`, the most passes it may take, bounds a loop to a run-time `bound`.
   */
  loopHead(v: string, from: string, bound: number | string, step: number | string, trips?: number): string;
  /** `fn name(i: u32) -> f32`: element i of a 16-bit storage's packed u32 array `array` (`kind` as GPUStorage.half.kind). */
  halfElementFn(kind: 'f16' | 'bf16', name: string, array: string): string;
}

/**
 * The gated output norm's per-rank statistics: rr[r] = 1/sqrt(mean(src[r, :]²) + eps) for the R
 * rows of P values in `src` (workgroup memory); nothing without the out-proj norm. `eps` is a WGSL literal.
 */
export function rankRmsWgsl(outNorm: boolean, src: string, P: number, eps: string): string {
  if (!outNorm) return '';
  return `if (tid < R) {
    var ss = 0.0;
    for (var p = 0u; p < P; p++) { let v = ${src}[tid * P + p]; ss += v * v; }
    rr[tid] = 1.0 / sqrt(ss / ${P}.0 + ${eps});
  }
  workgroupBarrier();`;
}

/** Batch and sequence length from a uniform: prefill lengths vary, pipelines should not. */
const SEQ_DIMS = (binding: number) => `struct Seq { b: u32, L: u32, pad0: u32, pad1: u32 }
@group(0) @binding(${binding}) var<uniform> seq: Seq;`;

/** Offsets of the in_proj output's sections, from the one layout definition (ops/mamba3/layout.ts). */
/** Offsets of zxbcdt's sections (one definition: ops/mamba3/layout.ts). */
export function mixerSections(d: MixerDims) {
  const l = inProjLayout({ nheads: d.H, headdim: d.P, dState: d.N, ngroups: d.G, mimoRank: d.R, numRopeAngles: d.A });
  const o = l.offsets;
  return { dInner: l.sizes.z, OZ: o.z, OX: o.x, OB: o.B, OC: o.C, ODT: o.ddDt, ODA: o.ddA, OTRAP: o.trap, OANG: o.angles, DIN: l.dInProj };
}

/** Positions per workgroup of the angle running sum. */
export const ANGLE_CHUNK = 64;

/**
 * `acc += term(t)` for t from 0 while t < `bound`, in order (the same sums as a plain loop), with
 * each group of LOAD_GROUP terms' loads issued together: the angle kernels are such chains (64
 * positions, or up to a sequence's chunks, a thread). `load(t)` is the term's memory read,
 * `use(v, t)` the term from it, `after(t)` runs after each add.
 */
function groupedSum(t: string, bound: string, load: (t: string) => string, use: (v: string, t: string) => string, after: (t: string) => string = () => ''): string {
  const ks = Array.from({ length: LOAD_GROUP }, (_, k) => k);
  return `var ${t} = 0u;
    for (var ${t}g = 0u; ${t}g < ${Math.floor(0xffffffff / LOAD_GROUP)}u; ${t}g++) {
      if (${t} + ${LOAD_GROUP}u > ${bound}) { break; } // (a loop Tint proves finite: WgslLib.loopHead)
      ${ks.map((k) => `let ${t}v${k} = ${load(`${t} + ${k}u`)};`).join('\n      ')}
      ${ks.map((k) => `acc += ${use(`${t}v${k}`, `${t} + ${k}u`)};${after(`${t} + ${k}u`)}`).join('\n      ')}
      ${t} += ${LOAD_GROUP}u;
    }
    for (var ${t}r = 0u; ${t}r < ${LOAD_GROUP}u; ${t}r++) {
      if (${t} >= ${bound}) { break; }
      acc += ${use(load(t), t)};${after(t)}
      ${t}++;
    }`;
}

const ANGLE_STEP = (s: ReturnType<typeof mixerSections>, o: ParamLayout, f32: (v: number) => string) => `
fn dtAt(row: u32, h: u32) -> f32 { return softplus_(zx[row + ${s.ODT}u + h] + prm[${o.dtBias}u + h]); }
fn stepOf(angle: f32, dt: f32) -> f32 { return tanh_(angle) * dt * ${f32(Math.PI)}; }`;

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
  const { COMMON, f32Lit: f32, loopHead } = w;
  const { H, A } = d;
  const s = mixerSections(d);
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
  ${loopHead('i', 'tid', A, ANGLE_CHUNK)}
    var acc = 0.0;
    ${groupedSum('t', 'n', (t) => `zx[(bi * L + t0 + ${t}) * ${s.DIN}u + ${s.OANG}u + i]`, (v, t) => `stepOf(${v}, dts[${t}])`)}
    sums[(wid.y * nwg.x + c) * ${A}u + i] = acc;
  }
}`;
}

export function mixerAngleScanWgsl(d: MixerDims, o: ParamLayout, hasState: boolean, w: WgslLib): string {
  const { COMMON, f32Lit: f32, loopHead } = w;
  const { H, A } = d;
  const s = mixerSections(d);
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
  ${loopHead('i', 'tid', A, ANGLE_CHUNK)}
    var acc = 0.0;
    ${groupedSum('k', 'c', (k) => `sums[(bh * nwg.x + ${k}) * ${A}u + i]`, (v) => v)}
    let a0 = ${hasState ? `angleIn[bh * ${A}u + i]` : '0.0'};
    ${groupedSum(
      't',
      'n',
      (t) => `zx[(bi * L + t0 + ${t}) * ${s.DIN}u + ${s.OANG}u + i]`,
      (v, t) => `stepOf(${v}, dts[${t}])`,
      (t) => ` theta[((bi * L + t0 + ${t}) * ${H}u + h) * ${A}u + i] = acc + a0;`,
    )}
    if (c == nwg.x - 1u) { angleOut[bh * ${A}u + i] = acc + a0; }
  }
}`;
}

/**
 * Chunked mixer, dispatch 3: everything per position before the scan. One workgroup of 256 per
 * position (b·L of them): DT, A·DT, λ -> dt, adt, trap [b, L, H]; B̃, C̃ (RMSNorm over N per
 * (r, g), weight, per-head bias, rotation by theta); kOut [b, R, H, N] = B̃ at each batch row's
 * last position (the cache's k). B̃ and C̃ [b, L, R, H, N] are stored only with `bc` = 'store'
 * (the scalar scan kernels, and shapes the vec4 ones cannot form them for); with 'rows' the prep
 * stores only rms [b·L, R·G, 2] (1/RMS of each B and C row) and the vec4 scan kernels form B̃, C̃
 * themselves with this kernel's f32 operations (BCRows in mamba3-scan-rows.wgsl.ts). With `xt`,
 * x̃ = x ⊙ mimo_x -> [b, L, R, H, P] (only the scalar scan kernels need it: the vec4 ones form x̃
 * from zxbcdt themselves).
 */
export function mixerPrepWgsl(d: MixerDims, o: ParamLayout, xt: boolean, bc: 'store' | 'rows', w: WgslLib): string {
  const { COMMON, f32Lit: f32, loopHead } = w;
  const { H, P, N, G, R, A } = d;
  const s = mixerSections(d);
  const rot = d.complex && A > 0;
  const store = bc === 'store';
  const RG2 = 2 * R * G;
  // Invocations per B/C row in the RMS sums: a power of two, at most 16, all rows in one workgroup of 256.
  const tpr = Math.max(1, Math.min(16, 2 ** Math.floor(Math.log2(Math.max(1, Math.floor(256 / RG2))))));
  const outs = [...(store ? ['Bt', 'Ct'] : ['rms']), ...(xt ? ['xt'] : []), 'adtOut', 'dtOut', 'trapOut', 'kOut'];
  // Which θ index and partner rotate element n (-1: not rotated), and whether n is the pair's first.
  const pairOf = d.isMimo
    ? `if (n < A) { i = i32(n); partner = n + ${N / 2}u; first = true; } else if (n >= ${N / 2}u && n < ${N / 2}u + A) { i = i32(n - ${N / 2}u); partner = n - ${N / 2}u; first = false; }`
    : `if (n < 2u * A) { i = i32(n / 2u); partner = n ^ 1u; first = (n & 1u) == 0u; }`;
  // The C side of the B̃/C̃ loop, only where C̃ is stored.
  const ifC = (code: string) => (store ? code : '');
  return /* wgsl */ `${COMMON}
const H = ${H}u; const P = ${P}u; const N = ${N}u; const G = ${G}u; const R = ${R}u; const A = ${A}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
${outs.map((n, i) => `@group(0) @binding(${2 + i}) var<storage, read_write> ${n}: array<f32>;`).join('\n')}
${rot ? `@group(0) @binding(${2 + outs.length}) var<storage, read> theta: array<f32>;` : ''}
${SEQ_DIMS(2 + outs.length + (rot ? 1 : 0))}
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
  ${loopHead('h', 'tid', H, 256)}
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
    ${loopHead('n', `tid % ${tpr}u`, N, tpr)} let v = zx[row + base + n]; ss += v * v; }
    part[tid] = ss;
  }
  workgroupBarrier();
  if (tid < ${RG2}u) {
    var ss = 0.0;
    for (var j = 0u; j < ${tpr}u; j++) { ss += part[tid * ${tpr}u + j]; }
    rr[tid] = 1.0 / sqrt(ss / ${N}.0 + ${f32(d.eps)});
    ${store ? '' : `rms[pos * ${RG2}u + tid] = rr[tid];`}
  }
  workgroupBarrier();
  ${
    xt
      ? `${loopHead('e', 'tid', R * H * P, 256)}
    let hp = e % (H * P);
    let r = e / (H * P);
    xt[pos * R * H * P + e] = ${xTilde(d, o, s, 'row', 'r', 'hp / P', 'hp % P')};
  }`
      : ''
  }
  let last = pos % seq.L == seq.L - 1u;
  ${store ? '' : 'if (!last) { return; }'}
  ${loopHead('e', 'tid', R * H * N, 256)}
    let n = e % N;
    let h = (e / N) % H;
    let r = e / (H * N);
    var bv = normed(row, ${s.OB}u, 0u, r, h, n);
    ${ifC(`var cv = normed(row, ${s.OC}u, 1u, r, h, n);`)}
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
      ${ifC(`let cp = normed(row, ${s.OC}u, 1u, r, h, partner);`)}
      if (first) { bv = bv * cs - bp * sn; ${ifC('cv = cv * cs - cp * sn;')} } else { bv = bp * sn + bv * cs; ${ifC('cv = cp * sn + cv * cs;')} }
    }`
        : ''
    }
    ${ifC('Bt[pos * R * H * N + e] = bv; Ct[pos * R * H * N + e] = cv;')}
    if (last) { kOut[(pos / seq.L) * R * H * N + e] = bv; }
  }
}`;
}

/** x̃_r[h, p] = x[h, p] ⊙ mimo_x[h, r, p] of the zxbcdt row at `row` (x itself for SISO), as WGSL. */
function xTilde(d: MixerDims, o: ParamLayout, s: ReturnType<typeof mixerSections>, row: string, r: string, h: string, p: string): string {
  const x = `zx[${row} + ${s.OX}u + (${h}) * ${d.P}u + ${p}]`;
  // Parenthesised: in D·x̃ the product x·mimo_x is rounded first, as when x̃ was a stored tensor.
  return d.isMimo ? `(${x} * prm[${o.mimoX}u + ((${h}) * ${d.R}u + ${r}) * ${d.P}u + ${p}])` : x;
}

/**
 * Chunked mixer, last dispatch: per (position, head), a workgroup of 64 over P:
 * y_r + D·x̃_r (x̃ formed from zxbcdt here too), silu(z̃_r) gating or the gated RMSNorm over P,
 * the MIMO sum over r -> out [b, L, H·P].
 */
export function mixerPostWgsl(d: MixerDims, o: ParamLayout, w: WgslLib): string {
  const { COMMON, f32Lit: f32, loopHead } = w;
  const { H, P, R } = d;
  const s = mixerSections(d);
  const mimo = (base: number) => `prm[${base}u + (h * R + r) * P + p]`;
  return /* wgsl */ `${COMMON}
const H = ${H}u; const P = ${P}u; const R = ${R}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> ys: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
${SEQ_DIMS(4)}
var<workgroup> yd: array<f32, ${R * P}>;
var<workgroup> rr: array<f32, ${R}>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let ph = wid.y * nwg.x + wid.x;
  if (ph >= seq.b * seq.L * H) { return; }
  let pos = ph / H;
  let h = ph % H;
  let Dh = prm[${o.D}u + h];
  let row = pos * ${s.DIN}u;
  ${loopHead('e', 'tid', R * P, 64)}
    let r = e / P;
    let p = e % P;
    yd[e] = ys[((pos * R + r) * H + h) * P + p] + Dh * ${xTilde(d, o, s, 'row', 'r', 'h', 'p')};
  }
  workgroupBarrier();
  ${rankRmsWgsl(d.outNorm, 'yd', P, f32(d.eps))}
  ${loopHead('p', 'tid', P, 64)}
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
