#!/usr/bin/env node
// `generate`'s decode rate, for comparing two builds of it (issue 16): the 130M SISO model with
// random weights, greedy (TEMPERATURE=0, the default here), batch 1, a 16-token prompt; RUNS timed calls of TOKENS new tokens after
// an untimed one, each timed over its tokens after the first 16. Prints one line per weight
// dtype: the median and every run's tok/s.
// Usage: node generate-rate.mjs [runs] [tokens] [--small] (bundled with a build's @mamba3/model:
// esbuild's --alias:@mamba3/model=packages/model/dist/index.js, the build's dist in place).
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';
import { generate } from '@mamba3/model';
import { randomModel } from '../../apps/bench/dist/suites/model.js';
import { generateRate, median, probeConfig } from './decode-rates.mjs';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const RUNS = Number(process.argv[2] ?? 3);
// TEMPERATURE=1: generate's default, sampling on the device (call 6 of the fifteenth session ran that).
const TEMPERATURE = Number(process.env.TEMPERATURE ?? 0);
const TOKENS = Number(process.argv[3] ?? 512);
const CONFIG = probeConfig(process.argv);
const once = (model, tokens) => generateRate(generate, model, { tokens, temperature: TEMPERATURE, vocabSize: CONFIG.vocabSize });

const backend = await createWebGPUBackend({ name: 'webgpu-generate-rate' });
for (const dtype of (process.env.DTYPES ?? 'bfloat16,float32').split(',')) {
  const model = await randomModel(CONFIG, backend, dtype);
  await once(model, 64);
  const rates = [];
  for (let r = 0; r < RUNS; r++) rates.push(await once(model, TOKENS));
  console.log(`${dtype} median ${median(rates).toFixed(0)} tok/s; runs ${rates.map((x) => x.toFixed(0)).join(' ')}`);
  model.dispose();
}
process.exit(0);
