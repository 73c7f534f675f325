#!/usr/bin/env node
// Writes .gpu/two-dispatch-chains.json for chain-time.mjs (issue 16, goal 1): would a batch-1
// decode layer of two dependent dispatches beat today's three? A probe of the timing only:
// the kernels below move the bytes and do the work of the 130M SISO layer's parts, but their
// math is a simplified scan (no rotations, no trapezoid), so they test nothing but speed.
//
// Today: in_proj (with the block's norm) -> mixer step -> out_proj (with the residual add).
// Two dispatches:
//   inPart: the previous layer's out_proj arrives as 24 partial sums (one a head); each
//           workgroup adds them and the residual, takes the RMS norm, and forms its rows of
//           in_proj (RW rows a workgroup: fewer, fatter workgroups than today's one row each,
//           so that the partials are read fewer times). Its weight loads go out first.
//   mixOut: a head's state update and output (S workgroups a head, each doing the head's
//           update again and taking 768/S rows of the out_proj partial W_out[:, head] · y_head).
// For calibration the same pieces also run as three dispatches (inPart without partials,
// mixOut writing y, then today's out_proj), beside today's layer (`base`).
// Run after decode-variants.mjs, on the development machine; then on the GPU host
// `node chain-time.mjs two-dispatch-chains.json` (see chain-time.mjs).
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const variants = JSON.parse(readFileSync(join(root, '.gpu', 'decode-variants.json'), 'utf8'));

const D = 768; // d_model
const DQ = D / 4;
const ROWS = 3432; // in_proj rows of the 130M SISO layer
const HEADS = 24;
const P = 64; // headdim
const N = 128; // d_state
const DI = HEADS * P; // d_inner

/** A weight element type: f32 as vec4<f32>, bf16 as vec2<u32> (4 values a load, unpacked). */
const weight = (st) =>
  st === 'f32'
    ? { decl: 'vec4<f32>', bytes: 16, load: (e) => e }
    : { decl: 'vec2<u32>', bytes: 8, load: (e) => `unpackBf16(${e})` };
const unpackFn = `fn unpackBf16(w: vec2<u32>) -> vec4<f32> {
  return vec4<f32>(bitcast<f32>(w.x << 16u), bitcast<f32>(w.x & 0xffff0000u), bitcast<f32>(w.y << 16u), bitcast<f32>(w.y & 0xffff0000u));
}`;

/** in_proj over RW rows a workgroup of 256 (8 subgroups of 32), after summing `parts` partials and the residual. */
function inPart(st, RW, parts) {
  const w = weight(st);
  const RI = Math.ceil(RW / 8);
  const loads = [];
  const dots = [];
  for (let i = 0; i < RI; i++) {
    loads.push(`let r${i} = row0 + sg + ${8 * i}u; let ok${i} = sg + ${8 * i}u < ${RW}u && r${i} < ${ROWS}u;`);
    for (let j = 0; j < 6; j++) loads.push(`var w${i}_${j} = vec4<f32>(0.0); if (ok${i}) { w${i}_${j} = ${w.load(`W[r${i} * ${DQ}u + lane + ${32 * j}u]`)}; }`);
    const terms = Array.from({ length: 6 }, (_, j) => `dot(w${i}_${j}, hs[lane + ${32 * j}u])`).join(' + ');
    dots.push(`{ let s = subgroupAdd(${terms}); if (lane == 0u && ok${i}) { zx[r${i}] = s; } }`);
  }
  const sum = parts ? `for (var p = 0u; p < ${parts}u; p++) { v += partials[p * ${DQ}u + t]; }` : '';
  return /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read> hIn: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> normW: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> W: array<${w.decl}>;
@group(0) @binding(3) var<storage, read_write> zx: array<f32>;
${parts ? `@group(0) @binding(4) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> hOut: array<vec4<f32>>;` : ''}
var<workgroup> hs: array<vec4<f32>, ${DQ}>;
var<workgroup> red: array<f32, 8>;
${st === 'bf16' ? unpackFn : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let sg = t / 32u;
  let lane = t % 32u;
  let row0 = wid.x * ${RW}u;
  ${loads.join('\n  ')}
  var v = vec4<f32>(0.0);
  if (t < ${DQ}u) {
    v = hIn[t];
    ${sum}
    ${parts ? 'if (wid.x == 0u) { hOut[t] = v; }' : ''}
  }
  let ss = subgroupAdd(dot(v, v));
  if (lane == 0u) { red[sg] = ss; }
  workgroupBarrier();
  let inv = inverseSqrt((red[0] + red[1] + red[2] + red[3] + red[4] + red[5] + red[6] + red[7]) / ${D}.0 + 1e-5);
  if (t < ${DQ}u) { hs[t] = v * inv * normW[t]; }
  workgroupBarrier();
  ${dots.join('\n  ')}
}`;
}

/**
 * A head's state update and output, then (outPart) its rows o0..o0+768/S of the out_proj
 * partial. 256 threads: thread t updates state row p = t / 4, columns 32 (t % 4) .. + 31.
 */
function mixOut(st, S, outPart) {
  const w = weight(st);
  const rowsPer = D / S;
  const iters = rowsPer / 16;
  const U = [8, 6, 4, 3, 2, 1].find((u) => iters % u === 0);
  const out = outPart
    ? `let o0 = wid.y * ${rowsPer}u;
  let l16 = t % 16u;
  let slot = t / 16u;
  let yv = ys[l16];
  for (var k = 0u; k < ${iters / U}u; k++) {
    ${Array.from({ length: U }, (_, u) => `let wv${u} = ${w.load(`Wout[(o0 + slot + (k * ${U}u + ${u}u) * 16u) * ${DI / 4}u + h * ${P / 4}u + l16]`)};`).join('\n    ')}
    ${Array.from({ length: U }, (_, u) => `{ var a = dot(wv${u}, yv); a += subgroupShuffleXor(a, 1u); a += subgroupShuffleXor(a, 2u); a += subgroupShuffleXor(a, 4u); a += subgroupShuffleXor(a, 8u);
      if (l16 == 0u) { partials[h * ${D}u + o0 + slot + (k * ${U}u + ${u}u) * 16u] = a; } }`).join('\n    ')}
  }`
    : `if (q == 0u) { y[h * ${P}u + p] = yo; }`;
  return /* wgsl */ `enable subgroups;
@group(0) @binding(0) var<storage, read> zx: array<f32>;
@group(0) @binding(1) var<storage, read_write> state: array<vec4<f32>>;
${outPart ? `@group(0) @binding(2) var<storage, read> Wout: array<${w.decl}>;
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;` : '@group(0) @binding(2) var<storage, read_write> y: array<f32>;'}
var<workgroup> ys: array<vec4<f32>, ${P / 4}>;
${st === 'bf16' ? unpackFn : ''}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let h = wid.x;
  let p = t / 4u;
  let q = t % 4u;
  let x = zx[${DI}u + h * ${P}u + p];
  let z = zx[h * ${P}u + p];
  let dt = log(1.0 + exp(zx[${2 * DI + 2 * N}u + h]));
  let a = exp(-dt);
  var yp = 0.0;
  for (var j = 0u; j < 8u; j++) {
    let n = q * 32u + j * 4u;
    let b = vec4<f32>(zx[${2 * DI}u + n], zx[${2 * DI}u + n + 1u], zx[${2 * DI}u + n + 2u], zx[${2 * DI}u + n + 3u]);
    let c = vec4<f32>(zx[${2 * DI + N}u + n], zx[${2 * DI + N}u + n + 1u], zx[${2 * DI + N}u + n + 2u], zx[${2 * DI + N}u + n + 3u]);
    let at = (h * ${P}u + p) * ${N / 4}u + n / 4u;
    let s = a * state[at] + (dt * x) * b;
    if (wid.y == 0u) { state[at] = s; }
    yp += dot(s, c);
  }
  yp += subgroupShuffleXor(yp, 1u);
  yp += subgroupShuffleXor(yp, 2u);
  let yo = yp * z / (1.0 + exp(-z));
  ${outPart ? `if (q == 0u) { ys[p / 4u][p % 4u] = yo; }
  workgroupBarrier();
  ${out}` : out}
}`;
}

const real = (name, names) => {
  const v = variants[name];
  if (!v) throw new Error(`no variant ${name} in decode-variants.json`);
  return { code: v.code, grid: v.grid, bindings: v.bindings.map((b, i) => ({ name: names[i], bytes: b.bytes })) };
};
const wBytes = (st, n) => (n * weight(st).bytes) / 4;
const inStage = (st, RW, parts) => ({
  code: inPart(st, RW, parts),
  grid: [Math.ceil(ROWS / RW), 1, 1],
  bindings: [
    { name: 'h{p}', bytes: D * 4 },
    { name: 'g{l}', bytes: D * 4 },
    { name: 'win{l}', bytes: wBytes(st, ROWS * D) },
    { name: 'zx', bytes: ROWS * 4 },
    ...(parts ? [{ name: 'parts', bytes: HEADS * D * 4 }, { name: 'h{q}', bytes: D * 4 }] : []),
  ],
});
const mixStage = (st, S, outPart) => ({
  code: mixOut(st, S, outPart),
  grid: [HEADS, outPart ? S : 1, 1],
  bindings: [
    { name: 'zx', bytes: ROWS * 4 },
    { name: 'ssm{l}', bytes: HEADS * P * N * 4 },
    ...(outPart ? [{ name: 'wout{l}', bytes: wBytes(st, D * DI) }, { name: 'parts', bytes: HEADS * D * 4 }] : [{ name: 'y', bytes: DI * 4 }]),
  ],
});

const chains = {};
for (const st of ['f32', 'bf16']) {
  chains[`${st} base`] = {
    stages: [
      real(`lanes m3 in_proj ${st} l128 r1 t2`, ['h{p}', 'win{l}', 'zx', 'g{l}']),
      real('mixer R1 b1 slices4 sg', ['zx', 'prm{l}', 'ang{l}', 'ssm{l}', 'k{l}', 'v{l}', 'y', 'ango{l}', 'ssmo{l}', 'ko{l}', 'vo{l}']),
      real(`lanes out_proj ${st} l128 r1 t1`, ['y', 'wout{l}', 'h{q}', 'h{p}']),
    ],
  };
  for (const RW of [8, 13, 26]) {
    chains[`${st} three, RW ${RW}`] = { stages: [inStage(st, RW, 0), mixStage(st, 1, false), real(`lanes out_proj ${st} l128 r1 t1`, ['y', 'wout{l}', 'h{q}', 'h{p}'])] };
    for (const S of [1, 2, 4]) chains[`${st} two, RW ${RW} S ${S}`] = { stages: [inStage(st, RW, HEADS), mixStage(st, S, true)] };
  }
}
const file = join(root, '.gpu', 'two-dispatch-chains.json');
writeFileSync(file, JSON.stringify(chains));
console.log(`wrote ${Object.keys(chains).length} chains to ${file}`);
