#!/usr/bin/env node
// The greedy pick folded into the LM head (`lmHeadArgmax`, issue 16, goal 1), measured. Greedy
// step graphs used to end in the head GEMV and the argmax's two passes, with a copy of the logits
// before them when the vocabulary is shorter than the padded head (the released 130M: 50,277 ids,
// 50,280 rows). Now the argmax's first pass rides in the head's epilogue and the pick reads the
// first `vocab` logits in place: 76 -> 75 dispatches a step (77 -> 75 for the released vocabulary),
// and a sampled step 77 -> 76 there.
// In one process, each model (130M SISO, vocabulary 50,280 then 50,277; bf16 and f32 weights)
// gets two greedy graphs: `fused` (as generate now runs) and `composite` (the kernel unregistered
// while it is captured: the head, the copy where the vocabulary is short, the argmax's two passes:
// the old step). Both must give the same tokens. Then in rounds (alternating order): tok/s of each
// graph read back 8 steps at a time, 3 groups in flight, `generate` greedy and at T=1; and GPU µs
// a step from timestamps (8 runs timed together, median of 9, alternating).
// Development machine, after `pnpm build`: node tools/gpu/head-pick.mjs [rounds] [tokens] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/head-pick.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { getKernel, registerKernel, unregisterKernel } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { generateRate, groupRate, median } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const ROUNDS = Number(process.argv[2] ?? 8);
const TOKENS = Number(process.argv[3] ?? 384);
const GROUP = 8;
const DEPTH = 3;
const SMALL = process.argv.includes('--small');
const BASE = SMALL
  ? { dModel: 128, nLayer: 24, ssmCfg: { layer: 'Mamba3', dState: 32, headdim: 32, chunkSize: 64 } }
  : { dModel: 768, nLayer: 24, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } };
const VOCABS = SMALL ? [1000, 997] : [50280, 50277];

const backend = await createWebGPUBackend({ name: 'webgpu-head-pick' });
const info = backend.device.adapterInfo ?? {};
console.log(`adapter: ${[info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown'}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);

/** The greedy graph with the fused kernel, and one captured while it is unregistered. */
function greedyGraphs(model, vocab) {
  const fused = model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab });
  const kernel = getKernel('lmHeadArgmax', 'webgpu');
  unregisterKernel('lmHeadArgmax', 'webgpu');
  try {
    return { fused, composite: model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab }) };
  } finally {
    registerKernel(kernel);
  }
}

/** Dispatches of one run, and the first `runs` tokens (the graph's run 0 included). */
async function dispatchesAndTokens(graph, runs) {
  const tokens = [(await graph.read(0))[0]];
  const d0 = backend.stats().dispatches;
  graph.run();
  const dispatches = backend.stats().dispatches - d0;
  tokens.push((await graph.read(0))[0]);
  while (tokens.length < runs) {
    graph.run();
    tokens.push((await graph.read(0))[0]);
  }
  return { dispatches, tokens };
}

const gpuUsPerStep = async (graph) => {
  const times = [];
  for (let i = 0; i < 9; i++) {
    await graph.readCollected(0); // empties the log the timed runs write (as generate's steps do)
    times.push(await backend.timeGpu(() => { for (let r = 0; r < GROUP; r++) graph.run(); }));
  }
  await graph.readCollected(0);
  return (1000 * median(times)) / GROUP;
};

for (const dtype of ['bfloat16', 'float32']) {
  for (const vocabSize of VOCABS) {
    const model = await randomModel({ ...BASE, vocabSize }, backend, dtype);
    const graphs = greedyGraphs(model, vocabSize);
    const checks = {};
    for (const [name, g] of Object.entries(graphs)) checks[name] = await dispatchesAndTokens(g, 32);
    const same = checks.fused.tokens.every((t, i) => t === checks.composite.tokens[i]);
    console.log(`${dtype} vocab ${vocabSize}: dispatches a step fused ${checks.fused.dispatches}, composite ${checks.composite.dispatches}; 32 tokens ${same ? 'equal' : `DIFFER: ${checks.fused.tokens} / ${checks.composite.tokens}`}`);
    for (const g of Object.values(graphs)) g.collect(0, GROUP);
    const group = (g) => () => {
      for (let r = 0; r < GROUP; r++) g.run();
      return g.readCollected(0);
    };
    const variants = {
      fused: () => groupRate(null, group(graphs.fused), TOKENS, DEPTH),
      composite: () => groupRate(null, group(graphs.composite), TOKENS, DEPTH),
      'generate greedy': () => generateRate(generate, model, { tokens: TOKENS, temperature: 0, vocabSize, seed: 3 }),
      'generate T=1': () => generateRate(generate, model, { tokens: TOKENS, temperature: 1, vocabSize, seed: 3 }),
    };
    const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
    const gpu = { fused: [], composite: [] };
    await variants.fused();
    await variants.composite();
    for (let r = 0; r < ROUNDS; r++) {
      const order = Object.entries(variants);
      if (r % 2) order.reverse();
      for (const [name, run] of order) rates[name].push(await run());
      const pair = r % 2 ? ['composite', 'fused'] : ['fused', 'composite'];
      for (const name of pair) gpu[name].push(await gpuUsPerStep(graphs[name]));
    }
    for (const [name, xs] of Object.entries(rates)) {
      const vs = median(xs.map((x, k) => x / rates.composite[k])).toFixed(3);
      console.log(`${dtype} vocab ${vocabSize} ${name.padEnd(16)} median ${median(xs).toFixed(0).padStart(5)} tok/s; /composite ${vs}; rounds ${xs.map((x) => x.toFixed(0)).join(' ')}`);
    }
    for (const [name, xs] of Object.entries(gpu)) {
      console.log(`${dtype} vocab ${vocabSize} ${name.padEnd(16)} GPU median ${median(xs).toFixed(1)} µs a step; rounds ${xs.map((x) => x.toFixed(1)).join(' ')}`);
    }
    for (const g of Object.values(graphs)) g.dispose();
    model.dispose();
  }
}
process.exit(0);
