import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { argMax, bytesSource, concat, reshape, sliceAxis, dispose, openTensorFile, SafetensorsReader, setBackend, tensor, tidy } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import { fromConfigJson, MambaLMHeadModel } from '../src/index.js';

/**
 * The official MambaLMHeadModel checkpoints of the golden family folders (config.json +
 * pytorch_model.bin, read without executing the pickle), against the official logits.
 * Bounds from the family README: 1e-4 for Mamba-1 and every step path; 1e-3 for the official
 * Mamba-2 and hybrid forward (TF32 Triton kernels); 2e-2 for the bf16 Mamba-3 case.
 */
const CASES = [
  { name: 'lm_mamba1', forwardTol: 1e-4 },
  { name: 'lm_mamba2', forwardTol: 1e-3 },
  { name: 'lm_hybrid', forwardTol: 1e-3 },
  { name: 'lm_mamba3_mlp_bf16', forwardTol: 2e-2 },
];
const STEP_TOL = 1e-4;

const file = (name: string, f: string): Uint8Array => readFileSync(new URL(`../fixtures/family/${name}/${f}`, import.meta.url));

async function load(name: string, backend?: Backend): Promise<{ model: MambaLMHeadModel; io: SafetensorsReader }> {
  const config = fromConfigJson(JSON.parse(new TextDecoder().decode(file(name, 'config.json'))) as Record<string, unknown>);
  const reader = await openTensorFile(bytesSource(file(name, 'pytorch_model.bin')), `${name}/pytorch_model.bin`);
  const weights: Record<string, Tensor> = {};
  for (const n of reader.names) {
    const d = await reader.read(n);
    weights[n] = tensor(d.values, d.shape, { dtype: 'float32', ...(backend ? { backend } : {}) });
  }
  await reader.close();
  return { model: MambaLMHeadModel.fromWeights(config, weights), io: await SafetensorsReader.fromBytes(file(name, 'io.safetensors')) };
}

beforeAll(async () => {
  await setBackend('cpu');
});

describe.each(CASES)('golden $name (official config.json + pytorch_model.bin)', ({ name, forwardTol }) => {
  it(`forward logits within ${forwardTol} of the official ones, same argmax`, async () => {
    const { model, io } = await load(name);
    const ids = await io.tensor('input.ids');
    const expected = (await io.read('expected.logits')).values;
    const logits = model.forward(ids);
    expect(logits.shape).toEqual(io.entry('expected.logits').shape);
    const err = relativeL2(await logits.data(), expected);
    expect(err).toBeLessThan(forwardTol);
    const ours = await tidy(() => argMax(logits, -1)).data();
    const V = logits.shape[2];
    let same = 0;
    for (let i = 0; i < ours.length; i++) {
      let best = 0;
      for (let v = 1; v < V; v++) if (expected[i * V + v] > expected[i * V + best]) best = v;
      if (ours[i] === best) same++;
    }
    expect(same).toBe(ours.length);
    dispose([logits, ids]);
    model.dispose();
  });

  it('prefill of half + one step per token reproduces the forward (and the official step logits where given)', async () => {
    const { model, io } = await load(name);
    const ids = await io.tensor('input.ids');
    const [b, L] = ids.shape;
    const rows = Array.from(await ids.data());
    const full = model.forward(ids);
    const cache = model.allocateInferenceCache(b, { maxSeqlen: L });
    const split = 9;
    const logitsRows: Tensor[] = [];
    // Every position one token at a time from an empty cache (the official decode path).
    for (let t = 0; t < L; t++) {
      logitsRows.push(tidy(() => reshape(model.step(Array.from({ length: b }, (_, r) => rows[r * L + t]), cache), [b, 1, -1])));
    }
    const stepped = concat(logitsRows, 1);
    if (io.names.includes('expected.logits_step')) {
      expect(relativeL2(await stepped.data(), (await io.read('expected.logits_step')).values)).toBeLessThan(STEP_TOL);
    }
    expect(relativeL2(await stepped.data(), await full.data())).toBeLessThan(1e-4);
    cache.dispose();
    // A chunked prefill then steps: the same logits as the forward.
    const cache2 = model.allocateInferenceCache(b, { maxSeqlen: L });
    const head = model.prefill(Array.from({ length: b }, (_, r) => rows.slice(r * L, r * L + split)), cache2);
    const tail = model.step(Array.from({ length: b }, (_, r) => rows[r * L + split]), cache2);
    const fullData = await full.data();
    const Vp = full.shape[2];
    for (let r = 0; r < b; r++) {
      const at = (t: number): Float32Array => (fullData as Float32Array).subarray((r * L + t) * Vp, (r * L + t + 1) * Vp);
      expect(relativeL2((await head.data()).subarray(r * Vp, (r + 1) * Vp), at(split - 1))).toBeLessThan(1e-4);
      expect(relativeL2((await tail.data()).subarray(r * Vp, (r + 1) * Vp), at(split))).toBeLessThan(1e-4);
    }
    dispose([stepped, logitsRows, full, head, tail, ids]);
    cache2.dispose();
    model.dispose();
  });

  it('greedy generation gives the official ids (where given)', async () => {
    const { model, io } = await load(name);
    if (!io.names.includes('expected.greedy')) {
      model.dispose();
      return;
    }
    const want = Array.from((await io.read('expected.greedy')).values);
    const prompt = want.slice(0, 8);
    for (const stepGraph of [true, false]) {
      const r = await model.generateText(prompt, { temperature: 0, maxNewTokens: want.length - 8, stepGraph });
      expect([...prompt, ...r.sequences[0].ids]).toEqual(want);
    }
    model.dispose();
  });
});

// The same checkpoints on WebGPU (lavapipe in CI): the forward, and greedy decoding through a
// captured step graph (replayed kernels, the KV cache and positions fed back on the device).
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
(SKIP_WEBGPU ? describe.skip : describe)('golden family LMs on WebGPU', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await createWebGPUBackend();
  });
  afterAll(() => backend?.dispose?.());

  for (const { name, forwardTol } of CASES) {
    it(`${name}: forward within ${forwardTol}; greedy (step graph) = the official ids or forward's argmax`, { timeout: 600_000 }, async () => {
      const { model, io } = await load(name, backend);
      const ids = await io.tensor('input.ids', { backend });
      const logits = model.forward(ids);
      expect(relativeL2(await logits.data(), (await io.read('expected.logits')).values)).toBeLessThan(forwardTol);
      dispose([logits, ids]);
      const greedy = io.names.includes('expected.greedy') ? Array.from((await io.read('expected.greedy')).values) : null;
      const prompt = greedy ? greedy.slice(0, 8) : [5, 17, 99, 200, 31, 7, 1, 42];
      const r = await model.generateText(prompt, { temperature: 0, maxNewTokens: 6, stepGraph: true });
      const got = [...prompt, ...r.sequences[0].ids];
      if (greedy) expect(got).toEqual(greedy.slice(0, got.length));
      const check = model.forward([got.slice(0, -1)]);
      const am = await tidy(() => argMax(sliceAxis(check, 2, 0, model.vocabSize), -1)).data();
      for (let t = prompt.length; t < got.length; t++) expect(got[t], `token ${t}`).toBe(am[t - 1]);
      check.dispose();
      model.dispose();
    });
  }
});
