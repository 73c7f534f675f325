import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { ConfigError, dispose, grads, mul, randomNormal, setBackend, sum, tidy } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { buildMamba, mambaBackboneSequence, mambaOutputSize, mambaParamCount, mambaRecommendedDefaults } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

describe('buildMamba (the Edifice Mamba backbone API, Mamba-1 mixers)', () => {
  it('maps [batch, seqLen, embedDim] to the last hidden state [batch, hiddenSize]', async () => {
    const model = buildMamba({ embedDim: 12, hiddenSize: 16, stateSize: 8, numLayers: 2, windowSize: 10 }, { seed: 1 });
    const x = randomNormal([3, 10, 12], { seed: 2 });
    const y = model.forward(x);
    expect(y.shape).toEqual([3, 16]);
    // The last position of the full sequence output.
    const seq = model.forwardSequence(x);
    const all = await seq.data();
    const last = Array.from({ length: 3 }, (_, b) => Array.from(all.slice((b * 10 + 9) * 16, (b * 10 + 10) * 16))).flat();
    expect(Array.from(await y.data())).toEqual(last);
    expect(model.outputSize()).toBe(16);
    dispose([x, y, seq]);
    model.dispose();
  });

  it('paramCount is exact for several configurations, and by hand for the Edifice example', () => {
    const configs = [
      { embedDim: 287, hiddenSize: 256, stateSize: 16, numLayers: 2, expandFactor: 2 },
      { embedDim: 32, hiddenSize: 32, stateSize: 8, numLayers: 3, convSize: 2 },
      { embedDim: 5, hiddenSize: 24, stateSize: 6, expandFactor: 3, numLayers: 1 },
    ];
    for (const c of configs) {
      const m = buildMamba(c, { seed: 3 });
      expect(mambaParamCount(c)).toBe(m.paramCount);
      m.dispose();
    }
    // input proj 287·256+256; per layer: norm 256, in_proj 256·1024, conv 512·4+512, x_proj (16+32)·512,
    // dt_proj 512·16+512, A_log 512·16, D 512, out_proj 256·512 (dt_rank = ceil(256/16) = 16).
    const perLayer = 256 + 256 * 1024 + 512 * 4 + 512 + 48 * 512 + 512 * 16 + 512 + 512 * 16 + 512 + 256 * 512;
    expect(mambaParamCount(configs[0])).toBe(287 * 256 + 256 + 2 * perLayer);
  });

  it('outputSize, recommendedDefaults and option errors', () => {
    expect(mambaRecommendedDefaults()).toEqual({ hiddenSize: 256, stateSize: 16, expandFactor: 2, convSize: 4, numLayers: 2, dropout: 0, windowSize: 60 });
    expect(mambaOutputSize({ embedDim: 7 })).toBe(256);
    expect(() => buildMamba({ embedDim: 8, numLayers: 0 })).toThrow(ConfigError);
    expect(() => buildMamba({ embedDim: 8, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
  });

  it('gradients reach every parameter', () => {
    const model = buildMamba({ embedDim: 6, hiddenSize: 8, stateSize: 4, numLayers: 2 }, { seed: 5 });
    const names = Object.keys(model.params);
    const x = randomNormal([2, 7, 6], { seed: 6 });
    const g = grads((...ps: Tensor[]) => sum(mul(mambaBackboneSequence(Object.fromEntries(names.map((n, i) => [n, ps[i]])), model.options, x), 0.5)))(names.map((n) => model.params[n]));
    tidy(() => {
      for (const [i, t] of g.entries()) expect(sum(mul(t, t)).dataSync()[0], names[i]).toBeGreaterThan(0);
    });
    dispose([g, x]);
    model.dispose();
  });
});
