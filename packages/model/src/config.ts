import type { Mamba1Options, Mamba2Options, Mamba3Options, MhaOptions } from '@mamba3/core';
import {
  fromOfficialOptions, mamba1FromOfficial, mamba1ToOfficial, mamba2FromOfficial, mamba2ToOfficial, mhaFromOfficial, mhaToOfficial, resolveMamba1Config, resolveMamba2Config,
  resolveMamba3Config, resolveMhaConfig, toOfficialOptions,
} from '@mamba3/core';
import { booleanValue, ConfigError, describeValue, positiveInt as checkInt, positiveNumber } from '@mamba3/tensor';

export type SsmLayer = 'Mamba1' | 'Mamba2' | 'Mamba3';

/**
 * The mixer options of every SSM layer (dModel comes from the model). `layer` picks the
 * mixer; in TypeScript configs it defaults to Mamba3, in the official config.json (`ssm_cfg`)
 * to Mamba1, as upstream.
 */
export type SsmConfig =
  | ({ layer: 'Mamba1' } & Omit<Mamba1Options, 'dModel'>)
  | ({ layer: 'Mamba2' } & Omit<Mamba2Options, 'dModel'>)
  | ({ layer?: 'Mamba3' } & Omit<Mamba3Options, 'dModel'>);

/** The options of the attention layers (`attn_cfg`; embedDim is dModel). */
export type AttnConfig = Partial<Omit<MhaOptions, 'embedDim'>>;

/** `MambaConfig` of the official `mamba_ssm`, in TypeScript casing. */
export interface MambaConfig {
  dModel: number;
  /** Hidden size of the GatedMLP after each mixer; 0: no MLP. */
  dIntermediate: number;
  nLayer: number;
  vocabSize: number;
  ssmCfg: SsmConfig;
  /** Layers that are multi-head attention instead of an SSM. */
  attnLayerIdx: number[];
  attnCfg: AttnConfig;
  rmsNorm: boolean;
  residualInFp32: boolean;
  fusedAddNorm: boolean;
  padVocabSizeMultiple: number;
  tieEmbeddings: boolean;
  /** Epsilon of every RMSNorm/LayerNorm (official: 1e-5). */
  normEpsilon: number;
}

export type MambaConfigInput = Partial<MambaConfig> & Pick<MambaConfig, 'dModel' | 'nLayer' | 'vocabSize'>;

export const MAMBA_CONFIG_DEFAULTS: Omit<MambaConfig, 'dModel' | 'nLayer' | 'vocabSize'> = {
  dIntermediate: 0,
  ssmCfg: { layer: 'Mamba3' },
  attnLayerIdx: [],
  attnCfg: {},
  rmsNorm: true,
  residualInFp32: true,
  fusedAddNorm: true,
  padVocabSizeMultiple: 8,
  tieEmbeddings: true,
  normEpsilon: 1e-5,
};

const positiveInt = (name: string, v: unknown, min = 1): number => checkInt('MambaConfig', name, v, min);

/** The SSM layer kind of a config. */
export function ssmLayer(c: Pick<MambaConfig, 'ssmCfg'>): SsmLayer {
  return c.ssmCfg.layer ?? 'Mamba3';
}

/** Defaults applied and every field checked (errors name the field). */
export function resolveMambaConfig(input: MambaConfigInput): MambaConfig {
  const c: MambaConfig = { ...MAMBA_CONFIG_DEFAULTS, ...stripUndefined(input) } as MambaConfig;
  positiveInt('dModel', c.dModel);
  positiveInt('nLayer', c.nLayer);
  positiveInt('vocabSize', c.vocabSize);
  positiveInt('dIntermediate', c.dIntermediate, 0);
  positiveInt('padVocabSizeMultiple', c.padVocabSizeMultiple);
  for (const name of ['rmsNorm', 'residualInFp32', 'fusedAddNorm', 'tieEmbeddings'] as const) booleanValue('MambaConfig', name, c[name]);
  positiveNumber('MambaConfig', 'normEpsilon', c.normEpsilon);
  const layer = c.ssmCfg.layer;
  if (layer !== undefined && layer !== 'Mamba1' && layer !== 'Mamba2' && layer !== 'Mamba3') {
    throw new ConfigError(`MambaConfig: ssmCfg.layer ${describeValue(layer)} is not supported (Mamba1, Mamba2 or Mamba3)`);
  }
  if (!Array.isArray(c.attnLayerIdx) || c.attnLayerIdx.some((i) => !Number.isInteger(i) || i < 0 || i >= c.nLayer)) {
    throw new ConfigError(`MambaConfig: attnLayerIdx must list layer indices in [0, ${c.nLayer}), got ${describeValue(c.attnLayerIdx)}`);
  }
  // Validates the mixer options now, with the model's dModel.
  if (c.attnLayerIdx.length < c.nLayer) ssmOptionsCheck(c);
  if (c.attnLayerIdx.length > 0) resolveMhaConfig(attnOptions(c));
  return c;
}

function ssmOptionsCheck(c: MambaConfig): void {
  const o = mixerOptions(c);
  if (o.layer === 'Mamba1') resolveMamba1Config(o.options);
  else if (o.layer === 'Mamba2') resolveMamba2Config(o.options);
  else resolveMamba3Config(o.options);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export type SsmOptions = { layer: 'Mamba1'; options: Mamba1Options } | { layer: 'Mamba2'; options: Mamba2Options } | { layer: 'Mamba3'; options: Mamba3Options };

/** The SSM mixer's kind and constructor options (with the model's dModel). */
export function mixerOptions(c: MambaConfig): SsmOptions {
  const { layer, ...rest } = c.ssmCfg;
  return { layer: layer ?? 'Mamba3', options: { ...rest, dModel: c.dModel } } as SsmOptions;
}

/** The attention layers' options (with embedDim = dModel). */
export function attnOptions(c: MambaConfig): MhaOptions {
  if (c.attnCfg.numHeads === undefined) throw new ConfigError('MambaConfig: attnCfg.numHeads is required when attnLayerIdx lists layers');
  return { ...c.attnCfg, numHeads: c.attnCfg.numHeads, embedDim: c.dModel };
}

/** The vocabulary rounded up to `padVocabSizeMultiple` (the embedding's row count). */
export function paddedVocabSize(c: MambaConfig): number {
  const m = c.padVocabSizeMultiple;
  return Math.ceil(c.vocabSize / m) * m;
}

/** GatedMLP's hidden size: dIntermediate rounded up to a multiple of 128, as upstream. */
export function mlpHidden(c: MambaConfig): number {
  return Math.ceil(c.dIntermediate / 128) * 128;
}

const JSON_KEYS: Record<string, keyof MambaConfig> = {
  d_model: 'dModel',
  d_intermediate: 'dIntermediate',
  n_layer: 'nLayer',
  vocab_size: 'vocabSize',
  rms_norm: 'rmsNorm',
  residual_in_fp32: 'residualInFp32',
  fused_add_norm: 'fusedAddNorm',
  pad_vocab_size_multiple: 'padVocabSizeMultiple',
  tie_embeddings: 'tieEmbeddings',
  norm_epsilon: 'normEpsilon',
  attn_layer_idx: 'attnLayerIdx',
};

function ssmFromJson(v: unknown): SsmConfig {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`config.json: ssm_cfg must be an object, got ${describeValue(v)}`);
  const { layer = 'Mamba1', ...raw } = v as Record<string, unknown>;
  let options: Record<string, unknown>;
  if (layer === 'Mamba1') options = { ...mamba1FromOfficial(raw) };
  else if (layer === 'Mamba2') options = { ...mamba2FromOfficial(raw) };
  else if (layer === 'Mamba3') options = { ...fromOfficialOptions(raw) };
  else throw new ConfigError(`config.json: ssm_cfg.layer ${describeValue(layer)} is not supported (Mamba1, Mamba2 or Mamba3)`);
  delete options.dModel;
  return { ...options, layer } as SsmConfig;
}

function attnFromJson(v: unknown): AttnConfig {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`config.json: attn_cfg must be an object, got ${describeValue(v)}`);
  const o: Record<string, unknown> = { ...mhaFromOfficial(v as Record<string, unknown>) };
  delete o.embedDim;
  return o as AttnConfig;
}

/** Reads the official `config.json` (snake_case `MambaConfig` fields, `ssm_cfg`, `attn_layer_idx`, `attn_cfg`). */
export function fromConfigJson(json: Record<string, unknown>): MambaConfig {
  const out: Record<string, unknown> = { ssmCfg: ssmFromJson({}) };
  for (const [k, v] of Object.entries(json)) {
    if (Object.hasOwn(JSON_KEYS, k)) out[JSON_KEYS[k]] = v;
    else if (k === 'ssm_cfg') out.ssmCfg = ssmFromJson(v);
    else if (k === 'attn_cfg') out.attnCfg = attnFromJson(v);
    else throw new ConfigError(`config.json: unknown field "${k}"`);
  }
  return resolveMambaConfig(out as unknown as MambaConfigInput);
}

/** The official `config.json` of a config. */
export function toConfigJson(c: MambaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(JSON_KEYS)) if (key !== 'normEpsilon' && key !== 'attnLayerIdx') out[k] = c[key];
  const m = mixerOptions(c);
  const ssm: Record<string, unknown> =
    m.layer === 'Mamba1'
      ? mamba1ToOfficial(resolveMamba1Config(m.options))
      : m.layer === 'Mamba2'
        ? mamba2ToOfficial(resolveMamba2Config(m.options))
        : toOfficialOptions(resolveMamba3Config(m.options));
  delete ssm.d_model;
  out.ssm_cfg = { layer: m.layer, ...ssm };
  out.attn_layer_idx = [...c.attnLayerIdx];
  if (c.attnLayerIdx.length > 0) {
    const attn = mhaToOfficial(resolveMhaConfig(attnOptions(c)));
    // Infinity is not JSON; the official default (none) is written as absent.
    out.attn_cfg = Object.fromEntries(Object.entries(attn).filter(([, v]) => v !== null));
  } else out.attn_cfg = {};
  return out;
}
