import { ConfigError, describeValue } from '@mamba3/tensor';

/*
 * Checkpoint layouts, told apart by config.json, and their mapping onto the official one
 * (mamba_ssm's `MambaConfig` JSON and `MambaLMHeadModel` parameter names), which is all the
 * model reads:
 * - official: `d_model`, `n_layer`, `ssm_cfg`, ... (config.json of `save_pretrained`);
 * - hf: Hugging Face transformers `MambaForCausalLM` (`model_type` "mamba") and
 *   `Mamba2ForCausalLM` ("mamba2"): other config keys, `backbone.embeddings.weight`, an unpadded
 *   vocabulary, and no `lm_head.weight` in the file when the head is tied.
 */

export type Layout = 'official' | 'hf';

/** config.json text to an object; Python's json writes Infinity/NaN, transformers writes `{"__float__": "Infinity"}`. */
export function parseConfigText(text: string, label = 'config.json'): Record<string, unknown> {
  const cleaned = text.replace(/(?<=[:,[]\s*)-?Infinity(?=\s*[,}\]])|(?<=[:,[]\s*)NaN(?=\s*[,}\]])/g, (m) => `{"__float__": "${m}"}`);
  let json: unknown;
  try {
    json = JSON.parse(cleaned, (_k, v: unknown) => {
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const keys = Object.keys(v);
        const f = (v as Record<string, unknown>).__float__;
        if (keys.length === 1 && typeof f === 'string') {
          const n = Number(f === 'inf' ? 'Infinity' : f === '-inf' ? '-Infinity' : f);
          if (Number.isNaN(n) && f !== 'NaN' && f !== 'nan') throw new ConfigError(`${label}: {"__float__": ${JSON.stringify(f)}} is not a number`);
          return n;
        }
      }
      return v;
    });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${label}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new ConfigError(`${label}: must hold a JSON object`);
  return json as Record<string, unknown>;
}

export function detectLayout(config: Record<string, unknown>, label = 'config.json'): Layout {
  const type = config.model_type;
  if (type === 'mamba' || type === 'mamba2') return 'hf';
  if (typeof type === 'string' && !('d_model' in config)) {
    throw new ConfigError(`${label}: model_type ${describeValue(type)} is not supported (Hugging Face layouts: "mamba", "mamba2"; or the official mamba_ssm config.json)`);
  }
  if ('d_model' in config || 'ssm_cfg' in config || 'n_layer' in config) return 'official';
  throw new ConfigError(`${label}: neither an official mamba_ssm config (d_model, n_layer, ssm_cfg) nor a Hugging Face one (model_type "mamba" or "mamba2"); keys: ${Object.keys(config).slice(0, 10).join(', ')}`);
}

function need(c: Record<string, unknown>, key: string, label: string): unknown {
  if (!(key in c)) throw new ConfigError(`${label}: Hugging Face config has no "${key}"`);
  return c[key];
}

/** Copies `hf[from]` to `out[to]` when present. */
function copy(hf: Record<string, unknown>, out: Record<string, unknown>, pairs: [string, string][]): void {
  for (const [from, to] of pairs) if (hf[from] !== undefined && hf[from] !== null) out[to] = hf[from];
}

/** A Hugging Face `mamba` / `mamba2` config.json as the official config.json. */
export function hfToOfficialConfig(hf: Record<string, unknown>, label = 'config.json'): Record<string, unknown> {
  const type = hf.model_type;
  if (hf.hidden_act !== undefined && hf.hidden_act !== 'silu') throw new ConfigError(`${label}: hidden_act ${describeValue(hf.hidden_act)} is not supported (Mamba uses silu)`);
  const ssm: Record<string, unknown> = { layer: type === 'mamba2' ? 'Mamba2' : 'Mamba1' };
  copy(hf, ssm, [
    ['state_size', 'd_state'],
    ['conv_kernel', 'd_conv'],
    ['expand', 'expand'],
    ['use_conv_bias', 'conv_bias'],
    ['use_bias', 'bias'],
    ['time_step_min', 'dt_min'],
    ['time_step_max', 'dt_max'],
    ['time_step_floor', 'dt_init_floor'],
  ]);
  const d = need(hf, 'hidden_size', label);
  if (type === 'mamba') {
    copy(hf, ssm, [
      ['time_step_rank', 'dt_rank'],
      ['time_step_scale', 'dt_scale'],
      ['time_step_init_scheme', 'dt_init'],
    ]);
  } else {
    copy(hf, ssm, [
      ['head_dim', 'headdim'],
      ['n_groups', 'ngroups'],
      ['chunk_size', 'chunk_size'],
      ['rms_norm', 'rmsnorm'],
      ['norm_before_gate', 'norm_before_gate'],
    ]);
    const limit = hf.time_step_limit;
    // (0, inf) is the official default: leave it out, so the JSON stays finite.
    if (Array.isArray(limit) && !(limit[0] === 0 && limit[1] === Number.POSITIVE_INFINITY)) ssm.dt_limit = limit;
    const heads = hf.num_heads;
    const expand = hf.expand ?? 2;
    // Only numbers are compared here; the mixer's own checks name any other value.
    if (typeof heads === 'number' && typeof hf.head_dim === 'number' && typeof expand === 'number' && typeof d === 'number' && heads * hf.head_dim !== expand * d) {
      throw new ConfigError(`${label}: num_heads ${heads} · head_dim ${hf.head_dim} must equal expand ${expand} · hidden_size ${d}`);
    }
  }
  const out: Record<string, unknown> = {
    d_model: d,
    d_intermediate: 0,
    n_layer: need(hf, 'num_hidden_layers', label),
    vocab_size: need(hf, 'vocab_size', label),
    ssm_cfg: ssm,
    attn_layer_idx: [],
    attn_cfg: {},
    rms_norm: true,
    residual_in_fp32: hf.residual_in_fp32 ?? true,
    fused_add_norm: true,
    // transformers does not pad the vocabulary: its embedding has exactly vocab_size rows.
    pad_vocab_size_multiple: 1,
    tie_embeddings: hf.tie_word_embeddings ?? true,
  };
  const eps = hf.layer_norm_epsilon;
  if (typeof eps === 'number' && eps !== 1e-5) out.norm_epsilon = eps;
  return out;
}

/** The official config.json of any supported config.json. */
export function toOfficialConfig(config: Record<string, unknown>, label = 'config.json'): { layout: Layout; config: Record<string, unknown> } {
  const layout = detectLayout(config, label);
  return { layout, config: layout === 'hf' ? hfToOfficialConfig(config, label) : config };
}

/** The official name of a weight stored under `name` in a checkpoint of `layout`. */
export function officialName(name: string, layout: Layout): string {
  if (layout === 'hf' && name.startsWith('backbone.embeddings.')) return `backbone.embedding.${name.slice('backbone.embeddings.'.length)}`;
  return name;
}

/** The name a weight takes in `layout` (the inverse of `officialName`). */
export function layoutName(official: string, layout: Layout): string {
  if (layout === 'hf' && official.startsWith('backbone.embedding.')) return `backbone.embeddings.${official.slice('backbone.embedding.'.length)}`;
  return official;
}

/** An official config.json (Mamba-1 or Mamba-2 layers, no MLP or attention) as a Hugging Face one. */
export function officialToHfConfig(c: Record<string, unknown>, label = 'config.json'): Record<string, unknown> {
  const ssm = (c.ssm_cfg ?? {}) as Record<string, unknown>;
  const layer = ssm.layer ?? 'Mamba1';
  if (layer !== 'Mamba1' && layer !== 'Mamba2') throw new ConfigError(`${label}: transformers has no ${describeValue(layer)} layer; convert with --layout official`);
  if ((typeof c.d_intermediate === 'number' && c.d_intermediate > 0) || (Array.isArray(c.attn_layer_idx) && c.attn_layer_idx.length > 0)) {
    throw new ConfigError(`${label}: transformers' Mamba models have no MLP or attention blocks; convert with --layout official`);
  }
  const mamba2 = layer === 'Mamba2';
  const d = c.d_model as number;
  const expand = (ssm.expand as number | undefined) ?? 2;
  const headdim = (ssm.headdim as number | undefined) ?? 64;
  const out: Record<string, unknown> = {
    architectures: [mamba2 ? 'Mamba2ForCausalLM' : 'MambaForCausalLM'],
    model_type: mamba2 ? 'mamba2' : 'mamba',
    hidden_size: d,
    num_hidden_layers: c.n_layer,
    // The embedding keeps its padded rows: the HF vocabulary is the padded one.
    vocab_size: Math.ceil((c.vocab_size as number) / ((c.pad_vocab_size_multiple as number | undefined) ?? 8)) * ((c.pad_vocab_size_multiple as number | undefined) ?? 8),
    state_size: ssm.d_state ?? (mamba2 ? 128 : 16),
    conv_kernel: ssm.d_conv ?? 4,
    expand,
    use_conv_bias: ssm.conv_bias ?? true,
    use_bias: ssm.bias ?? false,
    residual_in_fp32: c.residual_in_fp32 ?? true,
    tie_word_embeddings: c.tie_embeddings ?? true,
    layer_norm_epsilon: c.norm_epsilon ?? 1e-5,
    hidden_act: 'silu',
  };
  if (mamba2) {
    Object.assign(out, { num_heads: (expand * d) / headdim, head_dim: headdim, n_groups: ssm.ngroups ?? 1, chunk_size: ssm.chunk_size ?? 256 });
  } else {
    out.time_step_rank = ssm.dt_rank === undefined || ssm.dt_rank === 'auto' ? Math.ceil(d / 16) : ssm.dt_rank;
    out.intermediate_size = expand * d;
  }
  return out;
}
