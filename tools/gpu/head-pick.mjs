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
// - `--next-rows` (eighteenth session): the picks that write the next step's embedded rows
//   (`lmHeadArgmaxEmbed`, `sampleByInverseCdfEmbed`) against their composites (the ids-only
//   kernel, then the embedding's gather: the step before; since a4e9e2e the composites also clamp
//   a -1 id before the gather, one dispatch more than the step before), greedy and sampled at T=1
//   (each group's draws written ahead, as generate does), vocabulary 50,277.
// Development machine, after `pnpm build`: node tools/gpu/head-pick.mjs [rounds] [tokens] [--chunks | --next-rows] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/head-pick.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { getKernel, registerKernel, unregisterKernel } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { headArgmaxKernelFor } from '../../packages/model/dist/kernels/webgpu/head-argmax.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { adapterName, DEPTH, generateRate, gpuUsPerStep, GROUP, groupRate, median, probeConfig, roundsAndTokens } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const [ROUNDS, TOKENS] = roundsAndTokens(process.argv);
const CHUNKS = process.argv.includes('--chunks');
const NEXT_ROWS = process.argv.includes('--next-rows');
const OP = NEXT_ROWS ? 'lmHeadArgmaxEmbed' : 'lmHeadArgmax';
const SAMPLED_OP = 'sampleByInverseCdfEmbed';
const small = process.argv.includes('--small');
const vocabs = CHUNKS || NEXT_ROWS ? [small ? 997 : 50277] : small ? [1000, 997] : [50280, 50277];
/** One group's draws for a sampled graph (written ahead each group). */
const DRAWS = Array.from({ length: GROUP }, (_, k) => (k + 0.5) / GROUP);

const backend = await createWebGPUBackend({ name: 'webgpu-head-pick' });
console.log(`adapter: ${adapterName(backend)}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);

/**
 * A graph captured with `kernel` as `op`'s WebGPU kernel (null: none, the composite): greedy, or
 * with `sampled` a sampling graph at T=1.
 */
function graphWith(model, vocab, kernel, op = OP, sampled = false) {
  const saved = getKernel(op, 'webgpu');
  unregisterKernel(op, 'webgpu');
  if (kernel) registerKernel(kernel);
  try {
    const cache = model.allocateInferenceCache(1);
    return sampled ? model.samplingStepGraph([1], cache, { vocab, temperature: 1, uniforms: [DRAWS[0]] }) : model.greedyStepGraph([1], cache, { vocab });
  } finally {
    if (kernel) unregisterKernel(op, 'webgpu');
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
    if (NEXT_ROWS) {
      graphs['sampled composite'] = graphWith(model, vocab, null, SAMPLED_OP, true);
      graphs['sampled fused'] = graphWith(model, vocab, getKernel(SAMPLED_OP, 'webgpu'), SAMPLED_OP, true);
    }
    /** The graph each is compared with: its composite. */
    const baseOf = (name) => (name.startsWith('sampled') ? 'sampled composite' : 'composite');
    const wants = {};
    for (const [name, g] of Object.entries(graphs)) {
      const got = await dispatchesAndTokens(g, 32);
      if (name === baseOf(name)) {
        wants[name] = got;
        continue;
      }
      const want = wants[baseOf(name)];
      const same = got.tokens.every((t, i) => t === want.tokens[i]);
      console.log(`${dtype} vocab ${vocab} ${name}: ${got.dispatches} dispatches a step (its composite ${want.dispatches}); 32 tokens ${same ? 'equal' : `DIFFER: ${got.tokens} / ${want.tokens}`}`);
    }
    for (const g of Object.values(graphs)) g.collect(0, GROUP);
    const rate = (g, name) =>
      groupRate(null, () => {
        if (name.startsWith('sampled')) g.writeAhead(1, DRAWS, GROUP);
        for (let r = 0; r < GROUP; r++) g.run();
        return g.readCollected(0);
      }, TOKENS, DEPTH);
    const generated = CHUNKS || NEXT_ROWS ? {} : { 'generate greedy': 0, 'generate T=1': 1 };
    const rates = Object.fromEntries([...Object.keys(graphs), ...Object.keys(generated)].map((k) => [k, []]));
    const gpu = Object.fromEntries(Object.keys(graphs).map((k) => [k, []]));
    for (const [name, g] of Object.entries(graphs)) await rate(g, name); // warm-up
    for (let r = 0; r < ROUNDS; r++) {
      const order = Object.entries(graphs);
      const gens = Object.entries(generated);
      if (r % 2) {
        order.reverse();
        gens.reverse();
      }
      for (const [name, g] of order) gpu[name].push(await gpuUsPerStep(backend, g, GROUP));
      for (const [name, g] of order) rates[name].push(await rate(g, name));
      for (const [name, temperature] of gens) rates[name].push(await generateRate(generate, model, { tokens: TOKENS, temperature, vocabSize: vocab, seed: 3 }));
    }
    for (const [name, xs] of Object.entries(rates)) {
      const base = baseOf(name);
      const vs = median(xs.map((x, k) => x / rates[base][k])).toFixed(3);
      const g = gpu[name] ? `; GPU median ${median(gpu[name]).toFixed(1)} µs a step (${median(gpu[name].map((x, k) => x - gpu[base][k])).toFixed(1)} against ${base}), rounds ${gpu[name].map((x) => x.toFixed(1)).join(' ')}` : '';
      console.log(`${dtype} vocab ${vocab} ${name.padEnd(17)} median ${median(xs).toFixed(0).padStart(5)} tok/s (/${base} ${vs}), rounds ${xs.map((x) => x.toFixed(0)).join(' ')}${g}`);
    }
    for (const g of Object.values(graphs)) g.dispose();
    model.dispose();
  }
}
process.exit(0);
