import { beforeAll, describe, expect, it } from 'vitest';
import { dispose, setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { relativeL2 } from '@mamba3/core';
import type { MambaConfigInput } from '../src/index.js';
import { fromConfigJson, MambaLMHeadModel, toConfigJson } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const BASE = { dModel: 32, nLayer: 3, vocabSize: 250 };
const CASES: [string, MambaConfigInput][] = [
  ['Mamba1', { ...BASE, ssmCfg: { layer: 'Mamba1', dState: 8 } }],
  ['Mamba1 + GatedMLP, biases, untied', { ...BASE, nLayer: 2, dIntermediate: 40, tieEmbeddings: false, ssmCfg: { layer: 'Mamba1', dState: 4, bias: true, dtRank: 3 } }],
  ['Mamba2', { ...BASE, ssmCfg: { layer: 'Mamba2', dState: 8, headdim: 8, chunkSize: 4 } }],
  ['hybrid: Mamba2, GQA attention, Mamba2 + GatedMLP', { ...BASE, dIntermediate: 64, attnLayerIdx: [1], attnCfg: { numHeads: 4, numHeadsKv: 2, causal: true }, ssmCfg: { layer: 'Mamba2', dState: 8, headdim: 8, chunkSize: 4 } }],
  ['hybrid: Mamba1 + rotary attention with head_dim, mlp_dim, d_conv, LayerNorm', { ...BASE, rmsNorm: false, attnLayerIdx: [0, 2], attnCfg: { numHeads: 2, headDim: 12, rotaryEmbDim: 8, mlpDim: 20, dConv: 3, causal: true, qkvProjBias: false }, ssmCfg: { layer: 'Mamba1', dState: 4 } }],
  ['hybrid: Mamba3 + interleaved rotary attention', { ...BASE, nLayer: 2, attnLayerIdx: [1], attnCfg: { numHeads: 4, numHeadsKv: 1, rotaryEmbDim: 4, rotaryEmbInterleaved: true, causal: true }, ssmCfg: { layer: 'Mamba3', dState: 8, headdim: 8, chunkSize: 4 } }],
];

const SEQ = [[5, 17, 200, 3, 99, 42, 7, 7, 120, 64, 1, 249], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 10, 11]];

describe.each(CASES)('%s', (_name, config) => {
  it('prefill (in two parts) + steps reproduce forward\'s logits', async () => {
    const model = MambaLMHeadModel.create(config, { seed: 1 });
    const full = model.forward(SEQ);
    const want = await full.data();
    const Vp = full.shape[2];
    const cache = model.allocateInferenceCache(2, { maxSeqlen: 16 });
    model.prefill(SEQ.map((s) => s.slice(0, 3)), cache).dispose();
    const first = model.prefill(SEQ.map((s) => s.slice(3, 7)), cache);
    const rows = [await first.data()];
    first.dispose();
    for (let t = 7; t < 12; t++) {
      const l = model.step(SEQ.map((s) => s[t]), cache);
      rows.push(await l.data());
      l.dispose();
    }
    for (const [k, row] of rows.entries()) {
      const pos = 6 + k;
      for (let b = 0; b < 2; b++) {
        const ref = want.subarray((b * 12 + pos) * Vp, (b * 12 + pos + 1) * Vp);
        expect(relativeL2(row.subarray(b * Vp, (b + 1) * Vp), ref), `position ${pos}, sequence ${b}`).toBeLessThan(1e-5);
      }
    }
    expect(cache.seqlenOffset).toBe(12);
    cache.dispose();
    full.dispose();
    model.dispose();
  });

  it('greedy generation (step graph and plain steps, prompts of different lengths) follows forward\'s argmax', async () => {
    const model = MambaLMHeadModel.create(config, { seed: 2 });
    const prompts = [[3, 1, 4, 1, 5], [9, 2, 6]];
    for (const stepGraph of [true, false]) {
      const r = await model.generateText(prompts, { temperature: 0, maxNewTokens: 6, stepGraph });
      for (const [i, s] of r.sequences.entries()) {
        const ids = [...prompts[i], ...s.ids];
        const logits = model.forward([ids]);
        const v = await logits.data();
        const Vp = logits.shape[2];
        for (let t = prompts[i].length - 1; t < ids.length - 1; t++) {
          let best = 0;
          for (let j = 1; j < model.vocabSize; j++) if (v[t * Vp + j] > v[t * Vp + best]) best = j;
          expect(ids[t + 1], `sequence ${i}, position ${t + 1}, stepGraph ${stepGraph}`).toBe(best);
        }
        logits.dispose();
      }
    }
    model.dispose();
  });

  it('config.json round-trips; save -> fromPretrained gives the same logits', async () => {
    const model = MambaLMHeadModel.create(config, { seed: 3 });
    const json = JSON.parse(JSON.stringify(toConfigJson(model.config))) as Record<string, unknown>;
    expect(fromConfigJson(json)).toEqual(fromConfigJson(toConfigJson(fromConfigJson(json)) as Record<string, unknown>));
    const { weights } = await model.save();
    const loaded = await MambaLMHeadModel.fromPretrained({ config: json, weights });
    const [a, b] = [model.forward(SEQ), loaded.forward(SEQ)];
    expect(relativeL2(await b.data(), await a.data())).toBe(0);
    dispose([a, b]);
    loaded.dispose();
    model.dispose();
  });
});

describe('attention cache bounds', () => {
  it('prefill or step past maxSeqlen is refused with the fix', () => {
    const model = MambaLMHeadModel.create(CASES[3][1], { seed: 4 });
    const cache = model.allocateInferenceCache(1, { maxSeqlen: 4 });
    expect(() => model.prefill([[1, 2, 3, 4, 5]], cache)).toThrow(/exceed the attention cache's 4 positions; allocate it with a larger maxSeqlen/);
    model.prefill([[1, 2, 3, 4]], cache).dispose();
    expect(() => model.step([1], cache)).toThrow(/4 cached \+ 1 new tokens exceed/);
    cache.dispose();
    model.dispose();
  });

  it('official config.json keys for every block type', () => {
    const c = fromConfigJson({
      d_model: 64, d_intermediate: 128, n_layer: 3, vocab_size: 250,
      ssm_cfg: { layer: 'Mamba2', d_state: 16, headdim: 16, chunk_size: 16, dt_limit: [0.0, { __float__: 'Infinity' }] },
      attn_layer_idx: [1], attn_cfg: { num_heads: 4, num_heads_kv: 2, causal: true, rotary_emb_dim: 8, head_dim: 16, qkv_proj_bias: false, out_proj_bias: false, softmax_scale: 0.5, rotary_emb_base: 500, rotary_emb_interleaved: true },
      rms_norm: true, residual_in_fp32: true, fused_add_norm: true, pad_vocab_size_multiple: 8, tie_embeddings: true,
    });
    expect(c.ssmCfg).toMatchObject({ layer: 'Mamba2', dState: 16, headdim: 16, chunkSize: 16, dtLimit: [0, Infinity] });
    expect(c.attnCfg).toEqual({ numHeads: 4, numHeadsKv: 2, causal: true, rotaryEmbDim: 8, headDim: 16, qkvProjBias: false, outProjBias: false, softmaxScale: 0.5, rotaryEmbBase: 500, rotaryEmbInterleaved: true });
    const m1 = fromConfigJson({ d_model: 64, n_layer: 1, vocab_size: 10, ssm_cfg: { d_state: 16, dt_rank: 'auto', conv_bias: true, bias: false } });
    expect(m1.ssmCfg).toEqual({ layer: 'Mamba1', dState: 16, dtRank: 'auto', convBias: true, bias: false });
  });
});
