import type { Backend, DType, Tensor } from '@mamba3/tensor';
import { add, ConfigError, dispose, dropout, engine, formatShape, keep, linear, Rng, rmsNorm, ShapeError, sliceAxis, squeeze, tensor, full, tidy } from '@mamba3/tensor';
import { linearInit, prefixed, unprefixed } from '../params.js';
import type { Mamba1Config } from './config.js';
import { resolveMamba1Config } from './config.js';
import { mamba1Forward } from './mixer.js';
import { initMamba1Params, mamba1ParamShapes } from './params.js';

/**
 * The Edifice `Mamba.build` options (TypeScript casing): [batch, seqLen, embedDim] -> the last
 * position's hidden state [batch, hiddenSize]. Each block is pre-norm and residual:
 * h ← h + Mamba1(RMSNorm(h)), with the official Mamba-1 mixer (S4D-real A, dt_rank auto).
 */
export interface MambaBackboneOptions {
  embedDim: number;
  hiddenSize?: number;
  stateSize?: number;
  expandFactor?: number;
  convSize?: number;
  numLayers?: number;
  /** Dropout on the residual stream between blocks, in training only. */
  dropout?: number;
  /** The expected sequence length (informational, as in Edifice). */
  windowSize?: number;
}

export type ResolvedMambaBackboneOptions = Required<MambaBackboneOptions>;

/** Edifice's defaults for `Mamba.build`. */
export function mambaRecommendedDefaults(): Omit<ResolvedMambaBackboneOptions, 'embedDim'> {
  return { hiddenSize: 256, stateSize: 16, expandFactor: 2, convSize: 4, numLayers: 2, dropout: 0, windowSize: 60 };
}

function intOpt(name: string, v: unknown, min: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new ConfigError(`buildMamba: ${name} must be an integer >= ${min}, got ${String(v)}`);
}

export function resolveMambaBackboneOptions(opts: MambaBackboneOptions): ResolvedMambaBackboneOptions {
  const o = { ...mambaRecommendedDefaults(), ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as ResolvedMambaBackboneOptions;
  intOpt('embedDim', o.embedDim, 1);
  intOpt('hiddenSize', o.hiddenSize, 1);
  intOpt('stateSize', o.stateSize, 1);
  intOpt('expandFactor', o.expandFactor, 1);
  intOpt('convSize', o.convSize, 1);
  intOpt('numLayers', o.numLayers, 1);
  intOpt('windowSize', o.windowSize, 1);
  if (!(o.dropout >= 0 && o.dropout < 1)) throw new ConfigError(`buildMamba: dropout must be in [0, 1), got ${o.dropout}`);
  return o;
}

/** The mixer config of every block. */
export function mambaBlockConfig(o: ResolvedMambaBackboneOptions): Mamba1Config {
  return resolveMamba1Config({ dModel: o.hiddenSize, dState: o.stateSize, expand: o.expandFactor, dConv: o.convSize });
}

/** Parameter names and shapes: `input_projection.*` (when embedDim ≠ hiddenSize), `layers.i.norm.weight`, `layers.i.mixer.*` (official Mamba names). */
export function mambaBackboneParamShapes(opts: MambaBackboneOptions): Record<string, number[]> {
  const o = resolveMambaBackboneOptions(opts);
  const shapes: Record<string, number[]> = {};
  if (o.embedDim !== o.hiddenSize) {
    shapes['input_projection.weight'] = [o.hiddenSize, o.embedDim];
    shapes['input_projection.bias'] = [o.hiddenSize];
  }
  const mixer = mamba1ParamShapes(mambaBlockConfig(o));
  for (let i = 0; i < o.numLayers; i++) {
    shapes[`layers.${i}.norm.weight`] = [o.hiddenSize];
    Object.assign(shapes, prefixed(`layers.${i}.mixer.`, mixer));
  }
  return shapes;
}

/** Exact number of scalar parameters of `buildMamba(opts)`. */
export function mambaParamCount(opts: MambaBackboneOptions): number {
  return Object.values(mambaBackboneParamShapes(opts)).reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
}

/** The backbone's output width. */
export function mambaOutputSize(opts: MambaBackboneOptions): number {
  return resolveMambaBackboneOptions(opts).hiddenSize;
}

/** The backbone as a pure function of its parameters: x [b, L, embedDim] -> hidden states [b, L, hiddenSize]. */
export function mambaBackboneSequence(params: Record<string, Tensor>, o: ResolvedMambaBackboneOptions, x: Tensor, fwd?: { training?: boolean; rng?: Rng }): Tensor {
  if (x.rank !== 3 || x.shape[2] !== o.embedDim) throw new ShapeError(`Mamba backbone: input should be [batch, seqLen, ${o.embedDim}], got ${formatShape(x.shape)}`);
  const c = mambaBlockConfig(o);
  return tidy(() => {
    let h = o.embedDim !== o.hiddenSize ? add(linear(x, params['input_projection.weight']), params['input_projection.bias']) : x;
    for (let i = 0; i < o.numLayers; i++) {
      const y = mamba1Forward(unprefixed(`layers.${i}.mixer.`, params), c, rmsNorm(h, params[`layers.${i}.norm.weight`], 1e-5));
      dispose(y.state);
      h = add(h, y.y);
      if (fwd?.training && o.dropout > 0 && i < o.numLayers - 1) h = dropout(h, o.dropout, { rng: fwd.rng });
    }
    return h;
  });
}

/** The Edifice-style Mamba backbone: [batch, seqLen, embedDim] -> [batch, hiddenSize]. */
export class MambaBackbone {
  readonly options: ResolvedMambaBackboneOptions;
  readonly params: Record<string, Tensor>;

  constructor(options: ResolvedMambaBackboneOptions, params: Record<string, Tensor>) {
    this.options = options;
    this.params = params;
  }

  /** The last position's hidden state [batch, hiddenSize]. */
  forward(x: Tensor, fwd?: { training?: boolean; rng?: Rng }): Tensor {
    return tidy(() => {
      const seq = mambaBackboneSequence(this.params, this.options, x, fwd);
      return squeeze(sliceAxis(seq, 1, seq.shape[1] - 1), 1);
    });
  }

  forwardSequence(x: Tensor, fwd?: { training?: boolean; rng?: Rng }): Tensor {
    return mambaBackboneSequence(this.params, this.options, x, fwd);
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

/** Builds and initialises the backbone (`Edifice.SSM.Mamba.build`): mixers with the official init, norms 1, the input projection as nn.Linear. */
export function buildMamba(opts: MambaBackboneOptions, init?: { seed?: number; backend?: Backend; dtype?: DType }): MambaBackbone {
  const o = resolveMambaBackboneOptions(opts);
  const rng = new Rng(init?.seed);
  const backend = init?.backend ?? engine.getBackend();
  const dtype = init?.dtype ?? 'float32';
  const params: Record<string, Tensor> = {};
  if (o.embedDim !== o.hiddenSize) {
    params['input_projection.weight'] = keep(tensor(linearInit(rng, o.hiddenSize, o.embedDim), [o.hiddenSize, o.embedDim], { dtype, backend }));
    params['input_projection.bias'] = keep(full([o.hiddenSize], 0, { dtype, backend }));
  }
  const c = mambaBlockConfig(o);
  for (let i = 0; i < o.numLayers; i++) {
    params[`layers.${i}.norm.weight`] = keep(full([o.hiddenSize], 1, { dtype, backend }));
    Object.assign(params, prefixed(`layers.${i}.mixer.`, initMamba1Params(c, { rng: rng.fork(), backend, dtype })));
  }
  return new MambaBackbone(o, params);
}
