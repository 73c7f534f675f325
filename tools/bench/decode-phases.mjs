// The CPU demo's decode (default model, wasm, 400 tokens, the demo's sampling) in fresh processes,
// split into its warm-up (tokens 2-200) and steady (200-400) phases; several builds interleaved:
//   node tools/bench/decode-phases.mjs [--rounds N] [ROOT ...]
// Each ROOT is a checkout (or a copy of its packages/) after `pnpm build`; default: this one.
// Prints per ROOT the median decode time and tokens/s over the rounds, and the phases' medians.
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
if (args[0] === '--child') {
  const root = pathToFileURL(resolve(args[1])).href;
  const { createWasmBackend } = await import(`${root}/packages/backend-wasm/dist/index.js`);
  const { loadDefaultModel } = await import(`${root}/packages/default-model/dist/index.js`);
  const backend = await createWasmBackend({});
  const model = await loadDefaultModel({ backend });
  const at = [];
  await model.generateText('ROMEO:\n', { maxNewTokens: 400, temperature: 0.8, topP: 0.95, seed: 1, onChunk: () => at.push(performance.now()) });
  console.log(JSON.stringify([at[399] - at[0], at[200] - at[1], at[399] - at[200]]));
  process.exit(0);
}

let rounds = 8;
const roots = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--rounds') rounds = Number(args[++i]);
  else roots.push(args[i]);
}
if (roots.length === 0) roots.push(resolve(fileURLToPath(new URL('../..', import.meta.url))));
const runs = new Map(roots.map((r) => [r, []]));
console.log(`${rounds} rounds, load ${loadavg()[0].toFixed(2)}`);
for (let k = 0; k < rounds; k++) {
  for (const r of roots) runs.get(r).push(JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--child', r], { encoding: 'utf8' })));
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const [r, v] of runs) {
  const decode = median(v.map((x) => x[0]));
  console.log(
    `${r}: decode ${decode.toFixed(1)} ms (${((399 / decode) * 1000).toFixed(0)} tokens/s), min ${Math.min(...v.map((x) => x[0])).toFixed(1)}; ` +
      `tokens 2-200 ${median(v.map((x) => x[1])).toFixed(1)} ms, 200-400 ${median(v.map((x) => x[2])).toFixed(1)} ms`,
  );
}
console.log(`load ${loadavg()[0].toFixed(2)}`);
