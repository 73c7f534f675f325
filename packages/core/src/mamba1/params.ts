import type { Tensor } from '@mamba3/tensor';
import { engine, keep, Rng, tensor } from '@mamba3/tensor';
import type { InitOptions } from '../params.js';
import { linearInit } from '../params.js';
import { inverseSoftplus, sampleDt } from '../options.js';
import type { Mamba1Config } from './config.js';

/** Official parameter names and shapes of `Mamba` (mamba_simple.py). */
export function mamba1ParamShapes(c: Mamba1Config): Record<string, number[]> {
  const { dModel: d, dInner: E, dState: N, dtRank: R, dConv: K } = c;
  const shapes: Record<string, number[]> = { 'in_proj.weight': [2 * E, d] };
  if (c.bias) shapes['in_proj.bias'] = [2 * E];
  shapes['conv1d.weight'] = [E, 1, K];
  if (c.convBias) shapes['conv1d.bias'] = [E];
  shapes['x_proj.weight'] = [R + 2 * N, E];
  shapes['dt_proj.weight'] = [E, R];
  shapes['dt_proj.bias'] = [E];
  shapes.A_log = [E, N];
  shapes.D = [E];
  shapes['out_proj.weight'] = [d, E];
  if (c.bias) shapes['out_proj.bias'] = [d];
  return shapes;
}

/**
 * The official initialisation: Linear/Conv1d weights uniform(±1/√fanIn) (PyTorch's default),
 * dt_proj.weight uniform(±dtRank^-0.5·dtScale) (or that constant), dt_proj.bias = softplus⁻¹ of a
 * log-uniform dt in [dtMin, dtMax], A_log = log(1..N) per channel (S4D-real), D = 1.
 */
export function initMamba1Params(c: Mamba1Config, opts?: InitOptions): Record<string, Tensor> {
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const dtype = opts?.dtype ?? 'float32';
  const backend = opts?.backend ?? engine.getBackend();
  const make = (shape: number[], values: ArrayLike<number>): Tensor => keep(tensor(Float64Array.from(values), shape, { dtype, backend }));
  const uniform = (n: number, bound: number): Float64Array => Float64Array.from({ length: n }, () => (2 * rng.uniform() - 1) * bound);
  const { dModel: d, dInner: E, dState: N, dtRank: R, dConv: K } = c;
  const p: Record<string, Tensor> = { 'in_proj.weight': make([2 * E, d], linearInit(rng, 2 * E, d)) };
  if (c.bias) p['in_proj.bias'] = make([2 * E], uniform(2 * E, 1 / Math.sqrt(d)));
  // Conv1d with groups = channels: fan-in is the kernel width.
  p['conv1d.weight'] = make([E, 1, K], uniform(E * K, 1 / Math.sqrt(K)));
  if (c.convBias) p['conv1d.bias'] = make([E], uniform(E, 1 / Math.sqrt(K)));
  p['x_proj.weight'] = make([R + 2 * N, E], linearInit(rng, R + 2 * N, E));
  const std = c.dtScale / Math.sqrt(R);
  p['dt_proj.weight'] = make([E, R], c.dtInit === 'constant' ? new Float64Array(E * R).fill(std) : uniform(E * R, std));
  p['dt_proj.bias'] = make([E], Array.from({ length: E }, () => inverseSoftplus(sampleDt(rng.uniform(), c.dtMin, c.dtMax, c.dtInitFloor))));
  p.A_log = make([E, N], Array.from({ length: E * N }, (_, i) => Math.log((i % N) + 1)));
  p.D = make([E], new Float64Array(E).fill(1));
  p['out_proj.weight'] = make([d, E], linearInit(rng, d, E));
  if (c.bias) p['out_proj.bias'] = make([d], uniform(d, 1 / Math.sqrt(E)));
  return p;
}
