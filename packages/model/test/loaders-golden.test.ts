import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { dispose, SafetensorsReader, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import type { MambaLMHeadModel } from '../src/index.js';
import { loadPretrained } from '../src/index.js';

/**
 * Every golden family folder through loadPretrained (layout auto-detected: official .bin, HF
 * safetensors): forward logits within the README's bounds and greedy ids identical.
 */
const CASES = [
  { name: 'lm_mamba1', layout: 'official', tol: 1e-4 },
  { name: 'lm_mamba2', layout: 'official', tol: 1e-3 },
  { name: 'lm_hybrid', layout: 'official', tol: 1e-3 },
  { name: 'lm_mamba3_mlp_bf16', layout: 'official', tol: 2e-2 },
  { name: 'hf_mamba1', layout: 'hf', tol: 1e-4 },
  { name: 'hf_mamba2', layout: 'hf', tol: 1e-4 },
];

const dir = (name: string): string => fileURLToPath(new URL(`../fixtures/family/${name}`, import.meta.url));

/**
 * Prompt, then n greedy ids over the full logits row, no early stop (prefill, then steps). The
 * HF goldens come from generate(min_new_tokens=12), which never picks config.json's eos id.
 */
async function greedy(model: MambaLMHeadModel, prompt: number[], n: number, suppress: number[]): Promise<number[]> {
  const out = [...prompt];
  const cache = model.allocateInferenceCache(1, { maxSeqlen: prompt.length + n });
  let logits: Tensor = model.prefill([prompt], cache);
  for (let i = 0; i < n; i++) {
    const row = await logits.data();
    let pick = -1;
    for (let v = 0; v < row.length; v++) if (!suppress.includes(v) && (pick < 0 || row[v] > row[pick])) pick = v;
    out.push(pick);
    logits.dispose();
    logits = model.step([pick], cache);
  }
  dispose([logits]);
  cache.dispose();
  return out;
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe.each(CASES)('loadPretrained($name)', ({ name, layout, tol }) => {
  it(`detects the ${layout} layout; logits within ${tol}; greedy ids identical`, async () => {
    const { model, layout: got, eosTokenIds } = await loadPretrained(dir(name));
    expect(got).toBe(layout);
    const io = await SafetensorsReader.fromBytes(readFileSync(`${dir(name)}/io.safetensors`));
    const ids = await io.tensor('input.ids');
    const logits = model.forward(ids);
    expect(logits.shape).toEqual(io.entry('expected.logits').shape);
    expect(relativeL2(await logits.data(), (await io.read('expected.logits')).values)).toBeLessThan(tol);
    if (io.names.includes('expected.greedy')) {
      const want = Array.from((await io.read('expected.greedy')).values);
      const prompt = want.slice(0, want.length - 12);
      expect(await greedy(model, prompt, 12, eosTokenIds)).toEqual(want);
    }
    dispose([ids, logits]);
    model.dispose();
  });
});
