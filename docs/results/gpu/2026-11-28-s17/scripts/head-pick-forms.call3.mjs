#!/usr/bin/env node
// How many ids each of the argmax's keys should cover (lmHeadArgmax, issue 16, goal 1). The
// seventeenth session's first form (keys of 256 ids) made the greedy step ~10 µs slower on the GPU
// than the head with the argmax's two passes (head-pick.mjs, call 1); call 2 timed three ways of
// reaching the keys (an atomicMax for each logit, one only when a read key is beaten, one a thread
// after combining its logits) with keys of 256 and 16 ids, and kept the first with 16. Here, in one
// process, the 130M SISO model (vocabulary 50,277, padded to 50,280; bf16 and f32 weights) gets a
// greedy graph for the old step (`composite`: the kernel unregistered while it is captured) and
// one for keys of 16 to 256 ids (`kernels/webgpu/head-argmax.ts`, `headArgmaxKernelFor`). All must
// give the same 32 tokens. Then in rounds (alternating order): GPU µs a step from timestamps (8
// runs timed together, median of 9), and tok/s read back 8 steps at a time, 3 groups in flight.
// Development machine, after `pnpm build`: node tools/gpu/head-pick-forms.mjs [rounds] [tokens] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/head-pick-forms.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { getKernel, registerKernel, unregisterKernel } from '../../packages/tensor/dist/index.js';
import { headArgmaxKernelFor } from '../../packages/model/dist/kernels/webgpu/head-argmax.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { groupRate, median } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const ROUNDS = Number(process.argv[2] ?? 8);
const TOKENS = Number(process.argv[3] ?? 384);
const GROUP = 8;
const DEPTH = 3;
const CONFIG = process.argv.includes('--small')
  ? { dModel: 128, nLayer: 24, vocabSize: 997, ssmCfg: { layer: 'Mamba3', dState: 32, headdim: 32, chunkSize: 64 } }
  : { dModel: 768, nLayer: 24, vocabSize: 50277, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } };
const OP = 'lmHeadArgmax';

const backend = await createWebGPUBackend({ name: 'webgpu-head-pick-forms' });
const info = backend.device.adapterInfo ?? {};
console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown'}; ${ROUNDS} rounds of ${TOKENS} tokens a variant; vocabulary ${CONFIG.vocabSize}`);

/** A greedy graph captured with `kernel` registered for the op (none: the composite). */
function graphWith(model, kernel) {
  const saved = getKernel(OP, 'webgpu');
  unregisterKernel(OP, 'webgpu');
  if (kernel) registerKernel(kernel);
  try {
    return model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab: CONFIG.vocabSize });
  } finally {
    if (kernel) unregisterKernel(OP, 'webgpu');
    registerKernel(saved);
  }
}

async function tokens(graph, runs) {
  const out = [(await graph.read(0))[0]];
  while (out.length < runs) {
    graph.run();
    out.push((await graph.read(0))[0]);
  }
  return out;
}

const gpuUsPerStep = async (graph) => {
  const times = [];
  for (let i = 0; i < 9; i++) {
    await graph.readCollected(0);
    times.push(await backend.timeGpu(() => { for (let r = 0; r < GROUP; r++) graph.run(); }));
  }
  await graph.readCollected(0);
  return (1000 * median(times)) / GROUP;
};

for (const dtype of ['bfloat16', 'float32']) {
  const model = await randomModel(CONFIG, backend, dtype);
  const graphs = { composite: graphWith(model, null) };
  for (const chunk of [16, 32, 64, 128, 256]) graphs[`keys of ${chunk}`] = graphWith(model, headArgmaxKernelFor(chunk));
  const want = await tokens(graphs.composite, 32);
  for (const [name, g] of Object.entries(graphs)) {
    if (name === 'composite') continue;
    const got = await tokens(g, 32);
    console.log(`${dtype} ${name}: 32 tokens ${got.every((t, i) => t === want[i]) ? 'equal to the composite\'s' : `DIFFER: ${got} / ${want}`}`);
  }
  for (const g of Object.values(graphs)) g.collect(0, GROUP);
  const group = (g) => () => {
    for (let r = 0; r < GROUP; r++) g.run();
    return g.readCollected(0);
  };
  const gpu = Object.fromEntries(Object.keys(graphs).map((k) => [k, []]));
  const rates = Object.fromEntries(Object.keys(graphs).map((k) => [k, []]));
  for (const g of Object.values(graphs)) await groupRate(null, group(g), TOKENS, DEPTH); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = Object.entries(graphs);
    if (r % 2) order.reverse();
    for (const [name, g] of order) gpu[name].push(await gpuUsPerStep(g));
    for (const [name, g] of order) rates[name].push(await groupRate(null, group(g), TOKENS, DEPTH));
  }
  for (const name of Object.keys(graphs)) {
    const dGpu = median(gpu[name].map((x, k) => x - gpu.composite[k])).toFixed(1);
    const rRate = median(rates[name].map((x, k) => x / rates.composite[k])).toFixed(3);
    console.log(`${dtype} ${name.padEnd(12)} GPU median ${median(gpu[name]).toFixed(1)} µs a step (${dGpu} against composite); ${median(rates[name]).toFixed(0)} tok/s (/composite ${rRate}); GPU rounds ${gpu[name].map((x) => x.toFixed(1)).join(' ')}`);
  }
  for (const g of Object.values(graphs)) g.dispose();
  model.dispose();
}
process.exit(0);
