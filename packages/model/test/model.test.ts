import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@mamba3/tensor';
import { argMax, sliceAxis, tensor, ConfigError, dispose, memory, serializeSafetensors, setBackend, SafetensorsReader, tidy, WeightsError, ArgumentError } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import { fromConfigJson, MambaLMHeadModel, sampleByInverseCdf, toConfigJson } from '../src/index.js';
import { saveModel } from '../src/node.js';
import { asciiTokenizer } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const SMALL = { dModel: 32, nLayer: 2, vocabSize: 250, ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 8, chunkSize: 8 } };

function small(extra: Partial<typeof SMALL> & Record<string, unknown> = {}, seed = 1) {
  return MambaLMHeadModel.create({ ...SMALL, ...extra }, { seed });
}

describe('forward, prefill and step agree', () => {
  for (const [name, extra] of [
    ['SISO', {}],
    ['MIMO + GatedMLP + LayerNorm, untied', { ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 8, isMimo: true, mimoRank: 2, chunkSize: 4 }, dIntermediate: 40, rmsNorm: false, tieEmbeddings: false }],
  ] as const) {
    it(`${name}: prefill + steps reproduce forward's logits`, async () => {
      const model = small(extra as Record<string, unknown>);
      const seq = [[5, 17, 200, 3, 99, 42, 7, 7, 120, 64, 1, 249], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 10, 11]];
      const full = model.forward(seq);
      const want = await full.data();
      const cache = model.allocateInferenceCache(2);
      const first = model.prefill(seq.map((s) => s.slice(0, 7)), cache);
      const rows = [await first.data()];
      first.dispose();
      for (let t = 7; t < 12; t++) {
        const l = model.step(seq.map((s) => s[t]), cache);
        rows.push(await l.data());
        l.dispose();
      }
      const Vp = 256;
      for (const [k, row] of rows.entries()) {
        const pos = 6 + k;
        for (let b = 0; b < 2; b++) {
          const got = row.subarray(b * Vp, (b + 1) * Vp);
          const ref = want.subarray((b * 12 + pos) * Vp, (b * 12 + pos + 1) * Vp);
          expect(relativeL2(got, ref), `position ${pos}, sequence ${b}`).toBeLessThan(1e-5);
        }
      }
      expect(cache.seqlenOffset).toBe(12);
      cache.dispose();
      full.dispose();
      model.dispose();
    });
  }
});

describe('sampleByInverseCdf', () => {
  it('draws each id with its softmax(logits / T) probability (stratified uniforms: counts within 1)', async () => {
    const row = [2, -1, 0.5, 0, 1.5];
    const T = 0.7;
    const n = 1000;
    const z = row.map((v) => Math.exp(v / T));
    const total = z.reduce((a, b) => a + b, 0);
    const ids = tidy(() =>
      sampleByInverseCdf(tensor(Array.from({ length: n }, () => row)), T, tensor(Array.from({ length: n }, (_, k) => [(k + 0.5) / n]))),
    );
    expect(ids.dtype).toBe('int32');
    const counts = new Array(row.length).fill(0);
    for (const id of await ids.data()) counts[id]++;
    counts.forEach((c, i) => expect(Math.abs(c - (n * z[i]) / total), `id ${i}`).toBeLessThanOrEqual(1));
    // u just below 1 still lands on a real id (the last one with any mass), never past it.
    const edge = tidy(() => sampleByInverseCdf(tensor([row]), T, tensor([[0.9999999]])));
    expect((await edge.data())[0]).toBe(row.length - 1);
    dispose([ids, edge]);
  });
});

describe('greedyStepGraph', () => {
  it('each run picks the argmax of a step and feeds it back (eager mode on the CPU), leaking nothing', async () => {
    const model = small();
    const before = memory().numTensors;
    const prompt = [[5, 17, 200], [9, 8, 7]];
    const refCache = model.allocateInferenceCache(2);
    const graphCache = model.allocateInferenceCache(2);
    tidy(() => void model.prefill(prompt, refCache));
    tidy(() => void model.prefill(prompt, graphCache));
    let ids = [42, 3];
    const graph = model.greedyStepGraph(ids, graphCache, { vocab: 250 });
    expect(graph.mode).toBe('eager');
    for (let k = 0; k < 4; k++) {
      if (k > 0) graph.run();
      const picked = tidy(() => argMax(sliceAxis(model.step(ids, refCache), 1, 0, 250), -1));
      ids = Array.from(await picked.data());
      picked.dispose();
      expect(Array.from(await graph.read(0)), `run ${k}`).toEqual(ids);
    }
    const other = model.allocateInferenceCache(2);
    expect(() => model.greedyStepGraph([1], other)).toThrow(/batch of 2, the ids a batch of 1/);
    other.dispose();
    graph.dispose();
    refCache.dispose();
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe('generate', () => {
  it('greedy tokens equal the argmax of forward at every position', async () => {
    const model = small();
    const prompt = [10, 20, 30, 40, 50];
    const result = await model.generateText(prompt, { temperature: 0, maxNewTokens: 12 });
    const ids = result.sequences[0].ids;
    expect(ids.length).toBe(12);
    const logits = model.forward([[...prompt, ...ids.slice(0, -1)]]);
    const best = tidy(() => argMax(logits, -1));
    const am = await best.data();
    best.dispose();
    for (let k = 0; k < ids.length; k++) expect(ids[k], `new token ${k}`).toBe(am[prompt.length - 1 + k]);
    expect(result.sequences[0].finishReason).toBe('length');
    logits.dispose();
    model.dispose();
  });

  it('a batch of prompts of different lengths gives what each prompt gives alone', async () => {
    const model = small();
    const prompts = [[1, 2, 3], [100, 90, 80, 70, 60, 50, 40], [7]];
    const batch = await model.generateText(prompts, { temperature: 0, maxNewTokens: 6 });
    for (const [i, p] of prompts.entries()) {
      const alone = await model.generateText(p, { temperature: 0, maxNewTokens: 6 });
      expect(batch.sequences[i].ids).toEqual(alone.sequences[0].ids);
    }
    model.dispose();
  });

  it('sampling is deterministic for a seed', async () => {
    const model = small();
    const opts = { temperature: 1.2, topK: 50, topP: 0.95, minP: 0.01, repetitionPenalty: 1.1, maxNewTokens: 16 };
    const a = await model.generateText([3, 4, 5], { ...opts, seed: 7 });
    const b = await model.generateText([3, 4, 5], { ...opts, seed: 7 });
    const c = await model.generateText([3, 4, 5], { ...opts, seed: 8 });
    expect(a.sequences[0].ids).toEqual(b.sequences[0].ids);
    expect(a.sequences[0].ids).not.toEqual(c.sequences[0].ids);
    model.dispose();
  });

  it('streams text, stops on a stop token and on a stop string (text cut before it)', async () => {
    const model = small();
    const tok = asciiTokenizer();
    const free = await model.generateText('ab', { temperature: 0, maxNewTokens: 10, tokenizer: tok });
    const ids = free.sequences[0].ids;
    // Stop at the third generated token.
    const stopped = await model.generateText('ab', { temperature: 0, maxNewTokens: 10, tokenizer: tok, stopTokens: [ids[2]] });
    expect(stopped.sequences[0].finishReason).toBe('stop');
    expect(stopped.sequences[0].ids).toEqual(ids.slice(0, ids.indexOf(ids[2]) + 1));
    // A stop string made of generated characters 3-4: the text ends right before it.
    const text = free.sequences[0].text;
    const stop = text.slice(3, 5);
    const chunks: string[] = [];
    const cut = await model.generateText('ab', { temperature: 0, maxNewTokens: 10, tokenizer: tok, stopStrings: [stop], onChunk: (c) => chunks.push(c.text) });
    expect(cut.sequences[0].finishReason).toBe('stop');
    expect(cut.sequences[0].text).toBe(text.slice(0, text.indexOf(stop)));
    expect(chunks.join('')).toBe(cut.sequences[0].text);
    model.dispose();
  });

  it('an AbortSignal ends the stream', async () => {
    const model = small();
    const controller = new AbortController();
    const seen: number[] = [];
    const it = model.generate([1, 2], { temperature: 0, maxNewTokens: 1000, signal: controller.signal });
    for await (const chunk of it) {
      seen.push(chunk.token);
      if (seen.length === 5) controller.abort();
    }
    expect(seen.length).toBeLessThanOrEqual(6);
    const before = memory().numTensors;
    // A fresh generation after an abort leaks nothing either.
    await model.generateText([1, 2], { temperature: 0, maxNewTokens: 3 });
    expect(memory().numTensors).toBe(before);
    model.dispose();
  });

  it('a backend that reads only asynchronously gives the same tokens, stops and aborts (the promise path)', async () => {
    const cpu = createCpuBackend({ name: 'cpu-async-read' });
    const asyncRead: Backend = { ...cpu, info: { ...cpu.info, syncRead: false } };
    const tok = asciiTokenizer();
    const run = async (backend: Backend | undefined, opts: Record<string, unknown>) => {
      const model = MambaLMHeadModel.create(SMALL, { seed: 1, backend });
      try {
        return await model.generateText('ab', { tokenizer: tok, maxNewTokens: 12, seed: 5, ...opts });
      } finally {
        model.dispose();
      }
    };
    for (const opts of [{ temperature: 0 }, { temperature: 0.9, topP: 0.9 }, { temperature: 0.9, repetitionPenalty: 1.3 }]) {
      const sync = await run(undefined, opts);
      const promised = await run(asyncRead, opts);
      expect(promised.sequences[0].ids, JSON.stringify(opts)).toEqual(sync.sequences[0].ids);
      const stop = sync.sequences[0].text.slice(4, 6);
      const cutSync = await run(undefined, { ...opts, stopStrings: [stop] });
      const cutPromised = await run(asyncRead, { ...opts, stopStrings: [stop] });
      expect(cutPromised.sequences[0]).toEqual(cutSync.sequences[0]);
      expect(cutPromised.sequences[0].finishReason).toBe('stop');
    }
    const controller = new AbortController();
    const seen: number[] = [];
    const model = MambaLMHeadModel.create(SMALL, { seed: 1, backend: asyncRead });
    for await (const chunk of model.generate([1, 2], { temperature: 0.9, maxNewTokens: 1000, signal: controller.signal })) {
      seen.push(chunk.token);
      if (seen.length === 5) controller.abort();
    }
    expect(seen.length).toBeLessThanOrEqual(6);
    model.dispose();
  });

  it('the repetition penalty still sees the context (prompt and tokens so far)', async () => {
    const model = small();
    const opts = { temperature: 1, maxNewTokens: 24, seed: 3 };
    const plain = await model.generateText([3, 4, 5], opts);
    const penalised = await model.generateText([3, 4, 5], { ...opts, repetitionPenalty: 3 });
    expect(penalised.sequences[0].ids).not.toEqual(plain.sequences[0].ids);
    model.dispose();
  });

  it('2,000 decode steps keep the live-tensor count flat (the cache does not grow)', async () => {
    const model = MambaLMHeadModel.create({ dModel: 16, nLayer: 2, vocabSize: 64, ssmCfg: { dState: 8, headdim: 8 } }, { seed: 3 });
    const cache = model.allocateInferenceCache(1);
    const baseline = memory().numTensors;
    const counts: number[] = [];
    let token = 1;
    for (let i = 0; i < 2000; i++) {
      const logits = model.step([token], cache);
      const next = tidy(() => argMax(logits, -1));
      token = (await next.data())[0];
      dispose([next, logits]);
      if (i % 500 === 0) counts.push(memory().numTensors);
    }
    expect(counts.every((c) => c === baseline)).toBe(true);
    expect(memory().numTensors).toBe(baseline);
    expect(cache.seqlenOffset).toBe(2000);
    cache.dispose();
    model.dispose();
  });

  it('bad inputs give clear errors', async () => {
    const model = small();
    expect(() => model.forward([[1, 2, 250]])).toThrow(/token id 250 at position 2 of sequence 0 is outside the vocabulary \[0, 250\)/);
    expect(() => model.forward([[]])).toThrow(/empty input/);
    await expect(model.generateText([], {})).rejects.toThrow(/empty prompt/);
    await expect(model.generateText([1], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens must be a positive integer, got 0/);
    await expect(model.generateText('hi', {})).rejects.toThrow(/needs a tokenizer/);
    await expect(model.generateText([1], { topP: 0 })).rejects.toThrow(ArgumentError);
    model.dispose();
  });
});

describe('weights in the official layout', () => {
  it('save -> fromPretrained round-trips (bytes and a directory), config.json has the official fields', async () => {
    const model = small({ dIntermediate: 24 });
    const { configJson, weights } = await model.save();
    expect(configJson).toMatchObject({ d_model: 32, n_layer: 2, vocab_size: 250, d_intermediate: 24, rms_norm: true, tie_embeddings: true, pad_vocab_size_multiple: 8, ssm_cfg: { layer: 'Mamba3', d_state: 16, headdim: 8 } });
    const reader = await SafetensorsReader.fromBytes(weights);
    expect(reader.entry('lm_head.weight').shape).toEqual([256, 32]);
    expect(reader.entry('backbone.layers.1.mlp.fc1.weight').shape).toEqual([2 * 128, 32]);
    const back = await MambaLMHeadModel.fromPretrained({ weights });
    const dir = mkdtempSync(join(tmpdir(), 'mamba-'));
    await saveModel(model, dir);
    const fromDir = await MambaLMHeadModel.fromPretrained(dir);
    const ids = [[4, 8, 15, 16, 23, 42]];
    const [a, b, c] = [model.forward(ids), back.forward(ids), fromDir.forward(ids)];
    expect(Array.from(await b.data())).toEqual(Array.from(await a.data()));
    expect(Array.from(await c.data())).toEqual(Array.from(await a.data()));
    dispose([a, b, c]);
    for (const m of [model, back, fromDir]) m.dispose();
  });

  it('loads sharded weights through model.safetensors.index.json, f16 and bf16 stored', async () => {
    const model = small();
    const dir = mkdtempSync(join(tmpdir(), 'mamba-'));
    const reader = await SafetensorsReader.fromBytes((await model.save()).weights);
    const names = reader.names;
    const shards = [names.slice(0, 10), names.slice(10)];
    const weightMap: Record<string, string> = {};
    for (const [i, shard] of shards.entries()) {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      const records = Object.fromEntries(await Promise.all(shard.map(async (n) => [n, { dtype: i === 0 ? 'F16' : 'BF16', shape: reader.entry(n).shape, values: (await reader.read(n)).values }] as const)));
      writeFileSync(join(dir, file), serializeSafetensors(records));
      for (const n of shard) weightMap[n] = file;
    }
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    writeFileSync(join(dir, 'config.json'), JSON.stringify(toConfigJson(model.config)));
    const progress: number[] = [];
    const loaded = await MambaLMHeadModel.fromPretrained(dir, { onProgress: (p) => progress.push(p.loaded) });
    // One report per tensor read; the stored copy of the tied head is not read (it is the embedding).
    expect(progress.length).toBe(names.filter((n) => n !== 'lm_head.weight').length);
    expect(progress[progress.length - 1]).toBeGreaterThan(0);
    const ids = [[1, 2, 3, 4]];
    const [a, b] = [model.forward(ids), loaded.forward(ids)];
    // Half-precision storage: close, not equal.
    expect(relativeL2(await b.data(), await a.data())).toBeLessThan(2e-2);
    dispose([a, b]);
    model.dispose();
    loaded.dispose();
  });

  it('a config that does not match the weights, and missing weights, are reported', async () => {
    const bytes = readFileSync(new URL('../fixtures/lm_siso.safetensors', import.meta.url));
    const json = { d_model: 64, n_layer: 2, vocab_size: 600, ssm_cfg: { layer: 'Mamba3', d_state: 32, headdim: 16 } };
    await expect(MambaLMHeadModel.fromPretrained({ config: json, weights: bytes })).rejects.toThrow(/vocabSize 600 pads to 600.*does not match/);
    const three = { ...json, vocab_size: 250, n_layer: 3 };
    await expect(MambaLMHeadModel.fromPretrained({ config: three, weights: bytes })).rejects.toThrow(WeightsError);
    await expect(MambaLMHeadModel.fromPretrained({ config: three, weights: bytes })).rejects.toThrow(/missing "backbone.layers.2.mixer.in_proj.weight"/);
  });

  it('official config.json parsing: defaults and refusals', () => {
    // No layer key: Mamba1, as upstream.
    expect(fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, ssm_cfg: {} }).ssmCfg.layer).toBe('Mamba1');
    expect(fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10 }).ssmCfg.layer).toBe('Mamba1');
    expect(() => fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, ssm_cfg: { layer: 'Mamba4' } })).toThrow(/ssm_cfg.layer "Mamba4" is not supported/);
    expect(() => fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, ssm_cfg: { layer: 'Mamba3' }, attn_layer_idx: [0] })).toThrow(/attnCfg.numHeads is required/);
    expect(() => fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, attn_layer_idx: [1], attn_cfg: { num_heads: 2 } })).toThrow(/attnLayerIdx must list layer indices in \[0, 1\)/);
    expect(() => fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, attn_layer_idx: [0], attn_cfg: { num_heads: 2, nope: 1 } })).toThrow(/MHA: unknown option "nope"/);
    expect(() => fromConfigJson({ d_model: 8, n_layer: 1, vocab_size: 10, ssm_cfg: { layer: 'Mamba3', headdim: 3 } })).toThrow(ConfigError);
    const c = fromConfigJson({ d_model: 64, n_layer: 2, vocab_size: 250, ssm_cfg: { layer: 'Mamba3', d_state: 32 } });
    expect(c).toMatchObject({ rmsNorm: true, tieEmbeddings: true, padVocabSizeMultiple: 8, dIntermediate: 0 });
  });
});

describe('loading leaks nothing', () => {
  it('a tied model loaded from a file holding both embedding and lm_head keeps one copy', async () => {
    const model = small();
    const { weights } = await model.save();
    model.dispose();
    const before = memory().numTensors;
    const loaded = await MambaLMHeadModel.fromPretrained({ weights });
    loaded.dispose();
    expect(memory().numTensors).toBe(before);
  });
});
