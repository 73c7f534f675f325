/*
 * WGSL of the fused Mamba-1 decode steps (family-mixer-steps.ts runs them; Mamba-2's is
 * mamba2-step.wgsl.ts). The step-scan kernel lays a workgroup out as `lanes` invocations over the
 * state dimension n × 256 / lanes channels; lanes = the power of two ≥ d_state, at most 32, so
 * every lane holds state for d_state ≥ 16.
 */
import type { WgslLib } from './mamba3-mixer.wgsl.js';

const SOFTPLUS = /* wgsl */ `
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }`;

/** Lanes over n for a state of N elements. */
export function stateLanes(N: number): number {
  let lanes = 1;
  while (lanes < N && lanes < 32) lanes *= 2;
  return lanes;
}

/** The arrays (bindings) a conv step reads and writes. */
export interface ConvStepArrays {
  state: string;
  weight: string;
  bias: string | null;
  stateOut: string;
}

/**
 * `fn name(row: u32, ch: u32, v: f32, write: bool) -> f32`: the decode conv step of channel ch of
 * batch row `row` (C channels, K taps), before SiLU: its window (the state's last K − 1 columns,
 * then the new input v) against the weights, plus the bias; with `write`, also the channel's rolled
 * state. Mamba-1's (`m1ConvEpilogueWgsl`) and Mamba-2's (mamba2-step.wgsl.ts) conv steps.
 */
export function convStepFn(name: string, C: number, K: number, a: ConvStepArrays): string {
  return /* wgsl */ `fn ${name}(row: u32, ch: u32, v: f32, write: bool) -> f32 {
  let at = (row * ${C}u + ch) * ${K}u;
  var acc = ${a.bias ? `${a.bias}[ch]` : '0.0'};
  for (var k = 0u; k < ${K}u; k++) {
    var win = v;
    if (k + 1u < ${K}u) { win = ${a.state}[at + k + 1u]; }
    if (write) { ${a.stateOut}[at + k] = win; }
    acc += win * ${a.weight}[ch * ${K}u + k];
  }
  return acc;
}`;
}

/**
 * The conv step of in_proj's output n < E (the x half) of batch row `row`, v: the window (the
 * state's last K − 1 columns, then v), its rolled state, and silu of the conv into x. The decode
 * GEMV's epilogue (`GemvEpilogue` of @mamba3/backend-webgpu) and the body of `m1ConvStepWgsl`.
 * Sizes baked in (a loop to a run-time K carries the robustness transform's counter); without a
 * conv bias there is no bias binding. Bindings from `first`: conv [b, E, K], w [E, K], (bias
 * [E]), x [b, E], convOut [b, E, K].
 */
export function m1ConvEpilogueWgsl(E: number, K: number, hasBias: boolean, first: number): string {
  const decls = ['read> convIn: array<f32>', 'read> convW: array<f32>', ...(hasBias ? ['read> convB: array<f32>'] : []), 'read_write> xOut: array<f32>', 'read_write> convOut: array<f32>'];
  return /* wgsl */ `${decls.map((decl, i) => `@group(0) @binding(${first + i}) var<storage, ${decl};`).join('\n')}
${convStepFn('convStep', E, K, { state: 'convIn', weight: 'convW', bias: hasBias ? 'convB' : null, stateOut: 'convOut' })}
fn gemvEpilogue(row: u32, n: u32, v: f32) {
  if (n >= ${E}u) { return; }
  let acc = convStep(row, n, v, true);
  xOut[row * ${E}u + n] = acc / (1.0 + exp(-acc));
}`;
}

/** The conv step alone: xz [b, 2E] and the bindings of `m1ConvEpilogueWgsl` from 1 on. */
export function m1ConvStepWgsl(E: number, K: number, hasBias: boolean): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> xz: array<f32>;
${m1ConvEpilogueWgsl(E, K, hasBias, 1)}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  if (gid.x >= ${E}u) { return; }
  gemvEpilogue(wid.y, gid.x, xz[wid.y * ${2 * E}u + gid.x]);
}`;
}

/** The step-scan kernel's inputs stored as 16-bit pairs (GPUStorage.half.kind), read packed. */
export interface Mamba1StepHalves {
  dtWeight?: HalfKind;
  ALog?: HalfKind;
}

type HalfKind = 'f16' | 'bf16';

/** What the Mamba-1 step-scan kernel bakes in: d_inner, d_state, dt_rank. */
export interface Mamba1StepDims {
  E: number;
  N: number;
  R: number;
}

/**
 * The sum over a state row's `lanes` consecutive invocations of `v`, into `out` for every lane of
 * the row: within subgroups where the runtime has them (shuffles across min(lanes, sg) lanes),
 * then the groups' partials through workgroup memory (`red`, 256 floats). Two barriers: call in
 * uniform control flow.
 */
function laneTotal(v: string, out: string, lanes: number, subgroups: boolean, loopHead: WgslLib['loopHead']): string {
  const step = subgroups ? `min(${lanes}u, sg)` : '1u';
  return `${
    subgroups
      ? `for (var q = 0u; q < ${Math.log2(lanes)}u; q++) {
    let m = ${lanes / 2}u >> q;
    if (m < ${step}) { ${v} += subgroupShuffleXor(${v}, m); }
  }
  if (lane % ${step} == 0u) { red[tid] = ${v}; }`
      : `red[tid] = ${v};`
  }
  workgroupBarrier();
  var ${out} = 0.0;
  ${loopHead('l', '0u', lanes, step)}
    ${out} += red[tid - lane + l];
  }
  workgroupBarrier();`;
}

/**
 * xz [b, 2E]; x [b, E]; dbc [b, R + 2N]; dtW [E, R]; dtBias, D [E]; ALog [E, N]; h [b, E, N] -> y
 * [b, E], hOut. Workgroups of 256: `lanes` invocations per channel e (stateLanes(N)) × 256 / lanes
 * channels. Sizes are baked in, so every loop counts to a constant (Dawn's robustness transform
 * adds a 64-bit counter to others); every global read is issued first; dt_proj's R-long dot
 * product is split over the row's lanes, and both lane sums (Δ, y) run within subgroups where the
 * runtime has them. 16-bit dt_proj and A_log weights (`half`; A_log from 64K elements, as in
 * the 2.8B model) are read packed: the float32 copy the backend would unpack for the op costs a
 * dispatch a layer (H200, 130M with bf16 weights: 0.519 GPU ms a step against f32's 0.511).
 */
export function m1StepScanWgsl(d: Mamba1StepDims, lanes: number, subgroups: boolean, w: WgslLib, half: Mamba1StepHalves = {}): string {
  const packed = (name: string, kind: HalfKind | undefined, fn: string) => ({
    type: kind ? 'u32' : 'f32',
    fn: kind ? w.halfElementFn(kind, fn, name) : `fn ${fn}(i: u32) -> f32 { return ${name}[i]; }`,
  });
  const dtW = packed('dtW', half.dtWeight, 'dtWAt');
  const aLog = packed('ALog', half.ALog, 'aLogAt');
  const { E, N, R } = d;
  const ROWS = 256 / lanes;
  const NS = Math.ceil(N / lanes);
  const RS = Math.ceil(R / lanes);
  const DBC = R + 2 * N;
  return /* wgsl */ `${subgroups ? 'enable subgroups;' : ''}
@group(0) @binding(0) var<storage, read> xz: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dbc: array<f32>;
@group(0) @binding(3) var<storage, read> dtW: array<${dtW.type}>;
@group(0) @binding(4) var<storage, read> dtBias: array<f32>;
@group(0) @binding(5) var<storage, read> ALog: array<${aLog.type}>;
@group(0) @binding(6) var<storage, read> D: array<f32>;
@group(0) @binding(7) var<storage, read> h: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read_write> hOut: array<f32>;
var<workgroup> red: array<f32, 256>;
${SOFTPLUS}
${dtW.fn}
${aLog.fn}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32${subgroups ? ', @builtin(subgroup_size) sg: u32' : ''}) {
  let lane = tid % ${lanes}u;
  let e = wid.x * ${ROWS}u + tid / ${lanes}u;
  let bi = wid.y;
  let row = bi * ${DBC}u;
  let valid = e < ${E}u;
  var hv: array<f32, ${NS}>;
  var al: array<f32, ${NS}>;
  var bv: array<f32, ${NS}>;
  var cv: array<f32, ${NS}>;
  var dPart = 0.0;
  var uv = 0.0;
  var zv = 0.0;
  var dv = 0.0;
  var db = 0.0;
  if (valid) {
    for (var k = 0u; k < ${NS}u; k++) {
      let n = lane + k * ${lanes}u;
      if (n < ${N}u) {
        hv[k] = h[(bi * ${E}u + e) * ${N}u + n];
        al[k] = aLogAt(e * ${N}u + n);
        bv[k] = dbc[row + ${R}u + n];
        cv[k] = dbc[row + ${R + N}u + n];
      }
    }
    for (var k = 0u; k < ${RS}u; k++) {
      let r = lane + k * ${lanes}u;
      if (r < ${R}u) { dPart += dbc[row + r] * dtWAt(e * ${R}u + r); }
    }
    uv = x[bi * ${E}u + e];
    zv = xz[bi * ${2 * E}u + ${E}u + e];
    dv = D[e];
    db = dtBias[e];
  }
  ${laneTotal('dPart', 'dSum', lanes, subgroups, w.loopHead)}
  let dt = softplus(dSum + db);
  var acc = 0.0;
  if (valid) {
    for (var k = 0u; k < ${NS}u; k++) {
      let n = lane + k * ${lanes}u;
      if (n < ${N}u) {
        let s = exp(dt * -exp(al[k])) * hv[k] + dt * uv * bv[k];
        hOut[(bi * ${E}u + e) * ${N}u + n] = s;
        acc += s * cv[k];
      }
    }
  }
  ${laneTotal('acc', 'total', lanes, subgroups, w.loopHead)}
  if (lane == 0u && valid) {
    y[bi * ${E}u + e] = (total + dv * uv) * silu(zv);
  }
}`;
}
