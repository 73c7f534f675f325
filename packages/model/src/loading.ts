import type { Backend, ByteSource, Tensor } from '@mamba3/tensor';
import { ArgumentError, blobSource, bytesSource, dispose, engine, SafetensorsReader, WeightsError } from '@mamba3/tensor';
import type { MambaConfig, MambaConfigInput } from './config.js';
import { fromConfigJson, resolveMambaConfig } from './config.js';
import { MambaLMHeadModel } from './model.js';
import { loadPretrained } from './pretrained.js';
import type { WeightDType } from './upload.js';
import { checkWeightDType, uploadWeight } from './upload.js';

export interface LoadProgress {
  /** Bytes read so far, over all files. */
  loaded: number;
  /** Total bytes, when known. */
  total: number | null;
  file: string;
}

export interface LoadOptions {
  backend?: Backend | string;
  onProgress?: (p: LoadProgress) => void;
  /**
   * On-device storage of float weights read from files (math stays float32; see `uploadWeight`).
   * Default float32. Weights given as tensors are used as they are.
   */
  dtype?: WeightDType;
}

/** Weights in memory or as files: one safetensors, or shards. */
export type WeightsSource = Record<string, Tensor> | Uint8Array | Blob | ByteSource | readonly (Uint8Array | Blob | ByteSource)[];

/**
 * Where a model comes from:
 * - a directory (Node) or a base URL holding `config.json` and `model.safetensors` (or the shards
 *   listed in `model.safetensors.index.json`), and optionally `tokenizer.json` (attached as `model.tokenizer`),
 * - `{ config, weights }` with the config as `MambaConfig` fields or the official `config.json` object,
 * - `{ weights }` alone when the safetensors metadata holds `config` (as `save()` writes it).
 */
export type PretrainedSource = string | URL | { config?: MambaConfigInput | Record<string, unknown>; weights: WeightsSource };

function isOfficialJson(c: Record<string, unknown>): boolean {
  return 'd_model' in c || 'n_layer' in c || 'ssm_cfg' in c;
}

function toConfig(c: MambaConfigInput | Record<string, unknown>): MambaConfig {
  return isOfficialJson(c as Record<string, unknown>) ? fromConfigJson(c as Record<string, unknown>) : resolveMambaConfig(c as MambaConfigInput);
}

function toSource(s: Uint8Array | Blob | ByteSource): ByteSource {
  if (s instanceof Uint8Array) return bytesSource(s);
  if (typeof Blob !== 'undefined' && s instanceof Blob) return blobSource(s);
  return s as ByteSource;
}

/** Reads every tensor of the readers onto the backend, reporting progress in bytes. */
async function readAll(readers: { reader: SafetensorsReader; file: string }[], backend: Backend, dtype: WeightDType, onProgress?: (p: LoadProgress) => void): Promise<Record<string, Tensor>> {
  const total = readers.reduce((n, r) => n + [...r.reader.entries.values()].reduce((m, e) => m + e.byteLength, 0), 0);
  let loaded = 0;
  // No prototype: names come from the file, and "__proto__" must stay a name.
  const out = Object.create(null) as Record<string, Tensor>;
  try {
    for (const { reader, file } of readers) {
      for (const [name, entry] of reader.entries) {
        if (name.startsWith('input.') || name.startsWith('expected.') || name.startsWith('output.')) continue;
        if (out[name]) throw new WeightsError(`weight "${name}" appears in more than one file (again in ${file})`);
        out[name] = uploadWeight(await reader.read(name), { backend, dtype });
        loaded += entry.byteLength;
        onProgress?.({ loaded, total, file });
      }
    }
  } catch (err) {
    dispose(out);
    throw err;
  }
  return out;
}

async function resolveBackend(b: Backend | string | undefined): Promise<Backend> {
  if (!b) return engine.getBackend();
  return typeof b === 'string' ? engine.initBackend(b) : b;
}

/** Loads a model (see `PretrainedSource`). */
export async function fromPretrained(source: PretrainedSource, opts?: LoadOptions): Promise<MambaLMHeadModel> {
  const backend = await resolveBackend(opts?.backend);
  const dtype = checkWeightDType(opts?.dtype);
  if (typeof source === 'string' || source instanceof URL) {
    // Any layout (official .bin or safetensors, Hugging Face), auto-detected.
    const onProgress = opts?.onProgress;
    const { model } = await loadPretrained(source, { backend, dtype, onProgress: onProgress && ((p) => onProgress({ loaded: p.loaded, total: p.total, file: p.file })) });
    return model;
  }
  const w = source.weights;
  let weights: Record<string, Tensor>;
  let metadataConfig: Record<string, unknown> | null = null;
  if (w instanceof Uint8Array || (typeof Blob !== 'undefined' && w instanceof Blob) || Array.isArray(w) || isByteSource(w)) {
    const list = (Array.isArray(w) ? w : [w]) as (Uint8Array | Blob | ByteSource)[];
    const readers = await Promise.all(list.map(async (s, i) => ({ reader: await SafetensorsReader.open(toSource(s), `weights[${i}]`), file: `weights[${i}]` })));
    metadataConfig = parseMetadataConfig(readers[0].reader);
    weights = await readAll(readers, backend, dtype, opts?.onProgress);
  } else {
    weights = w as Record<string, Tensor>;
  }
  const config = source.config ?? metadataConfig;
  if (!config) {
    if (!(w as Record<string, Tensor>)['backbone.embedding.weight']) dispose(weights);
    throw new ArgumentError('fromPretrained: no config given and the safetensors metadata has none');
  }
  return build(toConfig(config), weights);
}

function isByteSource(v: unknown): v is ByteSource {
  return typeof v === 'object' && v !== null && typeof (v as ByteSource).read === 'function' && typeof (v as ByteSource).byteLength === 'number';
}

function parseMetadataConfig(reader: SafetensorsReader): Record<string, unknown> | null {
  const raw = reader.metadata.config;
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new WeightsError('the safetensors metadata "config" is not valid JSON');
  }
}

function build(config: MambaConfig, weights: Record<string, Tensor>): MambaLMHeadModel {
  try {
    return MambaLMHeadModel.fromWeights(config, weights);
  } catch (err) {
    dispose(weights);
    throw err;
  }
}
