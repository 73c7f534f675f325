/**
 * Mamba-1's chunk-state pass (family-scans.wgsl.ts has the formulas, and the state and output
 * passes around it) with each chunk's inputs staged in workgroup memory first. The scalar kernel
 * reads Δ, u and B from global memory inside the recurrence, one dependent round trip per
 * position; here every load of a chunk is issued at once, the recurrence reads workgroup memory,
 * and softplus(Δ + bias) is taken once per (position, channel), not once per state element. The
 * same f32 operations in the same order as the scalar kernel, so the results are the same. T (the
 * chunk length) and N are baked in: the shared arrays are sized by them. H200, 130M, 8192 tokens
 * (webgpu-profile): 9.26 → 2.88 ms for 24 layers. The output pass staged alike ran 2.7× slower
 * than its scalar kernel (6.77 → 18.26 ms), so it stays scalar.
 * Shapes: u, delta [b, L, E]; A [E, N]; B [b, L, N]; deltaBias [E]; states [b, nc, E, N]; dsum [b, nc, E].
 */
import { M1_DIMS, M1_STATE_BINDINGS, SOFTPLUS } from './family-scans.wgsl.js';
import type { WgslLib } from './mamba3-mixer.wgsl.js';

/** Channels a chunk-state workgroup takes: 256 invocations as channels × N state elements. */
export function stateChannels(N: number): number {
  return 256 / N;
}

/** Whether the staged kernel serves N (a divisor of 256) and chunks of T in `shared` bytes of workgroup memory. */
export function stagedStateFits(N: number, T: number, shared: number): boolean {
  return 256 % N === 0 && 4 * T * (2 * stateChannels(N) + N) <= shared;
}

/**
 * Grid (E / (256 / N), chunk, b): invocation (channel j, element n) runs its chunk's recurrence
 * from zero over staged Δ, Δ·u and B; it writes its state element and (n = 0) the chunk's Σ Δ.
 */
export function m1ChunkStateStagedWgsl(N: number, T: number, w: WgslLib): string {
  const CE = stateChannels(N);
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
