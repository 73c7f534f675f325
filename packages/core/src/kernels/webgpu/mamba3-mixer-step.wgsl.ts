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
 * Workgroups of 256 per (head, batch row, slice of PS rows of P):
 *  0. Every global read the invocation will need is issued first, into registers (its share of
 *     the state, B/C rows and their parameters, x, v, angles, z): a decode step is a chain of
 *     short phases, and one round trip to memory instead of one per phase is most of its time.
 *  A. DT, A·DT, λ; B and C rows: RMSNorm over N (group g = h / (H/G)), weight, per-head bias,
 *     then the data-dependent rotation by θ = θ_prev + tanh(angle_proj)·DT·π (SISO pairs
 *     (2i, 2i+1), MIMO (i, i+N/2)) -> Bt, Ct [R, N] and x̃, ṽ [R, PS] in workgroup memory.
 *  B. S' = α S + β Σ_r ṽ_r ⊗ k_r + γ Σ_r x̃_r ⊗ B̃_r, and y_r = S'·C̃_r: rows × lanes per it,
 *     each lane 4 neighbours of its row at a time (vec4 loads and stores of S when N % 4 == 0),
 *     lane partials to workgroup memory (no barrier inside the it).
 *  C. y_r + D·x̃_r, then silu(z̃_r) gating or the gated RMSNorm over P, and the MIMO sum over r.
 * Every loop counts 0..C by one (`loopHead` where it breaks early): Dawn's
 * robustness transform gives any other loop (`j += sg`, `e = tid; e < n; e += 256`) a 64-bit
 * iteration counter, checked each pass, that the phases above wait on (H200, batch 1: 4.86 → 4.42
 * µs a dispatch, 111.6 → 98.8 µs for 24 layers).
 */
import type { MixerDims, ParamLayout, WgslLib } from './mamba3-mixer.wgsl.js';
import { mixerSections, rankRmsWgsl } from './mamba3-mixer.wgsl.js';

const WG = 256;
const LANES = 8;
/** State elements an invocation may hold in registers; beyond it the update reads them in place. */
const MAX_PREFETCH = 32;
/**
 * Read and write the state as vec4s (see `mixerStepWgsl`). H200, kernel-time.mjs, µs a dispatch,
 * scalar against vec4: MIMO r4 at batch 8 15.6 against 11.6, at batch 32 46.6 against 37.8; SISO
 * at batch 8 8.7 against 8.0, batch 1 the same (4.86).
 */
const VEC4_STATE = true;

/** Lanes per state row in the step kernel: at least 8, more when a slice has few rows (a power of two). */
export function stepLanes(rows: number): number {
  let lanes = LANES;
  while (lanes * 2 * rows <= WG) lanes *= 2;
  return lanes;
}

/**
 * Most workgroups the step kernel takes 4 slices a head at (four per SM of a 132-SM GPU), and 2
 * slices at.
 */
const STEP_WORKGROUPS_4 = 528;
const STEP_WORKGROUPS_2 = 1536;

/**
 * How many slices of P the step kernel splits a head into, for `workgroups` = heads × batch rows
 * (rows of at least 16 per slice), and one slice with the gated output norm (it reduces over the
 * whole of P). Measured on an H200 (`kernel-time.mjs`, 24 heads of 64, the state as vec4s): batch
 * 1 takes 4.9 µs at 4 slices against 5.8 at one; batch 8 8.1 µs at 2 against 8.5 at 4 and 8.8 at
 * one (MIMO r4: 11.7, 15.9, 15.3); batch 32 18.7 µs at 2 against 19.6 at one and 20.1 at 4 (MIMO
 * r4: 34.9, 37.8, 52.0).
 */
export function stepSlices(P: number, outNorm: boolean, workgroups: number): number {
  if (outNorm) return 1;
  for (const [s, most] of [[4, STEP_WORKGROUPS_4], [2, STEP_WORKGROUPS_2]]) if (P % s === 0 && P / s >= 16 && workgroups * s <= most) return s;
  return 1;
}

/** Workgroup memory the step kernel needs at `slices` slices a head, in bytes. */
export function stepSharedBytes(d: MixerDims, slices: number): number {
  const { P, N, R } = d;
  const PS = P / slices;
  return 4 * (3 * R * N + 3 * R * PS + Math.max(2 * R * WG, R * PS * stepLanes(PS)) + 2 * R);
}

const per = (n: number) => Math.max(1, Math.ceil(n / WG));

/**
 * The step kernel at `slices` slices a head. `subgroups` (the runtime's `subgroupReduce`: subgroups
 * of 4-32 consecutive invocations) lets the kernel sum the B/C rows' squares and each state row's
 * lanes within subgroups: a barrier for each, where the workgroup tree takes nine and the lane
 * sum reads `lanes` partials. `tune` overrides the register prefetch
 * limit, the lanes per state row and the vec4 state, only to time variants
 * (tools/gpu/decode-variants.mjs); the dispatch uses the defaults, which `stepSharedBytes` sizes.
 */
export function mixerStepWgsl(d: MixerDims, o: ParamLayout, w: WgslLib, slices = 1, subgroups = false, tune: { maxPrefetch?: number; lanes?: number; vec4?: boolean } = {}): string {
  const { COMMON, f32Lit: f32, loopHead } = w;
  const { H, P, N, G, R, A } = d;
  const PS = P / slices;
  const lanes = tune.lanes ?? stepLanes(PS);
  if (!Number.isInteger(Math.log2(lanes))) throw new Error(`mixer step: ${lanes} lanes a state row; it must be a power of two`);
  const { dInner, OX, OB, OC, ODT, ODA, OTRAP, OANG, DIN } = mixerSections(d);
  const scratch = Math.max(2 * R * WG, R * PS * lanes);
  const rot = d.complex && A > 0;
  const pair = d.isMimo ? ['i', `i + ${N / 2}u`] : ['2u * i', '2u * i + 1u'];
  const mimo = (base: number, r: string, p: string) => `prm[${base}u + (h * R + ${r}) * P + ${p}]`;
  // Registers per invocation: EB elements of the R×N rows, EX of the R×PS rows, EA rotation
  // pairs, EZ output rows; the state update's passes (ROWS rows of PS at a time) × N/lanes.
  const EB = per(R * N), EX = per(R * PS), EA = per(R * A), EZ = per(PS);
  const ROWS = WG / lanes;
  const passCount = Math.ceil(PS / ROWS);
  // The state is read and written V elements at a time (vec4 when N allows): a lane's V
  // neighbours of a state row per load.
  const V = (tune.vec4 ?? VEC4_STATE) && N % 4 === 0 ? 4 : 1;
  const vt = V === 4 ? 'vec4<f32>' : 'f32';
  const NL = Math.ceil(N / V / lanes);
  const prefetch = passCount * NL * V <= (tune.maxPrefetch ?? MAX_PREFETCH);
  /** Shared row `arr` at element i (V of them from i on). */
  const sv = (arr: string, i: string) => (V === 4 ? `vec4<f32>(${arr}[${i}], ${arr}[${i} + 1u], ${arr}[${i} + 2u], ${arr}[${i} + 3u])` : `${arr}[${i}]`);
  // Phase C's ys: with one rank and no norm over P, invocation t writes and then reads ys[t] only.
  const ownRows = R === 1 && !d.outNorm && PS <= WG;
  const ssmAt = (it: string, k: string) => `(bh * P + p0s + ${it} * ${ROWS}u + tid / ${lanes}u) * ${N / V}u + tid % ${lanes}u + ${k} * ${lanes}u`;
  // Subgroup sums wherever the runtime has them (H200, kernel-time.mjs, µs against the workgroup
  // tree: SISO batch 1 4.44 / 4.81, MIMO r4 batch 1 6.18 / 7.00, batch 32 30.80 / 33.16; SISO at
  // batch 32 in two passes of rows 19.40 / 19.16). They lost to the tree for MIMO and two passes
  // while the loops over `sg` carried the robustness transform's iteration counters. Partial sums
  // per state row left after the lanes' subgroup sum: one per min(lanes, sg) lanes.
  const sg = subgroups;
  const laneStep = sg ? `min(${lanes}u, sg)` : '1u';
  return /* wgsl */ `${sg ? 'enable subgroups;' : ''}
const H = ${H}u; const P = ${P}u; const N = ${N}u; const R = ${R}u; const A = ${A}u;
const DIN = ${DIN}u; const DINNER = ${dInner}u;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> prm: array<f32>;
@group(0) @binding(2) var<storage, read> angleIn: array<f32>;
@group(0) @binding(3) var<storage, read> ssmIn: array<${vt}>;
@group(0) @binding(4) var<storage, read> kIn: array<f32>;
@group(0) @binding(5) var<storage, read> vIn: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> angleOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> ssmOut: array<${vt}>;
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
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32${sg ? ', @builtin(subgroup_size) sg: u32, @builtin(subgroup_invocation_id) sgi: u32' : ''}) {
  let h = wid.x;
  let bi = wid.y;
  let p0s = wid.z * ${PS}u;
  let lead = wid.z == 0u;
  let row = bi * DIN;
  let bh = bi * H + h;
  let g = h / ${H / G}u;

  // 0. Global reads, all issued before anything waits on one.
  let ddt = zx[row + ${ODT}u + h];
  let dtb = prm[${o.dtBias}u + h];
  let dda = zx[row + ${ODA}u + h];
  let trapIn = zx[row + ${OTRAP}u + h];
  let Dh = prm[${o.D}u + h];
  ${
    prefetch
      ? `var sIn: array<${vt}, ${passCount * NL}>;
  for (var it = 0u; it < ${passCount}u; it++) {
    for (var k = 0u; k < ${NL}u; k++) {
      if (it * ${ROWS}u + tid / ${lanes}u < ${PS}u && tid % ${lanes}u + k * ${lanes}u < ${N / V}u) { sIn[it * ${NL}u + k] = ssmIn[${ssmAt('it', 'k')}]; }
    }
  }`
      : ''
  }
  var bRaw: array<f32, ${EB}>;
  var cRaw: array<f32, ${EB}>;
  var bAff: array<vec2<f32>, ${EB}>;
  var cAff: array<vec2<f32>, ${EB}>;
  var kRaw: array<f32, ${EB}>;
  for (var k = 0u; k < ${EB}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * N) {
      let r = e / N;
      let n = e % N;
      let src = row + (r * ${G}u + g) * N + n;
      let bias = (h * R + r) * N + n;
      bRaw[k] = zx[src + ${OB}u];
      cRaw[k] = zx[src + ${OC}u];
      bAff[k] = vec2<f32>(prm[${o.BNormWeight}u + n], prm[${o.BBias}u + bias]);
      cAff[k] = vec2<f32>(prm[${o.CNormWeight}u + n], prm[${o.CBias}u + bias]);
      kRaw[k] = kIn[((bi * R + r) * H + h) * N + n];
    }
  }
  var xRaw: array<f32, ${EX}>;
  var vRaw: array<f32, ${EX}>;
  var mx: array<f32, ${EX}>;
  for (var k = 0u; k < ${EX}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * ${PS}u) {
      let r = e / ${PS}u;
      let p = p0s + e % ${PS}u;
      xRaw[k] = zx[row + ${OX}u + h * P + p];
      vRaw[k] = vIn[bh * P + p];
      mx[k] = ${d.isMimo ? mimo(o.mimoX, 'r', 'p') : '1.0'};
    }
  }
  ${
    rot
      ? `var thIn: array<vec2<f32>, ${EA}>;
  for (var k = 0u; k < ${EA}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * A) { thIn[k] = vec2<f32>(angleIn[bh * A + e % A], zx[row + ${OANG}u + e % A]); }
  }`
      : ''
  }
  var zIn: array<f32, ${EZ}>;
  for (var k = 0u; k < ${EZ}u; k++) {
    let pl = tid + k * ${WG}u;
    if (pl < ${PS}u) { zIn[k] = zx[row + h * P + p0s + pl]; }
  }

  let dt = softplus_(ddt + dtb);
  // heavyTail(x) = 1 + x (x >= 0), 1 / (1 - x) (x < 0)
  let adt = -max(max(dda, 0.0) + 1.0 / (1.0 - min(dda, 0.0)), ${f32(d.AFloor)}) * dt;
  let trap = sigmoid_(trapIn);

  // A. RMS of the raw B and C rows (2R sums over N).
  for (var r = 0u; r < R; r++) {
    var sb = 0.0;
    var sc = 0.0;
    for (var k = 0u; k < ${EB}u; k++) {
      let e = tid + k * ${WG}u;
      if (e < R * N && e / N == r) {
        sb += bRaw[k] * bRaw[k];
        sc += cRaw[k] * cRaw[k];
      }
    }
${
    sg
      ? `    let tb = subgroupAdd(sb);
    let tc = subgroupAdd(sc);
    if (sgi == 0u) {
      scratch[(2u * r) * ${WG}u + tid] = tb;
      scratch[(2u * r + 1u) * ${WG}u + tid] = tc;
    }
  }
  workgroupBarrier();
  if (tid < 2u * R) {
    var t = 0.0;
    ${loopHead('j', '0u', WG, 'sg')}
      t += scratch[tid * ${WG}u + j];
    }
    rr[tid] = 1.0 / sqrt(t / ${N}.0 + ${f32(d.eps)});
  }`
      : `    scratch[(2u * r) * ${WG}u + tid] = sb;
    scratch[(2u * r + 1u) * ${WG}u + tid] = sc;
  }
  workgroupBarrier();
  for (var level = 0u; level < ${Math.log2(WG)}u; level++) {
    let s = ${WG / 2}u >> level;
    if (tid < s) {
      for (var q = 0u; q < 2u * R; q++) { scratch[q * ${WG}u + tid] += scratch[q * ${WG}u + tid + s]; }
    }
    workgroupBarrier();
  }
  if (tid < 2u * R) { rr[tid] = 1.0 / sqrt(scratch[tid * ${WG}u] / ${N}.0 + ${f32(d.eps)}); }`
  }
  workgroupBarrier();
  for (var k = 0u; k < ${EB}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * N) {
      let r = e / N;
      Bt[e] = bRaw[k] * rr[2u * r] * bAff[k].x + bAff[k].y;
      Ct[e] = cRaw[k] * rr[2u * r + 1u] * cAff[k].x + cAff[k].y;
      Kp[e] = kRaw[k];
    }
  }
  for (var k = 0u; k < ${EX}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * ${PS}u) {
      xs[e] = xRaw[k] * mx[k];
      vs[e] = vRaw[k] * mx[k];
      if (e < ${PS}u) { vOut[bh * P + p0s + e] = xRaw[k]; }
    }
  }
  workgroupBarrier();
  ${
    rot
      ? `// Rotation: each (r, i) pair is owned by one invocation, so in place is safe.
  for (var k = 0u; k < ${EA}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * A) {
      let r = e / A;
      let i = e % A;
      let theta = thIn[k].x + tanh_(thIn[k].y) * dt * ${f32(Math.PI)};
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
  }
  workgroupBarrier();`
      : `if (lead) { for (var k = 0u; k < ${EA}u; k++) { let i = tid + k * ${WG}u; if (i < A) { angleOut[bh * A + i] = angleIn[bh * A + i]; } } }`
  }
  if (lead) {
    for (var k = 0u; k < ${EB}u; k++) {
      let e = tid + k * ${WG}u;
      if (e < R * N) { kOut[((bi * R + e / N) * H + h) * N + e % N] = Bt[e]; }
    }
  }

  // B. The state update and y_r = S'·C̃_r, lane partials per (r, p).
  let alpha = exp(adt);
  let beta = (1.0 - trap) * dt * alpha;
  let gamma = trap * dt;
  let lane = tid % ${lanes}u;
  for (var it = 0u; it < ${passCount}u; it++) {
    let pl = it * ${ROWS}u + tid / ${lanes}u;
    var acc = array<f32, ${R}>();
    if (pl < ${PS}u) {
      for (var k = 0u; k < ${NL}u; k++) {
        let nv = lane + k * ${lanes}u;
        if (nv < ${N / V}u) {
          let n = nv * ${V}u;
          let at = ${ssmAt('it', 'k')};
          var s = alpha * ${prefetch ? `sIn[it * ${NL}u + k]` : 'ssmIn[at]'};
          for (var r = 0u; r < R; r++) {
            s += beta * vs[r * ${PS}u + pl] * ${sv('Kp', 'r * N + n')} + gamma * xs[r * ${PS}u + pl] * ${sv('Bt', 'r * N + n')};
          }
          ssmOut[at] = s;
          for (var r = 0u; r < R; r++) { acc[r] += ${V === 4 ? `dot(s, ${sv('Ct', 'r * N + n')})` : 's * Ct[r * N + n]'}; }
        }
      }
    }
    ${
      sg
        ? `// A row's lanes are consecutive invocations: sum them within the subgroup first.
    for (var r = 0u; r < R; r++) {
      var v = acc[r];
      for (var q = 0u; q < ${Math.log2(lanes)}u; q++) {
        let m = ${lanes / 2}u >> q;
        if (m < ${laneStep}) { v += subgroupShuffleXor(v, m); }
      }
      if (pl < ${PS}u && lane % ${laneStep} == 0u) { scratch[(r * ${PS}u + pl) * ${lanes}u + lane] = v; }
    }`
        : `if (pl < ${PS}u) {
      for (var r = 0u; r < R; r++) { scratch[(r * ${PS}u + pl) * ${lanes}u + lane] = acc[r]; }
    }`
    }
  }
  workgroupBarrier();

  // C. D skip, gating / gated norm over P, MIMO mix.
  for (var k = 0u; k < ${EX}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < R * ${PS}u) {
      var s = 0.0;
      ${loopHead('l', '0u', lanes, laneStep)}
        s += scratch[e * ${lanes}u + l];
      }
      ys[e] = s + Dh * xs[e];
    }
  }
  ${ownRows ? '// Each invocation reads back only the ys it wrote.' : 'workgroupBarrier();'}
  ${rankRmsWgsl(d.outNorm, 'ys', PS, f32(d.eps))}
  for (var k = 0u; k < ${EZ}u; k++) {
    let pl = tid + k * ${WG}u;
    if (pl < ${PS}u) {
      let p = p0s + pl;
      let zv = zIn[k];
      var out = 0.0;
      for (var r = 0u; r < R; r++) {
        let zt = zv${d.isMimo ? ` * ${mimo(o.mimoZ, 'r', 'p')}` : ''};
        let gate = zt * sigmoid_(zt);
        let gv = ys[r * ${PS}u + pl]${d.outNorm ? ` * rr[r]${o.normWeight >= 0 ? ` * prm[${o.normWeight}u + h * P + p]` : ''}` : ''} * gate;
        out += gv${d.isMimo ? ` * ${mimo(o.mimoO, 'r', 'p')}` : ''};
      }
      y[bi * DINNER + h * P + p] = out;
    }
  }
}`;
}
