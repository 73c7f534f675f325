import type { Backend, DType, Tensor } from '@mamba3/tensor';
import {
  ArgumentError,
  concat,
  dispose,
  engine,
  formatShape,
  keep,
  reshape,
  ShapeError,
  sliceAxis,
  tidy,
  zeros,
} from '@mamba3/tensor';
import type { Mamba3Config, Mamba3Options } from './config.js';
import type { Mamba3MixerParams, Mamba3MixerState } from './ops/mamba3/mixer-types.js';
import { mamba3MixerChunked, mamba3MixerStep } from './ops/mamba3/mixer.js';
import { mixerAttrs, resolveMamba3Config } from './config.js';
import type { InitOptions, Mamba3Params } from './params.js';
import { checkWeights, initMamba3Params, mamba3ParamShapes } from './params.js';
import { inProjection, outProjection } from './projections.js';

/** The fused op's parameter record from official names. */
export function mixerParams(p: Mamba3Params): Mamba3MixerParams {
  return {
    dtBias: p.dt_bias,
    BBias: p.B_bias,
    CBias: p.C_bias,
    BNormWeight: p['B_norm.weight'],
    CNormWeight: p['C_norm.weight'],
    D: p.D,
    ...(p.mimo_x ? { mimoX: p.mimo_x, mimoZ: p.mimo_z, mimoO: p.mimo_o } : {}),
    ...(p['norm.weight'] ? { normWeight: p['norm.weight'] } : {}),
  };
}

function checkInput(op: string, c: Mamba3Config, u: Tensor, rank: number): void {
  if (u.rank !== rank || u.shape[rank - 1] !== c.dModel) {
    const want = rank === 3 ? `[batch, seqlen, ${c.dModel}]` : `[batch, ${c.dModel}]`;
    throw new ShapeError(`${op}: input should be ${want}, got ${formatShape(u.shape)}`);
  }
}

/**
 * The mixer over a sequence (chunked parallel form): u [b, L, dModel] -> y [b, L, dModel],
 * optionally continuing from a cache; returns the cache after the last position. A pure
 * function of `params`, so gradients flow to whatever tensors are passed.
 */
export function mamba3Forward(params: Mamba3Params, c: Mamba3Config, u: Tensor, state?: Mamba3MixerState, fuse: StepFusion = {}): { y: Tensor; state: Mamba3MixerState } {
  checkInput('Mamba3.forward', c, u, 3);
  return tidy(() => {
    const zxbcdt = inProjection(u, params['in_proj.weight'], undefined, fuse);
    const r = mamba3MixerChunked(zxbcdt, mixerParams(params), mixerAttrs(c), state);
    return { y: outProjection(r.y, params['out_proj.weight'], undefined, fuse.residual), state: r.state };
  });
}

/**
 * What a pre-norm block can fold into the mixer's projections (an LM's decode step, and its
 * sequence forward): the block's RMSNorm into in_proj, and the residual add into out_proj. `u`
 * is then the un-normed residual stream and `y` comes back as residual + mixer output. Without
 * fused kernels (fusedLinear's composite) the values are the unfused block's.
 */
export interface StepFusion {
  norm?: { weight: Tensor; eps: number };
  residual?: Tensor;
}

/** One decode step: u [b, dModel] -> y [b, dModel] and the next cache (see `StepFusion`). */
export function mamba3StepForward(params: Mamba3Params, c: Mamba3Config, u: Tensor, state: Mamba3MixerState, fuse: StepFusion = {}): { y: Tensor; state: Mamba3MixerState } {
  checkInput('Mamba3.step', c, u, 2);
  return tidy(() => {
    const zxbcdt = inProjection(u, params['in_proj.weight'], undefined, fuse);
    const r = mamba3MixerStep(zxbcdt, mixerParams(params), mixerAttrs(c), state);
    return { y: outProjection(r.y, params['out_proj.weight'], undefined, fuse.residual), state: r.state };
  });
}

/**
 * The decode cache of one mixer, with the official shapes: angle [b, H, A], ssm [b, H, P, N],
 * k [b, R, H, N], v [b, H, P]. Its tensors live outside tidy scopes; updates replace them
 * (and free the old ones), like the official in-place `copy_`.
 */
export class Mamba3InferenceCache implements Mamba3MixerState {
  angle: Tensor;
  ssm: Tensor;
  k: Tensor;
  v: Tensor;

  constructor(state: Mamba3MixerState) {
    this.angle = keep(state.angle);
    this.ssm = keep(state.ssm);
    this.k = keep(state.k);
    this.v = keep(state.v);
  }

  static zeros(c: Mamba3Config, batch: number, opts?: { backend?: Backend; dtype?: DType }): Mamba3InferenceCache {
    if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`allocateInferenceCache: batch must be a positive integer, got ${batch}`);
    const o = { backend: opts?.backend ?? engine.getBackend(), dtype: opts?.dtype ?? 'float32' };
    return new Mamba3InferenceCache({
      angle: zeros([batch, c.nheads, c.numRopeAngles], o),
      ssm: zeros([batch, c.nheads, c.headdim, c.dState], o),
      k: zeros([batch, c.mimoRank, c.nheads, c.dState], o),
      v: zeros([batch, c.nheads, c.headdim], o),
    });
  }

  get batch(): number {
    return this.ssm.shape[0];
  }

  /** Replaces the state (taking ownership of the new tensors). */
  update(state: Mamba3MixerState): void {
    const old = [this.angle, this.ssm, this.k, this.v];
    this.angle = keep(state.angle);
    this.ssm = keep(state.ssm);
    this.k = keep(state.k);
    this.v = keep(state.v);
    for (const t of old) if (![this.angle, this.ssm, this.k, this.v].includes(t)) t.dispose();
  }

  state(): Mamba3MixerState {
    return { angle: this.angle, ssm: this.ssm, k: this.k, v: this.v };
  }

  dispose(): void {
    dispose([this.angle, this.ssm, this.k, this.v]);
  }
}

/** The Mamba-3 mixer (`mamba_ssm.modules.mamba3.Mamba3`), weights under the official names. */
export class Mamba3 {
  readonly config: Mamba3Config;
  readonly params: Mamba3Params;

  private constructor(config: Mamba3Config, params: Mamba3Params) {
    this.config = config;
    this.params = params;
  }

  /** A freshly initialised mixer (the official initialisation). */
  static create(opts: Mamba3Options, init?: InitOptions): Mamba3 {
    const config = resolveMamba3Config(opts);
    return new Mamba3(config, initMamba3Params(config, init));
  }

  /** A mixer over given weights (official names); they are checked and kept. */
  static fromWeights(opts: Mamba3Options, weights: Record<string, Tensor>): Mamba3 {
    const config = resolveMamba3Config(opts);
    checkWeights(mamba3ParamShapes(config), weights, 'Mamba3 weights');
    const params = Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, keep(v)]));
    return new Mamba3(config, params);
  }

  /** Chunked forward: u [b, L, dModel] -> [b, L, dModel]. With a cache, starts from it and updates it. */
  forward(u: Tensor, opts?: { cache?: Mamba3InferenceCache }): Tensor {
    const cache = opts?.cache;
    const { y, state } = mamba3Forward(this.params, this.config, u, cache?.state());
    if (cache) cache.update(state);
    else dispose(state);
    return y;
  }

  /** One decode step: u [b, dModel] -> [b, dModel]; updates the cache. */
  step(u: Tensor, cache: Mamba3InferenceCache): Tensor {
    const { y, state } = mamba3StepForward(this.params, this.config, u, cache.state());
    cache.update(state);
    return y;
  }

  /**
   * The recurrent path over a whole sequence: one `step` per position (what the official module
   * does when decoding), u [b, L, dModel] -> [b, L, dModel]; updates the cache.
   */
  stepSequence(u: Tensor, cache: Mamba3InferenceCache): Tensor {
    if (u.rank !== 3 || u.shape[2] !== this.config.dModel) {
      throw new ShapeError(`Mamba3.stepSequence: input should be [batch, seqlen, ${this.config.dModel}], got ${formatShape(u.shape)}`);
    }
    const [b, L, d] = u.shape;
    const steps: Tensor[] = [];
    try {
      for (let t = 0; t < L; t++) steps.push(tidy(() => reshape(this.step(reshape(sliceAxis(u, 1, t, t + 1), [b, d]), cache), [b, 1, d])));
      return concat(steps, 1);
    } finally {
      dispose(steps);
    }
  }

  allocateInferenceCache(batch: number, opts?: { backend?: Backend; dtype?: DType }): Mamba3InferenceCache {
    return Mamba3InferenceCache.zeros(this.config, batch, { backend: opts?.backend ?? this.params.D.backend, dtype: opts?.dtype ?? this.params.D.dtype });
  }

  /** Number of scalar parameters. */
  get paramCount(): number {
    return Object.values(this.params).reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    dispose(this.params);
  }
}
