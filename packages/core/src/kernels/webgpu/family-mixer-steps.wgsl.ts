/*
 * WGSL of the fused Mamba-1 and Mamba-2 decode steps (family-mixer-steps.ts runs them). The
 * scan kernels lay a workgroup out as NL lanes over the state dimension n (y sums over them by a
 * tree reduction) × 256 / NL rows of channels; NL = the power of two ≥ d_state, at most 32, so
 * every lane holds state for d_state ≥ 16.
 */

const SOFTPLUS = /* wgsl */ `
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }
fn silu(v: f32) -> f32 { return v / (1.0 + exp(-v)); }`;

/** Lanes over n for a state of N elements. */
export function stateLanes(N: number): number {
  let lanes = 1;
  while (lanes < N && lanes < 32) lanes *= 2;
  return lanes;
}

const reduce = (lanes: number): string => /* wgsl */ `
  let slot = lid.y * ${lanes}u + lid.x;
  red[slot] = acc;
  workgroupBarrier();
  for (var s = ${lanes / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[slot] += red[slot + s]; }
    workgroupBarrier();
  }`;

// xz [b, 2E]; conv [b, E, K]; w [E, K]; bias [E] -> x [b, E] (silu of the conv), convOut [b, E, K].
export const m1ConvStepWgsl = (): string => /* wgsl */ `
struct Dims { E: u32, K: u32, hasBias: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> xz: array<f32>;
@group(0) @binding(1) var<storage, read> conv: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> x: array<f32>;
@group(0) @binding(5) var<storage, read_write> convOut: array<f32>;
@group(0) @binding(6) var<uniform> dims: Dims;
${SOFTPLUS}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let E = dims.E;
  let K = dims.K;
  let e = gid.x;
  if (e >= E) { return; }
  let bi = wid.y;
  let at = (bi * E + e) * K;
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    var v = xz[bi * 2u * E + e];
    if (k + 1u < K) { v = conv[at + k + 1u]; }
    convOut[at + k] = v;
    acc += v * w[e * K + k];
  }
  if (dims.hasBias == 1u) { acc += bias[e]; }
  x[bi * E + e] = silu(acc);
}`;

// xz [b, 2E]; x [b, E]; dbc [b, R + 2N]; dtW [E, R]; dtBias, D [E]; ALog [E, N]; h [b, E, N] -> y [b, E], hOut.
export const m1StepScanWgsl = (lanes: number): string => /* wgsl */ `
struct Dims { E: u32, N: u32, R: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> xz: array<f32>;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dbc: array<f32>;
@group(0) @binding(3) var<storage, read> dtW: array<f32>;
@group(0) @binding(4) var<storage, read> dtBias: array<f32>;
@group(0) @binding(5) var<storage, read> ALog: array<f32>;
@group(0) @binding(6) var<storage, read> D: array<f32>;
@group(0) @binding(7) var<storage, read> h: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
var<workgroup> red: array<f32, 256>;
${SOFTPLUS}
@compute @workgroup_size(${lanes}, ${256 / lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let E = dims.E;
  let N = dims.N;
  let R = dims.R;
  let e = wid.x * ${256 / lanes}u + lid.y;
  let bi = wid.y;
  let row = bi * (R + 2u * N);
  var acc = 0.0;
  var uv = 0.0;
  if (e < E) {
    // dt_proj: every lane of the row takes the whole (short) dot product.
    var d = 0.0;
    for (var r = 0u; r < R; r++) { d += dbc[row + r] * dtW[e * R + r]; }
    let dt = softplus(d + dtBias[e]);
    uv = x[bi * E + e];
    for (var n = lid.x; n < N; n += ${lanes}u) {
      let at = (bi * E + e) * N + n;
      let s = exp(dt * -exp(ALog[e * N + n])) * h[at] + dt * uv * dbc[row + R + n];
      hOut[at] = s;
      acc += s * dbc[row + R + N + n];
    }
  }
  ${reduce(lanes)}
  if (lid.x == 0u && e < E) {
    y[bi * E + e] = (red[slot] + D[e] * uv) * silu(xz[bi * 2u * E + E + e]);
  }
}`;

// zx [b, dIn] (z0, x0, z, xBC, dt); conv [b, convDim, K]; w [convDim, K]; bias [convDim];
// dtBias, ALog [H]; D [H] or [H·P]; h [b, H, P, N] -> y [b, H·P], convOut, hOut.
export const m2StepCoreWgsl = (lanes: number, N: number): string => /* wgsl */ `
struct Dims { H: u32, P: u32, N: u32, G: u32, K: u32, dMlp: u32, lo: u32, hi: u32, dPerChannel: u32, gate: u32, hasBias: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read> conv: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> dtBias: array<f32>;
@group(0) @binding(5) var<storage, read> ALog: array<f32>;
@group(0) @binding(6) var<storage, read> D: array<f32>;
@group(0) @binding(7) var<storage, read> h: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read_write> convOut: array<f32>;
@group(0) @binding(10) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(11) var<uniform> dims: Dims;
var<workgroup> red: array<f32, 256>;
// B then C of this head's group, after the conv and SiLU.
var<workgroup> bc: array<f32, ${2 * N}>;
${SOFTPLUS}
/** The conv output (before SiLU) of xBC channel ch; with write, also its rolled state. */
fn convAt(bi: u32, ch: u32, write: bool) -> f32 {
  let dSsm = dims.H * dims.P;
  let convDim = dSsm + 2u * dims.G * dims.N;
  let dIn = 2u * dims.dMlp + dSsm + convDim + dims.H;
  let K = dims.K;
  let at = (bi * convDim + ch) * K;
  var acc = 0.0;
  for (var k = 0u; k < K; k++) {
    var v = zx[bi * dIn + 2u * dims.dMlp + dSsm + ch];
    if (k + 1u < K) { v = conv[at + k + 1u]; }
    if (write) { convOut[at + k] = v; }
    acc += v * w[ch * K + k];
  }
  if (dims.hasBias == 1u) { acc += bias[ch]; }
  return acc;
}
@compute @workgroup_size(${lanes}, ${256 / lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let dSsm = H * P;
  let GN = dims.G * N;
  let dIn = 2u * dims.dMlp + dSsm + dSsm + 2u * GN + H;
  let hh = wid.y;
  let bi = wid.z;
  let heads = H / dims.G;
  let g = hh / heads;
  // The group's first head, first row block, also writes the conv state of its B and C channels.
  let writeBC = wid.x == 0u && hh % heads == 0u;
  for (var i = lid.y * ${lanes}u + lid.x; i < 2u * N; i += 256u) {
    let ch = dSsm + select(GN + g * N + i - N, g * N + i, i < N);
    bc[i] = silu(convAt(bi, ch, writeBC));
  }
  workgroupBarrier();
  let p = wid.x * ${256 / lanes}u + lid.y;
  let dt = clamp(softplus(zx[bi * dIn + dIn - H + hh] + dtBias[hh]), bitcast<f32>(dims.lo), bitcast<f32>(dims.hi));
  let dA = exp(dt * -exp(ALog[hh]));
  var acc = 0.0;
  var xv = 0.0;
  if (p < P) {
    xv = silu(convAt(bi, hh * P + p, lid.x == 0u));
    for (var n = lid.x; n < N; n += ${lanes}u) {
      let at = ((bi * H + hh) * P + p) * N + n;
      let s = dA * h[at] + dt * xv * bc[n];
      hOut[at] = s;
      acc += s * bc[N + n];
    }
  }
  ${reduce(lanes)}
  if (lid.x == 0u && p < P) {
    var v = red[slot] + select(D[hh], D[hh * P + p], dims.dPerChannel == 1u) * xv;
    if (dims.gate == 1u) { v *= silu(zx[bi * dIn + 2u * dims.dMlp + hh * P + p]); }
    y[bi * dSsm + hh * P + p] = v;
  }
}`;
