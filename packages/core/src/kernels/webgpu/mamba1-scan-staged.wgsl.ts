/**
 * Mamba-1's chunk-state and chunk-output passes (family-scans.wgsl.ts has the formulas, and the
 * state pass between them) with shared inputs staged in workgroup memory first; the scalar
 * kernels read them from global memory inside the recurrence, one dependent round trip per
 * position. The same f32 operations in the same order as the scalar kernels (for N ≤ 16, where
 * those sum y in one register block), so the results are the same. T (the chunk length) and N
 * are baked in: the shared arrays are sized by them.
 *  - chunk states: a chunk's Δ, Δ·u and B loaded at once, softplus once per (position, channel)
 *    instead of once per state element; H200, 130M, 8192 tokens (webgpu-profile): 9.26 → 2.88 ms
 *    for 24 layers.
 *  - chunk outputs: the chunk's B and C (shared by its channels) staged; Δ, u and z read per
 *    position as before. H200, one layer at 8192 tokens (kernel-time.mjs): 278 → 142 µs, and 126
 *    with 128 channels a workgroup instead of 64 (OUTPUT_CHANNELS). Staging Δ and u as well (20 KB
 *    a workgroup: fewer workgroups resident) ran at 2.7× the scalar kernel's time, and holding
 *    them in registers at 230-303 µs.
 * Shapes: u, delta, z [b, L, E]; A [E, N]; B, C [b, L, N]; D, deltaBias [E]; states [b, nc, E, N];
 * dsum [b, nc, E].
 */
import type { M1Source } from './family-scans.wgsl.js';
import { M1_DIMS, M1_OUTPUT_HEAD, M1_PLAIN, M1_STATE_BINDINGS, m1Reads, SOFTPLUS } from './family-scans.wgsl.js';
import type { WgslLib } from './mamba3-mixer.wgsl.js';

/** Channels a chunk-state workgroup takes: 256 invocations as channels × N state elements. */
export function stateChannels(N: number): number {
  return 256 / N;
}

/** Whether the staged chunk-state kernel serves N (a divisor of 256) and chunks of T in `shared` bytes of workgroup memory. */
export function stagedStateFits(N: number, T: number, shared: number): boolean {
  return 256 % N === 0 && 4 * T * (2 * stateChannels(N) + N) <= shared;
}

/**
 * Channels (invocations) a chunk-output workgroup takes, all sharing its staged B and C. An SM gives
 * WebGPU kernels about 48 KiB of workgroup memory (H200, BENCHMARKS: issue 16, thirteenth
 * session), so the 4 KiB a workgroup stages bounds the workgroups an SM holds, and wider ones hold
 * more channels: one layer at 8192 tokens (kernel-time.mjs) took 142.2 µs with 64, 126.3 with
 * 128, 151.7 with 256.
 */
export const OUTPUT_CHANNELS = 128;

/** Whether the staged chunk-output kernel serves N (its state in registers: at most 64) and chunks of T. */
export function stagedOutputFits(N: number, T: number, shared: number): boolean {
  return N <= 64 && T <= 64 && 8 * T * N <= shared;
}

/**
 * Grid (E / (256 / N), chunk, b): invocation (channel j, element n) runs its chunk's recurrence
 * from zero over staged Δ, Δ·u and B; it writes its state element and (n = 0) the chunk's Σ Δ.
 */
export function m1ChunkStateStagedWgsl(N: number, T: number, w: WgslLib, src: M1Source = M1_PLAIN): string {
  const CE = stateChannels(N);
  const r = m1Reads(src);
  const { loopHead } = w;
  return /* wgsl */ `${M1_DIMS}
${M1_STATE_BINDINGS}
${SOFTPLUS}
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
    if (t < tc) { bs[t][i % ${N}u] = B[${r.rowB('(bi * L + t0 + t)', `${N}u`)} + i % ${N}u]; }
  }
  workgroupBarrier();
  let j = tid / ${N}u;
  let n = tid % ${N}u;
  let e = e0 + j;
  if (e >= E) { return; }
  let a = ${r.a(`e * ${N}u + n`)};
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
 * Grid (E / CE, chunk, b): invocation e reruns its channel's chunk from the state entering it, all
 * N elements in registers, over the staged B and C; y = (h·C + D·u)·silu(z).
 */
export function m1ChunkOutputStagedWgsl(N: number, T: number, src: M1Source = M1_PLAIN, CE = OUTPUT_CHANNELS): string {
  const r = m1Reads(src);
  return /* wgsl */ `${M1_OUTPUT_HEAD}
var<workgroup> bs: array<array<f32, ${N}>, ${T}>;
var<workgroup> cs: array<array<f32, ${N}>, ${T}>;
@compute @workgroup_size(${CE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let E = dims.E;
  let L = dims.L;
  let c = wid.y;
  let bi = wid.z;
  let t0 = c * ${T}u;
  let tc = min(${T}u, L - t0);
  for (var k = 0u; k < ${Math.ceil((T * N) / CE)}u; k++) {
    let i = tid + k * ${CE}u;
    let t = i / ${N}u;
    if (t < tc) {
      ${
        src.bc
          ? `bs[t][i % ${N}u] = B[${r.rowB('(bi * L + t0 + t)', `${N}u`)} + i % ${N}u];
      cs[t][i % ${N}u] = C[${r.rowC('(bi * L + t0 + t)', `${N}u`)} + i % ${N}u];`
          : `let at = (bi * L + t0 + t) * ${N}u + i % ${N}u;
      bs[t][i % ${N}u] = B[at];
      cs[t][i % ${N}u] = C[at];`
      }
    }
  }
  workgroupBarrier();
  let e = wid.x * ${CE}u + tid;
  if (e >= E) { return; }
  let bias = deltaBias[e];
  let d = D[e];
  var s: array<f32, ${N}>;
  var a: array<f32, ${N}>;
  let so = ((bi * dims.nc + c) * E + e) * ${N}u;
  for (var n = 0u; n < ${N}u; n++) {
    s[n] = states[so + n];
    a[n] = ${r.a(`e * ${N}u + n`)};
  }
  for (var t = 0u; t < ${T}u; t++) {
    if (t >= tc) { break; }
    let be = (bi * L + t0 + t) * E + e;
    let dtv = softplus(delta[be] + bias);
    let xv = u[be];
    var acc = 0.0;
    for (var n = 0u; n < ${N}u; n++) {
      s[n] = exp(dtv * a[n]) * s[n] + dtv * xv * bs[t][n];
      acc += s[n] * cs[t][n];
    }
    y[be] = gate(acc + d * xv, ${r.z('(bi * L + t0 + t)', 'e', 'be')});
  }
}`;
}
