/** Node file access for `fromPretrained(directory)` and `saveModel(directory)`; loaded only when used. */
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckpointFiles } from './checkpoint-files.js';
import { fileSource } from '@mamba3/tensor/node';

export async function writeModelDirectory(dir: string, configJson: Record<string, unknown>, weights: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
  await writeFile(join(dir, 'model.safetensors'), weights);
}

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A checkpoint folder as `CheckpointFiles`: files read lazily through file handles. */
export function directoryFiles(dir: string): CheckpointFiles {
  return {
    label: dir,
    has: async (name) => existsSync(join(dir, name)),
    text: async (name) => (existsSync(join(dir, name)) ? readFile(join(dir, name), 'utf8') : null),
    open: async (name) => (existsSync(join(dir, name)) ? fileSource(join(dir, name)) : null),
  };
}
