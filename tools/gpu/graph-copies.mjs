#!/usr/bin/env node
// A step graph run's own copies (issue 16, goal 1): each run of generate's graphs copies its picked
// ids into the log read back a group at a time (`collect`), and a sampled run first copies its
// draw from the rows written ahead (`writeAhead`). As buffer copies ('copy') each ends the compute
// pass; as copy dispatches ('dispatch', `RuntimeOptions.graphCopies`) they stay inside it. In one
// process, two backends (one per setting) each hold the same 130M SISO model (random weights, seed
// 0; bf16 then f32) and run, in rounds of alternating order: the greedy graph and the sampled
// graph (T=1, draws written ahead), each read back 8 steps at a time with 3 groups in flight, and
// `generate` greedy and at T=1; tok/s, and GPU µs a greedy step (with its log copy) from
// timestamps. The two greedy graphs must give the same 32 tokens.
// Development machine, after `pnpm build`: node tools/gpu/graph-copies.mjs [rounds] [tokens] [--small]
// GPU host: bundle.mjs bundles it as /tmp/m3/graph-copies.mjs.
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { Rng } from '../../packages/tensor/dist/index.js';
import { generate } from '../../packages/model/dist/index.js';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { adapterName, DEPTH, generateRate, gpuUsPerStep, GROUP, groupRate, median, probeConfig, roundsAndTokens } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const [ROUNDS, TOKENS] = roundsAndTokens(process.argv);
const CONFIG = probeConfig(process.argv);
const SETTINGS = ['copy', 'dispatch'];
const rng = new Rng(1);

const backends = {};
for (const graphCopies of SETTINGS) backends[graphCopies] = await createWebGPUBackend({ name: `webgpu-${graphCopies}`, graphCopies });
console.log(`adapter: ${adapterName(backends.copy)}; ${ROUNDS} rounds of ${TOKENS} tokens a variant`);

async function tokens(graph, runs) {
  const out = [(await graph.read(0))[0]];
  while (out.length < runs) {
    graph.run();
    out.push((await graph.read(0))[0]);
  }
  return out;
}

for (const dtype of ['bfloat16', 'float32']) {
  const setups = {};
  for (const s of SETTINGS) {
    const model = await randomModel(CONFIG, backends[s], dtype);
    const opts = { vocab: CONFIG.vocabSize };
    const greedy = model.greedyStepGraph([1], model.allocateInferenceCache(1), opts);
    const sampled = model.samplingStepGraph([1], model.allocateInferenceCache(1), { ...opts, temperature: 1, uniforms: [0.5] });
    setups[s] = { model, greedy, sampled, first: await tokens(greedy, 32) };
    greedy.collect(0, GROUP);
    sampled.collect(0, GROUP);
  }
  const same = setups.copy.first.every((t, i) => t === setups.dispatch.first[i]);
  console.log(`${dtype}: the two greedy graphs' first 32 tokens ${same ? 'equal' : `DIFFER: ${setups.copy.first} / ${setups.dispatch.first}`}`);
  const kinds = {
    greedy: (x) => groupRate(null, () => {
      for (let r = 0; r < GROUP; r++) x.greedy.run();
      return x.greedy.readCollected(0);
    }, TOKENS, DEPTH),
    sampled: (x) => groupRate(null, () => {
      x.sampled.writeAhead(1, Array.from({ length: GROUP }, () => rng.uniform()), GROUP);
      for (let r = 0; r < GROUP; r++) x.sampled.run();
      return x.sampled.readCollected(0);
    }, TOKENS, DEPTH),
    'generate greedy': (x) => generateRate(generate, x.model, { tokens: TOKENS, temperature: 0, vocabSize: CONFIG.vocabSize, seed: 3 }),
    'generate T=1': (x) => generateRate(generate, x.model, { tokens: TOKENS, temperature: 1, vocabSize: CONFIG.vocabSize, seed: 3 }),
  };
  const variants = Object.entries(kinds).flatMap(([k, f]) => SETTINGS.map((s) => [`${k} ${s}`, () => f(setups[s])]));
  const rates = Object.fromEntries(variants.map(([name]) => [name, []]));
  const gpu = Object.fromEntries(SETTINGS.map((s) => [s, []]));
  for (const s of SETTINGS) await kinds.greedy(setups[s]); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const [name, run] of order) rates[name].push(await run());
    for (const s of r % 2 ? [...SETTINGS].reverse() : SETTINGS) gpu[s].push(await gpuUsPerStep(backends[s], setups[s].greedy, GROUP));
  }
  for (const k of Object.keys(kinds)) {
    const [a, b] = SETTINGS.map((s) => rates[`${k} ${s}`]);
    const ratio = median(b.map((x, i) => x / a[i])).toFixed(3);
    console.log(`${dtype} ${k.padEnd(16)} copy ${median(a).toFixed(0).padStart(5)} tok/s, dispatch ${median(b).toFixed(0).padStart(5)} (dispatch / copy within rounds ${ratio}, faster in ${b.filter((x, i) => x > a[i]).length} of ${b.length}); rounds ${a.map((x) => x.toFixed(0)).join(' ')} / ${b.map((x) => x.toFixed(0)).join(' ')}`);
  }
  console.log(`${dtype} greedy GPU µs a step: copy ${median(gpu.copy).toFixed(1)}, dispatch ${median(gpu.dispatch).toFixed(1)}; rounds ${gpu.copy.map((x) => x.toFixed(1)).join(' ')} / ${gpu.dispatch.map((x) => x.toFixed(1)).join(' ')}`);
  for (const x of Object.values(setups)) {
    x.greedy.dispose();
    x.sampled.dispose();
    x.model.dispose();
  }
}
process.exit(0);
