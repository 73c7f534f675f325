// Mamba-1's chunk-output pass variants for kernel-time.mjs (issue 16, a probe): the package's
// scalar kernel, and B/C staged in workgroup memory, Δ and u held in registers, both, neither (the
// loop and N baked in); one layer of the 130M model at 8192 tokens. 'B/C staged' became
// m1ChunkOutputStagedWgsl. Run after `pnpm build`: node tools/gpu/m1-output-variants.mjs, then on
// the host kernel-time.mjs .gpu/m1out-variants.json.
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mod = (p) => import(pathToFileURL(`${root}/${p}`).href);
const { m1ChunkOutputWgsl, M1_OUTPUT_HEAD } = await mod('packages/core/dist/kernels/webgpu/family-scans.wgsl.js');
const L = 8192, E = 1536, N = 16, T = 32, nc = L / T;
const head = M1_OUTPUT_HEAD;
function variant(stageBC, prefetch) {
  return `${head}
${stageBC ? `var<workgroup> bs: array<array<f32, ${N}>, ${T}>;\nvar<workgroup> cs: array<array<f32, ${N}>, ${T}>;` : ''}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let E = ${E}u;
  let L = dims.L;
  let c = wid.y;
  let bi = wid.z;
  let t0 = c * ${T}u;
  let tc = min(${T}u, L - t0);
  ${stageBC ? `for (var k = 0u; k < ${(T * N) / 64}u; k++) {
    let i = tid + k * 64u;
    let t = i / ${N}u;
    if (t < tc) { let at = (bi * L + t0 + t) * ${N}u + i % ${N}u; bs[t][i % ${N}u] = B[at]; cs[t][i % ${N}u] = C[at]; }
  }
  workgroupBarrier();` : ''}
  let e = wid.x * 64u + tid;
  if (e >= E) { return; }
  let bias = deltaBias[e];
  let d = D[e];
  ${prefetch ? `var dtr: array<f32, ${T}>;
  var ur: array<f32, ${T}>;
  for (var t = 0u; t < ${T}u; t++) {
    if (t < tc) { let be = (bi * L + t0 + t) * E + e; dtr[t] = softplus(delta[be] + bias); ur[t] = u[be]; }
  }` : ''}
  var s: array<f32, ${N}>;
  var a: array<f32, ${N}>;
  let so = ((bi * dims.nc + c) * E + e) * ${N}u;
  for (var n = 0u; n < ${N}u; n++) { s[n] = states[so + n]; a[n] = A[e * ${N}u + n]; }
  for (var t = 0u; t < ${T}u; t++) {
    if (t >= tc) { break; }
    let be = (bi * L + t0 + t) * E + e;
    let dtv = ${prefetch ? 'dtr[t]' : 'softplus(delta[be] + bias)'};
    let xv = ${prefetch ? 'ur[t]' : 'u[be]'};
    let bn = (bi * L + t0 + t) * ${N}u;
    var acc = 0.0;
    for (var n = 0u; n < ${N}u; n++) {
      s[n] = exp(dtv * a[n]) * s[n] + dtv * xv * ${stageBC ? 'bs[t][n]' : 'B[bn + n]'};
      acc += s[n] * ${stageBC ? 'cs[t][n]' : 'C[bn + n]'};
    }
    y[be] = gate(acc + d * xv, z[be]);
  }
}`;
}
const bindings = [L * E, L * E, E * N, L * N, L * N, E, L * E, E, nc * E * N].map((n) => ({ bytes: n * 4 }));
bindings.push({ bytes: L * E * 4, rw: true }, { uniform: [L, E, N, T, nc, 0, 0, 0] });
const grid = [E / 64, nc, 1];
const out = {
  'm1out scalar (today)': { code: m1ChunkOutputWgsl(1), bindings, grid },
  'm1out B/C staged': { code: variant(true, false), bindings, grid },
  'm1out dt/u prefetched': { code: variant(false, true), bindings, grid },
  'm1out both': { code: variant(true, true), bindings, grid },
  'm1out neither (baked loop)': { code: variant(false, false), bindings, grid },
};
writeFileSync(`${root}/.gpu/m1out-variants.json`, JSON.stringify(out));
console.log(Object.keys(out).length);
