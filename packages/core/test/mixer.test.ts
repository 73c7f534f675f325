import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { concat, ConfigError, grads, memory, mul, randomNormal, reshape, setBackend, sliceAxis, sum, tensor, tidy, WeightsError, dispose } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import type { Mamba3Options } from '../src/index.js';
import { Mamba3, mamba3Forward, relativeL2, resolveMamba3Config, initMamba3Params, mamba3ParamShapes } from '../src/index.js';
import { perturb } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

const VARIANTS: [string, Mamba3Options][] = [
  ['SISO', { dModel: 32, dState: 16, headdim: 8, chunkSize: 8 }],
  ['SISO out-norm, full rotation', { dModel: 32, dState: 16, headdim: 8, chunkSize: 8, isOutprojNorm: true, ropeFraction: 1 }],
  ['MIMO rank 2', { dModel: 32, dState: 16, headdim: 8, chunkSize: 4, isMimo: true, mimoRank: 2 }],
  ['MIMO rank 3 out-norm, 2 groups', { dModel: 24, dState: 8, headdim: 6, chunkSize: 5, isMimo: true, mimoRank: 3, isOutprojNorm: true, ngroups: 2 }],
  ['SISO real-valued (complex: false)', { dModel: 16, dState: 8, headdim: 8, chunkSize: 8, complex: false }],
];

describe.each(VARIANTS)('%s', (_name, opts) => {
  it('chunked prefill + recurrent steps equals one chunked pass (≤ 1e-5)', async () => {
    const m = Mamba3.create(opts, { seed: 1 });
    const mixer = Mamba3.fromWeights(opts, perturb(m.params, 2));
    const [b, L, prompt] = [2, 23, 13];
    const u = randomNormal([b, L, opts.dModel], { seed: 3 });
    const whole = mixer.forward(u);
    const cache = mixer.allocateInferenceCache(b);
    const before = memory().numTensors;
    const head = tidy(() => mixer.forward(sliceAxis(u, 1, 0, prompt), { cache }));
    const steps: Tensor[] = [head];
    for (let t = prompt; t < L; t++) {
      steps.push(tidy(() => reshape(mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, opts.dModel]), cache), [b, 1, opts.dModel])));
    }
    // The cache stays the same size: 4 tensors, replaced at each step.
    expect(memory().numTensors).toBe(before + steps.length);
    const joined = concat(steps, 1);
    expect(relativeL2(await joined.data(), await whole.data())).toBeLessThan(1e-5);
    dispose([whole, joined, steps, u, mixer.params]);
    cache.dispose();
  });

  it('the chunk size does not change the result', async () => {
    const base = Mamba3.create(opts, { seed: 4 });
    const p = perturb(base.params, 5);
    const u = randomNormal([1, 19, opts.dModel], { seed: 6 });
    const outs: Float32Array[] = [];
    for (const chunkSize of [1, 3, 7, 64]) {
      const y = tidy(() => mamba3Forward(p, resolveMamba3Config({ ...opts, chunkSize }), u).y);
      outs.push((await y.data()) as Float32Array);
      y.dispose();
    }
    for (const o of outs.slice(1)) expect(relativeL2(o, outs[0])).toBeLessThan(1e-5);
    dispose([p, u]);
  });
});

describe('gradients (float64, central finite differences)', () => {
  const cases: [string, Mamba3Options][] = [
    ['SISO', { dModel: 4, dState: 4, headdim: 2, chunkSize: 2 }],
    ['MIMO out-norm', { dModel: 4, dState: 4, headdim: 2, chunkSize: 3, isMimo: true, mimoRank: 2, isOutprojNorm: true }],
  ];
  for (const [name, opts] of cases) {
    it(`${name}: every parameter and the input`, async () => {
      const config = resolveMamba3Config(opts);
      const params = perturb(initMamba3Params(config, { seed: 7, dtype: 'float64' }), 8, 0.5);
      const names = Object.keys(params).sort();
      const u = randomNormal([1, 5, opts.dModel], { seed: 9, dtype: 'float64' });
      const w = randomNormal([1, 5, opts.dModel], { seed: 10, dtype: 'float64' });
      const loss = (uu: Tensor, ...ps: Tensor[]): Tensor =>
        sum(mul(mamba3Forward(Object.fromEntries(names.map((n, i) => [n, ps[i]])), config, uu).y, w));
      const analytic = grads(loss)([u, ...names.map((n) => params[n])]);
      const inputs = [u, ...names.map((n) => params[n])];
      const h = 1e-6;
      for (const [i, t] of inputs.entries()) {
        const values = Array.from(await t.data());
        const got = await analytic[i].data();
        for (let e = 0; e < values.length; e++) {
          const at = (delta: number): number =>
            tidy(() => {
              const moved = [...values];
              moved[e] += delta;
              const args = inputs.map((x, j) => (j === i ? tensor(moved, x.shape, { dtype: 'float64' }) : x));
              return loss(args[0], ...args.slice(1)).dataSync()[0];
            });
          const numeric = (at(h) - at(-h)) / (2 * h);
          const label = `${i === 0 ? 'input' : names[i - 1]}[${e}]`;
          expect(Math.abs(got[e] - numeric), `${label}: analytic ${got[e]}, numeric ${numeric}`).toBeLessThan(1e-6 + 1e-5 * Math.abs(numeric));
        }
      }
      dispose([analytic, params, u, w]);
    });
  }
});

describe('configuration and weights errors name the parameter', () => {
  it('bad options', () => {
    expect(() => resolveMamba3Config({ dModel: 64, headdim: 48 })).toThrow(ConfigError);
    expect(() => resolveMamba3Config({ dModel: 64, headdim: 48 })).toThrow(/headdim \(48\) must divide d_inner = expand·dModel = 128/);
    expect(() => resolveMamba3Config({ dModel: 64, ropeFraction: 0.25 })).toThrow(/ropeFraction must be 0.5 or 1, got 0.25/);
    expect(() => resolveMamba3Config({ dModel: 64, ngroups: 3, headdim: 16 })).toThrow(/ngroups \(3\) must divide nheads \(8\)/);
    expect(() => resolveMamba3Config({ dModel: 0 })).toThrow(/dModel must be a positive integer/);
    expect(() => resolveMamba3Config({ dModel: 64, dState: 2 })).toThrow(/no rotation angle/);
    expect(() => resolveMamba3Config({ dModel: 64, isMimo: true, mimoRank: 0 })).toThrow(/mimoRank must be a positive integer/);
  });

  it('missing, unexpected and misshaped weights are all listed', () => {
    const opts = { dModel: 16, dState: 8, headdim: 8 };
    const m = Mamba3.create(opts, { seed: 1 });
    const w = { ...m.params };
    const extra = tensor([1], [1]);
    const wrong = tensor(new Float32Array(8), [8]);
    delete (w as Record<string, Tensor>).D;
    w['dt_bias'] = wrong;
    (w as Record<string, Tensor>)['mimo_x'] = extra;
    expect(() => Mamba3.fromWeights(opts, w)).toThrow(WeightsError);
    for (const problem of [/3 problem\(s\)/, /missing "D" \[4\]/, /"dt_bias" has shape \[8\], expected \[4\]/, /unexpected "mimo_x" \[1\]/]) {
      expect(() => Mamba3.fromWeights(opts, w)).toThrow(problem);
    }
    dispose([m.params, extra, wrong]);
  });

  it('the cache has the official shapes', () => {
    const m = Mamba3.create({ dModel: 32, dState: 16, headdim: 8, isMimo: true, mimoRank: 2 }, { seed: 1 });
    const c = m.allocateInferenceCache(3);
    expect([c.angle.shape, c.ssm.shape, c.k.shape, c.v.shape]).toEqual([[3, 8, 4], [3, 8, 8, 16], [3, 2, 8, 16], [3, 8, 8]]);
    expect(mamba3ParamShapes(m.config)['in_proj.weight']).toEqual([2 * 64 + 2 * 16 * 2 + 3 * 8 + 4, 32]);
    c.dispose();
    dispose(m.params);
  });

  it('wrong input shapes', () => {
    const m = Mamba3.create({ dModel: 16, dState: 8, headdim: 8 }, { seed: 1 });
    tidy(() => {
      expect(() => m.forward(randomNormal([2, 5, 15]))).toThrow(/input should be \[batch, seqlen, 16\], got \[2, 5, 15\]/);
      const c = m.allocateInferenceCache(2);
      expect(() => m.step(randomNormal([3, 16]), c)).toThrow(/state.angle/);
      c.dispose();
    });
    dispose(m.params);
  });
});
