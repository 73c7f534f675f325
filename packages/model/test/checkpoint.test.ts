import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsReader, serializeSafetensors, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { ByteTokenizer, CharTokenizer } from '@mamba3/tokenizer';
import { relativeL2 } from '@mamba3/core';
import type { Checkpoint, PretrainedProgress } from '../src/index.js';
import { filesFromDirectory, filesFromList, filesFromRecord, filesFromUrl, hfToOfficialConfig, loadPretrained, openCheckpoint, parseConfigText } from '../src/index.js';

const dir = (name: string): string => fileURLToPath(new URL(`../fixtures/family/${name}`, import.meta.url));
const shapes = (c: Checkpoint): Record<string, readonly number[]> => Object.fromEntries([...c.weights.values()].map((w) => [w.name, w.shape]));

beforeAll(async () => {
  await setBackend('cpu');
});

describe('layout detection on the golden checkpoint folders', () => {
  it('official .bin folders: the config as written, official names, tied head left out', async () => {
    for (const name of ['lm_mamba1', 'lm_mamba2', 'lm_hybrid', 'lm_mamba3_mlp_bf16']) {
      const c = await openCheckpoint(await filesFromDirectory(dir(name)));
      expect(c.layout, name).toBe('official');
      expect(c.config).toEqual(JSON.parse(readFileSync(`${dir(name)}/config.json`, 'utf8')));
      expect(c.weights.has('backbone.embedding.weight'), name).toBe(true);
      expect(c.weights.has('lm_head.weight'), name).toBe(false);
      expect(c.weights.get('backbone.embedding.weight')?.file).toBe('pytorch_model.bin');
      await c.close();
    }
    const bf16 = await openCheckpoint(await filesFromDirectory(dir('lm_mamba3_mlp_bf16')));
    expect(bf16.weights.get('backbone.layers.0.mlp.fc1.weight')?.dtype).toBe('BF16');
    await bf16.close();
  });

  for (const [hf, official] of [
    ['hf_mamba1', 'lm_mamba1'],
    ['hf_mamba2', 'lm_mamba2'],
  ]) {
    it(`${hf}: every HF name becomes the official name of ${official}, with its shape`, async () => {
      const h = await openCheckpoint(await filesFromDirectory(dir(hf)));
      const o = await openCheckpoint(await filesFromDirectory(dir(official)));
      expect(h.layout).toBe('hf');
      const hs = shapes(h);
      const os = shapes(o);
      expect(Object.keys(hs).sort()).toEqual(Object.keys(os).sort());
      for (const n of Object.keys(os)) {
        // transformers does not pad the vocabulary (250 rows), the official model pads to 256.
        if (n === 'backbone.embedding.weight') expect(hs[n]).toEqual([250, 64]);
        else expect(hs[n], n).toEqual(os[n]);
      }
      expect(h.weights.get('backbone.embedding.weight')?.stored).toBe('backbone.embeddings.weight');
      // The mapped config matches the official one but for the vocabulary padding.
      const { pad_vocab_size_multiple: hp, ...hRest } = h.config;
      const { pad_vocab_size_multiple: op, ...oRest } = o.config;
      expect(hp).toBe(1);
      expect(op).toBe(8);
      expect((hRest.ssm_cfg as Record<string, unknown>).layer).toBe((oRest.ssm_cfg as Record<string, unknown>).layer);
      expect(hRest.d_model).toBe(oRest.d_model);
      expect(hRest.n_layer).toBe(oRest.n_layer);
      expect(hRest.vocab_size).toBe(oRest.vocab_size);
      await Promise.all([h.close(), o.close()]);
    });
  }

  it('maps the HF config keys to the official config', () => {
    const m1 = hfToOfficialConfig(parseConfigText(readFileSync(`${dir('hf_mamba1')}/config.json`, 'utf8')));
    expect(m1).toEqual({
      d_model: 64,
      d_intermediate: 0,
      n_layer: 2,
      vocab_size: 250,
      ssm_cfg: { layer: 'Mamba1', d_state: 16, d_conv: 4, expand: 2, conv_bias: true, bias: false, dt_min: 0.001, dt_max: 0.1, dt_init_floor: 0.0001, dt_rank: 4, dt_scale: 1, dt_init: 'random' },
      attn_layer_idx: [],
      attn_cfg: {},
      rms_norm: true,
      residual_in_fp32: true,
      fused_add_norm: true,
      pad_vocab_size_multiple: 1,
      tie_embeddings: true,
    });
    const m2 = hfToOfficialConfig(parseConfigText(readFileSync(`${dir('hf_mamba2')}/config.json`, 'utf8')));
    expect(m2.ssm_cfg).toEqual({ layer: 'Mamba2', d_state: 32, d_conv: 4, expand: 2, conv_bias: true, bias: false, dt_min: 0.001, dt_max: 0.1, dt_init_floor: 0.0001, headdim: 16, ngroups: 1, chunk_size: 16 });
  });

  it('reads {"__float__": "Infinity"} and bare Infinity; a finite dt_limit is kept', () => {
    const hf = parseConfigText(readFileSync(`${dir('hf_mamba2')}/config.json`, 'utf8'));
    expect(hf.time_step_limit).toEqual([0, Number.POSITIVE_INFINITY]);
    expect(parseConfigText('{"a": [0.0, Infinity], "b": -Infinity}')).toEqual({ a: [0, Number.POSITIVE_INFINITY], b: Number.NEGATIVE_INFINITY });
    expect((hfToOfficialConfig({ ...hf, time_step_limit: [0.01, 0.5] }).ssm_cfg as Record<string, unknown>).dt_limit).toEqual([0.01, 0.5]);
  });

  it('names what is wrong: unknown model_type, no weights, a missing shard, a bad index', async () => {
    const cfg = readFileSync(`${dir('hf_mamba1')}/config.json`, 'utf8');
    await expect(openCheckpoint(filesFromRecord({ 'config.json': '{"model_type": "llama"}' }, 'x'))).rejects.toThrow(/model_type "llama" is not supported/);
    await expect(openCheckpoint(filesFromRecord({ 'config.json': cfg }, 'x'))).rejects.toThrow(/x: no weights \(looked for model.safetensors.index.json/);
    await expect(openCheckpoint(filesFromRecord({ 'config.json': cfg, 'model.safetensors.index.json': '{"weight_map": {"a": "s1.safetensors"}}' }, 'x'))).rejects.toThrow(/shard s1.safetensors \(named by the index\) is missing/);
    await expect(openCheckpoint(filesFromRecord({ 'config.json': cfg, 'pytorch_model.bin.index.json': '{"weight_map": 3}' }, 'x'))).rejects.toThrow(/"weight_map" must be an object/);
    await expect(openCheckpoint(filesFromRecord({}, 'x'))).rejects.toThrow(/x: no config.json/);
  });
});

describe('sharded checkpoints', () => {
  it('reads safetensors shards named by model.safetensors.index.json', async () => {
    const whole = await SafetensorsReader.fromBytes(readFileSync(`${dir('hf_mamba1')}/model.safetensors`));
    const shard = async (names: string[]): Promise<Uint8Array> => {
      const rec: Record<string, { dtype: 'F32'; shape: readonly number[]; values: Float32Array }> = {};
      for (const n of names) rec[n] = { dtype: 'F32', shape: whole.entry(n).shape, values: (await whole.read(n)).values as Float32Array };
      return serializeSafetensors(rec);
    };
    const [a, b] = [whole.names.filter((n) => n.includes('layers.0')), whole.names.filter((n) => !n.includes('layers.0'))];
    const weight_map = Object.fromEntries([...a.map((n) => [n, 'model-00001-of-00002.safetensors']), ...b.map((n) => [n, 'model-00002-of-00002.safetensors'])]);
    const files = filesFromRecord({
      'config.json': readFileSync(`${dir('hf_mamba1')}/config.json`, 'utf8'),
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map }),
      'model-00001-of-00002.safetensors': await shard(a),
      'model-00002-of-00002.safetensors': await shard(b),
    });
    const c = await openCheckpoint(files);
    expect(c.weights.size).toBe(whole.names.length);
    expect(c.weights.get('backbone.layers.0.mixer.A_log')?.file).toBe('model-00001-of-00002.safetensors');
    expect((await c.weights.get('backbone.embedding.weight')!.read()).values).toEqual((await whole.read('backbone.embeddings.weight')).values);
  });
});

describe('sharded .bin checkpoints', () => {
  it('reads the shards named by pytorch_model.bin.index.json', async () => {
    const bin = readFileSync(`${dir('lm_mamba3_mlp_bf16')}/pytorch_model.bin`);
    const single = await openCheckpoint(await filesFromDirectory(dir('lm_mamba3_mlp_bf16')));
    // One real archive under a shard name; the index names every tensor in it.
    const weight_map = Object.fromEntries([...single.weights.values()].map((w) => [w.stored, 'pytorch_model-00001-of-00001.bin']));
    const c = await openCheckpoint(
      filesFromRecord({
        'config.json': readFileSync(`${dir('lm_mamba3_mlp_bf16')}/config.json`, 'utf8'),
        'pytorch_model.bin.index.json': JSON.stringify({ metadata: { total_size: bin.length }, weight_map }),
        'pytorch_model-00001-of-00001.bin': bin,
      }),
    );
    expect(c.layout).toBe('official');
    expect([...c.weights.keys()].sort()).toEqual([...single.weights.keys()].sort());
    expect(c.weights.get('backbone.norm_f.weight')?.file).toBe('pytorch_model-00001-of-00001.bin');
    expect((await c.weights.get('backbone.norm_f.weight')!.read()).values).toEqual((await single.weights.get('backbone.norm_f.weight')!.read()).values);
    await single.close();
  });
});

describe('loadPretrained (Mamba-3 + MLP, bfloat16 .bin)', () => {
  const io = readFileSync(`${dir('lm_mamba3_mlp_bf16')}/io.safetensors`);
  const check = async (model: Awaited<ReturnType<typeof loadPretrained>>['model']): Promise<void> => {
    const reader = await SafetensorsReader.fromBytes(io);
    const ids = await reader.tensor('input.ids');
    const logits = model.forward(ids);
    // README: ≤ 2e-2 relative L2 for the Mamba-3 case.
    expect(relativeL2(await logits.data(), (await reader.read('expected.logits')).values)).toBeLessThan(2e-2);
    ids.dispose();
    logits.dispose();
    model.dispose();
  };

  it('from a folder, with progress', async () => {
    const events: PretrainedProgress[] = [];
    const { model, tokenizer, layout } = await loadPretrained(dir('lm_mamba3_mlp_bf16'), { onProgress: (p) => events.push(p) });
    expect(layout).toBe('official');
    expect(tokenizer).toBeNull();
    expect(events.at(-1)).toMatchObject({ phase: 'load', loaded: events.at(-1)?.total });
    await check(model);
  });

  it('from browser File objects', async () => {
    const files = readdirSync(dir('lm_mamba3_mlp_bf16')).map((f) => new File([readFileSync(`${dir('lm_mamba3_mlp_bf16')}/${f}`)], f));
    const c = await openCheckpoint(filesFromList(files));
    expect(c.layout).toBe('official');
    await c.close();
    const { model } = await loadPretrained(files);
    await check(model);
  });

  describe('from a URL, with download progress', () => {
    let base = '';
    const ranges: string[] = [];
    const server = createServer((req, res) => {
      const file = `${dir('lm_mamba3_mlp_bf16')}/${(req.url ?? '').slice(1)}`;
      try {
        const body = readFileSync(file);
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (range) {
          ranges.push(req.url ?? '');
          const part = body.subarray(Number(range[1]), Number(range[2]) + 1);
          res.writeHead(206, { 'content-length': part.length, 'content-range': `bytes ${range[1]}-${range[2]}/${body.length}` });
          res.end(part);
          return;
        }
        res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
        res.end(req.method === 'HEAD' ? undefined : body);
      } catch {
        res.writeHead(404).end();
      }
    });
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it('loads and reports downloaded bytes', async () => {
      const events: PretrainedProgress[] = [];
      const { model } = await loadPretrained(base, { onProgress: (p) => events.push(p) });
      const download = events.filter((e) => e.phase === 'download');
      expect(download.at(-1)?.loaded).toBe(readFileSync(`${dir('lm_mamba3_mlp_bf16')}/pytorch_model.bin`).length);
      await check(model);
    });

    it('reads large files by range requests, tensor by tensor', async () => {
      ranges.length = 0;
      const files = filesFromUrl(base, undefined, { rangedAbove: 1 });
      const events: PretrainedProgress[] = [];
      const { model } = await loadPretrained(files, { onProgress: (p) => events.push(p) });
      // The end record, the central directory, data.pkl, then local headers and storages.
      expect(ranges.filter((u) => u === '/pytorch_model.bin').length).toBeGreaterThan(20);
      expect(events.some((e) => e.phase === 'download' && e.total === readFileSync(`${dir('lm_mamba3_mlp_bf16')}/pytorch_model.bin`).length)).toBe(true);
      await check(model);
    });

    it('stops on an aborted signal', async () => {
      const ac = new AbortController();
      ac.abort();
      await expect(loadPretrained(base, { signal: ac.signal })).rejects.toThrow(/abort/i);
    });
  });

  it('a tokenizer passed as an option is attached to the model', async () => {
    // A byte tokenizer has 256 ids, more than this model's 250: refused by name.
    const bytesJson = new ByteTokenizer().toJSON() as unknown as Record<string, unknown>;
    await expect(loadPretrained(dir('lm_mamba3_mlp_bf16'), { tokenizer: bytesJson })).rejects.toThrow(/the tokenizer has 256 tokens but the model's vocabulary has 250/);
    const tokenizerJson = JSON.stringify(CharTokenizer.fromCorpus('hello world').toJSON());
    const { model, tokenizer } = await loadPretrained(dir('lm_mamba3_mlp_bf16'), { tokenizer: tokenizerJson });
    expect(tokenizer).not.toBeNull();
    expect(model.tokenizer).toBe(tokenizer);
    model.dispose();
  });

  it('dtype bfloat16 keeps bf16-stored weights exact (same logits), float16 rounds them', async () => {
    const a = await loadPretrained(dir('lm_mamba3_mlp_bf16'), { dtype: 'bfloat16' });
    await check(a.model);
    await expect(loadPretrained(dir('lm_mamba3_mlp_bf16'), { dtype: 'float8' as 'float16' })).rejects.toThrow(/dtype must be one of/);
  });
});
