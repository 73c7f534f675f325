// The default model's decode on wasm with and without the step graph, in one process, interleaved:
// `node tools/bench/wasm-step-graph.mjs [rounds]` from the repository root after `pnpm build`.
// Each round: 400 tokens with the demo's sampling (temperature 0.8, top-p 0.95, seed 1) through
// the logits step graph, then the same through the op layer (`stepGraph: false`); the tokens must agree.
import { createWasmBackend } from '../../packages/backend-wasm/dist/index.js';
import { loadDefaultModel } from '../../packages/default-model/dist/index.js';

const rounds = Number(process.argv[2] ?? 5);
const backend = await createWasmBackend({});
const model = await loadDefaultModel({ backend });
const opts = { maxNewTokens: 400, temperature: 0.8, topP: 0.95, seed: 1 };
const time = async (stepGraph) => {
  const t0 = performance.now();
  const r = await model.generateText('ROMEO:\n', { ...opts, stepGraph });
  return { ms: performance.now() - t0, ids: r.sequences[0].ids };
};
console.log(`wasm ${backend.info.device}, load ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
for (let k = 0; k < rounds; k++) {
  const g = await time(true);
  const o = await time(false);
  const same = g.ids.length === o.ids.length && g.ids.every((id, i) => id === o.ids[i]);
  console.log(`round ${k + 1}: graph ${(400 / g.ms * 1000).toFixed(0)} tokens/s, op layer ${(400 / o.ms * 1000).toFixed(0)} tokens/s, same tokens: ${same}`);
}
model.dispose();
backend.dispose?.();
process.exit(0);
