/**
 * Mamba-1's chunk-state and chunk-output passes (family-scans.wgsl.ts has the formulas and the
 * state pass between them) with each chunk's inputs staged in workgroup memory first. The scalar
 * kernels read Δ, u and B (and C) from global memory inside the recurrence, one dependent round
 * trip per position; here every load of a chunk is issued at once, the recurrence reads workgroup
 * memory, and softplus(Δ + bias) is taken once per (position, channel), not once per state
 * element. The same f32 operations in the same order as the scalar kernels, so the results are
 * the same. T (the chunk length) and N are baked in: shared arrays are sized by them.
 * Shapes: u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; states [b, nc, E, N];
 * dsum [b, nc, E].
 */
import type { WgslLib } from './mamba3-mixer.wgsl.js';

const DIMS = /* wgsl */ `
struct Dims { L: u32, E: u32, N: u32, T: u32, nc: u32, hasH0: u32, pad0: u32, pad1: u32 }
fn softplus(v: f32) -> f32 { return select(log(1.0 + exp(v)), v, v > 20.0); }`;

/** Channels a chunk-state workgroup takes: 256 invocations as channels × N state elements. */
export function stateChannels(N: number): number {
  return 256 / N;
}

/** Workgroup memory of the two staged kernels for N state elements and chunks of T, in bytes. */
export function stagedScanBytes(N: number, T: number): { state: number; output: number } {
  return { state: 4 * T * (2 * stateChannels(N) + N), output: 4 * T * (2 * OUT_CHANNELS + 2 * N) };
}

/** Whether the staged kernels serve N (a divisor of 256, at most 64: its state in registers) and chunks of T in `shared` bytes. */
export function stagedScanFits(N: number, T: number, shared: number): boolean {
  const b = stagedScanBytes(N, T);
  return N <= 64 && 256 % N === 0 && Math.max(b.state, b.output) <= shared;
}

/** Channels (invocations) a chunk-output workgroup takes. */
export const OUT_CHANNELS = 64;

/**
 * Grid (E / (256 / N), chunk, b): invocation (channel j, element n) runs its chunk's recurrence
 * from zero over staged Δ, Δ·u and B; it writes its state element and (n = 0) the chunk's Σ Δ.
 */
export function m1ChunkStateStagedWgsl(N: number, T: number, w: WgslLib): string {
  const CE = stateChannels(N);
  const { loopHead } = w;
  return /* wgsl */ `${DIMS}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(5) var<storage, read_write> states: array<f32>;
@group(0) @binding(6) var<storage, read_write> dsum: array<f32>;
@group(0) @binding(7) var<uniform> dims: Dims;
var<workgroup> dts: array<array<f32, ${CE}>, ${T}>;
var<workgroup> dus: array<array<f32, ${CE}>, ${T}>;
var<workgroup> bs: array<array<f32, ${N}>, ${T}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let E = dims.E;
  let L = dims.L;
  let c = wid.y;
  let bi = wid.z;
  let e0 = wid.x * ${CE}u;
  let t0 = c * ${T}u;
  let tc = min(${T}u, L - t0);
  for (var k = 0u; k < ${Math.ceil((T * CE) / 256)}u; k++) {
    let i = tid + k * 256u;
    let t = i / ${CE}u;
    let j = i % ${CE}u;
    if (t < tc && e0 + j < E) {
      let be = (bi * L + t0 + t) * E + e0 + j;
      let dt = softplus(delta[be] + deltaBias[e0 + j]);
      dts[t][j] = dt;
      dus[t][j] = dt * u[be];
    }
  }
  for (var k = 0u; k < ${Math.ceil((T * N) / 256)}u; k++) {
    let i = tid + k * 256u;
    let t = i / ${N}u;
    if (t < tc) { bs[t][i % ${N}u] = B[(bi * L + t0 + t) * ${N}u + i % ${N}u]; }
  }
  workgroupBarrier();
  let j = tid / ${N}u;
  let n = tid % ${N}u;
  let e = e0 + j;
  if (e >= E) { return; }
  let a = A[e * ${N}u + n];
  var s = 0.0;
  var sum = 0.0;
  ${loopHead('t', '0u', 'tc', 1, T)}
    let dt = dts[t][j];
    s = exp(dt * a) * s + dus[t][j] * bs[t][n];
    sum += dt;
  }
  let o = (bi * dims.nc + c) * E + e;
  states[o * ${N}u + n] = s;
  if (n == 0u) { dsum[o] = sum; }
}`;
}

/**
 * Grid (E / 64, chunk, b): invocation j reruns its channel's chunk from the state entering it,
 * all N elements in registers, over staged Δ, u, B and C; y = (h·C + D·u)·silu(z).
 */
export function m1ChunkOutputStagedWgsl(N: number, T: number, w: WgslLib): string {
  const CE = OUT_CHANNELS;
  const { loopHead } = w;
  return /* wgsl */ `${DIMS}
@group(0) @binding(0) var<storage, read> u: array<f32>;
@group(0) @binding(1) var<storage, read> delta: array<f32>;
@group(0) @binding(2) var<storage, read> A: array<f32>;
@group(0) @binding(3) var<storage, read> B: array<f32>;
@group(0) @binding(4) var<storage, read> C: array<f32>;
@group(0) @binding(5) var<storage, read> D: array<f32>;
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> deltaBias: array<f32>;
@group(0) @binding(8) var<storage, read> states: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<f32>;
@group(0) @binding(10) var<uniform> dims: Dims;
var<workgroup> dts: array<array<f32, ${CE}>, ${T}>;
var<workgroup> us: array<array<f32, ${CE}>, ${T}>;
var<workgroup> bs: array<array<f32, ${N}>, ${T}>;
var<workgroup> cs: array<array<f32, ${N}>, ${T}>;
fn gate(v: f32, zv: f32) -> f32 { return v * (zv / (1.0 + exp(-zv))); }
@compute @workgroup_size(${CE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let E = dims.E;
  let L = dims.L;
  let c = wid.y;
  let bi = wid.z;
  let e0 = wid.x * ${CE}u;
  let t0 = c * ${T}u;
  let tc = min(${T}u, L - t0);
  for (var t = 0u; t < ${T}u; t++) {
    if (t < tc && e0 + tid < E) {
      let be = (bi * L + t0 + t) * E + e0 + tid;
      dts[t][tid] = softplus(delta[be] + deltaBias[e0 + tid]);
      us[t][tid] = u[be];
    }
  }
  for (var k = 0u; k < ${Math.ceil((T * N) / CE)}u; k++) {
    let i = tid + k * ${CE}u;
    let t = i / ${N}u;
    if (t < tc) {
      let at = (bi * L + t0 + t) * ${N}u + i % ${N}u;
      bs[t][i % ${N}u] = B[at];
      cs[t][i % ${N}u] = C[at];
    }
  }
  workgroupBarrier();
  let e = e0 + tid;
  if (e >= E) { return; }
  let d = D[e];
  var s: array<f32, ${N}>;
  var a: array<f32, ${N}>;
  let so = ((bi * dims.nc + c) * E + e) * ${N}u;
  for (var n = 0u; n < ${N}u; n++) {
    s[n] = states[so + n];
    a[n] = A[e * ${N}u + n];
  }
  ${loopHead('t', '0u', 'tc', 1, T)}
    let dtv = dts[t][tid];
    let xv = us[t][tid];
    var acc = 0.0;
    for (var n = 0u; n < ${N}u; n++) {
      s[n] = exp(dtv * a[n]) * s[n] + dtv * xv * bs[t][n];
      acc += s[n] * cs[t][n];
    }
    let be = (bi * L + t0 + t) * E + e;
    y[be] = gate(acc + d * xv, z[be]);
  }
}`;
}
