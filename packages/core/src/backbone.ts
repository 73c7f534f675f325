import type { Backend, DType, Tensor } from '@mamba3/tensor';
import {
  add,
  ConfigError,
  concat,
  dispose,
  dropout,
  engine,
  formatShape,
  full,
  keep,
  linear,
  mul,
  pad,
  Rng,
  rmsNorm,
  ShapeError,
  silu,
  sliceAxis,
  split,
  squeeze,
  tensor,
  tidy,
} from '@mamba3/tensor';
import { mixerParams } from './mixer.js';
import { inProjLayout } from './ops/mamba3/layout.js';
import type { Mamba3MixerAttrs } from './ops/mamba3/mixer-types.js';
import { mamba3MixerChunked } from './ops/mamba3/mixer.js';
import { linearInit } from './params.js';

/**
 * The Edifice `Mamba3.build` backbone options (TypeScript casing). It maps
 * [batch, seqLen, embedDim] to the last position's hidden state [batch, hiddenSize].
 */
export interface BackboneOptions {
  embedDim: number;
  hiddenSize?: number;
  /** N, the SSM state size per head. */
  stateSize?: number;
  expandFactor?: number;
  /** Depthwise causal conv width on the SSM branch; 0 leaves the conv out. */
  convSize?: number;
  numLayers?: number;
  /** Dropout on the residual stream between blocks, in training only. */
  dropout?: number;
  /** The expected sequence length (informational, as in Edifice). */
  windowSize?: number;
  /** MIMO rank; 1 gives a SISO SSM. */
  rank?: number;
  /** Data-dependent rotations (complex state); false is the real-valued ablation. */
  complex?: boolean;
  /** Head size of the SSM (default: 64, or the largest power of two ≤ 64 dividing the inner size). */
  headdim?: number;
  chunkSize?: number;
}

export type ResolvedBackboneOptions = Required<BackboneOptions>;

/** Edifice's defaults, plus ours for the options it does not have. */
export function recommendedDefaults(): Omit<ResolvedBackboneOptions, 'embedDim' | 'headdim'> & { headdim?: number } {
  return { hiddenSize: 256, stateSize: 16, expandFactor: 2, convSize: 4, numLayers: 2, dropout: 0, windowSize: 60, rank: 4, complex: true, chunkSize: 64 };
}

function defaultHeaddim(inner: number): number {
  for (let h = 64; h >= 1; h /= 2) if (inner % h === 0) return h;
  return 1;
}

function intOpt(name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`buildMamba3: ${name} must be an integer >= ${min}, got ${v}`);
  return v;
}

export function resolveBackboneOptions(opts: BackboneOptions): ResolvedBackboneOptions {
  const d = recommendedDefaults();
  const o = { ...d, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as BackboneOptions & typeof d;
  intOpt('embedDim', o.embedDim, 1);
  intOpt('hiddenSize', o.hiddenSize, 1);
  intOpt('stateSize', o.stateSize, 2);
  intOpt('expandFactor', o.expandFactor, 1);
  intOpt('convSize', o.convSize, 0);
  intOpt('numLayers', o.numLayers, 1);
  intOpt('rank', o.rank, 1);
  intOpt('chunkSize', o.chunkSize, 1);
  intOpt('windowSize', o.windowSize, 1);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new ConfigError(`buildMamba3: dropout must be in [0, 1), got ${o.dropout}`);
  const inner = o.hiddenSize * o.expandFactor;
  const headdim = o.headdim ?? defaultHeaddim(inner);
  intOpt('headdim', headdim, 1);
  if (inner % headdim !== 0) throw new ConfigError(`buildMamba3: headdim (${headdim}) must divide hiddenSize·expandFactor = ${inner}`);
  if (o.rank > 1 && o.stateSize % 2 !== 0) throw new ConfigError(`buildMamba3: a MIMO SSM (rank > 1) needs an even stateSize, got ${o.stateSize}`);
  return { ...o, headdim, embedDim: o.embedDim };
}

/** The SSM attributes of one block. */
function ssmAttrs(o: ResolvedBackboneOptions): Mamba3MixerAttrs {
  const inner = o.hiddenSize * o.expandFactor;
  return {
    nheads: inner / o.headdim,
    headdim: o.headdim,
    dState: o.stateSize,
    ngroups: 1,
    mimoRank: o.rank,
    isMimo: o.rank > 1,
    numRopeAngles: Math.max(1, Math.floor(Math.floor(o.stateSize / 2) / 2)),
    complex: o.complex,
    AFloor: 1e-4,
    isOutprojNorm: false,
    chunkSize: o.chunkSize,
    eps: 1e-5,
  };
}

/** Width of the SSM projection: the in_proj sections after z and x (B, C, dd_dt, dd_A, trap, angles). */
function ssmProjWidth(a: Mamba3MixerAttrs): number {
  const l = inProjLayout(a);
  return l.dInProj - l.offsets.B;
}

/** Parameter names and shapes of the backbone. */
export function backboneParamShapes(opts: BackboneOptions): Record<string, number[]> {
  const o = resolveBackboneOptions(opts);
  const a = ssmAttrs(o);
  const inner = o.hiddenSize * o.expandFactor;
  const { nheads: H, mimoRank: R, dState: N, headdim: P } = a;
  const shapes: Record<string, number[]> = {};
  if (o.embedDim !== o.hiddenSize) {
    shapes['input_projection.weight'] = [o.hiddenSize, o.embedDim];
    shapes['input_projection.bias'] = [o.hiddenSize];
  }
  for (let i = 0; i < o.numLayers; i++) {
    const p = `layers.${i}.`;
    shapes[`${p}norm.weight`] = [o.hiddenSize];
    shapes[`${p}in_proj.weight`] = [2 * inner, o.hiddenSize];
    shapes[`${p}in_proj.bias`] = [2 * inner];
    if (o.convSize > 0) {
      shapes[`${p}conv.weight`] = [inner, o.convSize];
      shapes[`${p}conv.bias`] = [inner];
    }
    shapes[`${p}ssm_proj.weight`] = [ssmProjWidth(a), inner];
    shapes[`${p}ssm.dt_bias`] = [H];
    shapes[`${p}ssm.B_bias`] = [H, R, N];
    shapes[`${p}ssm.C_bias`] = [H, R, N];
    shapes[`${p}ssm.B_norm.weight`] = [N];
    shapes[`${p}ssm.C_norm.weight`] = [N];
    shapes[`${p}ssm.D`] = [H];
    if (R > 1) for (const m of ['mimo_x', 'mimo_z', 'mimo_o']) shapes[`${p}ssm.${m}`] = [H, R, P];
    shapes[`${p}out_proj.weight`] = [o.hiddenSize, inner];
    shapes[`${p}out_proj.bias`] = [o.hiddenSize];
  }
  return shapes;
}

/** Exact number of scalar parameters of `buildMamba3(opts)`. */
export function paramCount(opts: BackboneOptions): number {
  return Object.values(backboneParamShapes(opts)).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** The backbone's output width (the last hidden state). */
export function outputSize(opts: BackboneOptions): number {
  return resolveBackboneOptions(opts).hiddenSize;
}

/** Causal depthwise conv along the sequence: x [b, L, C], weight [C, K], bias [C]. */
function causalDepthwiseConv(x: Tensor, weight: Tensor, bias: Tensor): Tensor {
  const [, L] = x.shape;
  const K = weight.shape[1];
  const padded = pad(x, [[0, 0], [K - 1, 0], [0, 0]]);
  let y = bias;
  for (let k = 0; k < K; k++) y = add(y, mul(sliceAxis(padded, 1, k, k + L), squeeze(sliceAxis(weight, 1, k, k + 1), 1)));
  return y;
}

export interface BackboneForwardOptions {
  /** Applies dropout (with `rng`) when true. */
  training?: boolean;
  rng?: Rng;
}

/**
 * The backbone as a pure function of its parameters: x [b, L, embedDim] -> the hidden states
 * of every position [b, L, hiddenSize].
 */
export function backboneSequence(params: Record<string, Tensor>, opts: ResolvedBackboneOptions, x: Tensor, fwd?: BackboneForwardOptions): Tensor {
  if (x.rank !== 3 || x.shape[2] !== opts.embedDim) {
    throw new ShapeError(`Mamba3 backbone: input should be [batch, seqLen, ${opts.embedDim}], got ${formatShape(x.shape)}`);
  }
  const a = ssmAttrs(opts);
  const inner = opts.hiddenSize * opts.expandFactor;
  return tidy(() => {
    let h = opts.embedDim !== opts.hiddenSize ? add(linear(x, params['input_projection.weight']), params['input_projection.bias']) : x;
    for (let i = 0; i < opts.numLayers; i++) {
      const p = (n: string): Tensor => params[`layers.${i}.${n}`];
      const normed = rmsNorm(h, p('norm.weight'), 1e-5);
      const [xs, z] = split(add(linear(normed, p('in_proj.weight')), p('in_proj.bias')), [inner, inner], -1);
      const conv = opts.convSize > 0 ? causalDepthwiseConv(xs, p('conv.weight'), p('conv.bias')) : xs;
      const act = silu(conv);
      // The Mamba-3 mixer core gates with silu(z) itself: z, x and the SSM inputs in the official split order.
      const zxbcdt = concat([z, act, linear(act, p('ssm_proj.weight'))], -1);
      const ssm = Object.fromEntries(Object.entries(params).filter(([k]) => k.startsWith(`layers.${i}.ssm.`)).map(([k, v]) => [k.slice(`layers.${i}.ssm.`.length), v]));
      const y = mamba3MixerChunked(zxbcdt, mixerParams(ssm), a).y;
      h = add(h, add(linear(y, p('out_proj.weight')), p('out_proj.bias')));
      if (fwd?.training && opts.dropout > 0 && i < opts.numLayers - 1) h = dropout(h, opts.dropout, { rng: fwd.rng });
    }
    return h;
  });
}

/** The Edifice-style Mamba-3 backbone: [batch, seqLen, embedDim] -> [batch, hiddenSize]. */
export class Mamba3Backbone {
  readonly options: ResolvedBackboneOptions;
  readonly params: Record<string, Tensor>;

  constructor(options: ResolvedBackboneOptions, params: Record<string, Tensor>) {
    this.options = options;
    this.params = params;
  }

  /** The last position's hidden state [batch, hiddenSize]. */
  forward(x: Tensor, fwd?: BackboneForwardOptions): Tensor {
    return tidy(() => {
      const seq = backboneSequence(this.params, this.options, x, fwd);
      return squeeze(sliceAxis(seq, 1, seq.shape[1] - 1), 1);
    });
  }

  /** Hidden states of every position [batch, seqLen, hiddenSize]. */
  forwardSequence(x: Tensor, fwd?: BackboneForwardOptions): Tensor {
    return backboneSequence(this.params, this.options, x, fwd);
  }

  get paramCount(): number {
    return Object.values(this.params).reduce((n, t) => n + t.size, 0);
  }

  outputSize(): number {
    return this.options.hiddenSize;
  }

  dispose(): void {
    dispose(this.params);
  }
}

/** Builds and initialises the backbone (`Edifice.SSM.Mamba3.build`). */
export function buildMamba3(opts: BackboneOptions, init?: { seed?: number; backend?: Backend; dtype?: DType }): Mamba3Backbone {
  const o = resolveBackboneOptions(opts);
  const a = ssmAttrs(o);
  const rng = new Rng(init?.seed);
  const backend = init?.backend ?? engine.getBackend();
  const dtype = init?.dtype ?? 'float32';
  const params: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(backboneParamShapes(o))) {
    const leaf = name.split('.').slice(-2).join('.');
    let t: Tensor;
    if (name.endsWith('.weight') && shape.length === 2) {
      t = tensor(linearInit(rng, shape[0], shape[1]), shape, { dtype, backend });
    } else if (leaf.endsWith('dt_bias')) {
      // dt log-uniform in [0.001, 0.1], bias = softplus⁻¹(dt), as the official mixer.
      const v = Array.from({ length: shape[0] }, () => {
        const dt = Math.max(Math.exp(rng.uniform() * (Math.log(0.1) - Math.log(0.001)) + Math.log(0.001)), 1e-4);
        return dt + Math.log(-Math.expm1(-dt));
      });
      t = tensor(v, shape, { dtype, backend });
    } else if (/\.(bias)$/.test(name) && !/B_bias|C_bias/.test(name)) {
      t = full(shape, 0, { dtype, backend });
    } else if (/mimo_[xo]$/.test(name)) {
      t = full(shape, 1 / a.mimoRank, { dtype, backend });
    } else {
      // Norm weights, B/C biases, D, mimo_z: ones, as upstream.
      t = full(shape, 1, { dtype, backend });
    }
    params[name] = keep(t);
  }
  return new Mamba3Backbone(o, params);
}
