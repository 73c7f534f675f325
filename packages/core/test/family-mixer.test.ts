import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { add, concat, ConfigError, dispose, grads, mul, randomNormal, reshape, setBackend, sliceAxis, sum, tensor, tidy, WeightsError } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import type { MixerState } from '../src/index.js';
import {
  initMamba1Params, initMamba2Params, Mamba1, Mamba2, mamba1ChunkCore, mamba1Forward, mamba1SelectiveScan, mamba1SelectiveScanStep, mamba2ChunkCore, mamba1ParamShapes, mamba2Forward, mamba2ParamShapes, mamba2SsdStep, relativeL2, resolveMamba1Config, resolveMamba2Config,
} from '../src/index.js';
import { perturb } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

type Forward = (p: Record<string, Tensor>, u: Tensor, s?: MixerState) => { y: Tensor; state: MixerState };

interface Variant {
  name: string;
  dModel: number;
  init: (seed: number, dtype?: 'float32' | 'float64') => Record<string, Tensor>;
  /** The forward with a given scan block size. */
  forward: (chunkSize: number) => Forward;
  create: (params: Record<string, Tensor>) => Mamba1 | Mamba2;
}

function mamba1Variant(name: string, opts: Parameters<typeof resolveMamba1Config>[0]): Variant {
  const c = resolveMamba1Config(opts);
  return {
    name,
    dModel: c.dModel,
    init: (seed, dtype) => perturb(initMamba1Params(c, { seed, dtype }), seed + 1, 0.3),
    forward: (chunkSize) => (p, u, s) => mamba1Forward(p, { ...c, chunkSize }, u, s as never),
    create: (p) => Mamba1.fromWeights(opts, p),
  };
}

function mamba2Variant(name: string, opts: Parameters<typeof resolveMamba2Config>[0]): Variant {
  const c = resolveMamba2Config(opts);
  return {
    name,
    dModel: c.dModel,
    init: (seed, dtype) => perturb(initMamba2Params(c, { seed, dtype }), seed + 1, 0.3),
    forward: (chunkSize) => (p, u, s) => mamba2Forward(p, { ...c, chunkSize }, u, s as never),
    create: (p) => Mamba2.fromWeights(opts, p),
  };
}

const VARIANTS: Variant[] = [
  mamba1Variant('Mamba1', { dModel: 16, dState: 8, dConv: 4 }),
  mamba1Variant('Mamba1 with biases, dt_rank 3, d_conv 2', { dModel: 16, dState: 4, dConv: 2, dtRank: 3, bias: true, convBias: false }),
  mamba2Variant('Mamba2', { dModel: 16, dState: 8, headdim: 8, chunkSize: 4 }),
  mamba2Variant('Mamba2 ngroups 2, D per channel, no rmsnorm, dt_limit', { dModel: 16, dState: 4, headdim: 4, ngroups: 2, DHasHdim: true, rmsnorm: false, dtLimit: [0.01, 0.5], chunkSize: 3 }),
  mamba2Variant('Mamba2 d_ssm (MLP part), biases, norm before gate', { dModel: 16, dState: 4, headdim: 4, dSsm: 16, bias: true, normBeforeGate: true, chunkSize: 5 }),
];

describe.each(VARIANTS)('$name', (v) => {
  it('prefill from a cache + recurrent steps equals one parallel pass (≤ 1e-5)', async () => {
    const mixer = v.create(v.init(1));
    const [b, L, prompt] = [2, 21, 9];
    const u = randomNormal([b, L, v.dModel], { seed: 3 });
    const whole = mixer.forward(u);
    const cache = mixer.allocateInferenceCache(b);
    const parts = [tidy(() => mixer.forward(sliceAxis(u, 1, 0, 4), { cache } as never)), tidy(() => mixer.forward(sliceAxis(u, 1, 4, prompt), { cache } as never))];
    for (let t = prompt; t < L; t++) parts.push(tidy(() => reshape(mixer.step(reshape(sliceAxis(u, 1, t, t + 1), [b, v.dModel]), cache as never), [b, 1, v.dModel])));
    const joined = concat(parts, 1);
    expect(relativeL2(await joined.data(), await whole.data())).toBeLessThan(1e-5);
    dispose([whole, joined, parts, u]);
    cache.dispose();
    mixer.dispose();
  });

  it('the scan block size does not change the result', async () => {
    const p = v.init(4);
    const u = randomNormal([1, 19, v.dModel], { seed: 6 });
    const outs: ArrayLike<number>[] = [];
    for (const chunkSize of [1, 3, 8, 64]) {
      const y = tidy(() => v.forward(chunkSize)(p, u).y);
      outs.push(await y.data());
      y.dispose();
    }
    for (const o of outs.slice(1)) expect(relativeL2(o, outs[0])).toBeLessThan(1e-5);
    dispose([p, u]);
  });
});

describe('gradients (float64, central finite differences)', () => {
  const small = [
    mamba1Variant('Mamba1', { dModel: 4, dState: 3, dConv: 3, bias: true }),
    mamba2Variant('Mamba2', { dModel: 4, dState: 3, headdim: 2, ngroups: 2, chunkSize: 2, bias: true }),
  ];
  for (const v of small) {
    it(`${v.name}: every parameter and the input`, async () => {
      const params = v.init(7, 'float64');
      const names = Object.keys(params).sort();
      const u = randomNormal([2, 5, v.dModel], { seed: 9, dtype: 'float64' });
      const w = randomNormal([2, 5, v.dModel], { seed: 10, dtype: 'float64' });
      const f = v.forward(2);
      // The final state enters the loss too, so its gradient path is checked.
      const loss = (uu: Tensor, ...ps: Tensor[]): Tensor => {
        const r = f(Object.fromEntries(names.map((n, i) => [n, ps[i]])), uu);
        return Object.values(r.state).reduce<Tensor>((acc, s) => add(acc, sum(mul(s, s))), sum(mul(r.y, w)));
      };
      const inputs = [u, ...names.map((n) => params[n])];
      const analytic = grads(loss)(inputs);
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

describe('configuration, weights and cache shapes', () => {
  it('bad options name the option', () => {
    expect(() => resolveMamba1Config({ dModel: 16, dtRank: 0 })).toThrow(ConfigError);
    expect(() => resolveMamba1Config({ dModel: 16, dtInit: 'x' as never })).toThrow(/dtInit must be "random" or "constant"/);
    expect(() => resolveMamba2Config({ dModel: 64, headdim: 48 })).toThrow(/headdim \(48\) must divide d_ssm = 128/);
    expect(() => resolveMamba2Config({ dModel: 64, headdim: 16, ngroups: 3 })).toThrow(/ngroups \(3\) must divide nheads \(8\)/);
    expect(() => resolveMamba2Config({ dModel: 64, dtLimit: [1, 0] })).toThrow(/dtLimit must be \[low, high\]/);
  });

  it("the prefill cores' bad inputs name the op, the input and both shapes", () => {
    const z = (...shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    // Mamba-2: b 1, L 3, H 2, P 4, G 1, N 4 (zxbcdt 2·8 + 2·4 + 2 = 26 wide).
    const m2 = { zxbcdt: z(1, 3, 26), x: z(1, 3, 8), B: z(1, 3, 4), C: z(1, 3, 5), dtBias: z(2), ALog: z(2), D: z(2) };
    const a2 = { dMlp: 0, ngroups: 1, chunkSize: 4, dtLimit: [0, Infinity] as const, gate: true };
    expect(() => mamba2ChunkCore(m2, a2)).toThrow(/mamba2ChunkCore: "C" should be \[1, 3, 4\], got \[1, 3, 5\]/);
    expect(() => mamba2ChunkCore({ ...m2, C: z(1, 3, 4) }, { ...a2, ngroups: 3 })).toThrow(/mamba2ChunkCore: ngroups 3 and nheads 2/);
    // Mamba-1: b 1, L 3, E 4, N 2, dt rank 1 (dbc 1 + 2·2 = 5 wide).
    const m1 = { xz: z(1, 3, 8), x: z(1, 3, 4), dbc: z(1, 3, 6), delta: z(1, 3, 4), ALog: z(4, 2), D: z(4), deltaBias: z(4) };
    expect(() => mamba1ChunkCore(m1, { dtRank: 1, chunkSize: 4 })).toThrow(/mamba1ChunkCore: "dbc" should be \[1, 3, 5\], got \[1, 3, 6\]/);
    dispose([...Object.values(m2), ...Object.values(m1)]);
  });

  it("the scans' bad inputs name the op, the input and both shapes", () => {
    const z = (...shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);
    // Mamba-1's selective scan: b 1, L 3, E 4, N 2.
    const s1 = { u: z(1, 3, 4), delta: z(1, 3, 4), A: z(4, 2), B: z(1, 3, 2), C: z(1, 3, 2), D: z(4), z: z(1, 3, 4), deltaBias: z(5) };
    expect(() => mamba1SelectiveScan(s1, { chunkSize: 2 })).toThrow(/mamba1SelectiveScan: "deltaBias" should be \[4\], got \[5\]/);
    const step1 = { u: z(1, 4), delta: z(1, 4), A: z(4, 2), B: z(1, 2), C: z(1, 2), D: z(4), z: z(1, 4), deltaBias: z(4), h: z(1, 4, 3) };
    expect(() => mamba1SelectiveScanStep(step1, {})).toThrow(/mamba1SelectiveScanStep: "state.ssm" should be \[1, 4, 2\], got \[1, 4, 3\]/);
    // Mamba-2's SSD step: b 1, H 2, P 4, G 1, N 4.
    const step2 = { x: z(1, 2, 4), dt: z(1, 2), A: z(2), B: z(1, 1, 4), C: z(1, 1, 4), D: z(2), dtBias: z(2), h: z(1, 2, 4, 5) };
    expect(() => mamba2SsdStep(step2, { dtLimit: [0, Infinity] })).toThrow(/mamba2SsdStep: "state.ssm" should be \[1, 2, 4, 4\], got \[1, 2, 4, 5\]/);
    dispose([...Object.values(s1), ...Object.values(step1), ...Object.values(step2)]);
  });

  it('official shapes: dt_rank auto, in_proj widths, caches', () => {
    const c1 = resolveMamba1Config({ dModel: 768 });
    expect(c1.dtRank).toBe(48);
    expect(mamba1ParamShapes(c1)['x_proj.weight']).toEqual([48 + 32, 1536]);
    const c2 = resolveMamba2Config({ dModel: 768, headdim: 64, dState: 128 });
    expect(mamba2ParamShapes(c2)['in_proj.weight']).toEqual([2 * 1536 + 2 * 128 + 24, 768]);
    const m1 = Mamba1.create({ dModel: 16, dState: 8 }, { seed: 1 });
    const m2 = Mamba2.create({ dModel: 16, dState: 8, headdim: 8, ngroups: 2 }, { seed: 1 });
    const k1 = m1.allocateInferenceCache(3);
    const k2 = m2.allocateInferenceCache(3);
    expect([k1.state().conv.shape, k1.state().ssm.shape]).toEqual([[3, 32, 4], [3, 32, 8]]);
    expect([k2.state().conv.shape, k2.state().ssm.shape]).toEqual([[3, 32 + 2 * 2 * 8, 4], [3, 4, 8, 8]]);
    // S4D-real A: log(1..N) in every channel.
    expect(Array.from(m1.params.A_log.dataSync().slice(0, 8)).map((x) => Math.round(Math.exp(x)))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    dispose([k1, k2].flatMap((k) => k.tensors()));
    m1.dispose();
    m2.dispose();
  });

  it('missing and misshaped weights are listed', () => {
    const m = Mamba1.create({ dModel: 16, dState: 8 }, { seed: 1 });
    const w = { ...m.params };
    delete (w as Record<string, Tensor>).D;
    expect(() => Mamba1.fromWeights({ dModel: 16, dState: 4 }, w)).toThrow(WeightsError);
    expect(() => Mamba1.fromWeights({ dModel: 16, dState: 4 }, w)).toThrow(/missing "D" \[32\]/);
    m.dispose();
  });
});
