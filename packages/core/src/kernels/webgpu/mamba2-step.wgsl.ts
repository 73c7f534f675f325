/**
 * The Mamba-2 decode step between in_proj and the norm/out_proj in ONE dispatch
 * (`mamba2StepCore`): the conv step over xBC and SiLU, Δ = clamp(softplus(dt + dt_bias)), the SSD
 * step h' = exp(Δ·A)·h + Δ·x ⊗ B, y = h'·C + D·x, and (gate) y·silu(z).
 *
 * Shapes: b batch, H nheads, P headdim, N dState, G ngroups, K d_conv.
 *   zx (in_proj output) [b, dIn]: z0, x0 (dMlp each), z [H·P], xBC [H·P + 2·G·N], dt [H]
 *   conv [b, convDim, K]; w [convDim, K]; bias [convDim]; dtBias, ALog [H]; D [H] or [H·P]
 *   h [b, H, P, N] -> y [b, H·P], convOut [b, convDim, K], hOut [b, H, P, N]
 *
 * Laid out as Mamba-3's step kernel (mamba3-mixer-step.wgsl.ts), whose measurements chose it:
 * workgroups of 256 per (slice of PS rows of P, head, batch row); sizes baked into the shader so
 * every loop counts to a constant (Dawn's robustness transform gives other loops a 64-bit
 * iteration counter on the critical path); the invocation's share of the state read into
 * registers before anything waits, as vec4s when N % 4 == 0; `lanes` invocations per state row,
 * their partial sums of h'·C added within subgroups where the runtime has them.
 *  A. B and C of the head's group (2N channels) and the slice's PS x channels: conv, SiLU, to
 *     workgroup memory; the conv states of those channels written by one workgroup each.
 *  B. The state update and the lane partials of y.
 *  C. y = Σ lanes + D·x, gated.
 */
import type { WgslLib } from './mamba3-mixer.wgsl.js';
import { convStepFn } from './family-mixer-steps.wgsl.js';
import { stepLanes } from './mamba3-mixer-step.wgsl.js';

const WG = 256;
/** State elements an invocation may hold in registers; beyond it the update reads them in place. */
const MAX_PREFETCH = 32;

/** What the kernel bakes in (the pipeline key lists them all). */
export interface Mamba2StepDims {
  H: number;
  P: number;
  N: number;
  G: number;
  K: number;
  dMlp: number;
  dtLimit: readonly [number, number];
  dPerChannel: boolean;
  gate: boolean;
  hasBias: boolean;
}

export function mamba2StepKey(d: Mamba2StepDims, slices: number, subgroups: boolean): string {
  return `m2stepCore/${d.H}/${d.P}/${d.N}/${d.G}/${d.K}/${d.dMlp}/${d.dtLimit.join(',')}/${+d.dPerChannel}${+d.gate}${+d.hasBias}/${slices}${subgroups ? '/sg' : ''}`;
}

/** Workgroup memory the kernel needs at `slices` slices a head, in bytes. */
export function mamba2StepSharedBytes(d: Pick<Mamba2StepDims, 'P' | 'N'>, slices: number): number {
  const PS = d.P / slices;
  return 4 * (2 * d.N + PS + PS * stepLanes(PS));
}

export function mamba2StepWgsl(d: Mamba2StepDims, w: WgslLib, slices: number, subgroups: boolean): string {
  const { f32Lit: f32, loopHead } = w;
  const { H, P, N, G, K, dMlp } = d;
  const PS = P / slices;
  const lanes = stepLanes(PS);
  const dSsm = H * P;
  const convDim = dSsm + 2 * G * N;
  const dIn = 2 * dMlp + dSsm + convDim + H;
  const xbc = 2 * dMlp + dSsm;
  const ROWS = WG / lanes;
  const passCount = Math.ceil(PS / ROWS);
  const V = N % 4 === 0 ? 4 : 1;
  const vt = V === 4 ? 'vec4<f32>' : 'f32';
  const NL = Math.ceil(N / V / lanes);
  const prefetch = passCount * NL * V <= MAX_PREFETCH;
  const EB = Math.ceil((2 * N) / WG);
  const hi = Number.isFinite(d.dtLimit[1]) ? d.dtLimit[1] : 3.4e38;
  const sv = (i: string) => (V === 4 ? `vec4<f32>(bc[${i}], bc[${i} + 1u], bc[${i} + 2u], bc[${i} + 3u])` : `bc[${i}]`);
  const hAt = (it: string, k: string) => `((bi * ${H}u + hh) * ${P}u + p0s + ${it} * ${ROWS}u + tid / ${lanes}u) * ${N / V}u + lane + ${k} * ${lanes}u`;
  const laneStep = subgroups ? `min(${lanes}u, sg)` : '1u';
  // Bindings in mamba2StepCoreKernel's order; without a conv bias there is none (an unused binding
  // would not be in the pipeline's layout).
  const decls = [
    'read> zx: array<f32>',
    'read> conv: array<f32>',
    'read> w: array<f32>',
    ...(d.hasBias ? ['read> bias: array<f32>'] : []),
    'read> dtBias: array<f32>',
    'read> ALog: array<f32>',
    'read> D: array<f32>',
    `read> h: array<${vt}>`,
    'read_write> y: array<f32>',
    'read_write> convOut: array<f32>',
    `read_write> hOut: array<${vt}>`,
  ];
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
${decls.map((decl, i) => `@group(0) @binding(${i}) var<storage, ${decl};`).join('\n')}
// B then C of this head's group after the conv and SiLU; the slice's x; the lanes' partial sums.
var<workgroup> bc: array<f32, ${2 * N}>;
var<workgroup> xs: array<f32, ${PS}>;
var<workgroup> scratch: array<f32, ${PS * lanes}>;
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }
${convStepFn('convStep', convDim, K, { state: 'conv', weight: 'w', bias: d.hasBias ? 'bias' : null, stateOut: 'convOut' })}
/** The conv output (before SiLU) of xBC channel ch of batch row bi; with write, also its rolled state. */
fn convAt(bi: u32, ch: u32, write: bool) -> f32 {
  return convStep(bi, ch, zx[bi * ${dIn}u + ${xbc}u + ch], write);
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32${subgroups ? ', @builtin(subgroup_size) sg: u32' : ''}) {
  let hh = wid.y;
  let bi = wid.z;
  let p0s = wid.x * ${PS}u;
  let g = hh / ${H / G}u;
  let lane = tid % ${lanes}u;
  // 0. Global reads first: the state, Δ's inputs, the gate and D of this invocation's output row.
  ${
    prefetch
      ? `var sIn: array<${vt}, ${passCount * NL}>;
  for (var it = 0u; it < ${passCount}u; it++) {
    for (var k = 0u; k < ${NL}u; k++) {
      if (it * ${ROWS}u + tid / ${lanes}u < ${PS}u && lane + k * ${lanes}u < ${N / V}u) { sIn[it * ${NL}u + k] = h[${hAt('it', 'k')}]; }
    }
  }`
      : ''
  }
  let dtRaw = zx[bi * ${dIn}u + ${dIn - H}u + hh] + dtBias[hh];
  let A = -exp(ALog[hh]);
  var zv = 0.0;
  var dv = 0.0;
  if (tid < ${PS}u) {
    zv = zx[bi * ${dIn}u + ${2 * dMlp}u + hh * ${P}u + p0s + tid];
    dv = D[${d.dPerChannel ? `hh * ${P}u + p0s + tid` : 'hh'}];
  }
  // A. B, C and x after the conv. The group's first head's first slice writes B's and C's conv state.
  let writeBC = wid.x == 0u && hh % ${H / G}u == 0u;
  for (var k = 0u; k < ${EB}u; k++) {
    let e = tid + k * ${WG}u;
    if (e < ${2 * N}u) {
      let ch = ${dSsm}u + select(${G * N}u + g * ${N}u + e - ${N}u, g * ${N}u + e, e < ${N}u);
      bc[e] = silu(convAt(bi, ch, writeBC));
    }
  }
  if (tid < ${PS}u) { xs[tid] = silu(convAt(bi, hh * ${P}u + p0s + tid, true)); }
  workgroupBarrier();
  let dt = clamp(softplus(dtRaw), ${f32(d.dtLimit[0])}, ${f32(hi)});
  let dA = exp(dt * A);
  // B. h' = dA·h + Δ·x ⊗ B and its partial sums of h'·C, lanes × V elements of a row at a time.
  for (var it = 0u; it < ${passCount}u; it++) {
    let pl = it * ${ROWS}u + tid / ${lanes}u;
    var acc = 0.0;
    if (pl < ${PS}u) {
      let dx = dt * xs[pl];
      for (var k = 0u; k < ${NL}u; k++) {
        let nv = lane + k * ${lanes}u;
        if (nv < ${N / V}u) {
          let at = ${hAt('it', 'k')};
          let s = dA * ${prefetch ? `sIn[it * ${NL}u + k]` : 'h[at]'} + dx * ${sv(`nv * ${V}u`)};
          hOut[at] = s;
          acc += ${V === 4 ? `dot(s, ${sv(`${N}u + nv * 4u`)})` : `s * bc[${N}u + nv]`};
        }
      }
    }
    ${
      subgroups
        ? `// A row's lanes are consecutive invocations: sum them within the subgroup first.
    for (var q = 0u; q < ${Math.log2(lanes)}u; q++) {
      let m = ${lanes / 2}u >> q;
      if (m < ${laneStep}) { acc += subgroupShuffleXor(acc, m); }
    }
    if (pl < ${PS}u && lane % ${laneStep} == 0u) { scratch[pl * ${lanes}u + lane] = acc; }`
        : `if (pl < ${PS}u) { scratch[pl * ${lanes}u + lane] = acc; }`
    }
  }
  workgroupBarrier();
  // C. The lanes' sum, D skip, gate.
  if (tid < ${PS}u) {
    var s = 0.0;
    ${loopHead('l', '0u', lanes, laneStep)}
      s += scratch[tid * ${lanes}u + l];
    }
    var v = s + dv * xs[tid];
    ${d.gate ? 'v *= silu(zv);' : ''}
    y[bi * ${dSsm}u + hh * ${P}u + p0s + tid] = v;
  }
}`;
}
