import { ConfigError, describeValue, positiveInt as checkInt, positiveNumber as checkNumber } from '@mamba3/tensor';
import { isBool, mapOfficial } from './options.js';
import type { Mamba3MixerAttrs } from './ops/mamba3/mixer-types.js';
import { dInProjOf } from './ops/mamba3/layout.js';

/** Constructor options of the official `Mamba3` module, in TypeScript casing (defaults as upstream). */
export interface Mamba3Options {
  dModel: number;
  dState?: number;
  expand?: number;
  headdim?: number;
  ngroups?: number;
  /** Fraction of dState rotated: 0.5 or 1. */
  ropeFraction?: number;
  dtMin?: number;
  dtMax?: number;
  dtInitFloor?: number;
  AFloor?: number;
  isOutprojNorm?: boolean;
  isMimo?: boolean;
  /** Rank of the MIMO updates (ignored for SISO, where it is 1). */
  mimoRank?: number;
  chunkSize?: number;
  /** false: no data-dependent rotation (the real-valued ablation; not in the official module). */
  complex?: boolean;
}

/** Resolved options plus the derived sizes. */
export interface Mamba3Config extends Required<Mamba3Options> {
  dInner: number;
  nheads: number;
  numRopeAngles: number;
  dInProj: number;
}

export const MAMBA3_DEFAULTS = {
  dState: 128,
  expand: 2,
  headdim: 64,
  ngroups: 1,
  ropeFraction: 0.5,
  dtMin: 0.001,
  dtMax: 0.1,
  dtInitFloor: 1e-4,
  AFloor: 1e-4,
  isOutprojNorm: false,
  isMimo: false,
  mimoRank: 4,
  chunkSize: 64,
  complex: true,
} as const satisfies Omit<Required<Mamba3Options>, 'dModel'>;

const positiveInt = (name: string, v: unknown): number => checkInt('Mamba3', name, v);
const positiveNumber = (name: string, v: unknown): number => checkNumber('Mamba3', name, v);

/** Applies defaults, checks every option (errors name the parameter) and derives the sizes. */
export function resolveMamba3Config(opts: Mamba3Options): Mamba3Config {
  const o = { ...MAMBA3_DEFAULTS, ...stripUndefined(opts) };
  const dModel = positiveInt('dModel', o.dModel);
  const dState = positiveInt('dState', o.dState);
  positiveNumber('expand', o.expand);
  const headdim = positiveInt('headdim', o.headdim);
  const ngroups = positiveInt('ngroups', o.ngroups);
  const chunkSize = positiveInt('chunkSize', o.chunkSize);
  const dInner = o.expand * dModel;
  if (!Number.isInteger(dInner)) throw new ConfigError(`Mamba3: expand (${o.expand}) · dModel (${dModel}) = ${dInner} must be an integer`);
  if (dInner % headdim !== 0) throw new ConfigError(`Mamba3: headdim (${headdim}) must divide d_inner = expand·dModel = ${dInner}`);
  const nheads = dInner / headdim;
  if (nheads % ngroups !== 0) throw new ConfigError(`Mamba3: ngroups (${ngroups}) must divide nheads (${nheads})`);
  if (o.ropeFraction !== 0.5 && o.ropeFraction !== 1) throw new ConfigError(`Mamba3: ropeFraction must be 0.5 or 1, got ${describeValue(o.ropeFraction)}`);
  for (const name of ['isOutprojNorm', 'isMimo', 'complex'] as const) isBool('Mamba3', name, o[name]);
  let split = Math.trunc(dState * o.ropeFraction);
  if (split % 2 !== 0) split -= 1;
  const numRopeAngles = split / 2;
  if (numRopeAngles < 1) throw new ConfigError(`Mamba3: dState (${dState}) · ropeFraction (${o.ropeFraction}) leaves no rotation angle; use dState >= ${2 / o.ropeFraction}`);
  if (o.isMimo && dState % 2 !== 0) throw new ConfigError(`Mamba3: a MIMO mixer rotates pairs (i, i + dState/2), so dState must be even, got ${dState}`);
  // Checked even where SISO ignores it: a malformed field of a file is refused, not skipped.
  const givenRank = positiveInt('mimoRank', o.mimoRank);
  const mimoRank = o.isMimo ? givenRank : 1;
  positiveNumber('dtMin', o.dtMin);
  positiveNumber('dtMax', o.dtMax);
  if (o.dtMin > o.dtMax) throw new ConfigError(`Mamba3: dtMin (${o.dtMin}) must not exceed dtMax (${o.dtMax})`);
  positiveNumber('dtInitFloor', o.dtInitFloor);
  if (typeof o.AFloor !== 'number' || !(o.AFloor >= 0) || !Number.isFinite(o.AFloor)) throw new ConfigError(`Mamba3: AFloor must be a finite number >= 0, got ${describeValue(o.AFloor)}`);
  const config = { ...o, dModel, dState, headdim, ngroups, chunkSize, mimoRank, dInner, nheads, numRopeAngles, dInProj: 0 };
  config.dInProj = dInProjOf(mixerAttrs(config));
  return config;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The fused mixer op's attributes for a config. */
export function mixerAttrs(c: Omit<Mamba3Config, 'dInProj'> | Mamba3Config): Mamba3MixerAttrs {
  return {
    nheads: c.nheads,
    headdim: c.headdim,
    dState: c.dState,
    ngroups: c.ngroups,
    mimoRank: c.mimoRank,
    isMimo: c.isMimo,
    numRopeAngles: c.numRopeAngles,
    complex: c.complex,
    AFloor: c.AFloor,
    isOutprojNorm: c.isOutprojNorm,
    chunkSize: c.chunkSize,
    eps: 1e-5,
  };
}

const OFFICIAL_KEYS: Record<string, keyof Mamba3Options> = {
  d_model: 'dModel',
  d_state: 'dState',
  expand: 'expand',
  headdim: 'headdim',
  ngroups: 'ngroups',
  rope_fraction: 'ropeFraction',
  dt_min: 'dtMin',
  dt_max: 'dtMax',
  dt_init_floor: 'dtInitFloor',
  A_floor: 'AFloor',
  is_outproj_norm: 'isOutprojNorm',
  is_mimo: 'isMimo',
  mimo_rank: 'mimoRank',
  chunk_size: 'chunkSize',
  complex: 'complex',
};

/** Keys of the official constructor that do not change the math. */
const IGNORED_OFFICIAL = new Set(['layer', 'dropout', 'layer_idx', 'n_layer', 'device', 'dtype', 'fuse_pregate_headwise_norm']);

/** Options from the official snake_case constructor arguments (e.g. a fixture's or config.json's `ssm_cfg`). */
export function fromOfficialOptions(raw: Record<string, unknown>, dModel?: number): Mamba3Options {
  const out = mapOfficial('Mamba3', raw, OFFICIAL_KEYS, IGNORED_OFFICIAL);
  if (dModel !== undefined) out.dModel ??= dModel;
  return out as unknown as Mamba3Options;
}

/** The official snake_case constructor arguments of a config. */
export function toOfficialOptions(c: Mamba3Config): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const [k, key] of Object.entries(OFFICIAL_KEYS)) {
    if (key === 'complex' && c.complex) continue;
    out[k] = c[key] as number | boolean;
  }
  return out;
}
