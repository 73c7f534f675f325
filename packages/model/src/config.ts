import type { Mamba3Options } from '@mamba3/core';
import { fromOfficialOptions, resolveMamba3Config, toOfficialOptions } from '@mamba3/core';
import { ConfigError, positiveInt as checkInt } from '@mamba3/tensor';

/** The mixer options of every layer (dModel comes from the model). `layer` must be Mamba3. */
export type SsmConfig = Omit<Mamba3Options, 'dModel'> & { layer?: 'Mamba3' };

/** `MambaConfig` of the official `mamba_ssm`, in TypeScript casing. */
export interface MambaConfig {
  dModel: number;
  /** Hidden size of the GatedMLP after each mixer; 0: no MLP. */
  dIntermediate: number;
  nLayer: number;
  vocabSize: number;
  ssmCfg: SsmConfig;
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
  rmsNorm: true,
  residualInFp32: true,
  fusedAddNorm: true,
  padVocabSizeMultiple: 8,
  tieEmbeddings: true,
  normEpsilon: 1e-5,
};

const positiveInt = (name: string, v: unknown, min = 1): number => checkInt('MambaConfig', name, v, min);

/** Defaults applied and every field checked (errors name the field). */
export function resolveMambaConfig(input: MambaConfigInput): MambaConfig {
  const c: MambaConfig = { ...MAMBA_CONFIG_DEFAULTS, ...stripUndefined(input) } as MambaConfig;
  positiveInt('dModel', c.dModel);
  positiveInt('nLayer', c.nLayer);
  positiveInt('vocabSize', c.vocabSize);
  positiveInt('dIntermediate', c.dIntermediate, 0);
  positiveInt('padVocabSizeMultiple', c.padVocabSizeMultiple);
  if (c.ssmCfg.layer !== undefined && c.ssmCfg.layer !== 'Mamba3') {
    throw new ConfigError(`MambaConfig: ssmCfg.layer "${String(c.ssmCfg.layer)}" is not supported; this package runs Mamba3 layers`);
  }
  // Validates the mixer options now, with the model's dModel.
  resolveMamba3Config(mixerOptions(c));
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function mixerOptions(c: MambaConfig): Mamba3Options {
  const { layer: _layer, ...rest } = c.ssmCfg;
  return { ...rest, dModel: c.dModel };
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
};

/** Reads the official `config.json` (snake_case `MambaConfig` fields). */
export function fromConfigJson(json: Record<string, unknown>): MambaConfig {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(json)) {
    if (k in JSON_KEYS) out[JSON_KEYS[k]] = v;
    else if (k === 'ssm_cfg') {
      const raw = { ...(v as Record<string, unknown>) };
      // The official default layer is Mamba1.
      const layer = raw.layer ?? 'Mamba1';
      if (layer !== 'Mamba3') throw new ConfigError(`config.json: ssm_cfg.layer is "${String(layer)}"; only Mamba3 models are supported`);
      delete raw.layer;
      out.ssmCfg = { ...fromOfficialOptions(raw), layer: 'Mamba3' };
      delete (out.ssmCfg as Record<string, unknown>).dModel;
    } else if (k === 'attn_layer_idx') {
      if (Array.isArray(v) && v.length > 0) throw new ConfigError(`config.json: attention layers (attn_layer_idx ${JSON.stringify(v)}) are not supported`);
    } else if (k === 'attn_cfg') {
      // Unused without attention layers.
    } else {
      throw new ConfigError(`config.json: unknown field "${k}"`);
    }
  }
  if (!out.ssmCfg) throw new ConfigError('config.json: ssm_cfg with layer "Mamba3" is required (the official default layer is Mamba1)');
  return resolveMambaConfig(out as unknown as MambaConfigInput);
}

/** The official `config.json` of a config. */
export function toConfigJson(c: MambaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(JSON_KEYS)) if (key !== 'normEpsilon') out[k] = c[key];
  const mixer = resolveMamba3Config(mixerOptions(c));
  const ssm: Record<string, unknown> = { layer: 'Mamba3', ...toOfficialOptions(mixer) };
  delete ssm.d_model;
  out.ssm_cfg = ssm;
  out.attn_layer_idx = [];
  out.attn_cfg = {};
  return out;
}
