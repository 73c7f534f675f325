import { ConfigError, describeValue } from '@mamba3/tensor';
import { isBool, mapOfficial, positiveInt, positiveNumber, stripUndefined } from '../options.js';

/** Constructor options of the official `Mamba` (mamba_ssm/modules/mamba_simple.py), TypeScript casing. */
export interface Mamba1Options {
  dModel: number;
  dState?: number;
  dConv?: number;
  expand?: number;
  /** 'auto': ceil(dModel / 16). */
  dtRank?: number | 'auto';
  dtMin?: number;
  dtMax?: number;
  dtInit?: 'random' | 'constant';
  dtScale?: number;
  dtInitFloor?: number;
  convBias?: boolean;
  /** Biases on in_proj and out_proj. */
  bias?: boolean;
  /** Positions per block of the parallel scan (ours: bounds its memory, not its result). */
  chunkSize?: number;
}

export interface Mamba1Config extends Required<Omit<Mamba1Options, 'dtRank'>> {
  dtRank: number;
  dInner: number;
}

export const MAMBA1_DEFAULTS = {
  dState: 16,
  dConv: 4,
  expand: 2,
  dtRank: 'auto',
  dtMin: 0.001,
  dtMax: 0.1,
  dtInit: 'random',
  dtScale: 1,
  dtInitFloor: 1e-4,
  convBias: true,
  bias: false,
  chunkSize: 64,
} as const satisfies Omit<Required<Mamba1Options>, 'dModel'>;

const W = 'Mamba1';

export function resolveMamba1Config(opts: Mamba1Options): Mamba1Config {
  const o = { ...MAMBA1_DEFAULTS, ...stripUndefined(opts) };
  const dModel = positiveInt(W, 'dModel', o.dModel);
  positiveInt(W, 'dState', o.dState);
  positiveInt(W, 'dConv', o.dConv);
  positiveNumber(W, 'expand', o.expand);
  positiveInt(W, 'chunkSize', o.chunkSize);
  const dInner = Math.trunc(o.expand * dModel);
  if (dInner < 1) throw new ConfigError(`${W}: expand (${o.expand}) · dModel (${dModel}) leaves no inner channel`);
  const dtRank = o.dtRank === 'auto' ? Math.ceil(dModel / 16) : positiveInt(W, 'dtRank', o.dtRank);
  positiveNumber(W, 'dtMin', o.dtMin);
  positiveNumber(W, 'dtMax', o.dtMax);
  if (o.dtMin > o.dtMax) throw new ConfigError(`${W}: dtMin (${o.dtMin}) must not exceed dtMax (${o.dtMax})`);
  positiveNumber(W, 'dtScale', o.dtScale);
  positiveNumber(W, 'dtInitFloor', o.dtInitFloor);
  if (o.dtInit !== 'random' && o.dtInit !== 'constant') throw new ConfigError(`${W}: dtInit must be "random" or "constant", got ${describeValue(o.dtInit)}`);
  isBool(W, 'convBias', o.convBias);
  isBool(W, 'bias', o.bias);
  return { ...o, dModel, dtRank, dInner };
}

const OFFICIAL: Record<string, string> = {
  d_model: 'dModel',
  d_state: 'dState',
  d_conv: 'dConv',
  expand: 'expand',
  dt_rank: 'dtRank',
  dt_min: 'dtMin',
  dt_max: 'dtMax',
  dt_init: 'dtInit',
  dt_scale: 'dtScale',
  dt_init_floor: 'dtInitFloor',
  conv_bias: 'convBias',
  bias: 'bias',
};
const IGNORED = new Set(['layer', 'use_fast_path', 'layer_idx', 'device', 'dtype']);

/** Options from the official constructor arguments (a fixture's config or config.json's `ssm_cfg`). */
export function mamba1FromOfficial(raw: Record<string, unknown>, dModel?: number): Mamba1Options {
  const out = mapOfficial(W, raw, OFFICIAL, IGNORED);
  if (dModel !== undefined) out.dModel ??= dModel;
  return out as unknown as Mamba1Options;
}

/** The official constructor arguments of a config (without d_model). */
export function mamba1ToOfficial(c: Mamba1Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(OFFICIAL)) if (k !== 'd_model') out[k] = c[key as keyof Mamba1Config];
  return out;
}
