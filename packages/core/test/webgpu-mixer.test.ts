import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerResult, Mamba3MixerState } from '../src/index.js';
import * as tensorOps from '@mamba3/tensor';
import * as core from '../src/index.js';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './webgpu.js';

const ops = { ...tensorOps, ...core };

/**
 * The fused mixer kernels against the tensor package's composites run on the CPU backend
 * (float32 both sides). Tolerance: the fused kernel reorders float32 sums (norms, S·C over N),
 * ~1e-6 relative; atol 2e-5, rtol 2e-4 leaves an order of magnitude of room and still catches
 * any wrong term (those are O(1) off).
 */
const TOL = { atol: 2e-5, rtol: 2e-4 };

interface Config {
  name: string;
  attrs: Mamba3MixerAttrs;
}

const base = { AFloor: 1e-4, chunkSize: 8, eps: 1e-5 };
const CONFIGS: Config[] = [
  { name: 'SISO, rotations, gated output norm', attrs: { ...base, nheads: 3, headdim: 5, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 3, complex: true, isOutprojNorm: true } },
  { name: 'SISO, 2 groups, no rotation, silu gate', attrs: { ...base, nheads: 4, headdim: 3, dState: 6, ngroups: 2, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: false, isOutprojNorm: false } },
  { name: 'MIMO rank 2, rotations, gated output norm', attrs: { ...base, nheads: 2, headdim: 4, dState: 10, ngroups: 1, mimoRank: 2, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 4, silu gate', attrs: { ...base, nheads: 2, headdim: 7, dState: 4, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: false } },
];

/** The 130M model's mixer shapes (24 heads of 64, d_state 128, 32 angles), and a ragged P > 32 (two passes over the state rows), step only. */
const LARGE: Config[] = [
  { name: 'SISO headdim 40', attrs: { ...base, nheads: 2, headdim: 40, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: '130M SISO', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 32, complex: true, isOutprojNorm: true } },
  { name: '130M MIMO r4', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 32, complex: true, isOutprojNorm: true } },
];

/** A head too big for the step kernel to hold its share of the state in registers (it reads it in place); step only. */
const IN_PLACE: Config = { name: 'SISO headdim 96, d_state 128', attrs: { ...base, nheads: 2, headdim: 96, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 16, complex: true, isOutprojNorm: true } };

/** Without the output norm the step kernel splits each head's rows over workgroups (4 slices at P 64, 2 at P 32); step only. */
const SLICED: Config[] = [
  { name: '130M SISO, silu gate (4 slices per head)', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 32, complex: true, isOutprojNorm: false } },
  { name: '130M MIMO r4, silu gate (4 slices per head)', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 32, complex: true, isOutprojNorm: false } },
  { name: 'SISO headdim 32, no rotation (2 slices per head)', attrs: { ...base, nheads: 3, headdim: 32, dState: 24, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 4, complex: false, isOutprojNorm: false } },
];

/**
 * P and N multiples of 4: the vec4 scan kernels, which form x̃ = x ⊙ mimo_x from zxbcdt's rows
 * themselves (and B̃, C̃ unless the config is rotated MIMO, whose B̃ and C̃ the prep stores).
 * Several scan chunks (T = 64 / R positions), ranks 1 to 4 (rank 3 spreads a position's rows over
 * staging steps), zxbcdt rows that are whole vec4s (dInProj 56, 72, 120) and rows that are not
 * (47 here; SISO's in FUSED_BC), which are read as scalars.
 */
const FUSED_X: Config[] = [
  { name: 'SISO P 8, rows of vec4', attrs: { ...base, nheads: 2, headdim: 8, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 2, rows of vec4', attrs: { ...base, nheads: 2, headdim: 8, dState: 8, ngroups: 1, mimoRank: 2, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 3, rows not of vec4', attrs: { ...base, nheads: 2, headdim: 4, dState: 4, ngroups: 1, mimoRank: 3, isMimo: true, numRopeAngles: 1, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 4, P 12, rows of vec4', attrs: { ...base, nheads: 2, headdim: 12, dState: 8, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
];

/**
 * B̃ and C̃ formed in the vec4 scan kernels (SISO, unrotated MIMO) or stored by the prep (rotated
 * MIMO): 2 groups (the row of rank r, group h / (H/G)), a vec4 half rotated (the angles end
 * inside it), without rotation, and rows read as scalars (dInProj 95, 177, 90).
 */
const FUSED_BC: Config[] = [
  { name: 'SISO, 2 groups, d_state 12, 3 angles, rows not of vec4', attrs: { ...base, nheads: 4, headdim: 4, dState: 12, ngroups: 2, mimoRank: 1, isMimo: false, numRopeAngles: 3, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 2, 2 groups, d_state 16, 5 angles, rows not of vec4', attrs: { ...base, nheads: 4, headdim: 4, dState: 16, ngroups: 2, mimoRank: 2, isMimo: true, numRopeAngles: 5, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 4, no rotation', attrs: { ...base, nheads: 2, headdim: 4, dState: 8, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 4, complex: false, isOutprojNorm: false } },
];

function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const rng = new ops.Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = shift + scale * rng.normal();
  return out;
}

function build(backend: Backend, a: Mamba3MixerAttrs, b: number, seed: number) {
  const { nheads: H, headdim: P, dState: N, mimoRank: R, numRopeAngles: A } = a;
  const dIn = ops.dInProjOf(a);
  const t = (shape: number[], s: number, scale = 1, shift = 0) => ops.tensor(values(shape.reduce((x, y) => x * y, 1), seed * 100 + s, scale, shift), shape, { backend });
  const params: Mamba3MixerParams = {
    dtBias: t([H], 1, 0.5, -1),
    BBias: t([H, R, N], 2, 0.3),
    CBias: t([H, R, N], 3, 0.3),
    BNormWeight: t([N], 4, 0.2, 1),
    CNormWeight: t([N], 5, 0.2, 1),
    D: t([H], 6),
    ...(a.isMimo ? { mimoX: t([H, R, P], 7, 0.5, 1), mimoZ: t([H, R, P], 8, 0.5, 1), mimoO: t([H, R, P], 9, 0.5) } : {}),
    ...(a.isOutprojNorm ? { normWeight: t([H * P], 10, 0.2, 1) } : {}),
  };
  const state: Mamba3MixerState = { angle: t([b, H, A], 11), ssm: t([b, H, P, N], 12), k: t([b, R, H, N], 13), v: t([b, H, P], 14) };
  return { params, state, zxbcdt: (L: number | null, s: number) => t(L === null ? [b, dIn] : [b, L, dIn], 20 + s) };
}

async function compare(label: string, got: Tensor, want: Tensor): Promise<void> {
  expect(got.shape, label).toEqual(want.shape);
  const g = await got.data();
  const w = await want.data();
  let worst = 0;
  let at = -1;
  for (let i = 0; i < w.length; i++) {
    const r = Math.abs(g[i] - w[i]) / (TOL.atol + TOL.rtol * Math.abs(w[i]));
    if (!(r <= worst)) {
      worst = r;
      at = i;
    }
  }
  expect(worst, `${label}: element ${at} got ${g[at]} want ${w[at]}`).toBeLessThanOrEqual(1);
}

const outputs = (r: Mamba3MixerResult): [string, Tensor][] => [['y', r.y], ...ops.MIXER_STATE_KEYS.map((k) => [`state.${k}`, r.state[k]] as [string, Tensor])];

(SKIP_WEBGPU ? describe.skip : describe)(`fused Mamba-3 mixer kernels${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-mixer-ref' });
  beforeAll(async () => {
    gpu = await makeBackend({ name: 'webgpu-mixer' });
  });
  afterAll(() => gpu?.dispose());

  for (const c of LARGE) {
    it(`chunked (L=20, from a cache): ${c.name}`, async () => {
      const ref = build(cpu, c.attrs, 1, 4);
      const dev = build(gpu, c.attrs, 1, 4);
      const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(20, 3), ref.params, c.attrs, ref.state);
      const got = ops.mamba3MixerChunked(dev.zxbcdt(20, 3), dev.params, c.attrs, dev.state);
      for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=20 ${name}`, g, w);
    });
  }

  for (const c of [CONFIGS[0], CONFIGS[2]]) {
    it(`chunked over several angle and scan chunks (L=150, from a cache): ${c.name}`, async () => {
      const ref = build(cpu, c.attrs, 1, 3);
      const dev = build(gpu, c.attrs, 1, 3);
      const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(150, 2), ref.params, c.attrs, ref.state);
      const got = ops.mamba3MixerChunked(dev.zxbcdt(150, 2), dev.params, c.attrs, dev.state);
      for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=150 ${name}`, g, w);
    });
  }

  const chunked = async (backend: WebGPUBackend, c: Config, L: number, withState: boolean) => {
    const b = 2;
    const ref = build(cpu, c.attrs, b, 5);
    const dev = build(backend, c.attrs, b, 5);
    const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(L, 6), ref.params, c.attrs, withState ? ref.state : undefined);
    const got = ops.mamba3MixerChunked(dev.zxbcdt(L, 6), dev.params, c.attrs, withState ? dev.state : undefined);
    for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=${L} ${name}`, g, w);
  };

  for (const c of [...FUSED_X, ...FUSED_BC]) {
    for (const withState of [false, true]) {
      // B̃ and C̃ are formed in the scan kernels too unless the config is rotated MIMO (stored by the prep).
      const bc = c.attrs.isMimo && c.attrs.complex ? 'B̃, C̃ stored' : 'B̃, C̃ formed';
      it(`chunked, x̃ formed in the scan kernels, ${bc} (b=2, L=150${withState ? ', from a cache' : ''}): ${c.name}`, () => chunked(gpu, c, 150, withState));
    }
  }

  it('chunked on the scalar scan kernels, which read a materialised x̃, B̃, C̃ (b=2, L=150, from a cache): MIMO rank 2', async () => {
    const legacy = await makeBackend({ name: 'webgpu-mixer-legacy-scan' });
    ops.useLegacyScanKernels(legacy);
    try {
      await chunked(legacy, FUSED_X[1], 150, true);
    } finally {
      legacy.dispose();
    }
  });

  it('chunked with B̃ and C̃ stored by the prep kernel for the vec4 scan kernels (useStoredBC; b=2, L=150, from a cache): SISO, unrotated MIMO', async () => {
    // The configs whose default forms B̃ and C̃ in the scan kernels (rotated MIMO stores them anyway).
    const stored = await makeBackend({ name: 'webgpu-mixer-stored-bc' });
    ops.useStoredBC(stored);
    try {
      for (const c of [FUSED_X[0], FUSED_BC[FUSED_BC.length - 1]]) await chunked(stored, c, 150, true);
    } finally {
      stored.dispose();
    }
  });

  for (const c of [...CONFIGS, ...LARGE, ...SLICED, IN_PLACE]) {
    it(`step: ${c.name}`, async () => {
      const b = 2;
      const ref = build(cpu, c.attrs, b, 1);
      const dev = build(gpu, c.attrs, b, 1);
      const want = ops.mamba3MixerComposites.step(ref.zxbcdt(null, 0), ref.params, c.attrs, ref.state);
      const before = gpu.stats().dispatches;
      const got = ops.mamba3MixerStep(dev.zxbcdt(null, 0), dev.params, c.attrs, dev.state);
      expect(gpu.stats().dispatches - before, 'one dispatch per step (after the one-time parameter packing)').toBeLessThanOrEqual(1);
      for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} ${name}`, g, w);
    });
    if (c === CONFIGS[0]) {
      it(`a step graph captured before the parameters were packed replays no packing: ${c.name}`, async () => {
        // Fresh parameter tensors: the first mixer call on them (inside the capture) packs them.
        const dev = build(gpu, c.attrs, 2, 3);
        const zx = dev.zxbcdt(null, 0);
        const keys = ['angle', 'ssm', 'k', 'v'] as const;
        const graph = ops.captureStep([zx, ...keys.map((k) => dev.state[k])], (z, ...st) => {
          const r = ops.mamba3MixerStep(z, dev.params, c.attrs, Object.fromEntries(keys.map((k, i) => [k, st[i]])) as unknown as Mamba3MixerState);
          return [r.y, ...keys.map((k) => r.state[k])];
        }, { feedback: keys.map((_, i) => [1 + i, 1 + i] as const) });
        const s0 = gpu.stats();
        graph.run();
        const s1 = gpu.stats();
        expect(s1.dispatches - s0.dispatches, 'one dispatch a run').toBe(1);
        expect(s1.copies - s0.copies, 'no parameter copies replayed').toBe(0);
        await graph.read(0);
        graph.dispose();
        ops.dispose([zx, ...Object.values(dev.params)]);
      });
    }
    if (SLICED.includes(c) || c === IN_PLACE) continue;
    for (const withState of [false, true]) {
      it(`chunked (L=11${withState ? ', from a cache' : ''}): ${c.name}`, async () => {
        const b = 2;
        const ref = build(cpu, c.attrs, b, 2);
        const dev = build(gpu, c.attrs, b, 2);
        const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(11, 1), ref.params, c.attrs, withState ? ref.state : undefined);
        const before = gpu.stats().dispatches;
        const got = ops.mamba3MixerChunked(dev.zxbcdt(11, 1), dev.params, c.attrs, withState ? dev.state : undefined);
        expect(gpu.stats().dispatches - before, 'a handful of dispatches, not the composite\'s dozens').toBeLessThanOrEqual(9);
        for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} ${name}`, g, w);
      });
    }
  }

  // The fused ops' gradients on the GPU (the recomputed composites' backward, run on WebGPU
  // kernels) against the CPU backend's, for the input, every parameter and the carried cache.
  for (const c of [CONFIGS[0], CONFIGS[2], CONFIGS[3]]) {
    // (MIMO rank 4's chunked backward takes ~30 s on lavapipe; its step and rank 2's chunked cover the paths.)
    for (const mode of c === CONFIGS[3] ? (['step'] as const) : (['chunked', 'step'] as const)) {
      it(`gradients (${mode}) match the CPU's: ${c.name}`, async () => {
        const grads = async (backend: Backend): Promise<Float32Array[]> => {
          const m = build(backend, c.attrs, 2, 9);
          const keys = Object.keys(m.params) as (keyof Mamba3MixerParams)[];
          const stateKeys = ops.MIXER_STATE_KEYS;
          const zx = m.zxbcdt(mode === 'chunked' ? 7 : null, 4);
          const probe = (t: Tensor, s: number) => ops.tensor(values(t.size, 500 + s, 1), t.shape, { backend });
          const loss = (x: Tensor, ...rest: Tensor[]): Tensor => {
            const params = Object.fromEntries(keys.map((k, i) => [k, rest[i]])) as unknown as Mamba3MixerParams;
            const state = Object.fromEntries(stateKeys.map((k, i) => [k, rest[keys.length + i]])) as unknown as Mamba3MixerState;
            const r = mode === 'chunked' ? ops.mamba3MixerChunked(x, params, c.attrs, state) : ops.mamba3MixerStep(x, params, c.attrs, state);
            const outs = [r.y, ...stateKeys.map((k) => r.state[k])];
            return outs.map((o, i) => ops.sum(ops.mul(o, probe(o, i)))).reduce((a, b) => ops.add(a, b));
          };
          const inputs = [zx, ...keys.map((k) => m.params[k] as Tensor), ...stateKeys.map((k) => m.state[k])];
          const { grads: g } = ops.tidy(() => ops.valueAndGrads(loss)(inputs));
          return Promise.all(g.map(async (t) => (await t.data()) as Float32Array));
        };
        const [want, got] = [await grads(cpu), await grads(gpu)];
        expect(got.length).toBe(want.length);
        got.forEach((g, i) => {
          let num = 0;
          let den = 0;
          for (let k = 0; k < g.length; k++) {
            num += (g[k] - want[i][k]) ** 2;
            den += want[i][k] ** 2;
          }
          // float32 on both sides, different summation orders: relative L2 well under 1e-4.
          expect(Math.sqrt(num / Math.max(den, 1e-30)), `gradient ${i}`).toBeLessThan(1e-4);
        });
      });
    }
  }
});
