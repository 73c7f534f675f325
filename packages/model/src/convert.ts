import type { SafetensorsDType, SafetensorsPlan, TensorSpec } from '@mamba3/tensor';
import { ArgumentError, encodeTensor, planSafetensors } from '@mamba3/tensor';
import type { Checkpoint } from './checkpoint.js';
import type { Layout } from './layouts.js';
import { layoutName, officialToHfConfig } from './layouts.js';
import type { WeightDType } from './upload.js';

/*
 * A checkpoint of any layout as one safetensors file plus config.json in a chosen layout, and
 * the files that travel with it (tokenizer, generation config). Pure: the caller writes it
 * (the CLI's `mamba3 convert` writes atomically, tensor by tensor).
 */

export interface ConvertOptions {
  /** Stored dtype of float weights; default: each weight keeps its own. */
  dtype?: WeightDType;
  /** Names and config.json of the output (default official). */
  layout?: Layout;
}

export interface ConvertedCheckpoint {
  /** config.json of the output layout. */
  config: Record<string, unknown>;
  /** The safetensors layout of model.safetensors. */
  plan: SafetensorsPlan;
  /** Encoded bytes of one tensor (by its output name). */
  bytesOf(name: string): Promise<Uint8Array>;
  /** Other files to write beside it, by name (tokenizer.json, generation_config.json, ...). */
  files: Map<string, string>;
}

const STORED: Record<WeightDType, SafetensorsDType> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };
const FLOAT: ReadonlySet<SafetensorsDType> = new Set(['F32', 'F16', 'BF16', 'F64']);

export function convertCheckpoint(ckpt: Checkpoint, opts: ConvertOptions = {}): ConvertedCheckpoint {
  const layout = opts.layout ?? 'official';
  if (layout !== 'official' && layout !== 'hf') throw new ArgumentError(`layout must be official or hf, got ${JSON.stringify(layout)}`);
  const config = layout === 'hf' ? officialToHfConfig(ckpt.config, `${ckpt.label}/config.json`) : { ...ckpt.config };
  const specs = Object.create(null) as Record<string, TensorSpec>;
  const sources = new Map<string, { name: string; to: SafetensorsDType }>();
  for (const w of ckpt.weights.values()) {
    const to = FLOAT.has(w.dtype) ? (opts.dtype ? STORED[opts.dtype] : w.dtype === 'F64' ? 'F32' : w.dtype) : w.dtype === 'I64' ? 'I64' : 'I32';
    const out = layoutName(w.name, layout);
    specs[out] = { dtype: to, shape: w.shape };
    sources.set(out, { name: w.name, to });
  }
  const plan = planSafetensors(specs, { format: 'pt' });
  const bytesOf = async (name: string): Promise<Uint8Array> => {
    const src = sources.get(name);
    if (!src) throw new ArgumentError(`no tensor "${name}" in the conversion`);
    const w = ckpt.weights.get(src.name)!;
    // Same stored dtype: copy the bytes, exactly.
    if (w.dtype === src.to) return w.readBytes();
    return encodeTensor(src.to, (await w.read()).values);
  };
  const files = new Map(ckpt.extraFiles);
  if (ckpt.tokenizer) files.set(ckpt.tokenizer.file, ckpt.tokenizer.text);
  return { config, plan, bytesOf, files };
}
