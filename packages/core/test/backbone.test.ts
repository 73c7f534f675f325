import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { ConfigError, dispose, grads, keep, mul, randomNormal, Rng, setBackend, sum, tensor, tidy, zeros } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { backboneSequence, buildMamba3, outputSize, paramCount, recommendedDefaults, resolveBackboneOptions } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('buildMamba3 (the Edifice backbone API)', () => {
  it('maps [batch, seqLen, embedDim] to the last hidden state [batch, hiddenSize]', async () => {
    const model = buildMamba3({ embedDim: 12, hiddenSize: 16, stateSize: 8, numLayers: 2, rank: 2, windowSize: 10 }, { seed: 1 });
    const y = tidy(() => model.forward(randomNormal([3, 10, 12], { seed: 2 })));
    expect(y.shape).toEqual([3, 16]);
    expect(Array.from(await y.data()).every(Number.isFinite)).toBe(true);
    expect(model.outputSize()).toBe(16);
    dispose([y]);
    model.dispose();
  });

  it('paramCount is exact (equals the parameters actually built) for several configurations', () => {
    const configs = [
      { embedDim: 287, hiddenSize: 256, stateSize: 16, numLayers: 2, rank: 4, complex: true },
      { embedDim: 32, hiddenSize: 32, stateSize: 8, numLayers: 3, rank: 1, convSize: 0 },
      { embedDim: 5, hiddenSize: 24, stateSize: 6, expandFactor: 3, convSize: 2, numLayers: 1, rank: 2 },
    ];
    for (const c of configs) {
      const m = buildMamba3(c, { seed: 3 });
      expect(paramCount(c)).toBe(m.paramCount);
      m.dispose();
    }
    // The Edifice example's size, by hand: input proj 287·256+256, per layer norm 256, in_proj 256·1024+1024,
    // conv 512·4+512, ssm_proj (2·16·4 + 3·8 + 4)·512, dt_bias 8, B/C bias 2·8·4·16, norms 2·16, D 8,
    // mimo 3·8·4·64, out_proj 512·256+256.
    const perLayer = 256 + 256 * 1024 + 1024 + 512 * 4 + 512 + 156 * 512 + 8 + 2 * 512 + 32 + 8 + 3 * 2048 + 512 * 256 + 256;
    expect(paramCount(configs[0])).toBe(287 * 256 + 256 + 2 * perLayer);
  });

  it('outputSize and recommendedDefaults follow Edifice', () => {
    expect(outputSize({ embedDim: 10 })).toBe(256);
    expect(outputSize({ embedDim: 10, hiddenSize: 64 })).toBe(64);
    expect(recommendedDefaults()).toMatchObject({ hiddenSize: 256, stateSize: 16, expandFactor: 2, convSize: 4, numLayers: 2, dropout: 0, windowSize: 60, rank: 4, complex: true });
  });

  it('the real-valued ablation differs from the complex model on the same weights', async () => {
    const opts = { embedDim: 8, hiddenSize: 8, stateSize: 8, numLayers: 1, rank: 1 };
    const m = buildMamba3(opts, { seed: 4 });
    // A larger step size (DT = softplus(0) ≈ 0.69) makes the rotations matter within a few steps.
    const dtBias = m.params['layers.0.ssm.dt_bias'];
    m.params['layers.0.ssm.dt_bias'] = keep(zeros(dtBias.shape));
    dtBias.dispose();
    const x = randomNormal([1, 12, 8], { seed: 5 });
    const a = tidy(() => backboneSequence(m.params, resolveBackboneOptions({ ...opts, complex: true }), x));
    const b = tidy(() => backboneSequence(m.params, resolveBackboneOptions({ ...opts, complex: false }), x));
    const [va, vb] = [await a.data(), await b.data()];
    expect(va.some((v, i) => Math.abs(v - vb[i]) > 1e-2)).toBe(true);
    dispose([a, b, x]);
    m.dispose();
  });

  it('dropout acts only in training, and repeats with the same rng seed', async () => {
    const m = buildMamba3({ embedDim: 8, hiddenSize: 8, stateSize: 4, numLayers: 3, rank: 1, dropout: 0.5 }, { seed: 6 });
    const x = randomNormal([2, 5, 8], { seed: 7 });
    const run = (training: boolean, seed: number) => tidy(() => m.forward(x, { training, rng: new Rng(seed) }));
    const [e1, e2, t1, t2, t3] = [run(false, 1), run(false, 2), run(true, 1), run(true, 1), run(true, 2)];
    const v = await Promise.all([e1, e2, t1, t2, t3].map((t) => t.data()));
    expect(Array.from(v[0])).toEqual(Array.from(v[1]));
    expect(Array.from(v[2])).toEqual(Array.from(v[3]));
    expect(Array.from(v[2])).not.toEqual(Array.from(v[0]));
    expect(Array.from(v[4])).not.toEqual(Array.from(v[2]));
    dispose([e1, e2, t1, t2, t3, x]);
    m.dispose();
  });

  it('gradients reach every parameter and match finite differences (float64)', async () => {
    const opts = { embedDim: 3, hiddenSize: 4, stateSize: 4, numLayers: 2, rank: 2, convSize: 2, headdim: 2, chunkSize: 2 };
    const o = resolveBackboneOptions(opts);
    const m = buildMamba3(opts, { seed: 8, dtype: 'float64' });
    const names = Object.keys(m.params).sort();
    const x = randomNormal([1, 4, 3], { seed: 9, dtype: 'float64' });
    const w = randomNormal([1, 4, 4], { seed: 10, dtype: 'float64' });
    const loss = (...ps: Tensor[]) => sum(mul(backboneSequence(Object.fromEntries(names.map((n, i) => [n, ps[i]])), o, x), w));
    const params = names.map((n) => m.params[n]);
    const analytic = grads(loss)(params);
    const h = 1e-6;
    for (const [i, p] of params.entries()) {
      const values = Array.from(await p.data());
      const got = await analytic[i].data();
      // Every parameter gets a gradient signal.
      expect(got.some((g) => g !== 0), `${names[i]} has an all-zero gradient`).toBe(true);
      for (let e = 0; e < Math.min(values.length, 6); e++) {
        const at = (d: number) =>
          tidy(() => {
            const moved = [...values];
            moved[e] += d;
            return loss(...params.map((q, j) => (j === i ? tensor(moved, q.shape, { dtype: 'float64' }) : q))).dataSync()[0];
          });
        const numeric = (at(h) - at(-h)) / (2 * h);
        expect(Math.abs(got[e] - numeric), `${names[i]}[${e}]: ${got[e]} vs ${numeric}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
      }
    }
    dispose([analytic, x, w]);
    m.dispose();
  });

  it('bad options and inputs give clear errors', () => {
    expect(() => buildMamba3({ embedDim: 0 })).toThrow(ConfigError);
    expect(() => buildMamba3({ embedDim: 4, hiddenSize: 6, headdim: 5 })).toThrow(/headdim \(5\) must divide hiddenSize·expandFactor = 12/);
    expect(() => buildMamba3({ embedDim: 4, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
    const m = buildMamba3({ embedDim: 4, hiddenSize: 8, stateSize: 4, numLayers: 1 }, { seed: 1 });
    expect(() => tidy(() => m.forward(randomNormal([2, 3, 5])))).toThrow(/input should be \[batch, seqLen, 4\], got \[2, 3, 5\]/);
    m.dispose();
  });
});
