import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dispose, grad, memory, Rng, setBackend, tensor, tidy } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { MambaLMHeadModel } from '@mamba3/model';
import { AdamW, clipGradNorm, cosineLr, crossEntropy, LmTrainer, MOD_ARITH_BOS, MOD_ARITH_OPS, modArithBatch, modArithValues, officialNoDecay, parityBatch, TokenStream } from '../src/index.js';
import { loadCheckpoint, saveCheckpoint } from '../src/node.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('crossEntropy', () => {
  it('equals −mean log softmax at the targets, leaving out ignored ones, with the right gradient', async () => {
    const logits = [[2, 1, 0.5], [0, 0, 3], [1, 1, 1]];
    const targets = [0, 2, -100];
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const want = -((logits[0][0] - lse(logits[0])) + (logits[1][2] - lse(logits[1]))) / 2;
    tidy(() => {
      const l = tensor(logits);
      const t = tensor(targets, [3], { dtype: 'int32' });
      expect(crossEntropy(l, t).dataSync()[0]).toBeCloseTo(want, 6);
      const g = grad((x) => crossEntropy(x, t))(l).dataSync();
      // d/dlogits = (softmax − onehot) / count; the ignored row gets nothing.
      const sm = logits[0].map((v) => Math.exp(v - lse(logits[0])));
      expect(g[0]).toBeCloseTo((sm[0] - 1) / 2, 6);
      expect(g[1]).toBeCloseTo(sm[1] / 2, 6);
      expect(Array.from(g.slice(6))).toEqual([0, 0, 0]);
    });
  });

  it('with labelSmoothing ε matches PyTorch: (1 − ε)·NLL + ε·mean over classes of −log p', () => {
    const logits = [[2, 1, 0.5], [0, 0, 3], [1, -1, 1]];
    const targets = [0, -100, 1];
    const eps = 0.2;
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const rowLoss = (r: number[], t: number) => (1 - eps) * (lse(r) - r[t]) + (eps / r.length) * r.reduce((s, v) => s + lse(r) - v, 0);
    const want = (rowLoss(logits[0], 0) + rowLoss(logits[2], 1)) / 2;
    tidy(() => {
      const got = crossEntropy(tensor(logits), tensor(targets, [3], { dtype: 'int32' }), { labelSmoothing: eps }).dataSync()[0];
      expect(got).toBeCloseTo(want, 6);
      expect(() => crossEntropy(tensor(logits), tensor(targets, [3], { dtype: 'int32' }), { labelSmoothing: 1.5 })).toThrow(/labelSmoothing/);
    });
  });

  it('checks shapes and dtypes', () => {
    tidy(() => {
      expect(() => crossEntropy(tensor([[1, 2]]), tensor([0, 1], [2], { dtype: 'int32' }))).toThrow(/need targets \[1\]/);
      expect(() => crossEntropy(tensor([[1, 2]]), tensor([0], [1]))).toThrow(/int32/);
    });
  });
});

describe('AdamW', () => {
  it('matches a hand-computed step (bias correction, decoupled decay, no-decay set)', () => {
    const opt = new AdamW({ lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.5 });
    const params = { 'w.weight': tensor([1, -2], [2]), 'layer.D': tensor([3], [1]) };
    const grads = { 'w.weight': tensor([0.5, 0.5], [2]), 'layer.D': tensor([1], [1]) };
    const next = opt.update(params, grads);
    // Step 1: m̂ = g, v̂ = g², update = g/|g| = sign(g); decay only on w.weight.
    const w = next['w.weight'].dataSync();
    expect(w[0]).toBeCloseTo(1 * (1 - 0.05) - 0.1, 6);
    expect(w[1]).toBeCloseTo(-2 * (1 - 0.05) - 0.1, 6);
    expect(next['layer.D'].dataSync()[0]).toBeCloseTo(3 - 0.1, 6);
    dispose([next, grads]);
    opt.dispose();
  });

  it('the official no-weight-decay set', () => {
    for (const n of ['backbone.layers.0.mixer.dt_bias', 'backbone.layers.0.mixer.D', 'backbone.layers.3.mixer.B_bias', 'backbone.layers.0.mixer.C_bias', 'backbone.layers.0.norm.weight', 'backbone.norm_f.weight', 'backbone.layers.1.mixer.B_norm.weight', 'backbone.layers.0.mixer.norm.weight', 'x.bias']) {
      expect(officialNoDecay(n), n).toBe(true);
    }
    for (const n of ['backbone.embedding.weight', 'backbone.layers.0.mixer.in_proj.weight', 'backbone.layers.0.mixer.out_proj.weight', 'backbone.layers.0.mixer.mimo_x']) {
      expect(officialNoDecay(n), n).toBe(false);
    }
  });

  it('clipGradNorm scales to the max norm and reports the norm', () => {
    tidy(() => {
      const { grads, norm } = clipGradNorm({ a: tensor([3], [1]), b: tensor([4], [1]) }, 1);
      expect(norm.dataSync()[0]).toBeCloseTo(5, 5);
      expect(grads.a.dataSync()[0]).toBeCloseTo(0.6, 5);
      expect(grads.b.dataSync()[0]).toBeCloseTo(0.8, 5);
      const small = clipGradNorm({ a: tensor([0.3], [1]) }, 1);
      expect(small.grads.a.dataSync()[0]).toBeCloseTo(0.3, 6);
    });
  });
});

describe('schedule and data', () => {
  it('warmup then cosine to minLr', () => {
    const s = { lr: 1, minLr: 0.1, warmupSteps: 10, totalSteps: 110 };
    expect(cosineLr(0, s)).toBeCloseTo(0.1);
    expect(cosineLr(9, s)).toBeCloseTo(1);
    expect(cosineLr(60, s)).toBeCloseTo(0.55);
    expect(cosineLr(110, s)).toBeCloseTo(0.1);
    expect(cosineLr(500, s)).toBeCloseTo(0.1);
  });

  it('TokenStream: last 10% is validation, windows are next-token pairs', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => i % 97);
    const data = new TokenStream(ids);
    expect(data.train.length).toBe(900);
    expect(Array.from(data.val.slice(0, 3))).toEqual([900 % 97, 901 % 97, 902 % 97]);
    const b = data.sample(4, 16, new Rng(1));
    const [x, y] = [await b.inputs.data(), await b.targets.data()];
    for (let i = 0; i < 4; i++) for (let t = 0; t < 15; t++) expect(y[i * 16 + t]).toBe(x[i * 16 + t + 1]);
    const vals = [...data.validation(3, 16)];
    expect(vals.reduce((n, v) => n + v.inputs.shape[0], 0)).toBe(Math.floor(99 / 16));
    dispose([b, vals]);
  });

  it('parity batches: targets are running XOR', async () => {
    const b = parityBatch(3, 10, new Rng(2));
    expect(b.inputs.shape).toEqual([3, 11]);
    const [x, y] = [await b.inputs.data(), await b.targets.data()];
    for (let i = 0; i < 3; i++) {
      expect([x[i * 11], y[i * 11]]).toEqual([2, -100]);
      let p = 0;
      for (let t = 1; t < 11; t++) {
        p ^= x[i * 11 + t];
        expect(y[i * 11 + t]).toBe(p);
      }
    }
    dispose(b);
  });

  it('modular arithmetic: × binds tighter than + and −, values mod 5 at every digit', () => {
    const { '+': plus, '-': minus, '*': times } = MOD_ARITH_OPS;
    // Delétang et al.'s examples: 1 + 2 × 3 = 2, 1 − 1 − 1 = 4, 0 × 1 + 4 × 3 − 2 = 0 (mod 5).
    expect(modArithValues([1, plus, 2, times, 3])).toEqual([1, -100, 3, -100, 2]);
    expect(modArithValues([1, minus, 1, minus, 1])).toEqual([1, -100, 0, -100, 4]);
    expect(modArithValues([0, times, 1, plus, 4, times, 3, minus, 2]).at(-1)).toBe(0);
    expect(modArithValues([2, minus, 3, times, 4])).toEqual([2, -100, 4, -100, 0]);
  });

  it('modular arithmetic batches alternate digits and operators after the start token', async () => {
    for (const varied of [false, true]) {
      const b = modArithBatch(4, 9, new Rng(5), undefined, varied);
      const [x, y] = [await b.inputs.data(), await b.targets.data()];
      for (let i = 0; i < 4; i++) {
        const row = Array.from(x.subarray(i * 10 + 1, i * 10 + 10));
        expect([x[i * 10], y[i * 10]]).toEqual([MOD_ARITH_BOS, -100]);
        row.forEach((tok, t) => expect(tok < 5).toBe(t % 2 === 0));
        expect(Array.from(y.subarray(i * 10 + 1, i * 10 + 10))).toEqual(modArithValues(row));
      }
      dispose(b);
    }
  });
});

const TINY = { dModel: 16, nLayer: 1, vocabSize: 12, ssmCfg: { layer: 'Mamba3' as const, dState: 8, headdim: 8, chunkSize: 8 } };

describe('LmTrainer', () => {
  it('learns a repeating pattern (validation loss falls far below the uniform loss) and leaks nothing', async () => {
    const text = Array.from({ length: 3000 }, (_, i) => [1, 2, 3, 4, 5, 6, 7, 8, 9, 10][i % 10] + (i % 20 < 10 ? 0 : 1) % 12);
    const data = new TokenStream(text);
    const before = memory().numTensors;
    const model = MambaLMHeadModel.create(TINY, { seed: 1 });
    const trainer = LmTrainer.fromModel(model, { weightDecay: 0.01 });
    model.dispose();
    const history = await trainer.fit(data, { steps: 60, batchSize: 8, seqLen: 32, lr: 1e-2, warmupSteps: 5, evalEvery: 30, progress: false, seed: 3 });
    expect(history.length).toBe(2);
    expect(history[1].valLoss).toBeLessThan(0.5 * Math.log(12));
    expect(history[1].valLoss).toBeLessThan(history[0].valLoss + 1e-6);
    trainer.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('a checkpoint resumes exactly: weights and AdamW moments', async () => {
    const data = new TokenStream(Array.from({ length: 2000 }, (_, i) => (i * 7) % 12));
    const rng = new Rng(5);
    const batches = Array.from({ length: 5 }, () => data.sample(4, 16, rng));
    const start = MambaLMHeadModel.create(TINY, { seed: 2 });
    const straight = LmTrainer.fromModel(start);
    for (const b of batches) await straight.update([b], 5e-3);
    const first = LmTrainer.fromModel(start);
    for (const b of batches.slice(0, 3)) await first.update([b], 5e-3);
    const dir = mkdtempSync(join(tmpdir(), 'ckpt-'));
    await saveCheckpoint(first, dir);
    const resumed = await loadCheckpoint(dir);
    expect(resumed.step).toBe(3);
    expect(resumed.optimizer.step).toBe(3);
    for (const b of batches.slice(3)) await resumed.update([b], 5e-3);
    for (const name of Object.keys(straight.params)) {
      const [a, c] = [await straight.params[name].data(), await resumed.params[name].data()];
      let maxDiff = 0;
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - c[i]));
      expect(maxDiff, name).toBeLessThan(1e-6);
    }
    for (const t of [straight, first, resumed]) t.dispose();
    start.dispose();
    dispose(batches);
  });

  it('gradient accumulation of two half batches equals one full batch', async () => {
    const data = new TokenStream(Array.from({ length: 2000 }, (_, i) => (i * 5 + (i >> 3)) % 12));
    const full = data.sample(4, 16, new Rng(9));
    const halves = tidy(() => [0, 2].map((o) => ({ inputs: sliceRows(full.inputs, o), targets: sliceRows(full.targets, o) })));
    const start = MambaLMHeadModel.create(TINY, { seed: 4 });
    const a = LmTrainer.fromModel(start, { weightDecay: 0 });
    const b = LmTrainer.fromModel(start, { weightDecay: 0 });
    const la = await a.update([full], 1e-3, 0);
    const lb = await b.update(halves, 1e-3, 0);
    expect(lb).toBeCloseTo(la, 5);
    for (const name of Object.keys(a.params)) {
      const [x, y] = [await a.params[name].data(), await b.params[name].data()];
      for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i]), name).toBeLessThan(2e-5);
    }
    for (const t of [a, b]) t.dispose();
    start.dispose();
    dispose([full, halves]);
  });
});

function sliceRows(t: ReturnType<typeof tensor>, offset: number) {
  return tensor(Array.from(t.dataSync()).slice(offset * t.shape[1], (offset + 2) * t.shape[1]), [2, t.shape[1]], { dtype: 'int32' });
}
