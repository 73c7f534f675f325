#!/usr/bin/env node
// Issue 16, goal 2 ("explore what Dawn offers beyond the defaults"): how fast does the H100/H200's
// `chromium-experimental-subgroup-matrix` (int8 only there, behind allow_unsafe_apis) multiply?
// f32 products could be built from int8 ones (splitting each f32 into 8-bit slices and summing
// the slices' exact int32 products, as the Ozaki scheme does), so its int8 rate bounds that route.
// - peak: each subgroup multiply-accumulates one 16x32 by one 32x16 int8 matrix into R int32
//   results, ITER times, in registers (no memory in the loop);
// - gemm: C [M, N] (i32) = A [M, K] (i8, row-major) · Wᵀ (W [N, K] i8, the weights' layout),
//   every operand matrix loaded straight from the storage buffers (no workgroup staging); each
//   subgroup takes SM x SN results of 16x16, a workgroup WM x WN subgroups. Its first run is
//   checked against the CPU on a corner of C.
// TOPS = 2·M·N·K / GPU time (timestamps, median of 7). Usage on the GPU host, after unpacking the
// bundle into /tmp/m3: cp tools/gpu/{subgroup-matrix-time,pass-time}.mjs /tmp/m3/ && node
// /tmp/m3/subgroup-matrix-time.mjs. Elsewhere (no such feature) it says so and stops.
import { createRequire } from 'node:module';
import { timeRuns } from './pass-time.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const { create, globals } = createRequire(import.meta.url)('webgpu');
Object.assign(globalThis, globals);
const dawn = create(['disable-dawn-features=timestamp_quantization', 'enable-dawn-features=allow_unsafe_apis']);
const adapter = await dawn.requestAdapter();
const FEATURE = 'chromium-experimental-subgroup-matrix';
if (!adapter?.features.has(FEATURE)) {
  console.log(`no ${FEATURE} on this adapter; nothing to time`);
  process.exit(0);
}
const configs = adapter.info.subgroupMatrixConfigs ?? [];
const cfg = configs.find((c) => c.componentType === 'i8' && c.M === 16 && c.N === 16 && c.K === 32);
if (!cfg) {
  console.log(`no i8 16x16x32 config: ${JSON.stringify(configs)}`);
  process.exit(0);
}
const device = await adapter.requestDevice({
  requiredFeatures: [FEATURE, 'subgroups', 'timestamp-query'],
  requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
});
const S = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const HEAD = 'enable chromium_experimental_subgroup_matrix;\nenable subgroups;';
const L = 'subgroup_matrix_left<i8, 32, 16>';
const Rt = 'subgroup_matrix_right<i8, 16, 32>';
const Res = 'subgroup_matrix_result<i32, 16, 16>';

/**
 * Compiles `code`; when this Dawn lacks the `subgroup_id` built-in, again with the subgroup's
 * index from the invocation's (32 lanes a subgroup on NVIDIA), the uniformity diagnostic off.
 */
async function pipeline(code) {
  try {
    return await compile(code);
  } catch (e) {
    if (!/subgroup_id/.test(e.message)) throw e;
    const alt = `diagnostic(off, chromium_experimental.subgroup_matrix_uniformity);\n${code}`
      .replace('@builtin(subgroup_id) sg: u32) {', '@builtin(local_invocation_index) lii: u32) {\n  let sg = lii / 32u;');
    return compile(alt);
  }
}

async function compile(code) {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  const msgs = info.messages.filter((m) => m.type === 'error').map((m) => m.message);
  if (err || msgs.length) throw new Error((msgs[0] ?? err.message).split('\n')[0]);
  return p;
}

async function timeIt(p, entries, grid) {
  const bg = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: entries.map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const run = (pass) => {
    pass.setPipeline(p);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(...grid);
  };
  return (await timeRuns(device, run, 7))[3]; // the median
}

async function peak(R, ITER, groups) {
  const accs = Array.from({ length: R }, (_, r) => `var acc${r} = ${Res}();`).join('\n  ');
  const mma = Array.from({ length: R }, (_, r) => `acc${r} = subgroupMatrixMultiplyAccumulate(a, b, acc${r});`).join('\n    ');
  const stores = Array.from({ length: R }, (_, r) => `subgroupMatrixStore<row_major>(&C, base + ${r * 256}u, acc${r}, 16u);`).join('\n  ');
  const code = `${HEAD}
@group(0) @binding(0) var<storage, read> A: array<i32>;
@group(0) @binding(1) var<storage, read_write> C: array<i32>;
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_id) sg: u32) {
  let a = subgroupMatrixLoad<${L}, row_major>(&A, 0u, 32u);
  let b = subgroupMatrixLoad<${Rt}, row_major>(&A, 512u, 16u);
  ${accs}
  for (var i = 0u; i < ${ITER}u; i++) {
    ${mma}
  }
  let base = ((wid.x * 4u + sg) % 64u) * ${R * 256}u;
  ${stores}
}`;
  const p = await pipeline(code);
  const A = device.createBuffer({ size: 4096, usage: S });
  const C = device.createBuffer({ size: 64 * R * 256 * 4, usage: S });
  const us = await timeIt(p, [A, C], [groups, 1, 1]);
  const ops = groups * 4 * ITER * R * 2 * 16 * 16 * 32;
  console.log(`peak, ${R} accumulators, ${ITER} steps, ${groups} workgroups of 4 subgroups: ${us.toFixed(1)} µs, ${(ops / us / 1e6).toFixed(0)} TOPS`);
}

function gemmCode(K, N, SM, SN, WM, WN, unit = { offset: 1, stride: 1 }) {
  // `unit`: elements of i8 per unit of the offset and stride arguments (1 as documented; 4 if they count i32 words).
  const o = (e) => (unit.offset === 1 ? e : `(${e}) / ${unit.offset}u`);
  const st = (n) => `${n / unit.stride}u`;
  const lefts = Array.from({ length: SM }, (_, i) => `let a${i} = subgroupMatrixLoad<${L}, row_major>(&A, ${o(`(m0 + ${16 * i}u) * ${K}u + k`)}, ${st(K)});`);
  const rights = Array.from({ length: SN }, (_, j) => `let b${j} = subgroupMatrixLoad<${Rt}, col_major>(&W, ${o(`(n0 + ${16 * j}u) * ${K}u + k`)}, ${st(K)});`);
  const accs = [];
  const mmas = [];
  const stores = [];
  for (let i = 0; i < SM; i++) {
    for (let j = 0; j < SN; j++) {
      accs.push(`var c${i}_${j} = ${Res}();`);
      mmas.push(`c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, c${i}_${j});`);
      stores.push(`subgroupMatrixStore<row_major>(&C, (m0 + ${16 * i}u) * ${N}u + n0 + ${16 * j}u, c${i}_${j}, ${N}u);`);
    }
  }
  return `${HEAD}
@group(0) @binding(0) var<storage, read> A: array<i32>;
@group(0) @binding(1) var<storage, read> W: array<i32>;
@group(0) @binding(2) var<storage, read_write> C: array<i32>;
@compute @workgroup_size(${32 * WM * WN})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(subgroup_id) sg: u32) {
  let m0 = wid.y * ${16 * SM * WM}u + (sg / ${WN}u) * ${16 * SM}u;
  let n0 = wid.x * ${16 * SN * WN}u + (sg % ${WN}u) * ${16 * SN}u;
  ${accs.join('\n  ')}
  for (var k = 0u; k < ${K}u; k += 32u) {
    ${lefts.join('\n    ')}
    ${rights.join('\n    ')}
    ${mmas.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

/**
 * The same product with both operands staged in workgroup memory: a 128x128 tile of C a workgroup
 * of 8 subgroups (2 x 4, each 64x32: 4x2 results), KS bytes of K a stage, fetched as vec4<i32>
 * (16 bytes) by all 256 invocations into registers while the previous stage is multiplied.
 */
function stagedCode(K, N, KS, unit) {
  const words = KS / 4; // i32 words of a staged row
  const perOp = (128 * words) / 4 / 256; // vec4 fetches an invocation makes per operand
  const o = (e) => (unit.offset === 1 ? `(${e}) * 4u` : e); // the offsets below count words
  const st = (n) => `${(n * 4) / unit.stride}u`;
  const fetch = (name, base) =>
    Array.from({ length: perOp }, (_, f) => `p${name}${f} = ${name}[((${base} + (lii + ${f * 256}u) / ${words / 4}u) * ${K}u + kn) / 16u + (lii + ${f * 256}u) % ${words / 4}u];`).join('\n      ');
  const stash = (name) =>
    Array.from({ length: perOp }, (_, f) => `${name}s[(lii + ${f * 256}u) * 4u] = p${name}${f}.x; ${name}s[(lii + ${f * 256}u) * 4u + 1u] = p${name}${f}.y; ${name}s[(lii + ${f * 256}u) * 4u + 2u] = p${name}${f}.z; ${name}s[(lii + ${f * 256}u) * 4u + 3u] = p${name}${f}.w;`).join('\n    ');
  const mm = [];
  for (let kk = 0; kk < KS / 32; kk++) {
    for (let i = 0; i < 4; i++) mm.push(`let a${kk}_${i} = subgroupMatrixLoad<${L}, row_major>(&As, ${o(`(sm + ${16 * i}u) * ${words}u + ${kk * 8}u`)}, ${st(words)});`);
    for (let j = 0; j < 2; j++) mm.push(`let b${kk}_${j} = subgroupMatrixLoad<${Rt}, col_major>(&Ws, ${o(`(sn + ${16 * j}u) * ${words}u + ${kk * 8}u`)}, ${st(words)});`);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) mm.push(`c${i}_${j} = subgroupMatrixMultiplyAccumulate(a${kk}_${i}, b${kk}_${j}, c${i}_${j});`);
  }
  const accs = [];
  const stores = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 2; j++) {
    accs.push(`var c${i}_${j} = ${Res}();`);
    stores.push(`subgroupMatrixStore<row_major>(&C, (m0 + sm + ${16 * i}u) * ${N}u + n0 + sn + ${16 * j}u, c${i}_${j}, ${N}u);`);
  }
  const decl = (name) => Array.from({ length: perOp }, (_, f) => `var p${name}${f} = vec4<i32>(0);`).join('\n  ');
  return `${HEAD}
@group(0) @binding(0) var<storage, read> A: array<vec4<i32>>;
@group(0) @binding(1) var<storage, read> W: array<vec4<i32>>;
@group(0) @binding(2) var<storage, read_write> C: array<i32>;
var<workgroup> As: array<i32, ${128 * words}>;
var<workgroup> Ws: array<i32, ${128 * words}>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lii: u32, @builtin(subgroup_id) sg: u32) {
  let m0 = wid.y * 128u;
  let n0 = wid.x * 128u;
  let sm = (sg / 4u) * 64u;
  let sn = (sg % 4u) * 32u;
  ${accs.join('\n  ')}
  ${decl('A')}
  ${decl('W')}
  {
    let kn = 0u;
    ${fetch('A', 'm0')}
    ${fetch('W', 'n0')}
  }
  for (var k = 0u; k < ${K}u; k += ${KS}u) {
    workgroupBarrier();
    ${stash('A')}
    ${stash('W')}
    workgroupBarrier();
    if (k + ${KS}u < ${K}u) {
      let kn = k + ${KS}u;
      ${fetch('A', 'm0')}
      ${fetch('W', 'n0')}
    }
    ${mm.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
}

async function gemm(M, N, K, SM, SN, WM, WN, check, unit = { offset: 1, stride: 1 }, KS = 0) {
  const units = unit.offset === 1 && unit.stride === 1 ? '' : ` (offset unit ${unit.offset}, stride unit ${unit.stride})`;
  const name = KS ? `gemm ${M}x${N}x${K}, staged, 128x128 tiles, ${KS} of K a stage${units}` : `gemm ${M}x${N}x${K}, ${SM}x${SN} results a subgroup, ${WM}x${WN} subgroups${units}`;
  if (M % (16 * SM * WM) || N % (16 * SN * WN)) throw new Error(`${name}: the tile does not divide the product`);
  let p;
  try {
    p = await pipeline(KS ? stagedCode(K, N, KS, unit) : gemmCode(K, N, SM, SN, WM, WN, unit));
  } catch (e) {
    console.log(`${name}: ${e.message}`);
    return;
  }
  const a = new Int8Array(M * K).map((_, i) => ((i * 7919) % 255) - 127);
  const w = new Int8Array(N * K).map((_, i) => ((i * 104729) % 253) - 126);
  const A = device.createBuffer({ size: M * K, usage: S });
  const W = device.createBuffer({ size: N * K, usage: S });
  const C = device.createBuffer({ size: M * N * 4, usage: S | GPUBufferUsage.COPY_SRC });
  device.queue.writeBuffer(A, 0, a);
  device.queue.writeBuffer(W, 0, w);
  const grid = [N / (16 * SN * WN), M / (16 * SM * WM), 1];
  const us = await timeIt(p, [A, W, C], grid);
  let verdict = '';
  if (check) {
    const rd = device.createBuffer({ size: 64 * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(C, 0, rd, 0, 64 * N * 4);
    device.queue.submit([enc.finish()]);
    await rd.mapAsync(GPUMapMode.READ);
    const c = new Int32Array(rd.getMappedRange().slice(0));
    rd.unmap();
    let bad = 0;
    let first = '';
    for (let m = 0; m < 64; m++) {
      for (let n = 0; n < 64; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * w[n * K + k];
        if (s !== c[m * N + n] && !bad++) first = ` (C[${m}, ${n}] ${c[m * N + n]}, CPU ${s})`;
      }
    }
    verdict = bad ? `, WRONG in ${bad} of 4096 checked${first}` : ', equal to the CPU on a 64x64 corner';
  }
  console.log(`${name}: ${us.toFixed(1)} µs, ${((2 * M * N * K) / us / 1e6).toFixed(0)} TOPS${verdict}`);
  for (const b of [A, W, C]) b.destroy();
  return verdict.startsWith(', equal');
}

console.log(`adapter: ${adapter.info.description}; configs: ${configs.map((c) => `${c.componentType}->${c.resultComponentType} ${c.M}x${c.N}x${c.K}`).join(', ')}`);
for (const [R, ITER, groups] of [[1, 4096, 1056], [4, 1024, 1056], [8, 512, 1056], [8, 512, 4224]]) {
  try {
    await peak(R, ITER, groups);
  } catch (e) {
    console.log(`peak R ${R}: ${e.message}`);
  }
}
// Which units the load's offset and stride count for i8 matrices bound as i32 arrays (the
// feature's text says i8 elements; a Dawn before its fix counts i32 words), on a small product.
let unit = null;
for (const offset of [1, 4]) for (const stride of [1, 4]) if ((await gemm(64, 64, 64, 2, 2, 2, 2, true, { offset, stride })) && !unit) unit = { offset, stride };
if (!unit) {
  console.log('no unit convention gave the CPU product; stopping');
  process.exit(0);
}
// The prefill in_proj's shape at 8192 rows (N 3432 rounded up to the tile): operands straight from
// storage at several tilings, then staged in workgroup memory (each checked on a corner).
for (const [SM, SN, WM, WN] of [[2, 2, 2, 2], [4, 4, 2, 2], [4, 4, 2, 1]]) await gemm(8192, 3584, 768, SM, SN, WM, WN, true, unit);
for (const KS of [32, 64, 128]) await gemm(8192, 3584, 768, 4, 2, 2, 4, true, unit, KS);
process.exit(0);
