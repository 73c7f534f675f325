import { expect } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerResult, Mamba3MixerState } from '../src/index.js';
import * as tensorOps from '@mamba3/tensor';
import * as core from '../src/index.js';
/*
 * Mixer configurations and helpers shared by the fused Mamba-3 kernel tests on WebGPU
 * (webgpu-mixer.test.ts, webgpu-mixer-fused-scan.test.ts: two files so vitest runs them side by
 * side, each on its own lavapipe device and shader-compile thread).
 */

export const ops = { ...tensorOps, ...core };

/**
 * The fused mixer kernels against the tensor package's composites run on the CPU backend
 * (float32 both sides). Tolerance: the fused kernel reorders float32 sums (norms, S·C over N),
 * ~1e-6 relative; atol 2e-5, rtol 2e-4 leaves an order of magnitude of room and still catches
 * any wrong term (those are O(1) off).
 */
export const TOL = { atol: 2e-5, rtol: 2e-4 };

export interface Config {
  name: string;
  attrs: Mamba3MixerAttrs;
}

export const base = { AFloor: 1e-4, chunkSize: 8, eps: 1e-5 };
export const CONFIGS: Config[] = [
  { name: 'SISO, rotations, gated output norm', attrs: { ...base, nheads: 3, headdim: 5, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 3, complex: true, isOutprojNorm: true } },
  { name: 'SISO, 2 groups, no rotation, silu gate', attrs: { ...base, nheads: 4, headdim: 3, dState: 6, ngroups: 2, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: false, isOutprojNorm: false } },
  { name: 'MIMO rank 2, rotations, gated output norm', attrs: { ...base, nheads: 2, headdim: 4, dState: 10, ngroups: 1, mimoRank: 2, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 4, silu gate', attrs: { ...base, nheads: 2, headdim: 7, dState: 4, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: false } },
];

/** The 130M model's mixer shapes (24 heads of 64, d_state 128, 32 angles), and a ragged P > 32 (two passes over the state rows), step only. */
export const LARGE: Config[] = [
  { name: 'SISO headdim 40', attrs: { ...base, nheads: 2, headdim: 40, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: '130M SISO', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 32, complex: true, isOutprojNorm: true } },
  { name: '130M MIMO r4', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 32, complex: true, isOutprojNorm: true } },
];

/** A head too big for the step kernel to hold its share of the state in registers (it reads it in place); step only. */
export const IN_PLACE: Config = { name: 'SISO headdim 96, d_state 128', attrs: { ...base, nheads: 2, headdim: 96, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 16, complex: true, isOutprojNorm: true } };

/** Without the output norm the step kernel splits each head's rows over workgroups (at batch 2: 4 slices at P 64, 2 at P 32); step only. */
export const SLICED: Config[] = [
  { name: '130M SISO, silu gate (heads in 4 slices at batch 2)', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 32, complex: true, isOutprojNorm: false } },
  { name: '130M MIMO r4, silu gate (heads in 4 slices at batch 2)', attrs: { ...base, nheads: 24, headdim: 64, dState: 128, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 32, complex: true, isOutprojNorm: false } },
  { name: 'SISO headdim 32, no rotation (2 slices per head)', attrs: { ...base, nheads: 3, headdim: 32, dState: 24, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 4, complex: false, isOutprojNorm: false } },
];

/**
 * P and N multiples of 4: the vec4 scan kernels, which form x̃ = x ⊙ mimo_x from zxbcdt's rows
 * themselves (and B̃, C̃ unless the config is rotated MIMO, whose B̃ and C̃ the prep stores).
 * Several scan chunks (T = 64 / R positions), ranks 1 to 4 (rank 3 spreads a position's rows over
 * staging steps), zxbcdt rows that are whole vec4s (dInProj 56, 72, 120) and rows that are not
 * (47 here; SISO's in FUSED_BC), which are read as scalars.
 */
export const FUSED_X: Config[] = [
  { name: 'SISO P 8, rows of vec4', attrs: { ...base, nheads: 2, headdim: 8, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 2, rows of vec4', attrs: { ...base, nheads: 2, headdim: 8, dState: 8, ngroups: 1, mimoRank: 2, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'MIMO rank 3, rows not of vec4', attrs: { ...base, nheads: 2, headdim: 4, dState: 4, ngroups: 1, mimoRank: 3, isMimo: true, numRopeAngles: 1, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 4, P 12, rows of vec4', attrs: { ...base, nheads: 2, headdim: 12, dState: 8, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 2, complex: true, isOutprojNorm: true } },
  { name: 'SISO P 8, rows of vec4, no output norm', attrs: { ...base, nheads: 2, headdim: 8, dState: 8, ngroups: 1, mimoRank: 1, isMimo: false, numRopeAngles: 2, complex: true, isOutprojNorm: false } },
];

/**
 * B̃ and C̃ formed in the vec4 scan kernels (SISO, unrotated MIMO) or stored by the prep (rotated
 * MIMO): 2 groups (the row of rank r, group h / (H/G)), a vec4 half rotated (the angles end
 * inside it), without rotation, and rows read as scalars (dInProj 95, 177, 90).
 */
export const FUSED_BC: Config[] = [
  { name: 'SISO, 2 groups, d_state 12, 3 angles, rows not of vec4', attrs: { ...base, nheads: 4, headdim: 4, dState: 12, ngroups: 2, mimoRank: 1, isMimo: false, numRopeAngles: 3, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 2, 2 groups, d_state 16, 5 angles, rows not of vec4', attrs: { ...base, nheads: 4, headdim: 4, dState: 16, ngroups: 2, mimoRank: 2, isMimo: true, numRopeAngles: 5, complex: true, isOutprojNorm: false } },
  { name: 'MIMO rank 4, no rotation', attrs: { ...base, nheads: 2, headdim: 4, dState: 8, ngroups: 1, mimoRank: 4, isMimo: true, numRopeAngles: 4, complex: false, isOutprojNorm: false } },
];

export function values(n: number, seed: number, scale = 1, shift = 0): Float32Array {
  const rng = new ops.Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = shift + scale * rng.normal();
  return out;
}

export function build(backend: Backend, a: Mamba3MixerAttrs, b: number, seed: number) {
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

export async function compare(label: string, got: Tensor, want: Tensor): Promise<void> {
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

export const outputs = (r: Mamba3MixerResult): [string, Tensor][] => [['y', r.y], ...ops.MIXER_STATE_KEYS.map((k) => [`state.${k}`, r.state[k]] as [string, Tensor])];

/** The chunked fused op on `backend` against the composite on `cpu` (b=2, x̃ and the cache from one seed). */
export async function chunkedAgainstCpu(cpu: Backend, backend: Backend, c: Config, L: number, withState: boolean): Promise<void> {
  const b = 2;
  const ref = build(cpu, c.attrs, b, 5);
  const dev = build(backend, c.attrs, b, 5);
  const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(L, 6), ref.params, c.attrs, withState ? ref.state : undefined);
  const got = ops.mamba3MixerChunked(dev.zxbcdt(L, 6), dev.params, c.attrs, withState ? dev.state : undefined);
  for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=${L} ${name}`, g, w);
}
