import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { SelectiveScanInputs, SelectiveScanResult } from '../../mamba1/scan.js';
import type { SsdAttrs, SsdInputs, SsdResult } from '../../mamba2/ssd.js';
import { buf } from './mamba3-scan.js';

/*
 * Prefill scans of the Mamba-1 and Mamba-2 mixers in one dispatch each, in the recurrent form:
 * every (batch, channel or head row, state element) is a thread that walks the sequence, its
 * state in registers; y_t sums over the state by a workgroup tree reduction per position.
 * Parallel over b·E·N (Mamba-1) or b·H·P·N (Mamba-2), sequential in time. Workgroup 32 × 8: 32
 * lanes over n (up to MAX_PER_LANE elements each), 8 channel rows.
 */

/** State elements one lane holds; larger d_state declines (the composite runs). */
const MAX_PER_LANE = 8;
export const MAX_SCAN_STATE = 32 * MAX_PER_LANE;

function bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

const COMMON = /* wgsl */ `
const K = ${MAX_PER_LANE}u;
var<workgroup> red: array<f32, 256>;
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }`;

/** Sums acc over the 32 lanes of row lid.y; returns the sum (valid in lane 0). */
const REDUCE = /* wgsl */ `
    red[slot] = acc;
    workgroupBarrier();
    for (var s = 16u; s > 0u; s = s >> 1u) {
      if (lid.x < s) { red[slot] += red[slot + s]; }
      workgroupBarrier();
    }
    let total = red[slot];
    workgroupBarrier();`;

// u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; h0 [b, E, N] -> y [b, L, E], hOut [b, E, N].
const mamba1ScanWgsl = (): string => /* wgsl */ `
struct Dims { L: u32, E: u32, N: u32, hasH0: u32 }
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(8) var<storage, read> h0: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(11) var<uniform> dims: Dims;
${COMMON}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let L = dims.L;
  let E = dims.E;
  let N = dims.N;
  let e = wid.x * 8u + lid.y;
  let bi = wid.z;
  let live = e < E;
  let ec = min(e, E - 1u);
  let slot = lid.y * 32u + lid.x;
  var s: array<f32, ${MAX_PER_LANE}>;
  for (var k = 0u; k < K; k++) {
    let n = lid.x + 32u * k;
    s[k] = 0.0;
    if (dims.hasH0 == 1u && n < N) { s[k] = h0[(bi * E + ec) * N + n]; }
  }
  for (var t = 0u; t < L; t++) {
    let be = (bi * L + t) * E + ec;
    let dt = softplus(delta[be] + deltaBias[ec]);
    let uv = u[be];
    var acc = 0.0;
    for (var k = 0u; k < K; k++) {
      let n = lid.x + 32u * k;
      if (n < N) {
        let bn = (bi * L + t) * N + n;
        s[k] = exp(dt * A[ec * N + n]) * s[k] + dt * uv * B[bn];
        acc += s[k] * C[bn];
      }
    }
    ${REDUCE}
    if (lid.x == 0u && live) {
      let zv = z[be];
      y[be] = (total + D[ec] * uv) * (zv / (1.0 + exp(-zv)));
    }
  }
  if (live) {
    for (var k = 0u; k < K; k++) {
      let n = lid.x + 32u * k;
      if (n < N) { hOut[(bi * E + e) * N + n] = s[k]; }
    }
  }
}`;

// x [b, L, H, P]; dt [b, L, H]; A, dtBias [H]; B, C [b, L, G, N]; D [H] or [H·P]; h0 [b, H, P, N] -> y [b, L, H, P], hOut.
const mamba2ScanWgsl = (): string => /* wgsl */ `
struct Dims { L: u32, H: u32, P: u32, N: u32, G: u32, lo: u32, hi: u32, dPerChannel: u32, hasH0: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> dtBias: array<f32>;
@group(0) @binding(7) var<storage, read> h0: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
${COMMON}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let L = dims.L;
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let p = wid.x * 8u + lid.y;
  let hh = wid.y;
  let bi = wid.z;
  let live = p < P;
  let pc = min(p, P - 1u);
  let g = hh / (H / dims.G);
  let slot = lid.y * 32u + lid.x;
  let d = select(D[hh], D[hh * P + pc], dims.dPerChannel == 1u);
  var s: array<f32, ${MAX_PER_LANE}>;
  for (var k = 0u; k < K; k++) {
    let n = lid.x + 32u * k;
    s[k] = 0.0;
    if (dims.hasH0 == 1u && n < N) { s[k] = h0[((bi * H + hh) * P + pc) * N + n]; }
  }
  for (var t = 0u; t < L; t++) {
    let bth = (bi * L + t) * H + hh;
    let dtv = clamp(softplus(dt[bth] + dtBias[hh]), bitcast<f32>(dims.lo), bitcast<f32>(dims.hi));
    let dA = exp(dtv * A[hh]);
    let xv = x[bth * P + pc];
    let kb = ((bi * L + t) * dims.G + g) * N;
    var acc = 0.0;
    for (var k = 0u; k < K; k++) {
      let n = lid.x + 32u * k;
      if (n < N) {
        s[k] = dA * s[k] + dtv * xv * B[kb + n];
        acc += s[k] * C[kb + n];
      }
    }
    ${REDUCE}
    if (lid.x == 0u && live) { y[bth * P + p] = total + d * xv; }
  }
  if (live) {
    for (var k = 0u; k < K; k++) {
      let n = lid.x + 32u * k;
      if (n < N) { hOut[((bi * H + hh) * P + p) * N + n] = s[k]; }
    }
  }
}`;

export function mamba1ScanKernel(gpu: WebGPUBackend, i: KernelInputs<SelectiveScanInputs>): KernelOutputs<SelectiveScanResult> | null {
  const [b, L, E] = i.u.shape;
  const N = i.A.shape[1];
  if (N > MAX_SCAN_STATE || L === 0) return null;
  const rt = gpu.runtime;
  const op = 'mamba1SelectiveScan';
  const y: GPUStorage = rt.alloc(op, b * L * E * 4, i.u.dtype);
  const state: GPUStorage = rt.alloc(op, b * E * N * 4, i.u.dtype);
  // Without h0 its binding holds any buffer (never read: hasH0 is 0).
  const inputs = [i.u, i.delta, i.A, i.B, i.C, i.D, i.z, i.deltaBias, i.h0 ?? i.u].map(buf);
  rt.dispatch('m1scan', mamba1ScanWgsl, [...inputs, y.buffer, state.buffer, rt.uniform([L, E, N, i.h0 ? 1 : 0])], [Math.ceil(E / 8), 1, b]);
  return { y, state };
}

export function mamba2ScanKernel(gpu: WebGPUBackend, i: KernelInputs<SsdInputs>, attrs: SsdAttrs): KernelOutputs<SsdResult> | null {
  const [b, L, H, P] = i.x.shape;
  const [G, N] = i.B.shape.slice(2);
  if (N > MAX_SCAN_STATE || L === 0) return null;
  const rt = gpu.runtime;
  const op = 'mamba2SsdChunked';
  const y: GPUStorage = rt.alloc(op, b * L * H * P * 4, i.x.dtype);
  const state: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.x.dtype);
  const inputs = [i.x, i.dt, i.A, i.B, i.C, i.D, i.dtBias, i.h0 ?? i.x].map(buf);
  const hi = Number.isFinite(attrs.dtLimit[1]) ? attrs.dtLimit[1] : 3.4e38;
  const uniform = rt.uniform([L, H, P, N, G, bits(attrs.dtLimit[0]), bits(hi), i.D.size === H ? 0 : 1, i.h0 ? 1 : 0]);
  rt.dispatch('m2scan', mamba2ScanWgsl, [...inputs, y.buffer, state.buffer, uniform], [Math.ceil(P / 8), H, b]);
  return { y, state };
}
