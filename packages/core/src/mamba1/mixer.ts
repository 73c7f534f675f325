import type { Backend, DType, Tensor } from '@mamba3/tensor';
import { ArgumentError, dispose, engine, formatShape, keep, linear, ShapeError, sliceAxis, tidy, zeros } from '@mamba3/tensor';
import { MixerCache } from '../cache.js';
import { causalConv1dSilu } from '../conv-silu.js';
import type { StepFusion } from '../mixer.js';
import { inProjection, outProjection } from '../projections.js';
import type { InitOptions } from '../params.js';
import { checkWeights } from '../params.js';
import type { Mamba1Config, Mamba1Options } from './config.js';
import { resolveMamba1Config } from './config.js';
import { initMamba1Params, mamba1ParamShapes } from './params.js';
import { mamba1ChunkCore } from './chunk-core.js';
import { mamba1ConvStep, mamba1InProjConv, mamba1StepScan } from './step.js';

/** The official decode cache of `Mamba`: conv [b, dInner, dConv], ssm [b, dInner, dState]. */
export interface Mamba1State extends Record<string, Tensor> {
  conv: Tensor;
  ssm: Tensor;
}

function checkInput(op: string, c: Mamba1Config, u: Tensor, rank: number): void {
  if (u.rank !== rank || u.shape[rank - 1] !== c.dModel) {
    const want = rank === 3 ? `[batch, seqlen, ${c.dModel}]` : `[batch, ${c.dModel}]`;
    throw new ShapeError(`${op}: input should be ${want}, got ${formatShape(u.shape)}`);
  }
}

/**
 * The mixer over a sequence (the parallel selective scan): u [b, L, dModel] -> y [b, L, dModel]
 * and the cache after the last position, optionally continuing from `state`. A pure function
 * of `params` (official names), so gradients reach every weight.
 */
export function mamba1Forward(p: Record<string, Tensor>, c: Mamba1Config, u: Tensor, state?: Mamba1State, fuse: StepFusion = {}): { y: Tensor; state: Mamba1State } {
  checkInput('Mamba1.forward', c, u, 3);
  return tidy(() => {
    const xz = inProjection(u, p['in_proj.weight'], p['in_proj.bias'], fuse);
    const conv = causalConv1dSilu({ xz, weight: p['conv1d.weight'], ...(p['conv1d.bias'] ? { bias: p['conv1d.bias'] } : {}), ...(state ? { state: state.conv } : {}) }, { offset: 0 });
    const x = conv.y;
    // x_proj's output (dt, B, C) and in_proj's (x, z) go whole to the scan's op, which reads B, C
    // and z in place; only dt is cut out, for dt_proj (no bias: the scan adds it inside the softplus).
    const dbc = linear(x, p['x_proj.weight']);
    const delta = linear(sliceAxis(dbc, -1, 0, c.dtRank), p['dt_proj.weight']);
    const inputs = { xz, x, dbc, delta, ALog: p.A_log, D: p.D, deltaBias: p['dt_proj.bias'], ...(state ? { h0: state.ssm } : {}) };
    const r = mamba1ChunkCore(inputs, { dtRank: c.dtRank, chunkSize: c.chunkSize });
    return { y: outProjection(r.y, p['out_proj.weight'], p['out_proj.bias'], fuse.residual), state: { conv: conv.state, ssm: r.state } };
  });
}

/**
 * One decode step: u [b, dModel] -> y [b, dModel] and the next cache (see `StepFusion`): in_proj
 * with the fused conv step (one op), x_proj, the fused dt_proj + scan step + gate, out_proj.
 */
export function mamba1StepForward(p: Record<string, Tensor>, c: Mamba1Config, u: Tensor, state: Mamba1State, fuse: StepFusion = {}): { y: Tensor; state: Mamba1State } {
  checkInput('Mamba1.step', c, u, 2);
  return tidy(() => {
    const convIn = { conv: state.conv, convWeight: p['conv1d.weight'], ...(p['conv1d.bias'] ? { convBias: p['conv1d.bias'] } : {}) };
    // Without an in_proj bias (the released models have none), the conv step rides in in_proj.
    let xz: Tensor;
    let conv: { x: Tensor; conv: Tensor };
    if (p['in_proj.bias']) {
      xz = inProjection(u, p['in_proj.weight'], p['in_proj.bias'], fuse);
      conv = mamba1ConvStep({ xz, ...convIn }, {});
    } else {
      const r = mamba1InProjConv({ u, weight: p['in_proj.weight'], ...(fuse.norm ? { normWeight: fuse.norm.weight } : {}), ...convIn }, { eps: fuse.norm?.eps ?? 0 });
      xz = r.xz;
      conv = r;
    }
    const dbc = linear(conv.x, p['x_proj.weight']);
    const r = mamba1StepScan({ xz, x: conv.x, dbc, dtWeight: p['dt_proj.weight'], dtBias: p['dt_proj.bias'], ALog: p.A_log, D: p.D, h: state.ssm }, {});
    const y = outProjection(r.y, p['out_proj.weight'], p['out_proj.bias'], fuse.residual);
    return { y, state: { conv: conv.conv, ssm: r.state } };
  });
}

/** A zero cache with the official shapes. */
export function mamba1ZeroState(c: Mamba1Config, batch: number, opts?: { backend?: Backend; dtype?: DType }): Mamba1State {
  if (!Number.isInteger(batch) || batch < 1) throw new ArgumentError(`Mamba1: batch must be a positive integer, got ${batch}`);
  const o = { backend: opts?.backend ?? engine.getBackend(), dtype: opts?.dtype ?? 'float32' };
  return { conv: zeros([batch, c.dInner, c.dConv], o), ssm: zeros([batch, c.dInner, c.dState], o) };
}

/** The Mamba-1 mixer (`mamba_ssm.modules.mamba_simple.Mamba`), weights under the official names. */
export class Mamba1 {
  readonly config: Mamba1Config;
  readonly params: Record<string, Tensor>;

  private constructor(config: Mamba1Config, params: Record<string, Tensor>) {
    this.config = config;
    this.params = params;
  }

  static create(opts: Mamba1Options, init?: InitOptions): Mamba1 {
    const config = resolveMamba1Config(opts);
    return new Mamba1(config, initMamba1Params(config, init));
  }

  static fromWeights(opts: Mamba1Options, weights: Record<string, Tensor>): Mamba1 {
    const config = resolveMamba1Config(opts);
    checkWeights(mamba1ParamShapes(config), weights, 'Mamba1 weights');
    return new Mamba1(config, Object.fromEntries(Object.entries(weights).map(([k, v]) => [k, keep(v)])));
  }

  /** u [b, L, dModel] -> [b, L, dModel]; with a cache, starts from it and updates it. */
  forward(u: Tensor, opts?: { cache?: MixerCache<Mamba1State> }): Tensor {
    const { y, state } = mamba1Forward(this.params, this.config, u, opts?.cache?.state());
    if (opts?.cache) opts.cache.update(state);
    else dispose(state);
    return y;
  }

  step(u: Tensor, cache: MixerCache<Mamba1State>): Tensor {
    const { y, state } = mamba1StepForward(this.params, this.config, u, cache.state());
    cache.update(state);
    return y;
  }

  allocateInferenceCache(batch: number): MixerCache<Mamba1State> {
    return new MixerCache(mamba1ZeroState(this.config, batch, { backend: this.params.D.backend, dtype: this.params.D.dtype }));
  }

  get paramCount(): number {
    return Object.values(this.params).reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    dispose(this.params);
  }
}
