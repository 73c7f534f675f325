import type { Backend, DType, Tensor } from '@mamba3/tensor';
import { engine, formatShape, full, keep, Rng, tensor, WeightsError } from '@mamba3/tensor';
import type { Mamba3Config } from './config.js';

/** Parameters under their official names (`mamba_ssm/modules/mamba3.py`). */
export type Mamba3Params = Record<string, Tensor>;

/** Official parameter names and shapes for a config. */
export function mamba3ParamShapes(c: Mamba3Config): Record<string, number[]> {
  const { nheads: H, mimoRank: R, dState: N, headdim: P } = c;
  const shapes: Record<string, number[]> = {
    'in_proj.weight': [c.dInProj, c.dModel],
    dt_bias: [H],
    B_bias: [H, R, N],
    C_bias: [H, R, N],
    'B_norm.weight': [N],
    'C_norm.weight': [N],
    D: [H],
    'out_proj.weight': [c.dModel, c.dInner],
  };
  if (c.isMimo) {
    shapes.mimo_x = [H, R, P];
    shapes.mimo_z = [H, R, P];
    shapes.mimo_o = [H, R, P];
  }
  if (c.isOutprojNorm) shapes['norm.weight'] = [c.dInner];
  return shapes;
}

/** Parameters that AdamW leaves out of weight decay in the official recipe. */
export function isNoWeightDecay(name: string): boolean {
  const leaf = name.split('.').slice(-2).join('.');
  return /(^|\.)(dt_bias|D|B_bias|C_bias)$/.test(name) || /norm(_f)?\.weight$/.test(leaf) || name.endsWith('.bias');
}

export interface InitOptions {
  seed?: number;
  rng?: Rng;
  backend?: Backend;
  dtype?: DType;
}

/** Uniform(−1/√fanIn, 1/√fanIn): PyTorch's nn.Linear default (kaiming_uniform with a = √5). */
export function linearInit(rng: Rng, out: number, fanIn: number): Float64Array {
  const bound = 1 / Math.sqrt(fanIn);
  const v = new Float64Array(out * fanIn);
  for (let i = 0; i < v.length; i++) v[i] = (2 * rng.uniform() - 1) * bound;
  return v;
}

/** The official initialisation; every tensor is kept (outside any tidy scope). */
export function initMamba3Params(c: Mamba3Config, opts?: InitOptions): Mamba3Params {
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const dtype = opts?.dtype ?? 'float32';
  const backend = opts?.backend ?? engine.getBackend();
  const make = (shape: number[], values: Float64Array): Tensor => keep(tensor(values, shape, { dtype, backend }));
  const fill = (shape: number[], value: number): Tensor => keep(full(shape, value, { dtype, backend }));
  const { nheads: H, mimoRank: R, dState: N, headdim: P } = c;
  // dt from a log-uniform in [dtMin, dtMax], floored; dt_bias = softplus⁻¹(dt).
  const dtBias = new Float64Array(H);
  for (let h = 0; h < H; h++) {
    const dt = Math.max(Math.exp(rng.uniform() * (Math.log(c.dtMax) - Math.log(c.dtMin)) + Math.log(c.dtMin)), c.dtInitFloor);
    dtBias[h] = dt + Math.log(-Math.expm1(-dt));
  }
  const params: Mamba3Params = {
    'in_proj.weight': make([c.dInProj, c.dModel], linearInit(rng, c.dInProj, c.dModel)),
    dt_bias: make([H], dtBias),
    B_bias: fill([H, R, N], 1),
    C_bias: fill([H, R, N], 1),
    'B_norm.weight': fill([N], 1),
    'C_norm.weight': fill([N], 1),
    D: fill([H], 1),
    'out_proj.weight': make([c.dModel, c.dInner], linearInit(rng, c.dModel, c.dInner)),
  };
  if (c.isMimo) {
    params.mimo_x = fill([H, R, P], 1 / R);
    params.mimo_z = fill([H, R, P], 1);
    params.mimo_o = fill([H, R, P], 1 / R);
  }
  if (c.isOutprojNorm) params['norm.weight'] = fill([c.dInner], 1);
  return params;
}

/**
 * Checks a weight record against expected shapes: every problem (missing, unexpected,
 * misshaped, non-float) is listed by name in one `WeightsError`.
 */
export function checkWeights(expected: Record<string, number[]>, weights: Record<string, Tensor>, where = 'weights'): void {
  const problems: string[] = [];
  for (const [name, shape] of Object.entries(expected)) {
    const w = weights[name];
    if (!w) problems.push(`missing "${name}" ${formatShape(shape)}`);
    else if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      problems.push(`"${name}" has shape ${formatShape(w.shape)}, expected ${formatShape(shape)}`);
    } else if (w.dtype === 'int32') problems.push(`"${name}" is int32, expected a float tensor`);
  }
  for (const name of Object.keys(weights)) if (!(name in expected)) problems.push(`unexpected "${name}" ${formatShape(weights[name].shape)}`);
  if (problems.length) throw new WeightsError(`${where}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
}

/** Adds a name prefix (`backbone.layers.0.mixer.`) to every key. */
export function prefixed<T>(prefix: string, record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [prefix + k, v]));
}

/** The entries under a prefix, with the prefix removed. */
export function unprefixed<T>(prefix: string, record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}
