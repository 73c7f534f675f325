import { ConfigError } from '@mamba3/tensor';
import { isBool, mapOfficial, officialNumber, positiveInt, positiveNumber, stripUndefined } from '../options.js';

/** Constructor options of the official `Mamba2` (mamba_ssm/modules/mamba2.py), TypeScript casing. */
export interface Mamba2Options {
  dModel: number;
  dState?: number;
  dConv?: number;
  /** Conv weights uniform(±convInit) at init; null: PyTorch's default. */
  convInit?: number | null;
  expand?: number;
  headdim?: number;
  /** Channels that go through the SSM (null: all of dInner); the rest form a gated MLP. */
  dSsm?: number | null;
  ngroups?: number;
  AInitRange?: readonly [number, number];
  /** D per channel (dSsm) instead of per head. */
  DHasHdim?: boolean;
  /** The gated RMSNorm before out_proj; false gates with silu(z) only. */
  rmsnorm?: boolean;
  normBeforeGate?: boolean;
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
  /** Δ after the softplus is clamped into this range. */
  dtLimit?: readonly [number, number];
  bias?: boolean;
  convBias?: boolean;
  chunkSize?: number;
}

export interface Mamba2Config extends Required<Omit<Mamba2Options, 'dSsm' | 'convInit'>> {
  convInit: number | null;
  dInner: number;
  dSsm: number;
  nheads: number;
  /** Width of the gated-MLP part (dInner − dSsm). */
  dMlp: number;
  /** Channels of the conv: x, B and C. */
  convDim: number;
  dInProj: number;
}

export const MAMBA2_DEFAULTS = {
  dState: 128,
  dConv: 4,
  convInit: null,
  expand: 2,
  headdim: 64,
  dSsm: null,
  ngroups: 1,
  AInitRange: [1, 16],
  DHasHdim: false,
  rmsnorm: true,
  normBeforeGate: false,
  dtMin: 0.001,
  dtMax: 0.1,
  dtInitFloor: 1e-4,
  dtLimit: [0, Infinity],
  bias: false,
  convBias: true,
  chunkSize: 256,
} as const satisfies Omit<Required<Mamba2Options>, 'dModel'>;

const W = 'Mamba2';

function pair(name: string, v: unknown): [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number' || Number.isNaN(x)) || v[0] > v[1]) {
    throw new ConfigError(`${W}: ${name} must be [low, high] numbers with low <= high, got ${JSON.stringify(v)}`);
  }
  return [v[0], v[1]];
}

export function resolveMamba2Config(opts: Mamba2Options): Mamba2Config {
  const o = { ...MAMBA2_DEFAULTS, ...stripUndefined(opts) };
  const dModel = positiveInt(W, 'dModel', o.dModel);
  const dState = positiveInt(W, 'dState', o.dState);
  positiveInt(W, 'dConv', o.dConv);
  positiveNumber(W, 'expand', o.expand);
  const headdim = positiveInt(W, 'headdim', o.headdim);
  const ngroups = positiveInt(W, 'ngroups', o.ngroups);
  positiveInt(W, 'chunkSize', o.chunkSize);
  const dInner = o.expand * dModel;
  if (!Number.isInteger(dInner)) throw new ConfigError(`${W}: expand (${o.expand}) · dModel (${dModel}) = ${dInner} must be an integer`);
  const dSsm = o.dSsm === null ? dInner : positiveInt(W, 'dSsm', o.dSsm);
  if (dSsm > dInner) throw new ConfigError(`${W}: dSsm (${dSsm}) must not exceed d_inner = ${dInner}`);
  if (dSsm % headdim !== 0) throw new ConfigError(`${W}: headdim (${headdim}) must divide d_ssm = ${dSsm}`);
  const nheads = dSsm / headdim;
  if (nheads % ngroups !== 0) throw new ConfigError(`${W}: ngroups (${ngroups}) must divide nheads (${nheads})`);
  const AInitRange = pair('AInitRange', o.AInitRange);
  if (!(AInitRange[0] > 0)) throw new ConfigError(`${W}: AInitRange must be positive, got ${JSON.stringify(AInitRange)}`);
  const dtLimit = pair('dtLimit', o.dtLimit);
  positiveNumber(W, 'dtMin', o.dtMin);
  positiveNumber(W, 'dtMax', o.dtMax);
  if (o.dtMin > o.dtMax) throw new ConfigError(`${W}: dtMin (${o.dtMin}) must not exceed dtMax (${o.dtMax})`);
  positiveNumber(W, 'dtInitFloor', o.dtInitFloor);
  if (o.convInit !== null) positiveNumber(W, 'convInit', o.convInit);
  for (const k of ['DHasHdim', 'rmsnorm', 'normBeforeGate', 'bias', 'convBias'] as const) isBool(W, k, o[k]);
  const convDim = dSsm + 2 * ngroups * dState;
  const dInProj = 2 * dInner + 2 * ngroups * dState + nheads;
  return { ...o, dModel, dState, headdim, ngroups, AInitRange, dtLimit, dInner, dSsm, nheads, dMlp: dInner - dSsm, convDim, dInProj };
}

const OFFICIAL: Record<string, string> = {
  d_model: 'dModel',
  d_state: 'dState',
  d_conv: 'dConv',
  conv_init: 'convInit',
  expand: 'expand',
  headdim: 'headdim',
  d_ssm: 'dSsm',
  ngroups: 'ngroups',
  A_init_range: 'AInitRange',
  D_has_hdim: 'DHasHdim',
  rmsnorm: 'rmsnorm',
  norm_before_gate: 'normBeforeGate',
  dt_min: 'dtMin',
  dt_max: 'dtMax',
  dt_init_floor: 'dtInitFloor',
  dt_limit: 'dtLimit',
  bias: 'bias',
  conv_bias: 'convBias',
  chunk_size: 'chunkSize',
};
const IGNORED = new Set(['layer', 'use_mem_eff_path', 'layer_idx', 'process_group', 'sequence_parallel', 'device', 'dtype']);

export function mamba2FromOfficial(raw: Record<string, unknown>, dModel?: number): Mamba2Options {
  const out = mapOfficial(W, raw, OFFICIAL, IGNORED);
  for (const k of ['dtLimit', 'AInitRange']) if (Array.isArray(out[k])) out[k] = (out[k] as unknown[]).map(officialNumber);
  if (dModel !== undefined) out.dModel ??= dModel;
  return out as unknown as Mamba2Options;
}

/** The official constructor arguments of a config (without d_model; d_ssm null when it is d_inner). */
export function mamba2ToOfficial(c: Mamba2Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(OFFICIAL)) if (k !== 'd_model') out[k] = c[key as keyof Mamba2Config];
  if (c.dSsm === c.dInner) out.d_ssm = null;
  // JSON has no Infinity: the default limit (none) is left out, as upstream's default.
  if (c.dtLimit[0] === 0 && c.dtLimit[1] === Infinity) delete out.dt_limit;
  return out;
}
