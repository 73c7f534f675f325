#!/usr/bin/env node
// Host cost of encoding decode-step dispatches (issue 16): a bare loop of Dawn calls (setPipeline,
// setBindGroup, dispatchWorkgroups over 75 dispatches, then finish and submit) with 2-10 buffers
// a bind group, beside one replayed greedy step graph of a 24-layer small Mamba-3 model (run(),
// then the readback's copy, submit and map: what `generate` queues a token). Each timed alone,
// the GPU idle between runs (medians of 300). Run after `pnpm build`, from the repo root:
// node tools/gpu/encode-cost.mjs
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const webgpu = createRequire(join(root, 'packages/backend-webgpu/package.json'))('webgpu');
Object.assign(globalThis, webgpu.globals);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1] * 1000;
const RUNS = 300;
const D = 75;

async function bareLoop(device, buffers) {
  const decl = Array.from({ length: buffers }, (_, j) => `@group(0) @binding(${j}) var<storage, ${j ? 'read' : 'read_write'}> b${j}: array<f32>;`).join('\n');
  const sum = Array.from({ length: buffers - 1 }, (_, j) => `b${j + 1}[g.x]`).join(' + ');
  const pipes = [0, 1, 2].map((i) => device.createComputePipeline({ layout: 'auto', compute: { entryPoint: 'main', module: device.createShaderModule({ code: `${decl}\n@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) { if (g.x < 4u) { b0[g.x] = ${sum} + ${i}.0; } }` }) } }));
  const pool = Array.from({ length: 400 }, () => device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE }));
  const groups = Array.from({ length: D }, (_, k) => device.createBindGroup({ layout: pipes[k % 3].getBindGroupLayout(0), entries: Array.from({ length: buffers }, (_, j) => ({ binding: j, resource: { buffer: pool[(buffers * k + j) % 400] } })) }));
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    for (let k = 0; k < D; k++) {
      pass.setPipeline(pipes[k % 3]);
      pass.setBindGroup(0, groups[k]);
      pass.dispatchWorkgroups(1);
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    times.push(performance.now() - t0);
    await device.queue.onSubmittedWorkDone();
  }
  return median(times);
}

async function replayedStep() {
  const mod = (p) => import(pathToFileURL(join(root, p)).href);
  const { createWebGPUBackend } = await mod('packages/backend-webgpu/dist/index.js');
  const { MambaLMHeadModel } = await mod('packages/model/dist/index.js');
  // kickDispatches 0: no early submit inside the step, as when earlier steps are in flight.
  const backend = await createWebGPUBackend({ name: 'webgpu-encode-cost', kickDispatches: 0 });
  bareDevice = backend.device;
  const model = MambaLMHeadModel.create({ dModel: 128, nLayer: 24, vocabSize: 1000, ssmCfg: { layer: 'Mamba3', dState: 32, headdim: 32, chunkSize: 64 } }, { seed: 0, backend });
  const graph = model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab: 1000 });
  await graph.read(0);
  const before = backend.stats().replayedDispatches;
  const times = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    graph.run();
    const pending = graph.read(0);
    times.push(performance.now() - t0);
    await pending;
  }
  const dispatches = (backend.stats().replayedDispatches - before) / RUNS;
  graph.dispose();
  return { us: median(times), dispatches };
}

// The bare loops use the backend's device: a second Dawn instance in one process aborts on lavapipe.
let bareDevice = null;
const step = await replayedStep();
const device = bareDevice;
for (const buffers of [2, 5, 10]) {
  const us = await bareLoop(device, buffers);
  console.log(`bare loop, ${buffers} buffers a bind group: ${us.toFixed(0)} µs for ${D} dispatches (${(us / D).toFixed(2)} µs each)`);
}
console.log(`replayed step graph: ${step.us.toFixed(0)} µs for ${step.dispatches} dispatches (${(step.us / step.dispatches).toFixed(2)} µs each)`);
process.exit(0);
