import type { Tensor } from '@mamba3/tensor';
import {
  add,
  ArgumentError,
  checkFloat,
  checkInputs,
  checkSameDType,
  concat,
  ConfigError,
  cos,
  cumsum,
  defineFusedOp,
  expandDims,
  expectShape,
  formatShape,
  gatedRmsNorm,
  maximum,
  minimum,
  mul,
  positiveInt,
  neg,
  reciprocal,
  repeatInterleave,
  reshape,
  rmsNorm,
  ShapeError,
  sigmoid,
  silu,
  sin,
  sliceAxis,
  softplus,
  split,
  squeeze,
  stack,
  sub,
  sum,
  tanh,
  tidy,
  transpose,
  zeros,
} from '@mamba3/tensor';
import { inProjLayout } from './layout.js';
import type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerResult, Mamba3MixerState } from './mixer-types.js';
import { MIXER_PARAM_KEYS, MIXER_STATE_KEYS } from './mixer-types.js';
import { mamba3ChunkScan, mamba3StepScan } from './scan.js';

// Validation ------------------------------------------------------------------------------------

export function checkMixerAttrs(op: string, a: Mamba3MixerAttrs): void {
  for (const k of ['nheads', 'headdim', 'dState', 'ngroups', 'mimoRank', 'chunkSize'] as const) positiveInt(op, k, a[k]);
  if (a.nheads % a.ngroups !== 0) throw new ConfigError(`${op}: ngroups (${a.ngroups}) must divide nheads (${a.nheads})`);
  if (!a.isMimo && a.mimoRank !== 1) throw new ConfigError(`${op}: a SISO mixer has mimoRank 1, got ${a.mimoRank}`);
  if (!Number.isInteger(a.numRopeAngles) || a.numRopeAngles < 0) throw new ConfigError(`${op}: numRopeAngles must be a non-negative integer, got ${a.numRopeAngles}`);
  // SISO pairs (2i, 2i+1) and MIMO pairs (i, i + N/2) both need 2A <= N.
  const limit = Math.floor(a.dState / 2);
  if (a.numRopeAngles > limit || (a.isMimo && a.complex && a.dState % 2 !== 0)) {
    throw new ConfigError(`${op}: ${a.numRopeAngles} rotation angles do not fit dState ${a.dState} (at most ${limit}${a.isMimo ? ', and dState even' : ''})`);
  }
  if (!(a.AFloor >= 0)) throw new ConfigError(`${op}: AFloor must be >= 0, got ${a.AFloor}`);
  if (!(a.eps > 0)) throw new ConfigError(`${op}: eps must be > 0, got ${a.eps}`);
}

function expect(op: string, name: string, t: Tensor | undefined, shape: readonly number[]): void {
  expectShape(op, name, t, shape, true);
}

/** The cache's tensors as errors name them (built once: checkMixer runs every decode step). */
const STATE_NAMES = MIXER_STATE_KEYS.map((k) => `state.${k}`);

function checkMixer(op: string, zxbcdt: Tensor, p: Mamba3MixerParams, a: Mamba3MixerAttrs, state: Mamba3MixerState | undefined, step: boolean): { b: number; L: number } {
  checkMixerAttrs(op, a);
  const named: Record<string, Tensor> = { zxbcdt };
  for (const k of MIXER_PARAM_KEYS) if (p[k]) named[k] = p[k] as Tensor;
  if (state) MIXER_STATE_KEYS.forEach((k, i) => (named[STATE_NAMES[i]] = state[k]));
  checkInputs(op, named);
  for (const name in named) {
    checkFloat(op, name, named[name]);
    checkSameDType(op, zxbcdt, named[name], ['zxbcdt', name]);
  }
  const dIn = inProjLayout(a).dInProj;
  const { nheads: H, headdim: P, dState: N, mimoRank: R, numRopeAngles: A } = a;
  if (zxbcdt.rank !== (step ? 2 : 3) || zxbcdt.shape[zxbcdt.rank - 1] !== dIn) {
    throw new ShapeError(`${op}: "zxbcdt" (the in_proj output) should be ${step ? '[batch, ' : '[batch, seqlen, '}${dIn}], got ${formatShape(zxbcdt.shape)}`);
  }
  const b = zxbcdt.shape[0];
  const L = step ? 1 : zxbcdt.shape[1];
  if (L === 0) throw new ShapeError(`${op}: the sequence is empty`);
  expect(op, 'dtBias', p.dtBias, [H]);
  expect(op, 'D', p.D, [H]);
  expect(op, 'BBias', p.BBias, [H, R, N]);
  expect(op, 'CBias', p.CBias, [H, R, N]);
  expect(op, 'BNormWeight', p.BNormWeight, [N]);
  expect(op, 'CNormWeight', p.CNormWeight, [N]);
  for (const k of ['mimoX', 'mimoZ', 'mimoO'] as const) {
    if (a.isMimo) expect(op, k, p[k], [H, R, P]);
    else if (p[k]) throw new ArgumentError(`${op}: "${k}" is given but the mixer is SISO`);
  }
  if (a.isOutprojNorm) expect(op, 'normWeight', p.normWeight, [H * P]);
  else if (p.normWeight) throw new ArgumentError(`${op}: "normWeight" is given but isOutprojNorm is false`);
  if (state) {
    expect(op, 'state.angle', state.angle, [b, H, A]);
    expect(op, 'state.ssm', state.ssm, [b, H, P, N]);
    expect(op, 'state.k', state.k, [b, R, H, N]);
    expect(op, 'state.v', state.v, [b, H, P]);
  } else if (step) {
    throw new ArgumentError(`${op}: a step needs the inference cache (state)`);
  }
  return { b, L };
}

// Composite pieces ------------------------------------------------------------------------------

/** f(x) = 1 + x (x ≥ 0), 1 / (1 − x) (x < 0): positive, continuous, smooth at 0. */
function heavyTail(x: Tensor): Tensor {
  return add(maximum(x, 0), reciprocal(sub(1, minimum(x, 0))));
}

/**
 * Rotates pairs of the last axis by θ (cos, sin: [..., A], broadcast): SISO pairs (2i, 2i+1),
 * MIMO pairs (i, i + N/2), for i < A; other elements stay.
 */
function rotate(t: Tensor, c: Tensor, s: Tensor, isMimo: boolean, A: number): Tensor {
  const N = t.shape[t.rank - 1];
  const turn = (u: Tensor, w: Tensor): [Tensor, Tensor] => [sub(mul(u, c), mul(w, s)), add(mul(u, s), mul(w, c))];
  if (isMimo) {
    const half = N / 2;
    const [u, mid, w, tail] = split(t, [A, half - A, A, N - half - A], -1);
    const [u2, w2] = turn(u, w);
    return concat([u2, mid, w2, tail], -1);
  }
  const [pairs, rest] = split(t, [2 * A, N - 2 * A], -1);
  const grouped = reshape(pairs, [...t.shape.slice(0, -1), A, 2]);
  const [u, w] = split(grouped, 2, -1).map((x) => squeeze(x, -1));
  const [u2, w2] = turn(u, w);
  const rotated = reshape(stack([u2, w2], -1), [...t.shape.slice(0, -1), 2 * A]);
  return rest.shape[rest.rank - 1] > 0 ? concat([rotated, rest], -1) : rotated;
}

interface Preprocessed {
  /** [b, L, H, P] */
  z: Tensor;
  /** [b, L, H, P], raw x */
  x: Tensor;
  /** x̃ [b, L, R, H, P] */
  xt: Tensor;
  /** B̃, C̃ [b, L, R, H, N] */
  B: Tensor;
  C: Tensor;
  /** [b, L, H] */
  adt: Tensor;
  dt: Tensor;
  trap: Tensor;
  /** θ after the last position [b, H, A] */
  angle: Tensor;
}

/** x̃_r = x ⊙ mimo_x[:, r] ([..., H, P] -> [..., R, H, P]); SISO adds a rank axis of 1. */
function expandRank(x: Tensor, mimoX: Tensor | undefined, rankAxis: number): Tensor {
  return mimoX ? mul(expandDims(x, rankAxis), transpose(mimoX, [1, 0, 2])) : expandDims(x, rankAxis);
}

/** Split of the in_proj output and everything before the scan (official order and layout). */
function preprocess(zxbcdt: Tensor, p: Mamba3MixerParams, a: Mamba3MixerAttrs, angle0: Tensor | undefined): Preprocessed {
  const [b, L] = zxbcdt.shape;
  const { nheads: H, headdim: P, dState: N, ngroups: G, mimoRank: R, numRopeAngles: A } = a;
  const [z, x, Bp, Cp, ddDt, ddA, trapRaw, angles] = split(zxbcdt, inProjLayout(a).splitSizes, -1);
  const dt = softplus(add(ddDt, p.dtBias));
  const adt = mul(neg(maximum(heavyTail(ddA), a.AFloor)), dt);
  const trap = sigmoid(trapRaw);
  // RMSNorm over dState, groups repeated to heads, then the per-head (and per-rank) bias.
  const heads = (t: Tensor, w: Tensor, bias: Tensor): Tensor => {
    const normed = rmsNorm(reshape(t, [b, L, R, G, N]), w, a.eps);
    const perHead = G === H ? normed : repeatInterleave(normed, H / G, 3);
    return add(perHead, transpose(bias, [1, 0, 2]));
  };
  let B = heads(Bp, p.BNormWeight, p.BBias);
  let C = heads(Cp, p.CNormWeight, p.CBias);
  let angle: Tensor;
  if (a.complex && A > 0) {
    // θ_t = θ_{t−1} + tanh(angle_proj_t)·DT_t·π, per head (angle_proj shared by heads).
    const step = mul(mul(expandDims(tanh(angles), 2), expandDims(dt, -1)), Math.PI); // [b, L, H, A]
    let theta = cumsum(step, 1);
    if (angle0) theta = add(theta, expandDims(angle0, 1));
    angle = squeeze(sliceAxis(theta, 1, L - 1), 1);
    const c = expandDims(cos(theta), 2);
    const s = expandDims(sin(theta), 2);
    B = rotate(B, c, s, a.isMimo, A);
    C = rotate(C, c, s, a.isMimo, A);
  } else {
    angle = angle0 ? add(angle0, 0) : zeros([b, H, A], { dtype: zxbcdt.dtype, backend: zxbcdt.backend });
  }
  const x4 = reshape(x, [b, L, H, P]);
  return { z: reshape(z, [b, L, H, P]), x: x4, xt: expandRank(x4, p.mimoX, 2), B, C, adt, dt, trap, angle };
}

/** D skip, gating (or the gated output norm) and, for MIMO, the mix over ranks: [b, L, R, H, P] -> [b, L, dInner]. */
function postprocess(y: Tensor, pre: Preprocessed, p: Mamba3MixerParams, a: Mamba3MixerAttrs): Tensor {
  const [b, L, R, H, P] = y.shape;
  const dInner = H * P;
  const yD = add(y, mul(pre.xt, reshape(p.D, [H, 1])));
  const normOpts = { groupSize: P, eps: a.eps, normBeforeGate: true };
  if (!a.isMimo) {
    const flat = reshape(yD, [b, L, dInner]);
    const zf = reshape(pre.z, [b, L, dInner]);
    return a.isOutprojNorm ? gatedRmsNorm(flat, zf, p.normWeight, normOpts) : mul(flat, silu(zf));
  }
  const zt = expandRank(pre.z, p.mimoZ, 2);
  const gated = a.isOutprojNorm
    ? reshape(gatedRmsNorm(reshape(yD, [b, L, R, dInner]), reshape(zt, [b, L, R, dInner]), p.normWeight, normOpts), [b, L, R, H, P])
    : mul(yD, silu(zt));
  return reshape(sum(mul(gated, transpose(p.mimoO as Tensor, [1, 0, 2])), 2), [b, L, dInner]);
}

function lastPosition(t: Tensor): Tensor {
  return squeeze(sliceAxis(t, 1, t.shape[1] - 1), 1);
}

function chunkedComposite(zxbcdt: Tensor, p: Mamba3MixerParams, a: Mamba3MixerAttrs, state: Mamba3MixerState | undefined): Mamba3MixerResult {
  return tidy(() => {
    const pre = preprocess(zxbcdt, p, a, state?.angle);
    const scan = mamba3ChunkScan(
      {
        C: pre.C,
        B: pre.B,
        x: pre.xt,
        adt: pre.adt,
        dt: pre.dt,
        trap: pre.trap,
        ...(state ? { initialSsm: state.ssm, initialK: state.k, initialV: expandRank(state.v, p.mimoX, 1) } : {}),
      },
      { chunkSize: a.chunkSize },
    );
    const y = postprocess(scan.y, pre, p, a);
    return { y, state: { angle: pre.angle, ssm: scan.finalSsm, k: lastPosition(pre.B), v: lastPosition(pre.x) } };
  });
}

function stepComposite(zxbcdt: Tensor, p: Mamba3MixerParams, a: Mamba3MixerAttrs, state: Mamba3MixerState): Mamba3MixerResult {
  return tidy(() => {
    const [b, dIn] = zxbcdt.shape;
    const pre = preprocess(reshape(zxbcdt, [b, 1, dIn]), p, a, state.angle);
    const scan = mamba3StepScan({
      C: lastPosition(pre.C),
      B: lastPosition(pre.B),
      x: lastPosition(pre.xt),
      adt: lastPosition(pre.adt),
      dt: lastPosition(pre.dt),
      trap: lastPosition(pre.trap),
      ssm: state.ssm,
      prevK: state.k,
      prevV: expandRank(state.v, p.mimoX, 1),
    });
    const y = postprocess(expandDims(scan.y, 1), pre, p, a);
    return { y: reshape(y, [b, a.nheads * a.headdim]), state: { angle: pre.angle, ssm: scan.ssm, k: lastPosition(pre.B), v: lastPosition(pre.x) } };
  });
}

// Ops -------------------------------------------------------------------------------------------

/**
 * The mixer ops' kernel contract: one flat record of tensors (zxbcdt, the parameters, and the
 * cache when there is one) and one of outputs (y and the new cache).
 */
export type Mamba3MixerOpInputs = { zxbcdt: Tensor } & Mamba3MixerParams & Partial<Mamba3MixerState>;
export type Mamba3MixerOpOutputs = { y: Tensor } & Mamba3MixerState;

const MIXER_INPUTS = ['zxbcdt', ...MIXER_PARAM_KEYS, ...MIXER_STATE_KEYS] as const;
const MIXER_OUTPUTS = ['y', ...MIXER_STATE_KEYS] as const;

/** The parameter record inside a flat input record. */
export function mixerParamsOf<T>(i: { [K in (typeof MIXER_PARAM_KEYS)[number]]?: T }): { [K in (typeof MIXER_PARAM_KEYS)[number]]?: T } {
  return Object.fromEntries(MIXER_PARAM_KEYS.filter((k) => i[k] !== undefined).map((k) => [k, i[k]]));
}

/** The cache inside a flat input record (undefined when none of its tensors is given). */
export function mixerStateOf<T>(i: { [K in (typeof MIXER_STATE_KEYS)[number]]?: T }): { [K in (typeof MIXER_STATE_KEYS)[number]]: T } | undefined {
  if (MIXER_STATE_KEYS.every((k) => i[k] === undefined)) return undefined;
  return { angle: i.angle as T, ssm: i.ssm as T, k: i.k as T, v: i.v as T };
}

const flat = (r: Mamba3MixerResult): Mamba3MixerOpOutputs => ({ y: r.y, ...r.state });
const nested = (o: Mamba3MixerOpOutputs): Mamba3MixerResult => ({ y: o.y, state: { angle: o.angle, ssm: o.ssm, k: o.k, v: o.v } });
const paramsOf = (i: Mamba3MixerOpInputs): Mamba3MixerParams => mixerParamsOf(i) as Mamba3MixerParams;

function stateShapes(a: Mamba3MixerAttrs, b: number): Record<(typeof MIXER_STATE_KEYS)[number], number[]> {
  const { nheads: H, headdim: P, dState: N, mimoRank: R, numRopeAngles: A } = a;
  return { angle: [b, H, A], ssm: [b, H, P, N], k: [b, R, H, N], v: [b, H, P] };
}

/** The chunked mixer as a fused op (kernels register under `mamba3MixerChunked`). */
export const mamba3MixerChunkedOp = defineFusedOp<Mamba3MixerOpInputs, Mamba3MixerAttrs, Mamba3MixerOpOutputs>({
  name: 'mamba3MixerChunked',
  inputNames: MIXER_INPUTS,
  outputNames: MIXER_OUTPUTS,
  check: (i, a) => {
    const { b, L } = checkMixer('mamba3MixerChunked', i.zxbcdt, paramsOf(i), a, mixerStateOf(i), false);
    return { y: [b, L, a.nheads * a.headdim], ...stateShapes(a, b) };
  },
  composite: (i, a) => flat(chunkedComposite(i.zxbcdt, paramsOf(i), a, mixerStateOf(i))),
});

/** One decode step of the mixer as a fused op (kernels register under `mamba3MixerStep`). */
export const mamba3MixerStepOp = defineFusedOp<Mamba3MixerOpInputs, Mamba3MixerAttrs, Mamba3MixerOpOutputs>({
  name: 'mamba3MixerStep',
  inputNames: MIXER_INPUTS,
  outputNames: MIXER_OUTPUTS,
  check: (i, a) => {
    const { b } = checkMixer('mamba3MixerStep', i.zxbcdt, paramsOf(i), a, mixerStateOf(i), true);
    return { y: [b, a.nheads * a.headdim], ...stateShapes(a, b) };
  },
  composite: (i, a) => flat(stepComposite(i.zxbcdt, paramsOf(i), a, mixerStateOf(i) as Mamba3MixerState)),
});

const inputsOf = (zxbcdt: Tensor, params: Mamba3MixerParams, state: Mamba3MixerState | undefined): Mamba3MixerOpInputs => ({
  zxbcdt,
  ...params,
  ...(state ? { angle: state.angle, ssm: state.ssm, k: state.k, v: state.v } : {}),
});

/**
 * The Mamba-3 mixer between in_proj and out_proj over a sequence (prefill, training): the
 * chunked parallel form, optionally continuing from a decode cache; returns the cache after the
 * last position. `zxbcdt`: [b, L, dInProj] -> y: [b, L, dInner].
 */
export function mamba3MixerChunked(zxbcdt: Tensor, params: Mamba3MixerParams, attrs: Mamba3MixerAttrs, state?: Mamba3MixerState): Mamba3MixerResult {
  return nested(mamba3MixerChunkedOp(inputsOf(zxbcdt, params, state), attrs));
}

/** One decode step of the mixer: `zxbcdt` [b, dInProj] -> y [b, dInner], with the updated cache. */
export function mamba3MixerStep(zxbcdt: Tensor, params: Mamba3MixerParams, attrs: Mamba3MixerAttrs, state: Mamba3MixerState): Mamba3MixerResult {
  return nested(mamba3MixerStepOp(inputsOf(zxbcdt, params, state), attrs));
}

/** The reference composites, for backends and tests that compare against them. */
export const mamba3MixerComposites = {
  chunked: (zxbcdt: Tensor, params: Mamba3MixerParams, attrs: Mamba3MixerAttrs, state?: Mamba3MixerState): Mamba3MixerResult =>
    nested(mamba3MixerChunkedOp.composite(inputsOf(zxbcdt, params, state), attrs)),
  step: (zxbcdt: Tensor, params: Mamba3MixerParams, attrs: Mamba3MixerAttrs, state: Mamba3MixerState): Mamba3MixerResult =>
    nested(mamba3MixerStepOp.composite(inputsOf(zxbcdt, params, state), attrs)),
};
