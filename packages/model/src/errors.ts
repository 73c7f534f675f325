import { Mamba3Error, WeightsError } from '@mamba3/tensor';

/**
 * The model produced NaN or infinite logits (NaN or overflowing weights, a broken kernel):
 * generation stops instead of picking from garbage.
 */
export class NonFiniteLogitsError extends Mamba3Error {
  constructor(
    /** The sequence of the batch whose logits were bad. */
    readonly sequence: number,
    /** How many tokens it had generated before. */
    readonly index: number,
  ) {
    super(`generate: the logits of sequence ${sequence} are not finite (NaN or infinity) at new token ${index}: the weights or the computation are broken (NaN weights? an overflow in half precision?)`);
  }
}

/** A shard index (`model.safetensors.index.json`) that names a file outside the model's folder, or is malformed. */
export class ShardIndexError extends WeightsError {}

/**
 * The files a shard index's `weight_map` names, each checked to be a plain relative path inside
 * the model folder (no `..`, no absolute path, drive or URL, no backslash or NUL): an index must
 * never make the loader read `/etc/passwd` or fetch another host.
 */
export function shardFiles(index: unknown, label: string): string[] {
  if (index === null || typeof index !== 'object' || Array.isArray(index)) throw new ShardIndexError(`${label}: expected a JSON object with "weight_map"`);
  const map = (index as { weight_map?: unknown }).weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new ShardIndexError(`${label}: "weight_map" must be an object { tensor name: shard file }`);
  const files = new Set<string>();
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || file.length === 0) throw new ShardIndexError(`${label}: weight_map["${name}"] must be a file name, got ${JSON.stringify(file)}`);
    const parts = file.split('/');
    const unsafe = file.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(file) || file.includes('\\') || file.includes('\0') || parts.some((p) => p === '..' || p === '.' || p === '');
    if (unsafe) throw new ShardIndexError(`${label}: weight_map["${name}"] names "${file}", which is not a file inside the model folder (refused)`);
    files.add(file);
  }
  if (files.size === 0) throw new ShardIndexError(`${label}: "weight_map" is empty`);
  return [...files];
}
