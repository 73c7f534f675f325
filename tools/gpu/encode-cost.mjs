#!/usr/bin/env node
// Host cost of encoding decode-step dispatches (issue 16). Each case timed alone with the GPU idle
// between runs (median of 300 runs; µs):
// - a bare loop of Dawn calls (setPipeline, setBindGroup, dispatchWorkgroups over 75 dispatches of
//   one workgroup, then finish and submit) with 2, 5 and 10 buffers a bind group;
// - the same with 6 buffers, a call at a time: setBindGroup and dispatch under one pipeline, dispatch
//   alone (one bind group), setBindGroup alone and setPipeline alone (75 calls, then one dispatch);
// - one replayed greedy step graph (run(), then the readback's copy, submit and map: what
//   `generate` queues a token) of a 24-layer small Mamba-3 and of the 130M SISO model;
// - the same graph's dispatches (its pipelines, bind groups and workgroup counts) in a bare loop,
//   split into the pass's calls, finish and submit; and with one workgroup a dispatch (on a
//   software adapter the real counts' GPU work, run on the CPU, also cools the host's caches).
// Development machine, after `pnpm build`, from the repo root: node tools/gpu/encode-cost.mjs
// GPU host: bundle.mjs bundles it as /tmp/m3/encode-cost.mjs (node /tmp/m3/encode-cost.mjs).
// --small: the small model only; --dawn-features=a,b: Dawn toggles on top of the defaults (e.g.
// skip_validation).
import { createWebGPUBackend, DEFAULT_DAWN_FLAGS } from '../../packages/backend-webgpu/dist/index.js';
import { MambaLMHeadModel } from '../../packages/model/dist/index.js';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const STORAGE = 0x80; // GPUBufferUsage.STORAGE
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] * 1000;
const RUNS = 300;
const D = 75;

/** Runs `encode` RUNS times, the GPU drained between runs; medians of each phase it reports (ms). */
async function timed(device, encode) {
  const phases = {};
  for (let r = 0; r < RUNS; r++) {
    for (const [k, ms] of Object.entries(encode())) (phases[k] ??= []).push(ms);
    await device.queue.onSubmittedWorkDone();
  }
  return Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)]));
}

/** Encodes `body`'s calls in one pass, then finish and submit, timing each phase (ms). */
function encodeBody(device, body) {
  const t0 = performance.now();
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  body(pass);
  pass.end();
  const t1 = performance.now();
  const cb = enc.finish();
  const t2 = performance.now();
  device.queue.submit([cb]);
  const t3 = performance.now();
  return { pass: t1 - t0, finish: t2 - t1, submit: t3 - t2, total: t3 - t0 };
}

/** `encodeBody` over `dispatches` ([pipeline, bindGroup, x, y, z]), a pipeline set only when it changes. */
function encodeLoop(device, dispatches) {
  return encodeBody(device, (pass) => {
    let last = null;
    for (const [pipeline, group, x, y, z] of dispatches) {
      if (pipeline !== last) pass.setPipeline((last = pipeline));
      pass.setBindGroup(0, group);
      pass.dispatchWorkgroups(x, y, z);
    }
  });
}

function bareDispatches(device, buffers) {
  const decl = Array.from({ length: buffers }, (_, j) => `@group(0) @binding(${j}) var<storage, ${j ? 'read' : 'read_write'}> b${j}: array<f32>;`).join('\n');
  const sum = Array.from({ length: buffers - 1 }, (_, j) => `b${j + 1}[g.x]`).join(' + ');
  const pipes = [0, 1, 2].map((i) => device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: `${decl}\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < 4u) { b0[g.x] = ${sum} + ${i}.0; } }` }) } }));
  const pool = Array.from({ length: 400 }, () => device.createBuffer({ size: 256, usage: STORAGE }));
  return Array.from({ length: D }, (_, k) => {
    const group = device.createBindGroup({ layout: pipes[k % 3].getBindGroupLayout(0), entries: Array.from({ length: buffers }, (_, j) => ({ binding: j, resource: { buffer: pool[(buffers * k + j) % 400] } })) });
    return [pipes[k % 3], group, 1, 1, 1];
  });
}

const fmt = (p, n) => `${p.total.toFixed(0)} µs for ${n} dispatches (${(p.total / n).toFixed(2)} each: pass ${(p.pass / n).toFixed(2)}, finish ${(p.finish / n).toFixed(2)}, submit ${(p.submit / n).toFixed(2)})`;

async function stepGraph(backend, name, config) {
  const model = MambaLMHeadModel.create(config, { seed: 0, backend });
  const graph = model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab: config.vocabSize });
  await graph.read(0);
  const before = backend.stats().replayedDispatches;
  const replay = await timed(backend.device, () => {
    const t0 = performance.now();
    graph.run();
    void graph.read(0);
    return { total: performance.now() - t0 };
  });
  const n = (backend.stats().replayedDispatches - before) / RUNS;
  console.log(`${name}: replayed step graph (run + read): ${replay.total.toFixed(0)} µs for ${n} dispatches (${(replay.total / n).toFixed(2)} each)`);
  // The recording's dispatches, through the bare loop (reaching into the graph: a measuring tool's licence).
  const rec = graph.recorded;
  const list = rec.commands.flatMap((c, k) => (c.kind === 'dispatch' ? [[c.pipeline, rec.variants[0][k], ...c.groups]] : []));
  const buffers = rec.commands.filter((c) => c.kind === 'dispatch').map((c) => c.buffers.length);
  console.log(`${name}: ${list.length} dispatches, ${new Set(list.map((d) => d[0])).size} pipelines, ${(buffers.reduce((a, b) => a + b, 0) / buffers.length).toFixed(1)} buffers a bind group`);
  console.log(`${name}: its dispatches in the bare loop: ${fmt(await timed(backend.device, () => encodeLoop(backend.device, list)), list.length)}`);
  const ones = list.map(([p, g]) => [p, g, 1, 1, 1]);
  console.log(`${name}: the same, one workgroup each: ${fmt(await timed(backend.device, () => encodeLoop(backend.device, ones)), ones.length)}`);
  graph.dispose();
  model.dispose();
}

const features = process.argv.find((a) => a.startsWith('--dawn-features='))?.slice('--dawn-features='.length);
// kickDispatches 0: no early submit inside the step, as when earlier steps are in flight.
const backend = await createWebGPUBackend({ name: 'webgpu-encode-cost', kickDispatches: 0, dawnFlags: [...DEFAULT_DAWN_FLAGS, ...(features ? [`enable-dawn-features=${features}`] : [])] });
if (features) console.log(`Dawn features enabled: ${features}`);
const { device } = backend;
const info = device.adapterInfo ?? {};
console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown'}`);
for (const buffers of [2, 5, 10]) {
  const list = bareDispatches(device, buffers);
  console.log(`bare loop, ${buffers} buffers a bind group: ${fmt(await timed(device, () => encodeLoop(device, list)), D)}`);
}
{
  // One call at a time, 6 buffers a bind group (the step graphs' mean): 75 of the call, plus what it needs to be valid.
  const list = bareDispatches(device, 6);
  const pipe = list[0][0];
  // The bind groups made for the first pipeline (every third dispatch): 'auto' layouts are the pipeline's own.
  const groups = list.filter((_, k) => k % 3 === 0).map((d) => d[1]);
  const same = Array.from({ length: D }, (_, k) => groups[k % groups.length]);
  const cases = {
    'setBindGroup + dispatch, one pipeline': (p) => { p.setPipeline(pipe); for (const g of same) { p.setBindGroup(0, g); p.dispatchWorkgroups(1); } },
    'dispatch alone, one bind group': (p) => { p.setPipeline(pipe); p.setBindGroup(0, same[0]); for (let k = 0; k < D; k++) p.dispatchWorkgroups(1); },
    'setBindGroup alone, then one dispatch': (p) => { p.setPipeline(pipe); for (const g of same) p.setBindGroup(0, g); p.dispatchWorkgroups(1); },
    'setPipeline alone, then one dispatch': (p) => { for (const [q] of list) p.setPipeline(q); p.setBindGroup(0, list[D - 1][1]); p.dispatchWorkgroups(1); },
  };
  for (const [name, body] of Object.entries(cases)) console.log(`by call, 6 buffers: ${name}: ${fmt(await timed(device, () => encodeBody(device, body)), D)}`);
}
await stepGraph(backend, 'small (24 layers, d_model 128)', { dModel: 128, nLayer: 24, vocabSize: 1000, ssmCfg: { layer: 'Mamba3', dState: 32, headdim: 32, chunkSize: 64 } });
if (!process.argv.includes('--small')) {
  await stepGraph(backend, '130M SISO', { dModel: 768, nLayer: 24, vocabSize: 50280, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } });
}
process.exit(0);
