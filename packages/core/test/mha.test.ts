import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import { concat, dispose, randomNormal, reshape, setBackend, sliceAxis, tidy } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import type { MhaOptions, MhaState } from '../src/index.js';
import { initMhaParams, mhaForward, mhaStepForward, mhaZeroState, relativeL2, resolveMhaConfig } from '../src/index.js';
import { perturb } from './helpers.js';

beforeAll(async () => {
  await setBackend('cpu');
});

/**
 * An independent float64 reading of the official MHA (mha.py + flash_attn's RotaryEmbedding),
 * loop by loop: in_proj, optional causal depthwise conv on qkv, q then kv laid out
 * (two, hkv, d), rotary on the first rotary_emb_dim dims (NeoX halves or interleaved pairs,
 * θ = pos · base^(−2i/rd)), KV heads repeated to the query heads, softmax(q·k · scale) over
 * allowed keys, the gated MLP part, out_proj.
 */
function reference(o: Required<Pick<MhaOptions, 'numHeads'>> & MhaOptions, p: Record<string, Float64Array>, x: Float64Array, b: number, L: number): Float64Array {
  const c = resolveMhaConfig(o);
  const { embedDim: d, numHeads: H, numHeadsKv: Hk, headDim: D, qkvDim, mlpDim, rotaryEmbDim: rd } = c;
  const W = qkvDim + mlpDim;
  const proj = new Float64Array(b * L * W);
  for (let i = 0; i < b * L; i++) {
    for (let j = 0; j < W; j++) {
      let s = p['in_proj.bias']?.[j] ?? 0;
      for (let k = 0; k < d; k++) s += p['in_proj.weight'][j * d + k] * x[i * d + k];
      proj[i * W + j] = s;
    }
  }
  const qkv = new Float64Array(b * L * qkvDim);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < L; t++) {
      for (let j = 0; j < qkvDim; j++) {
        if (c.dConv === 0) qkv[(bi * L + t) * qkvDim + j] = proj[(bi * L + t) * W + j];
        else {
          let s = p['conv1d.bias'][j];
          for (let k = 0; k < c.dConv; k++) {
            const tt = t - (c.dConv - 1) + k;
            if (tt >= 0) s += p['conv1d.weight'][j * c.dConv + k] * proj[(bi * L + tt) * W + j];
          }
          qkv[(bi * L + t) * qkvDim + j] = s;
        }
      }
    }
  }
  const rotate = (v: Float64Array, off: number, pos: number): void => {
    const half = rd / 2;
    for (let i = 0; i < half; i++) {
      const th = pos * Math.pow(c.rotaryEmbBase, (-2 * i) / rd);
      const [i1, i2] = c.rotaryEmbInterleaved ? [2 * i, 2 * i + 1] : [i, i + half];
      const [a, e] = [v[off + i1], v[off + i2]];
      v[off + i1] = a * Math.cos(th) - e * Math.sin(th);
      v[off + i2] = e * Math.cos(th) + a * Math.sin(th);
    }
  };
  const q = (bi: number, t: number, h: number): number => (bi * L + t) * qkvDim + h * D;
  const kOff = (bi: number, t: number, h: number): number => (bi * L + t) * qkvDim + H * D + h * D;
  const vOff = (bi: number, t: number, h: number): number => (bi * L + t) * qkvDim + H * D + Hk * D + h * D;
  if (rd > 0) for (let bi = 0; bi < b; bi++) for (let t = 0; t < L; t++) {
    for (let h = 0; h < H; h++) rotate(qkv, q(bi, t, h), t);
    for (let h = 0; h < Hk; h++) rotate(qkv, kOff(bi, t, h), t);
  }
  const outIn = c.outDim + mlpDim / 2;
  const y = new Float64Array(b * L * d);
  for (let bi = 0; bi < b; bi++) {
    for (let t = 0; t < L; t++) {
      const ctx = new Float64Array(outIn);
      for (let h = 0; h < H; h++) {
        const hk = Math.floor(h / (H / Hk));
        const last = c.causal ? t : L - 1;
        const sc = Array.from({ length: last + 1 }, (_, s) => {
          let v = 0;
          for (let e = 0; e < D; e++) v += qkv[q(bi, t, h) + e] * qkv[kOff(bi, s, hk) + e];
          return v * c.softmaxScale;
        });
        const m = Math.max(...sc);
        const w = sc.map((v) => Math.exp(v - m));
        const z = w.reduce((a2, v) => a2 + v, 0);
        for (let e = 0; e < D; e++) ctx[h * D + e] = w.reduce((a2, v, s) => a2 + (v / z) * qkv[vOff(bi, s, hk) + e], 0);
      }
      for (let j = 0; j < mlpDim / 2; j++) {
        const up = proj[(bi * L + t) * W + qkvDim + j];
        const g = proj[(bi * L + t) * W + qkvDim + mlpDim / 2 + j];
        ctx[c.outDim + j] = up * (g / (1 + Math.exp(-g)));
      }
      for (let j = 0; j < d; j++) {
        let s = p['out_proj.bias']?.[j] ?? 0;
        for (let k = 0; k < outIn; k++) s += p['out_proj.weight'][j * outIn + k] * ctx[k];
        y[(bi * L + t) * d + j] = s;
      }
    }
  }
  return y;
}

const CASES: [string, MhaOptions][] = [
  ['GQA, causal', { embedDim: 16, numHeads: 4, numHeadsKv: 2, causal: true }],
  ['rotary NeoX on part of head_dim, head_dim set, no qkv bias', { embedDim: 16, numHeads: 2, headDim: 12, rotaryEmbDim: 8, causal: true, qkvProjBias: false, rotaryEmbBase: 100 }],
  ['rotary interleaved, MQA, softmax_scale', { embedDim: 16, numHeads: 4, numHeadsKv: 1, rotaryEmbDim: 4, rotaryEmbInterleaved: true, causal: true, softmaxScale: 0.3 }],
  ['mlp_dim and d_conv, non-causal', { embedDim: 16, numHeads: 2, mlpDim: 20, dConv: 3, outProjBias: false }],
];

describe.each(CASES)('MHA %s', (_name, opts) => {
  it('matches an independent float64 reference', async () => {
    const c = resolveMhaConfig(opts);
    const params = perturb(initMhaParams(c, { seed: 1, dtype: 'float64' }), 2, 0.3);
    const [b, L] = [2, 7];
    const x = randomNormal([b, L, c.embedDim], { seed: 3, dtype: 'float64' });
    const got = tidy(() => mhaForward(params, c, x).y);
    const plain = Object.fromEntries(await Promise.all(Object.entries(params).map(async ([k, v]) => [k, Float64Array.from(await v.data())])));
    const want = reference({ ...opts, numHeads: opts.numHeads }, plain, Float64Array.from(await x.data()), b, L);
    expect(relativeL2(await got.data(), want)).toBeLessThan(1e-10);
    dispose([got, x, params]);
  });

  if (opts.causal) {
    it('prefill into the KV cache + steps equal the forward', async () => {
      const c = resolveMhaConfig(opts);
      const params = perturb(initMhaParams(c, { seed: 4 }), 5, 0.3);
      const [b, L] = [2, 9];
      const x = randomNormal([b, L, c.embedDim], { seed: 6 });
      const whole = tidy(() => mhaForward(params, c, x).y);
      let state: MhaState = mhaZeroState(c, b, 12);
      const parts: Tensor[] = [];
      const pre = mhaForward(params, c, sliceAxis(x, 1, 0, 4), state);
      dispose(state);
      parts.push(pre.y);
      state = pre.state as MhaState;
      for (let t = 4; t < L; t++) {
        const r = mhaStepForward(params, c, reshape(sliceAxis(x, 1, t, t + 1), [b, c.embedDim]), state);
        dispose(state);
        state = r.state;
        parts.push(reshape(r.y, [b, 1, c.embedDim]));
      }
      const joined = concat(parts, 1);
      expect(relativeL2(await joined.data(), await whole.data())).toBeLessThan(1e-5);
      expect(Array.from(await state.pos.data())).toEqual([L, L]);
      dispose([joined, parts, whole, x, params, state]);
    });
  }
});
