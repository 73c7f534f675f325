// Host sampling cost per token at a 50,280-id vocabulary (GPT-NeoX's), on flat and peaked random
// logits: `node tools/bench/sampling.mjs [sampling.js]` from the repository root after `pnpm build`
// (default: packages/model/dist/sampling.js; pass another build's file to compare).
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { Rng } from '../../packages/tensor/dist/index.js';

const file = resolve(process.argv[2] ?? 'packages/model/dist/sampling.js');
const { sampleToken, checkSampling } = await import(pathToFileURL(file).href);
const V = 50280;
const rng = new Rng(1);
for (const [name, scale] of [['flat (normal x3)', 3], ['peaked (normal x6)', 6]]) {
  const logits = Float32Array.from({ length: V }, () => rng.normal() * scale);
  for (const o of [{ temperature: 0.8, topP: 0.95 }, { temperature: 0.8, topK: 40 }, { temperature: 0.8 }]) {
    const s = checkSampling(o);
    const r = new Rng(2);
    for (let i = 0; i < 10; i++) sampleToken(logits, V, s, r);
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) sampleToken(logits, V, s, r);
    console.log(`${name} ${JSON.stringify(o)}: ${((performance.now() - t0) / 50).toFixed(2)} ms/token`);
  }
}
