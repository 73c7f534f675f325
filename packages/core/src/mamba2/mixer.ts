import type { Backend, DType, Tensor } from '@mamba3/tensor';
import {
  ArgumentError, concat, dispose, engine, formatShape, fusedLinear, gatedRmsNorm, keep, mul, rmsNorm, ShapeError, silu, sliceAxis, tidy, zeros,
} from '@mamba3/tensor';
import { MixerCache } from '../cache.js';
import { causalConv1dSiluXBC } from '../conv-silu.js';
import type { StepFusion } from '../mixer.js';
import { inProjection, outProjection, withBias } from '../projections.js';
import type { InitOptions } from '../params.js';
import { checkWeights } from '../params.js';
import type { Mamba2Config, Mamba2Options } from './config.js';
import { resolveMamba2Config } from './config.js';
import { initMamba2Params, mamba2ParamShapes } from './params.js';
import { mamba2ChunkCore } from './chunk-core.js';
import { mamba2StepCore } from './step.js';

/** The official decode cache of `Mamba2`: conv [b, dSsm + 2·ngroups·dState, dConv], ssm [b, nheads, headdim, dState]. */
export interface Mamba2State extends Record<string, Tensor> {
  conv: Tensor;
  ssm: Tensor;
}

/** The official RMSNormGated's eps in Mamba2. */
const NORM_EPS = 1e-5;

function checkInput(op: string, c: Mamba2Config, u: Tensor, rank: number): void {
  if (u.rank !== rank || u.shape[rank - 1] !== c.dModel) {
    const want = rank === 3 ? `[batch, seqlen, ${c.dModel}]` : `[batch, ${c.dModel}]`;
    throw new ShapeError(`${op}: input should be ${want}, got ${formatShape(u.shape)}`);
  }
}

/** in_proj's output in the official order: z0, x0 (the MLP part, dMlp each), z, xBC, dt. */
function zPart(c: Mamba2Config, zxbcdt: Tensor): Tensor {
  return sliceAxis(zxbcdt, -1, 2 * c.dMlp, 2 * c.dMlp + c.dSsm);
}

function mlpPart(c: Mamba2Config, zxbcdt: Tensor): [Tensor, Tensor] | null {
  return c.dMlp === 0 ? null : [sliceAxis(zxbcdt, -1, 0, c.dMlp), sliceAxis(zxbcdt, -1, c.dMlp, 2 * c.dMlp)];
}

const xBCOffset = (c: Mamba2Config): number => 2 * c.dMlp + c.dSsm;

/** The norm after the gate over all of d_ssm (the official default): norm(y·silu(z))·w is a plain RMSNorm of the gated y. */
const normOfGated = (c: Mamba2Config): boolean => c.rmsnorm && !c.normBeforeGate && c.ngroups === 1;

/** Whether the gate y·silu(z) can come first, inside the scan's op: with no norm, or with `normOfGated`. */
const gateFirst = (c: Mamba2Config): boolean => !c.rmsnorm || normOfGated(c);

/**
 * After the scan: the gated RMSNorm (or the plain gate) with z, or (z null: y is gated already)
 * the plain RMSNorm; the MLP part in front, out_proj.
 */
function finish(p: Record<string, Tensor>, c: Mamba2Config, y: Tensor, z: Tensor | null, mlp: [Tensor, Tensor] | null, residual?: Tensor): Tensor {
  let g: Tensor;
  if (z === null) g = c.rmsnorm ? rmsNorm(y, p['norm.weight'], NORM_EPS) : y;
  else g = c.rmsnorm ? gatedRmsNorm(y, z, p['norm.weight'], { eps: NORM_EPS, groupSize: c.dSsm / c.ngroups, normBeforeGate: c.normBeforeGate }) : mul(y, silu(z));
  if (mlp) g = concat([mul(silu(mlp[0]), mlp[1]), g], -1);
  return outProjection(g, p['out_proj.weight'], p['out_proj.bias'], residual);
}

/**
 * The mixer over a sequence (chunked SSD): u [b, L, dModel] -> y [b, L, dModel] and the cache
 * after the last position, optionally continuing from `state`. A pure function of `params`.
 */
export function mamba2Forward(p: Record<string, Tensor>, c: Mamba2Config, u: Tensor, state?: Mamba2State, fuse: StepFusion = {}): { y: Tensor; state: Mamba2State } {
  checkInput('Mamba2.forward', c, u, 3);
  const { ngroups: G, dState: N } = c;
  return tidy(() => {
    const zxbcdt = inProjection(u, p['in_proj.weight'], p['in_proj.bias'], fuse);
    const convIn = { xz: zxbcdt, weight: p['conv1d.weight'], ...(p['conv1d.bias'] ? { bias: p['conv1d.bias'] } : {}), ...(state ? { state: state.conv } : {}) };
    const conv = causalConv1dSiluXBC(convIn, { offset: xBCOffset(c), x: c.dSsm, bc: G * N });
    const gated = gateFirst(c);
    const r = mamba2ChunkCore(
      { zxbcdt, x: conv.x, B: conv.B, C: conv.C, dtBias: p.dt_bias, ALog: p.A_log, D: p.D, ...(state ? { h0: state.ssm } : {}) },
      { dMlp: c.dMlp, ngroups: G, chunkSize: c.chunkSize, dtLimit: c.dtLimit, gate: gated },
    );
    const y = finish(p, c, r.y, gated ? null : zPart(c, zxbcdt), mlpPart(c, zxbcdt), fuse.residual);
    return { y, state: { conv: conv.state, ssm: r.state } };
  });
}

/** One decode step: u [b, dModel] -> y [b, dModel] and the next cache (see `StepFusion`). */
export function mamba2StepForward(p: Record<string, Tensor>, c: Mamba2Config, u: Tensor, state: Mamba2State, fuse: StepFusion = {}): { y: Tensor; state: Mamba2State } {
  checkInput('Mamba2.step', c, u, 2);
  // The common shape (norm after the gate over all of d_ssm, no MLP part): the gate in the step
  // kernel and the norm in out_proj's GEMV (norm(y·silu(z))·w is the same value).
  const normInOutProj = normOfGated(c) && c.dMlp === 0;
  return tidy(() => {
    const zxbcdt = inProjection(u, p['in_proj.weight'], p['in_proj.bias'], fuse);
    const inputs = { zxbcdt, conv: state.conv, convWeight: p['conv1d.weight'], ...(p['conv1d.bias'] ? { convBias: p['conv1d.bias'] } : {}), dtBias: p.dt_bias, ALog: p.A_log, D: p.D, h: state.ssm };
    const r = mamba2StepCore(inputs, { dMlp: c.dMlp, ngroups: c.ngroups, dtLimit: c.dtLimit, gate: normInOutProj });
    const next = { conv: r.conv, ssm: r.state };
    if (normInOutProj) {
      const opts = { norm: { weight: p['norm.weight'], eps: NORM_EPS }, ...(fuse.residual ? { residual: fuse.residual } : {}) };
      return { y: withBias(fusedLinear(r.y, p['out_proj.weight'], opts), p['out_proj.bias']), state: next };
    }
    return { y: finish(p, c, r.y, zPart(c, zxbcdt), mlpPart(c, zxbcdt), fuse.residual), state: next };
  });
}

export function mamba2ZeroState(c: Mamba2Config, batch: number, opts?: { backend?: Backend; dtype?: DType }): Mamba2State {
  if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`Mamba2: batch must be a positive integer, got ${batch}`);
  const o = { backend: opts?.backend ?? engine.getBackend(), dtype: opts?.dtype ?? 'float32' };
  return { conv: zeros([batch, c.convDim, c.dConv], o), ssm: zeros([batch, c.nheads, c.headdim, c.dState], o) };
}

/** The Mamba-2 mixer (`mamba_ssm.modules.mamba2.Mamba2`), weights under the official names. */
export class Mamba2 {
  readonly config: Mamba2Config;
  readonly params: Record<string, Tensor>;

  private constructor(config: Mamba2Config, params: Record<string, Tensor>) {
    this.config = config;
    this.params = params;
  }

  static create(opts: Mamba2Options, init?: InitOptions): Mamba2 {
    const config = resolveMamba2Config(opts);
    return new Mamba2(config, initMamba2Params(config, init));
  }

  static fromWeights(opts: Mamba2Options, weights: Record<string, Tensor>): Mamba2 {
    const config = resolveMamba2Config(opts);
    checkWeights(mamba2ParamShapes(config), weights, 'Mamba2 weights');
    return new Mamba2(config, Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, keep(v)])));
  }

  forward(u: Tensor, opts?: { cache?: MixerCache<Mamba2State> }): Tensor {
    const { y, state } = mamba2Forward(this.params, this.config, u, opts?.cache?.state());
    if (opts?.cache) opts.cache.update(state);
    else dispose(state);
    return y;
  }

  step(u: Tensor, cache: MixerCache<Mamba2State>): Tensor {
    const { y, state } = mamba2StepForward(this.params, this.config, u, cache.state());
    cache.update(state);
    return y;
  }

  allocateInferenceCache(batch: number): MixerCache<Mamba2State> {
    return new MixerCache(mamba2ZeroState(this.config, batch, { backend: this.params.D.backend, dtype: this.params.D.dtype }));
  }

  get paramCount(): number {
    return Object.values(this.params).reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    dispose(this.params);
  }
}
