import type { GPUStorage, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs } from '@mamba3/tensor';
import type { SelectiveScanResult, SelectiveScanStepInputs } from '../../mamba1/scan.js';
import type { SsdResult, SsdStepInputs } from '../../mamba2/ssd.js';
import { buf } from './mamba3-scan.js';
import { dtLimitWords } from './family-scans.js';

/*
 * Decode steps of the Mamba-1 and Mamba-2 mixers in one dispatch each (the composites take ~10
 * kernels). Workgroup 32 × 8: 32 lanes over the state dimension n (summed for y by a tree
 * reduction), 8 rows of channels; grid (channel blocks, heads or 1, batch).
 */

const SOFTPLUS = /* wgsl */ `
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }`;

const REDUCE = /* wgsl */ `
  let slot = lid.y * 32u + lid.x;
  red[slot] = acc;
  workgroupBarrier();
  for (var s = 16u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[slot] += red[slot + s]; }
    workgroupBarrier();
  }`;

// u, delta, z [b, E]; A [E, N]; B, C [b, N]; D, deltaBias [E]; h [b, E, N] -> y [b, E], hOut.
const mamba1StepWgsl = (): string => /* wgsl */ `
struct Dims { E: u32, N: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(8) var<storage, read> h: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(11) var<uniform> dims: Dims;
var<workgroup> red: array<f32, 256>;
${SOFTPLUS}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let E = dims.E;
  let N = dims.N;
  let e = wid.x * 8u + lid.y;
  let bi = wid.z;
  var acc = 0.0;
  var uv = 0.0;
  if (e < E) {
    let be = bi * E + e;
    let dt = softplus(delta[be] + deltaBias[e]);
    uv = u[be];
    for (var n = lid.x; n < N; n += 32u) {
      let s = exp(dt * A[e * N + n]) * h[be * N + n] + dt * uv * B[bi * N + n];
      hOut[be * N + n] = s;
      acc += s * C[bi * N + n];
    }
  }
  ${REDUCE}
  if (lid.x == 0u && e < E) {
    let be = bi * E + e;
    let zv = z[be];
    y[be] = (red[slot] + D[e] * uv) * (zv / (1.0 + exp(-zv)));
  }
}`;

// x [b, H, P]; dt [b, H]; A, dtBias [H]; B, C [b, G, N]; D [H] or [H·P]; h [b, H, P, N] -> y, hOut.
const mamba2StepWgsl = (): string => /* wgsl */ `
struct Dims { H: u32, P: u32, N: u32, G: u32, lo: u32, hi: u32, dPerChannel: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dt: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> dtBias: array<f32>;
@group(0) @binding(7) var<storage, read> h: array<f32>;
@group(0) @binding(8) var<storage, read_write> y: array<f32>;
@group(0) @binding(9) var<storage, read_write> hOut: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
var<workgroup> red: array<f32, 256>;
${SOFTPLUS}
@compute @workgroup_size(32, 8)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let H = dims.H;
  let P = dims.P;
  let N = dims.N;
  let p = wid.x * 8u + lid.y;
  let hh = wid.y;
  let bi = wid.z;
  let bh = bi * H + hh;
  let g = hh / (H / dims.G);
  let dtv = clamp(softplus(dt[bh] + dtBias[hh]), bitcast<f32>(dims.lo), bitcast<f32>(dims.hi));
  let dA = exp(dtv * A[hh]);
  var acc = 0.0;
  var xv = 0.0;
  if (p < P) {
    xv = x[bh * P + p];
    let k = (bi * dims.G + g) * N;
    for (var n = lid.x; n < N; n += 32u) {
      let at = (bh * P + p) * N + n;
      let s = dA * h[at] + dtv * xv * B[k + n];
      hOut[at] = s;
      acc += s * C[k + n];
    }
  }
  ${REDUCE}
  if (lid.x == 0u && p < P) {
    let d = select(D[hh], D[hh * P + p], dims.dPerChannel == 1u);
    y[bh * P + p] = red[slot] + d * xv;
  }
}`;

export function mamba1StepKernel(gpu: WebGPUBackend, i: KernelInputs<SelectiveScanStepInputs>): KernelOutputs<SelectiveScanResult> {
  const rt = gpu.runtime;
  const op = 'mamba1SelectiveScanStep';
  const [b, E] = i.u.shape;
  const N = i.A.shape[1];
  const y: GPUStorage = rt.alloc(op, b * E * 4, i.u.dtype);
  const state: GPUStorage = rt.alloc(op, b * E * N * 4, i.u.dtype);
  const inputs = [i.u, i.delta, i.A, i.B, i.C, i.D, i.z, i.deltaBias, i.h].map(buf);
  rt.dispatch('m1step', mamba1StepWgsl, [...inputs, y.buffer, state.buffer, rt.uniform([E, N, 0, 0])], [Math.ceil(E / 8), 1, b]);
  return { y, state };
}

export function mamba2StepKernel(gpu: WebGPUBackend, i: KernelInputs<SsdStepInputs>, dtLimit: readonly [number, number]): KernelOutputs<SsdResult> {
  const rt = gpu.runtime;
  const op = 'mamba2SsdStep';
  const [b, H, P] = i.x.shape;
  const [G, N] = i.B.shape.slice(1);
  const y: GPUStorage = rt.alloc(op, b * H * P * 4, i.x.dtype);
  const state: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.x.dtype);
  const inputs = [i.x, i.dt, i.A, i.B, i.C, i.D, i.dtBias, i.h].map(buf);
  const uniform = rt.uniform([H, P, N, G, ...dtLimitWords(dtLimit), i.D.size === H ? 0 : 1, 0]);
  rt.dispatch('m2step', mamba2StepWgsl, [...inputs, y.buffer, state.buffer, uniform], [Math.ceil(P / 8), H, b]);
  return { y, state };
}
