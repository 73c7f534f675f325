#!/usr/bin/env node
// The greedy pick folded into the LM head (`lmHeadArgmax`, issue 16, goal 1), measured. Greedy
// step graphs used to end in the head GEMV and the argmax's two passes, with a copy of the logits
// before them when the vocabulary is shorter than the padded head (the released 130M: 50,277 ids,
// 50,280 rows). Now the argmax's first pass rides in the head's epilogue (an atomicMax of each
// logit's order key on its chunk's key) and the pick reads the first `vocab` logits in place.
// In one process, the 130M SISO model (bf16 and f32 weights) gets a greedy graph for the old step
// (`composite`: the kernel unregistered while the graph is captured) and graphs with the kernel;
// all must give the composite's first 32 tokens. Then in rounds (alternating order): GPU µs a
// step from timestamps (8 runs timed together, median of 9) and tok/s read back 8 steps at a
// time, 3 groups in flight.
// - default: the model's kernel (keys of 16 ids) at vocabularies of 50,280 and 50,277, with the
//   dispatches a step, and `generate` greedy and at T=1 in the same rounds;
// - `--chunks`: keys of 16 to 256 ids (`headArgmaxKernelFor`), vocabulary 50,277.
// Development machine, after `pnpm build`: node tools/gpu/head-pick.mjs [rounds] [tokens] [--chunks] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/head-pick.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { getKernel, registerKernel, unregisterKernel } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { headArgmaxKernelFor } from '../../packages/model/dist/kernels/webgpu/head-argmax.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { adapterName, generateRate, gpuUsPerStep, groupRate, median, probeConfig } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const ROUNDS = Number(process.argv[2] ?? 8);
const TOKENS = Number(process.argv[3] ?? 384);
const CHUNKS = process.argv.includes('--chunks');
const GROUP = 8;
const DEPTH = 3;
const OP = 'lmHeadArgmax';
const small = process.argv.includes('--small');
const vocabs = CHUNKS ? [small ? 997 : 50277] : small ? [1000, 997] : [50280, 50277];

const backend = await createWebGPUBackend({ name: 'webgpu-head-pick' });
console.log(`adapter: ${adapterName(backend)}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);

/** A greedy graph captured with `kernel` as the op's WebGPU kernel (null: none, the composite). */
function graphWith(model, vocab, kernel) {
  const saved = getKernel(OP, 'webgpu');
  unregisterKernel(OP, 'webgpu');
  if (kernel) registerKernel(kernel);
  try {
    return model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab });
  } finally {
    if (kernel) unregisterKernel(OP, 'webgpu');
    registerKernel(saved);
  }
}

/** Dispatches of one run, and the first `runs` tokens (run 0 included). */
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

for (const dtype of ['bfloat16', 'float32']) {
  for (const vocab of vocabs) {
    const model = await randomModel(probeConfig(process.argv, vocab), backend, dtype);
    const graphs = { composite: graphWith(model, vocab, null) };
    if (CHUNKS) for (const chunk of [16, 32, 64, 128, 256]) graphs[`keys of ${chunk}`] = graphWith(model, vocab, headArgmaxKernelFor(chunk));
    else graphs.fused = graphWith(model, vocab, getKernel(OP, 'webgpu'));
    const want = await dispatchesAndTokens(graphs.composite, 32);
    for (const [name, g] of Object.entries(graphs).slice(1)) {
      const got = await dispatchesAndTokens(g, 32);
      const same = got.tokens.every((t, i) => t === want.tokens[i]);
      console.log(`${dtype} vocab ${vocab} ${name}: ${got.dispatches} dispatches a step (composite ${want.dispatches}); 32 tokens ${same ? 'equal' : `DIFFER: ${got.tokens} / ${want.tokens}`}`);
    }
    for (const g of Object.values(graphs)) g.collect(0, GROUP);
    const rate = (g) =>
      groupRate(null, () => {
        for (let r = 0; r < GROUP; r++) g.run();
        return g.readCollected(0);
      }, TOKENS, DEPTH);
    const generated = CHUNKS ? {} : { 'generate greedy': 0, 'generate T=1': 1 };
    const rates = Object.fromEntries([...Object.keys(graphs), ...Object.keys(generated)].map((k) => [k, []]));
    const gpu = Object.fromEntries(Object.keys(graphs).map((k) => [k, []]));
    for (const g of Object.values(graphs)) await rate(g); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const order = Object.entries(graphs);
      const gens = Object.entries(generated);
      if (r % 2) {
        order.reverse();
        gens.reverse();
      }
      for (const [name, g] of order) gpu[name].push(await gpuUsPerStep(backend, g, GROUP));
      for (const [name, g] of order) rates[name].push(await rate(g));
      for (const [name, temperature] of gens) rates[name].push(await generateRate(generate, model, { tokens: TOKENS, temperature, vocabSize: vocab, seed: 3 }));
    }
    for (const [name, xs] of Object.entries(rates)) {
      const vs = median(xs.map((x, k) => x / rates.composite[k])).toFixed(3);
      const g = gpu[name] ? `; GPU median ${median(gpu[name]).toFixed(1)} µs a step (${median(gpu[name].map((x, k) => x - gpu.composite[k])).toFixed(1)} against composite), rounds ${gpu[name].map((x) => x.toFixed(1)).join(' ')}` : '';
      console.log(`${dtype} vocab ${vocab} ${name.padEnd(16)} median ${median(xs).toFixed(0).padStart(5)} tok/s (/composite ${vs}), rounds ${xs.map((x) => x.toFixed(0)).join(' ')}${g}`);
    }
    for (const g of Object.values(graphs)) g.dispose();
    model.dispose();
  }
}
process.exit(0);
