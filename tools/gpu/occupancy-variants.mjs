#!/usr/bin/env node
// Writes .gpu/occupancy-variants.json for kernel-time.mjs (issue 16, a probe): how much workgroup
// memory an SM gives a WebGPU kernel on the GPU host, and whether it bounds the vec4 chunk kernels.
//  - `occ W S`: workgroups of W invocations declaring S KiB of workgroup memory, each invocation a
//    chain of 1,024 dependent workgroup-memory loads. With too few warps resident to cover the
//    loads' latency the time grows as 1 / (workgroups resident), so its steps against S show how
//    many S-KiB workgroups fit an SM.
//  - `chunkOutput/chunkState +P`: the package's vec4 chunk kernels (x̃, B̃, C̃ from buffers; one
//    layer of the 130M SISO model at 8192 tokens: H 24, P 64, N 128, chunks of 64) with P KiB of
//    workgroup memory added (read and written only under a condition that never holds). Where
//    adding a little slows a kernel, its workgroup memory is what limits its workgroups an SM;
//    where it takes more, something else (registers) does first.
//  - `mm NAME M TILE [nopad]`: prefill's products (x·Wᵀ with the model's epilogues) on the
//    tile 'auto' takes and on shallower ones (BK 4: half the workgroup memory, twice the k-steps);
//    `nopad` drops the staged rows' padding vec4 (never indexed; it spreads the transposed
//    stores over more banks), 0.5 KiB of the 64×128 tile's 13.
//  - `m1out CE`: Mamba-1's staged chunk outputs (one layer of the 130M model at 8192 tokens: E
//    1,536, N 16, chunks of 32) with CE channels a workgroup: the staged B and C (4 KiB) shared
//    by CE invocations, so more channels an SM for the same workgroup memory.
// Run after `pnpm build`: node tools/gpu/occupancy-variants.mjs, then on the host kernel-time.mjs
// occupancy-variants.json.
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mod = (p) => import(pathToFileURL(join(root, p)).href);
const { COMMON, f32Lit, loopHead } = await mod('packages/backend-webgpu/dist/codegen.js');
const { chunkOutputTiledWgsl, chunkStateTiledWgsl } = await mod('packages/core/dist/kernels/webgpu/mamba3-scan-tiled.wgsl.js');
const { scanDimValues } = await mod('packages/core/dist/kernels/webgpu/mamba3-scan.wgsl.js');
const { m1ChunkOutputStagedWgsl } = await mod('packages/core/dist/kernels/webgpu/mamba1-scan-staged.wgsl.js');
const { matmulRegTiledWgsl, runtimeDimsUniform } = await mod('packages/backend-webgpu/dist/kernels/matmul-tiled.wgsl.js');

const variants = {};
const HOPS = 1024;
for (const W of [64, 256]) {
  // 64 resident warps of work per SM, 132 SMs, twice over: one wave when nothing limits residency.
  const groups = ((132 * 64 * 32) / W) * 2;
  for (const kib of [0.25, 2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48]) {
    const n = (kib * 1024) / 4;
    variants[`occ ${W} ${kib}`] = {
      code: `@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> u: vec4<u32>;
var<workgroup> pad: array<u32, ${n}>;
@compute @workgroup_size(${W})
fn main(@builtin(local_invocation_index) tid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  for (var i = tid; i < ${n}u; i += ${W}u) { pad[i] = (i * 97u + 1u) % ${n}u; }
  workgroupBarrier();
  var j = tid % ${n}u;
  for (var k = 0u; k < u.x; k++) { j = pad[j]; }
  out[wid.x * ${W}u + tid] = j;
}`,
      bindings: [{ bytes: groups * W * 4, rw: true }, { uniform: [HOPS, 0, 0, 0] }],
      grid: [groups, 1, 1],
    };
  }
}

/** `code` with `kib` KiB more workgroup memory, touched where `dims.L` is all ones (never), written to `sink`. */
function padded(code, kib, sink) {
  if (kib === 0) return code;
  const n = (kib * 1024) / 4;
  const main = /fn main\(.*\)\s*\{/;
  if (!main.test(code)) throw new Error('occupancy-variants: no main in the kernel');
  return `var<workgroup> occPad: array<f32, ${n}>;\n${code.replace(main, (m) => `${m}\n  if (dims.L == 4294967295u) { occPad[tid % ${n}u] = 1.0; ${sink}(occPad[(tid + 1u) % ${n}u]); }`)}`;
}

const w = { COMMON, f32Lit, loopHead };
const [L, H, P, N, T] = [8192, 24, 64, 128, 64];
const nc = L / T;
const dims = { uniform: scanDimValues({ b: 1, L, R: 1, H, P, N, T, nc }) };
const perPos = (width) => ({ bytes: L * H * width * 4, distinct: true });
const scalars = [{ bytes: L * H * 4 }, { bytes: L * H * 4 }, { bytes: L * H * 4 }];
const states = { bytes: H * nc * P * N * 4, distinct: true };
for (const kib of [0, 1, 2, 3, 4, 6, 8, 12]) {
  // Bindings: adt, dt, trap, x̃, C̃, B̃, states, y, dims.
  variants[`chunkOutput +${kib}`] = {
    code: padded(chunkOutputTiledWgsl(1, null, w), kib, 'y[0] = vec4<f32>'),
    bindings: [...scalars, perPos(P), perPos(N), perPos(N), states, { ...perPos(P), rw: true }, dims],
    grid: [P / 64, nc, H],
  };
  // Bindings: adt, dt, trap, x̃, B̃, states, decay, dims.
  variants[`chunkState +${kib}`] = {
    code: padded(chunkStateTiledWgsl(1, null, w), kib, 'states[0] = vec4<f32>'),
    bindings: [...scalars, perPos(P), perPos(N), { ...states, rw: true }, { bytes: H * nc * 4, rw: true }, dims],
    grid: [P / 64, nc, H],
  };
}

/** Tile BMxBNxBK-8x8 (warp layout, unrolled). */
const tile = (BM, BN, BK) => ({ BM, BN, BK, TM: 8, TN: 8, warp: true, unroll: true });
function product(label, M, N, K, v, fused, nopad) {
  const d = { M, N, K, transA: false, transB: true, batchShape: [], batchStrides: [[], [], []] };
  const scaled = fused.rowNormEps !== undefined;
  let code = matmulRegTiledWgsl(d, v, 'rows', 0, scaled, null, fused);
  if (nopad) {
    code = code.replace(/(var<workgroup> As: array<array<array<vec4<f32>, )\d+>/, `$1${v.BM / 4}>`).replace(/(var<workgroup> Bs: array<array<array<vec4<f32>, )\d+>/, `$1${v.BN / 4}>`);
  }
  variants[label] = {
    code,
    bindings: [{ bytes: M * K * 4 }, { bytes: N * K * 4 }, { bytes: M * N * 4, distinct: true, rw: true }, { uniform: runtimeDimsUniform(d, v, 'rows') }, ...(scaled ? [{ bytes: K * 4 }] : []), ...(fused.residual ? [{ bytes: M * N * 4 }] : [])],
    grid: [Math.ceil(N / v.BN), Math.ceil(M / v.BM), 1],
    flops: 2 * M * N * K,
  };
}
const norm = { rowNormEps: 1e-5, weightOnB: true };
for (const M of [8192, 2048]) {
  for (const [name, N, K, fused, BM] of [['m3 in_proj', 3432, 768, norm, 64], ['m2 in_proj', 3352, 768, norm, 64], ['out_proj', 768, 1536, { residual: true }, 64], ['m1 in_proj', 3072, 768, norm, 128]]) {
    for (const [BK, nopad] of [[8, false], [8, true], [4, false], [4, true]]) {
      product(`mm ${name} M${M} ${BM}x128x${BK}${nopad ? ' nopad' : ''}`, M, N, K, tile(BM, 128, BK), fused, nopad);
    }
  }
}
{
  const [E, N1, T1] = [1536, 16, 32];
  const nc1 = L / T1;
  // Bindings (M1_OUTPUT_HEAD): u, delta, A, B, C, D, z, deltaBias, states, y, dims.
  const bindings = [L * E, L * E, E * N1, L * N1, L * N1, E, L * E, E, nc1 * E * N1].map((n) => ({ bytes: n * 4 }));
  bindings.push({ bytes: L * E * 4, rw: true }, { uniform: [L, E, N1, T1, nc1, 0, 0, 0] });
  for (const CE of [64, 128, 256]) variants[`m1out ${CE}`] = { code: m1ChunkOutputStagedWgsl(N1, T1, undefined, CE), bindings, grid: [E / CE, nc1, 1] };
}
writeFileSync(join(root, '.gpu/occupancy-variants.json'), JSON.stringify(variants));
console.log(Object.keys(variants).length);
