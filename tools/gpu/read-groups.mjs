#!/usr/bin/env node
// Fewer readbacks in the graph decode (issue 16, goal 1), probed. `generate` reads each token back
// (a copy, a submit and a map per step, three steps in flight). Here the 130M SISO greedy step
// graph runs in rounds; each round runs every variant for TOKENS tokens, in turn, so that the
// host's drift (its speed moves by up to 2x within a call) falls on all of them alike:
// - `per 1`: run, read (what generate does), 3 in flight;
// - `collect K`: K runs of a graph collecting output 0 (`StepGraph.collect`: a device-side log
//   each run copies its ids into), then one read of the K (`readCollected`), 3 groups in flight:
//   every token seen, one submit and one map per K (what `generate` does since the fifteenth session);
// - `copies K`: the same through the general API: each output copied as a tensor (`output(0)`),
//   then one read of the K (`concat`);
// - `last of K`: K runs, then a read of the last only (a bound: the K-1 others are not seen);
// - `no reads`: runs only, one read at the end of the round (the host's encode rate, or the GPU's);
// - `generate`: the model's `generate` (greedy, batch 1), TOKENS tokens after its first 16: its
//   own graph, prefill and paced groups (`GraphDecodeQueue`), as a user gets them;
// - `generate T=1`: the same with temperature 1 (`generate`'s default), drawn on the device by
//   the sampling step graph, which takes fresh uniforms written before each run.
// (Calls 5 and 6 of the fifteenth session ran `generate` with its default, temperature 1, and
// called it greedy: see BENCHMARKS.md.)
// Prints tok/s per round and the median over rounds, f32 and bf16 weights.
// Development machine, after `pnpm build`: node tools/gpu/read-groups.mjs [rounds] [tokens]
// GPU host: bundle.mjs bundles it as /tmp/m3/read-groups.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { concat, dispose } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { adapterName, DEPTH, generateRate, groupRate, median, probeConfig, roundsAndTokens } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const [ROUNDS, TOKENS] = roundsAndTokens(process.argv, 6);
const CONFIG = probeConfig(process.argv);

/** One group of runs and what reads it: a promise of its tokens. `graph` reads each run, `logged` collects output 0 (capacity 8). */
const groups = {
  'per 1': ({ graph }) => {
    graph.run();
    return graph.read(0);
  },
  ...Object.fromEntries(
    [4, 8].flatMap((k) => [
      [
        `collect ${k}`,
        ({ logged }) => {
          for (let r = 0; r < k; r++) logged.run();
          return logged.readCollected(0);
        },
      ],
      [
        `copies ${k}`,
        ({ graph }) => {
          const outs = [];
          for (let r = 0; r < k; r++) {
            graph.run();
            outs.push(graph.output(0));
          }
          const all = concat(outs);
          dispose(outs);
          return all.data().finally(() => all.dispose());
        },
      ],
      [
        `last of ${k}`,
        ({ graph }) => {
          for (let r = 0; r < k; r++) graph.run();
          return graph.read(0).then((t) => new Int32Array(k).fill(t[0]));
        },
      ],
    ]),
  ),
};

/** tok/s of `TOKENS` runs queued with no read until the last. */
async function noReads({ graph }) {
  const t0 = performance.now();
  for (let i = 0; i < TOKENS; i++) graph.run();
  await graph.read(0);
  return (1000 * TOKENS) / (performance.now() - t0);
}

const backend = await createWebGPUBackend({ name: 'webgpu-read-groups' });
console.log(`adapter: ${adapterName(backend)}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);
for (const dtype of ['bfloat16', 'float32']) {
  const model = await randomModel(CONFIG, backend, dtype);
  const graph = model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab: CONFIG.vocabSize });
  const logged = model.greedyStepGraph([1], model.allocateInferenceCache(1), { vocab: CONFIG.vocabSize });
  logged.collect(0, 8);
  const graphs = { graph, logged };
  const variants = { ...groups, 'no reads': null, generate: 0, 'generate T=1': 1 };
  const rates = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  // Warm-up: pipelines, staging buffers, the GPU's clocks.
  const rate = (group) => groupRate(graphs, group, TOKENS, DEPTH);
  for (const group of Object.values(groups)) await rate(group);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, group] of Object.entries(variants)) rates[name].push(typeof group === 'number' ? await generateRate(generate, model, { tokens: TOKENS, temperature: group, vocabSize: CONFIG.vocabSize }) : group ? await rate(group) : await noReads(graphs));
  }
  for (const [name, xs] of Object.entries(rates)) {
    console.log(`${dtype} ${name.padEnd(10)} median ${median(xs).toFixed(0).padStart(5)} tok/s; rounds ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
  graph.dispose();
  logged.dispose();
  model.dispose();
}
process.exit(0);
