#!/usr/bin/env node
// Counts what Dawn's robustness transform adds to each shader of a Dawn shader dump:
//  - index clamps: a workgroup or private array index that Tint's range analysis cannot prove in
//    bounds gets a UMin / SMin in the SPIR-V (it ignores the branch the access sits in; storage
//    buffers are left to Vulkan's robust buffer access);
//  - loop counters: a loop not of the form `for (var i = C0; i < C1; i++)` (and a few like it)
//    gets a 64-bit iteration counter checked each pass (`all(tint_loop_idx == 0)`: an OpAll).
// A clamp in a hot loop costs issue slots; a counter a dependent check per pass. Usage:
//   node apps/bench/dist/main.js --suite model --backend webgpu-dump --set nLayer=2 \
//     --set vocabSize=1000 --set lengths=300 --set decodeSteps=3 --set batches=1,32 > dump.txt
//   node tools/gpu/clamps.mjs dump.txt
import { readFileSync } from 'node:fs';

const text = readFileSync(process.argv[2] ?? '/dev/stdin', 'utf8');
const blocks = text.split(/\/\/ Dumped WGSL:|\/\* Dumped SPIRV disassembly \*\//);
const rows = new Map();
// Blocks alternate: text before the first dump, then WGSL, SPIR-V, WGSL, SPIR-V, ...
for (let i = 1; i + 1 < blocks.length; i += 2) {
  const wgsl = blocks[i];
  const spirv = blocks[i + 1];
  const bindings = [...wgsl.matchAll(/var<[^>]+>\s+(\w+)\s*:/g)].map((m) => m[1]);
  const shared = [...wgsl.matchAll(/var<workgroup>\s+(\w+)/g)].map((m) => m[1]);
  const size = wgsl.match(/@workgroup_size\(([^)]*)\)/)?.[1] ?? '?';
  const key = `${bindings.filter((b) => !shared.includes(b)).join(',')} | workgroup ${shared.join(',') || '-'} | size ${size}`;
  const clamps = (spirv.match(/\b[US]Min\b/g) ?? []).length;
  const loops = (spirv.match(/\bOpAll\b/g) ?? []).length;
  const r = rows.get(key) ?? { n: 0, clamps: new Set(), loops: new Set() };
  r.n++;
  r.clamps.add(clamps);
  r.loops.add(loops);
  rows.set(key, r);
}
const sorted = [...rows].sort((a, b) => Math.max(...b[1].clamps) - Math.max(...a[1].clamps));
const list = (set) => [...set].sort((a, b) => a - b).join('/');
for (const [key, r] of sorted) console.log(`${list(r.clamps).padStart(8)} clamps ${list(r.loops).padStart(6)} counted loops  ${String(r.n).padStart(3)}×  ${key}`);
