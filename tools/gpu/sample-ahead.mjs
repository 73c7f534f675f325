#!/usr/bin/env node
// Sampling's per-step upload in the graph decode (issue 16, goal 1), measured. `generate` at its
// default temperature 1 decodes through the sampling step graph, which takes one uniform per
// sequence a step. Until the sixteenth session each run was preceded by its own write (an upload
// and a copy); now a group's draws go up in one `StepGraph.writeAhead` and each run copies its row
// on the device. The 130M SISO model runs in rounds; each round runs every variant for TOKENS
// tokens, in turn, so that the host's drift (its speed moves by up to 2x within a call) falls on
// all of them alike. Every variant reads its ids back 8 steps at a time, 3 groups in flight:
// - `greedy`: the greedy step graph (no per-step input: the bound for sampling);
// - `write each run`: the sampling graph, `write(1, u)` before each run (the old way);
// - `writeAhead`: the sampling graph, one `writeAhead(1, u×8, 8)` a group (the new way);
// - `no writes`: the sampling graph with one draw for every run (a bound: no upload, no row copy);
// - `generate greedy` / `generate T=1`: the model's `generate` (batch 1), TOKENS tokens after its
//   first 16, with its own graph, prefill and paced groups, as a user gets them.
// Rounds alternate the variants' order (forward, then reversed). Before call 6 of the sixteenth
// session every round ran them forward, `generate T=1` always last.
// Prints tok/s per round, the median over rounds, and each variant's median ratio to `greedy` and
// to `write each run` within rounds; f32 and bf16 weights.
// Development machine, after `pnpm build`: node tools/gpu/sample-ahead.mjs [rounds] [tokens] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/sample-ahead.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { Rng } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { adapterName, DEPTH, generateRate, GROUP, groupRate, median, probeConfig, roundsAndTokens } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const [ROUNDS, TOKENS] = roundsAndTokens(process.argv);
const CONFIG = probeConfig(process.argv);
const rng = new Rng(1);

/** One group of GROUP runs of a graph collecting output 0, then one read of the group. */
const groups = {
  greedy: ({ greedy }) => {
    for (let r = 0; r < GROUP; r++) greedy.run();
    return greedy.readCollected(0);
  },
  'write each run': ({ sampled }) => {
    for (let r = 0; r < GROUP; r++) {
      sampled.write(1, [rng.uniform()]);
      sampled.run();
    }
    return sampled.readCollected(0);
  },
  'no writes': ({ sampled }) => {
    for (let r = 0; r < GROUP; r++) sampled.run();
    return sampled.readCollected(0);
  },
  writeAhead: ({ sampled }) => {
    sampled.writeAhead(1, Array.from({ length: GROUP }, () => rng.uniform()), GROUP);
    for (let r = 0; r < GROUP; r++) sampled.run();
    return sampled.readCollected(0);
  },
};

const backend = await createWebGPUBackend({ name: 'webgpu-sample-ahead' });
console.log(`adapter: ${adapterName(backend)}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);
for (const dtype of ['bfloat16', 'float32']) {
  const model = await randomModel(CONFIG, backend, dtype);
  const opts = { vocab: CONFIG.vocabSize };
  const greedy = model.greedyStepGraph([1], model.allocateInferenceCache(1), opts);
  const sampled = model.samplingStepGraph([1], model.allocateInferenceCache(1), { ...opts, temperature: 1, uniforms: [0.5] });
  greedy.collect(0, GROUP);
  sampled.collect(0, GROUP);
  const graphs = { greedy, sampled };
  const variants = { ...groups, 'generate greedy': 0, 'generate T=1': 1 };
  const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const rate = (group) => groupRate(graphs, group, TOKENS, DEPTH);
  for (const group of Object.values(groups)) await rate(group); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    // Odd rounds run the variants in reverse: a drift within a round falls on both ends alike.
    const order = Object.entries(variants);
    if (r % 2) order.reverse();
    for (const [name, v] of order) rates[name].push(typeof v === 'number' ? await generateRate(generate, model, { tokens: TOKENS, temperature: v, vocabSize: CONFIG.vocabSize, seed: 3 }) : await rate(v));
  }
  for (const [name, xs] of Object.entries(rates)) {
    const vs = (base) => median(xs.map((x, k) => x / rates[base][k])).toFixed(3);
    console.log(`${dtype} ${name.padEnd(16)} median ${median(xs).toFixed(0).padStart(5)} tok/s; /greedy ${vs('greedy')}; /write each run ${vs('write each run')}; rounds ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
  greedy.dispose();
  sampled.dispose();
  model.dispose();
}
process.exit(0);
