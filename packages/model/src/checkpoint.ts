import type { ReadTensorData, SafetensorsDType, TensorFileReader } from '@mamba3/tensor';
import { openTensorFile, WeightsError } from '@mamba3/tensor';
import type { CheckpointFiles, FileProgress } from './checkpoint-files.js';
import type { Layout } from './layouts.js';
import { officialName, parseConfigText, toOfficialConfig } from './layouts.js';
import { ShardIndexError, shardFiles } from './errors.js';

/*
 * A checkpoint opened but not yet loaded: its layout, the official config.json it maps to, and
 * every weight under its official name with dtype and shape, read one at a time on demand.
 * Weight files, in the order looked for: model.safetensors.index.json (shards),
 * model.safetensors, pytorch_model.bin.index.json (shards), pytorch_model.bin.
 */

/** Weight files looked for, in order: [index, single file]. */
export const WEIGHT_FILES: readonly (readonly [string, string])[] = [
  ['model.safetensors.index.json', 'model.safetensors'],
  ['pytorch_model.bin.index.json', 'pytorch_model.bin'],
];

/** Tokenizer files looked for beside the weights, in order. */
export const TOKENIZER_FILES: readonly string[] = ['tokenizer.json', 'tokenizer.char.json', 'tokenizer.byte.json'];

export interface CheckpointWeight {
  /** Official name. */
  readonly name: string;
  /** Name in its file. */
  readonly stored: string;
  readonly file: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly byteLength: number;
  read(): Promise<ReadTensorData>;
  readBytes(): Promise<Uint8Array>;
}

export interface Checkpoint {
  readonly label: string;
  readonly layout: Layout;
  /** The checkpoint's own config.json. */
  readonly sourceConfig: Record<string, unknown>;
  /** The official mamba_ssm config.json it maps to. */
  readonly config: Record<string, unknown>;
  /** Weights by official name (a tied head the file stores is left out: it is the embedding). */
  readonly weights: ReadonlyMap<string, CheckpointWeight>;
  /** The tokenizer file beside the weights, if any. */
  readonly tokenizer: { file: string; text: string } | null;
  /** Other files a converter carries along (generation_config.json, tokenizer_config.json, ...). */
  readonly extraFiles: ReadonlyMap<string, string>;
  close(): Promise<void>;
}

const CARRIED = ['generation_config.json', 'tokenizer_config.json', 'special_tokens_map.json'];

async function weightFiles(files: CheckpointFiles): Promise<string[]> {
  for (const [indexName, single] of WEIGHT_FILES) {
    const index = await files.text(indexName);
    if (index !== null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(index);
      } catch (err) {
        throw new ShardIndexError(`${files.label}/${indexName}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
      }
      // Every shard must be a file inside the checkpoint folder (no "..", absolute paths or URLs).
      return shardFiles(parsed, `${files.label}/${indexName}`);
    }
    if (await files.has(single)) return [single];
  }
  throw new WeightsError(`${files.label}: no weights (looked for ${WEIGHT_FILES.flat().join(', ')})`);
}

/** Opens a checkpoint of any supported layout; `onProgress` follows weight bytes read (downloads for URLs). */
export async function openCheckpoint(files: CheckpointFiles, opts?: { onProgress?: (p: FileProgress) => void; signal?: AbortSignal }): Promise<Checkpoint> {
  const configText = await files.text('config.json');
  if (configText === null) throw new WeightsError(`${files.label}: no config.json (a checkpoint folder holds config.json and its weights)`);
  const sourceConfig = parseConfigText(configText, `${files.label}/config.json`);
  const { layout, config } = toOfficialConfig(sourceConfig, `${files.label}/config.json`);
  const names = await weightFiles(files);
  const readers: TensorFileReader[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(readers.map((r) => r.close()));
  };
  try {
    let loaded = 0;
    const weights = new Map<string, CheckpointWeight>();
    for (const file of names) {
      opts?.signal?.throwIfAborted();
      const source = await files.open(file, (n, total) => {
        loaded += n;
        opts?.onProgress?.({ loaded, total, file });
      });
      if (!source) throw new WeightsError(`${files.label}: shard ${file} (named by the index) is missing`);
      const reader = await openTensorFile(source, `${files.label}/${file}`);
      readers.push(reader);
      addWeights(weights, reader, file, layout, config.tie_embeddings !== false, files.label);
    }
    return {
      label: files.label,
      layout,
      sourceConfig,
      config,
      weights,
      tokenizer: await findTokenizer(files),
      extraFiles: await carried(files),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

function addWeights(out: Map<string, CheckpointWeight>, reader: TensorFileReader, file: string, layout: Layout, tied: boolean, label: string): void {
  for (const stored of reader.names) {
    // io.safetensors-style extras never name weights.
    if (/^(input|expected|output)\./.test(stored)) continue;
    const name = officialName(stored, layout);
    if (tied && name === 'lm_head.weight') continue;
    if (out.has(name)) throw new WeightsError(`${label}: weight "${name}" appears twice (again as "${stored}" in ${file})`);
    const e = reader.entry(stored);
    out.set(name, { name, stored, file, dtype: e.dtype, shape: e.shape, byteLength: e.byteLength, read: () => reader.read(stored), readBytes: () => reader.readBytes(stored) });
  }
}

async function findTokenizer(files: CheckpointFiles): Promise<{ file: string; text: string } | null> {
  for (const file of TOKENIZER_FILES) {
    const text = await files.text(file);
    if (text !== null) return { file, text };
  }
  return null;
}

async function carried(files: CheckpointFiles): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of CARRIED) {
    const t = await files.text(f);
    if (t !== null) out.set(f, t);
  }
  return out;
}
