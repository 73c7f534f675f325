import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, dispose, setBackend, tensor } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import { MambaLMHeadModel, NonFiniteLogitsError, prefillInSlices, prefillSliceLength, ShardIndexError } from '../src/index.js';
import { saveModel } from '../src/node.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const SMALL = { dModel: 32, nLayer: 2, vocabSize: 250, ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 8, chunkSize: 8 } };
const small = (seed = 1) => MambaLMHeadModel.create(SMALL, { seed });
const prompt = (n: number, salt = 0) => Array.from({ length: n }, (_, i) => (i * 37 + salt * 11 + 5) % 250);

async function modelDir(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'model-robust-'));
  const m = small();
  await saveModel(m, dir);
  m.dispose();
  return dir;
}

describe('shard indexes and config files', () => {
  it('refuses an index naming a file outside the model folder (typed error, nothing read)', async () => {
    for (const file of ['../../etc/passwd', '/etc/passwd', 'sub/../../x.safetensors', 'C:\\\\weights.safetensors', 'https://example.org/x.safetensors', './model.safetensors']) {
      const dir = await modelDir();
      writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'backbone.embedding.weight': file } }));
      const err = await MambaLMHeadModel.fromPretrained(dir).catch((e: unknown) => e);
      expect(err, file).toBeInstanceOf(ShardIndexError);
      expect(String((err as Error).message)).toMatch(/not a file inside the model folder/);
    }
  });

  it('a shard in a subfolder of the model folder is fine', async () => {
    const dir = await modelDir();
    mkdirSync(join(dir, 'shards'));
    const { renameSync } = await import('node:fs');
    renameSync(join(dir, 'model.safetensors'), join(dir, 'shards', 'a.safetensors'));
    const m0 = small();
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: Object.fromEntries(Object.keys(m0.params).map((k) => [k, 'shards/a.safetensors'])) }));
    m0.dispose();
    const m = await MambaLMHeadModel.fromPretrained(dir);
    expect(m.paramCount).toBeGreaterThan(0);
    m.dispose();
  });

  it('invalid JSON in config.json or the index is a typed error naming the file', async () => {
    const dir = await modelDir();
    writeFileSync(join(dir, 'model.safetensors.index.json'), '{"weight_map": ');
    await expect(MambaLMHeadModel.fromPretrained(dir)).rejects.toThrow(ShardIndexError);
    await expect(MambaLMHeadModel.fromPretrained(dir)).rejects.toThrow(/model\.safetensors\.index\.json: not valid JSON/);
    const dir2 = await modelDir();
    writeFileSync(join(dir2, 'config.json'), '{ d_model: 3 }');
    await expect(MambaLMHeadModel.fromPretrained(dir2)).rejects.toThrow(ConfigError);
    await expect(MambaLMHeadModel.fromPretrained(dir2)).rejects.toThrow(/config\.json: not valid JSON/);
  });
});

describe('generation robustness', () => {
  it('NaN weights: a NonFiniteLogitsError, greedy and sampled, not token 0 forever', async () => {
    const m = small();
    const w = m.params['backbone.layers.0.mixer.out_proj.weight'];
    const nan = tensor(new Float32Array(w.size).fill(Number.NaN), w.shape);
    const broken = MambaLMHeadModel.fromWeights(SMALL, { ...m.params, 'backbone.layers.0.mixer.out_proj.weight': nan });
    await expect(broken.generateText([1, 2, 3], { maxNewTokens: 5, temperature: 0 })).rejects.toThrow(NonFiniteLogitsError);
    await expect(broken.generateText([1, 2, 3], { maxNewTokens: 5, temperature: 1, seed: 1 })).rejects.toThrow(NonFiniteLogitsError);
    broken.dispose();
    m.dispose();
  });

  it('the step graphs\' picks on the CPU (their composites): id -1 for a row of NaN logits, no gather error, the other rows picked', async () => {
    // An untied head: token 7's NaN embedding row leaves its logit (a head row) alone.
    const untied = { ...SMALL, tieEmbeddings: false };
    const m = MambaLMHeadModel.create(untied, { seed: 1 });
    const emb = m.params['backbone.embedding.weight'];
    const values = Array.from(await emb.data());
    // Token 7's embedding row NaN: the row stepping from it has NaN logits.
    values.fill(Number.NaN, 7 * 32, 8 * 32);
    const broken = MambaLMHeadModel.fromWeights(untied, { ...m.params, 'backbone.embedding.weight': tensor(values, emb.shape) });
    const cache = () => broken.allocateInferenceCache(2);
    const greedy = broken.greedyStepGraph([7, 3], cache());
    const sampled = broken.samplingStepGraph([7, 3], cache(), { temperature: 1, uniforms: [0.5, 0.5] });
    for (const g of [greedy, sampled]) {
      const [bad, good] = Array.from(await g.read(0));
      expect(bad).toBe(-1);
      expect(good).toBeGreaterThanOrEqual(0);
      g.dispose();
    }
    broken.dispose();
    m.dispose();
  });

  it('seeded sampling: a batch gives each prompt the tokens it gets alone', async () => {
    const m = small();
    const prompts = [prompt(5, 1), prompt(9, 2), prompt(5, 1), prompt(3, 3)];
    for (const opts of [{ temperature: 1.3, seed: 42 }, { temperature: 0.9, topK: 20, topP: 0.9, seed: 7 }, { temperature: 1, repetitionPenalty: 1.2, seed: 3 }]) {
      const batch = await m.generateText(prompts, { maxNewTokens: 12, ...opts });
      for (const [i, p] of prompts.entries()) {
        const alone = await m.generateText(p, { maxNewTokens: 12, ...opts });
        expect(batch.sequences[i].ids, `${JSON.stringify(opts)} prompt ${i}`).toEqual(alone.sequences[0].ids);
      }
    }
    m.dispose();
  });

  it('prefill in slices carries the cache: same logits and tokens as one pass, at any slice length', async () => {
    const m = small();
    const ids = prompt(61);
    const whole = m.allocateInferenceCache(1);
    const one = m.prefill([ids], whole);
    const want = await one.data();
    for (const slice of [8, 5, 16, 64]) {
      const cache = m.allocateInferenceCache(1);
      const seen: number[] = [];
      const got = await prefillInSlices(m, [ids], cache, { sliceTokens: slice, onProgress: (p) => seen.push(p.done) });
      expect(relativeL2(await got!.data(), want), `slice ${slice}`).toBeLessThan(1e-5);
      expect(seen).toEqual(Array.from({ length: Math.ceil(61 / slice) }, (_, k) => Math.min(61, (k + 1) * slice)));
      expect(cache.seqlenOffset).toBe(61);
      dispose([got!]);
      cache.dispose();
    }
    const greedy = (prefillSlice?: number) => m.generateText(ids, { maxNewTokens: 10, temperature: 0, prefillSlice });
    expect((await greedy(7)).sequences[0].ids).toEqual((await greedy()).sequences[0].ids);
    dispose([one]);
    whole.dispose();
    m.dispose();
  });

  it('prefill slices respect the device limit (lavapipe: 128 MiB bindings) and are whole chunks', () => {
    const m = small();
    expect(prefillSliceLength(m)).toBe(4096);
    const big = MambaLMHeadModel.create({ dModel: 768, nLayer: 1, vocabSize: 256, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } }, { seed: 1 });
    const limit = 128 * 2 ** 20;
    const backend = big.backend;
    Object.defineProperty(backend, 'info', { value: { ...backend.info, maxTensorBytes: limit }, configurable: true });
    try {
      const L = prefillSliceLength(big);
      expect(L % 64).toBe(0);
      // The Mamba-3 layer's largest per-token intermediate (in_proj's output, the intra-chunk blocks) fits.
      expect(big.layers[0].prefill.floatsPerToken).toBeGreaterThanOrEqual(2 * 768);
      expect(L * big.layers[0].prefill.floatsPerToken * 4).toBeLessThanOrEqual(limit);
      expect(prefillSliceLength(big, 8)).toBeLessThan(L);
    } finally {
      Object.defineProperty(backend, 'info', { value: { ...backend.info, maxTensorBytes: undefined }, configurable: true });
      big.dispose();
      m.dispose();
    }
  });

  it('an abort between prefill slices stops generation before any token (finish "abort")', async () => {
    const m = small();
    const controller = new AbortController();
    let slices = 0;
    const r = await m.generateText(prompt(200), {
      maxNewTokens: 5,
      prefillSlice: 16,
      signal: controller.signal,
      onPrefillProgress: (p) => {
        if (p.done > 0 && ++slices === 2) controller.abort();
      },
    });
    expect(slices).toBe(2);
    expect(r.sequences[0].ids).toEqual([]);
    expect(r.sequences[0].finishReason).toBe('abort');
    m.dispose();
  });

  it('options are checked before anything runs', async () => {
    const m = small();
    let progressed = false;
    for (const bad of [{ maxNewTokens: 0 }, { seed: 1.5 }, { prefillSlice: 0 }, { topP: 2 }]) {
      await expect(m.generateText([1, 2], { ...bad, onPrefillProgress: () => (progressed = true) })).rejects.toThrow(/generate: /);
    }
    expect(progressed).toBe(false);
    m.dispose();
  });
});
