import { ConfigError } from '@mamba3/tensor';
import { isBool, mapOfficial, positiveInt, positiveNumber, stripUndefined } from '../options.js';

/** Constructor options of the official `MHA` (mamba_ssm/modules/mha.py), TypeScript casing. */
export interface MhaOptions {
  embedDim: number;
  numHeads: number;
  /** Key/value heads (GQA/MQA); default numHeads. */
  numHeadsKv?: number | null;
  /** Default embedDim / numHeads. */
  headDim?: number | null;
  /** Width of the gated MLP computed beside attention (rounded up to 256; 0: none). */
  mlpDim?: number;
  qkvProjBias?: boolean;
  outProjBias?: boolean;
  /** Default 1/√headDim. */
  softmaxScale?: number | null;
  causal?: boolean;
  /** Depthwise causal conv over q, k, v (0: none). */
  dConv?: number;
  /** Rotary embedding on the first rotaryEmbDim dims of q and k (0: none). */
  rotaryEmbDim?: number;
  rotaryEmbBase?: number;
  rotaryEmbInterleaved?: boolean;
}

export interface MhaConfig extends Required<Omit<MhaOptions, 'numHeadsKv' | 'headDim' | 'softmaxScale'>> {
  numHeadsKv: number;
  headDim: number;
  softmaxScale: number;
  qkvDim: number;
  outDim: number;
}

export const MHA_DEFAULTS = {
  numHeadsKv: null,
  headDim: null,
  mlpDim: 0,
  qkvProjBias: true,
  outProjBias: true,
  softmaxScale: null,
  causal: false,
  dConv: 0,
  rotaryEmbDim: 0,
  rotaryEmbBase: 10000,
  rotaryEmbInterleaved: false,
} as const satisfies Omit<Required<MhaOptions>, 'embedDim' | 'numHeads'>;

const W = 'MHA';

export function resolveMhaConfig(opts: MhaOptions): MhaConfig {
  const o = { ...MHA_DEFAULTS, ...stripUndefined(opts) };
  const embedDim = positiveInt(W, 'embedDim', o.embedDim);
  const numHeads = positiveInt(W, 'numHeads', o.numHeads);
  const numHeadsKv = o.numHeadsKv === null ? numHeads : positiveInt(W, 'numHeadsKv', o.numHeadsKv);
  if (numHeads % numHeadsKv !== 0) throw new ConfigError(`${W}: numHeadsKv (${numHeadsKv}) must divide numHeads (${numHeads})`);
  if (o.headDim === null && embedDim % numHeads !== 0) throw new ConfigError(`${W}: numHeads (${numHeads}) must divide embedDim (${embedDim}), or set headDim`);
  const headDim = o.headDim === null ? embedDim / numHeads : positiveInt(W, 'headDim', o.headDim);
  const mlpDim = Math.ceil(positiveInt(W, 'mlpDim', o.mlpDim, 0) / 256) * 256;
  positiveInt(W, 'dConv', o.dConv, 0);
  const rotaryEmbDim = positiveInt(W, 'rotaryEmbDim', o.rotaryEmbDim, 0);
  if (rotaryEmbDim % 2 !== 0 || rotaryEmbDim > headDim) throw new ConfigError(`${W}: rotaryEmbDim (${rotaryEmbDim}) must be even and at most headDim (${headDim})`);
  positiveNumber(W, 'rotaryEmbBase', o.rotaryEmbBase);
  const softmaxScale = o.softmaxScale === null ? 1 / Math.sqrt(headDim) : positiveNumber(W, 'softmaxScale', o.softmaxScale);
  for (const k of ['qkvProjBias', 'outProjBias', 'causal', 'rotaryEmbInterleaved'] as const) isBool(W, k, o[k]);
  return { ...o, embedDim, numHeads, numHeadsKv, headDim, mlpDim, softmaxScale, qkvDim: headDim * (numHeads + 2 * numHeadsKv), outDim: headDim * numHeads };
}

const OFFICIAL: Record<string, string> = {
  embed_dim: 'embedDim',
  num_heads: 'numHeads',
  num_heads_kv: 'numHeadsKv',
  head_dim: 'headDim',
  mlp_dim: 'mlpDim',
  qkv_proj_bias: 'qkvProjBias',
  out_proj_bias: 'outProjBias',
  softmax_scale: 'softmaxScale',
  causal: 'causal',
  d_conv: 'dConv',
  rotary_emb_dim: 'rotaryEmbDim',
  rotary_emb_base: 'rotaryEmbBase',
  rotary_emb_interleaved: 'rotaryEmbInterleaved',
};
const IGNORED = new Set(['layer_idx', 'device', 'dtype']);

/** Options from the official constructor arguments (config.json's `attn_cfg`). */
export function mhaFromOfficial(raw: Record<string, unknown>, embedDim?: number): MhaOptions {
  const out = mapOfficial(W, raw, OFFICIAL, IGNORED);
  if (embedDim !== undefined) out.embedDim ??= embedDim;
  return out as unknown as MhaOptions;
}

/** The official arguments of a config (without embed_dim; defaults included). */
export function mhaToOfficial(c: MhaConfig): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(OFFICIAL)) if (k !== 'embed_dim') out[k] = c[key as keyof MhaConfig];
  return out;
}
