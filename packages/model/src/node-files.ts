/** Node file access for `fromPretrained(directory)` and `saveModel(directory)`; loaded only when used. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ByteSource } from '@mamba3/tensor';
import { WeightsError } from '@mamba3/tensor';
import { fileSource } from '@mamba3/tensor/node';

export async function readModelDirectory(dir: string): Promise<{ config: Record<string, unknown>; files: string[] }> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new WeightsError(`${dir}: no config.json (expected config.json and model.safetensors, or shards with model.safetensors.index.json)`);
  const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    const index = JSON.parse(await readFile(indexPath, 'utf8')) as { weight_map?: Record<string, string> };
    if (!index.weight_map) throw new WeightsError(`${indexPath}: no "weight_map"`);
    return { config, files: [...new Set(Object.values(index.weight_map))].map((f) => join(dir, f)) };
  }
  const single = join(dir, 'model.safetensors');
  if (!existsSync(single)) throw new WeightsError(`${dir}: no model.safetensors (and no model.safetensors.index.json)`);
  return { config, files: [single] };
}

export function fileSourceOf(path: string): Promise<ByteSource> {
  return fileSource(path);
}

export async function writeModelDirectory(dir: string, configJson: Record<string, unknown>, weights: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  await writeFile(join(dir, 'model.safetensors'), weights);
}
