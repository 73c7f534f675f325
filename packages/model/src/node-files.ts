/** Node file access for `fromPretrained(directory)` and `saveModel(directory)`; loaded only when used. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ByteSource } from '@mamba3/tensor';
import { ConfigError, WeightsError } from '@mamba3/tensor';
import { ShardIndexError, shardFiles } from './errors.js';
import { fileSource } from '@mamba3/tensor/node';

export async function readModelDirectory(dir: string): Promise<{ config: Record<string, unknown>; files: string[] }> {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new WeightsError(`${dir}: no config.json (expected config.json and model.safetensors, or shards with model.safetensors.index.json)`);
  const config = await readJson(configPath, (m) => new ConfigError(m));
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConfigError(`${configPath}: expected a JSON object`);
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (existsSync(indexPath)) {
    const index = await readJson(indexPath, (m) => new ShardIndexError(m));
    return { config: config as Record<string, unknown>, files: shardFiles(index, indexPath).map((f) => join(dir, f)) };
  }
  const single = join(dir, 'model.safetensors');
  if (!existsSync(single)) throw new WeightsError(`${dir}: no model.safetensors (and no model.safetensors.index.json)`);
  return { config: config as Record<string, unknown>, files: [single] };
}

async function readJson(path: string, error: (message: string) => Error): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw error(`${path}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

export function fileSourceOf(path: string): Promise<ByteSource> {
  return fileSource(path);
}

export async function writeModelDirectory(dir: string, configJson: Record<string, unknown>, weights: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  await writeFile(join(dir, 'model.safetensors'), weights);
}
