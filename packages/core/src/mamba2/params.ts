import type { Tensor } from '@mamba3/tensor';
import { engine, keep, Rng, tensor } from '@mamba3/tensor';
import type { InitOptions } from '../params.js';
import { linearInit } from '../params.js';
import { inverseSoftplus, sampleDt } from '../options.js';
import type { Mamba2Config } from './config.js';

/** Official parameter names and shapes of `Mamba2`. */
export function mamba2ParamShapes(c: Mamba2Config): Record<string, number[]> {
  const s: Record<string, number[]> = { 'in_proj.weight': [c.dInProj, c.dModel] };
  if (c.bias) s['in_proj.bias'] = [c.dInProj];
  s['conv1d.weight'] = [c.convDim, 1, c.dConv];
  if (c.convBias) s['conv1d.bias'] = [c.convDim];
  s.dt_bias = [c.nheads];
  s.A_log = [c.nheads];
  s.D = [c.DHasHdim ? c.dSsm : c.nheads];
  if (c.rmsnorm) s['norm.weight'] = [c.dSsm];
  s['out_proj.weight'] = [c.dModel, c.dInner];
  if (c.bias) s['out_proj.bias'] = [c.dModel];
  return s;
}

/**
 * The official initialisation: Linear and Conv1d as PyTorch (conv uniform(±convInit) when
 * set), dt_bias = softplus⁻¹ of a log-uniform dt, A_log = log(uniform(AInitRange)) per head,
 * D = 1, norm weight 1.
 */
export function initMamba2Params(c: Mamba2Config, opts?: InitOptions): Record<string, Tensor> {
  const rng = opts?.rng ?? new Rng(opts?.seed);
  const dtype = opts?.dtype ?? 'float32';
  const backend = opts?.backend ?? engine.getBackend();
  const make = (shape: number[], values: ArrayLike<number>): Tensor => keep(tensor(Float64Array.from(values), shape, { dtype, backend }));
  const uniform = (n: number, lo: number, hi: number): Float64Array => Float64Array.from({ length: n }, () => lo + (hi - lo) * rng.uniform());
  const { dModel: d, nheads: H, convDim, dConv: K } = c;
  const p: Record<string, Tensor> = { 'in_proj.weight': make([c.dInProj, d], linearInit(rng, c.dInProj, d)) };
  if (c.bias) p['in_proj.bias'] = make([c.dInProj], uniform(c.dInProj, -1 / Math.sqrt(d), 1 / Math.sqrt(d)));
  const cb = c.convInit ?? 1 / Math.sqrt(K);
  p['conv1d.weight'] = make([convDim, 1, K], uniform(convDim * K, -cb, cb));
  if (c.convBias) p['conv1d.bias'] = make([convDim], uniform(convDim, -1 / Math.sqrt(K), 1 / Math.sqrt(K)));
  p.dt_bias = make([H], Array.from({ length: H }, () => inverseSoftplus(sampleDt(rng.uniform(), c.dtMin, c.dtMax, c.dtInitFloor))));
  p.A_log = make([H], Array.from(uniform(H, c.AInitRange[0], c.AInitRange[1]), Math.log));
  p.D = make([c.DHasHdim ? c.dSsm : H], new Float64Array(c.DHasHdim ? c.dSsm : H).fill(1));
  if (c.rmsnorm) p['norm.weight'] = make([c.dSsm], new Float64Array(c.dSsm).fill(1));
  p['out_proj.weight'] = make([d, c.dInner], linearInit(rng, d, c.dInner));
  if (c.bias) p['out_proj.bias'] = make([d], uniform(d, -1 / Math.sqrt(c.dInner), 1 / Math.sqrt(c.dInner)));
  return p;
}
