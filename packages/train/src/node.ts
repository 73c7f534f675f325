/**
 * @mamba3/train/node: checkpoints on disk (official weight layout + optimizer state), resumable.
 *
 * A checkpoint is written whole or not at all: the files go to a new sibling folder, each is
 * fsynced, then the folder replaces the old one by rename (the old one moves aside first and is
 * removed only once the new one is in place). A crash or a failed write at any moment leaves
 * either the previous checkpoint or the new one, never weights of one step beside the optimizer
 * of another; `checkpoint.json`, written last, names the step both files hold.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MambaLMHeadModel } from '@mamba3/model';
import type { Backend, Tensor } from '@mamba3/tensor';
import { describeValue, dispose, engine, saveSafetensors, WeightsError } from '@mamba3/tensor';
import { openSafetensors } from '@mamba3/tensor/node';
import type { AdamWOptions } from './optim.js';
import { LmTrainer } from './trainer.js';

/** The commit record of a checkpoint folder. */
export interface CheckpointManifest {
  step: number;
  optimizerStep: number;
  tokensSeen: number;
  files: string[];
}

const MANIFEST = 'checkpoint.json';

async function writeDurably(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** fsync of a folder, so the renames in it survive a power cut (a no-op where folders cannot be opened). */
async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

const aside = (dir: string): string => `${dir}.previous`;

/**
 * config.json + model.safetensors (loadable by MambaLMHeadModel and PyTorch) + optimizer.safetensors
 * + checkpoint.json, replacing `dir` atomically (see the module comment).
 */
export async function saveCheckpoint(trainer: LmTrainer, dir: string, opts?: { floatDType?: 'F32' | 'F16' | 'BF16' }): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  const prefix = `.${basename(dir)}.writing-`;
  // Leftovers of a write that was killed (one writer per checkpoint folder).
  for (const f of await readdir(dirname(dir))) if (f.startsWith(prefix)) await rm(join(dirname(dir), f), { recursive: true, force: true });
  const staging = join(dirname(dir), `${prefix}${process.pid}-${Date.now()}`);
  await mkdir(staging);
  try {
    const manifest: CheckpointManifest = { step: trainer.step, optimizerStep: trainer.optimizer.step, tokensSeen: trainer.tokensSeen, files: ['config.json', 'model.safetensors', 'optimizer.safetensors'] };
    const model = trainer.model();
    try {
      const { configJson, weights } = await model.save(opts);
      await writeDurably(join(staging, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
      await writeDurably(join(staging, 'model.safetensors'), weights);
    } finally {
      model.dispose();
    }
    const optimizer = await saveSafetensors(trainer.optimizer.stateTensors(), {
      metadata: { step: String(manifest.step), optimizerStep: String(manifest.optimizerStep), tokensSeen: String(manifest.tokensSeen) },
    });
    await writeDurably(join(staging, 'optimizer.safetensors'), optimizer);
    await writeDurably(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await syncFolder(staging);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
  // Swap: the old checkpoint stays (as dir.previous) until the new one has its name.
  const old = aside(dir);
  await rm(old, { recursive: true, force: true });
  if (existsSync(dir)) await rename(dir, old);
  await rename(staging, dir);
  await syncFolder(dirname(dir));
  await rm(old, { recursive: true, force: true });
}

/**
 * The complete checkpoint folder at `dir`, or null if there is none: `dir` itself, or (after a
 * crash between the two renames of `saveCheckpoint`) the previous checkpoint kept beside it.
 */
export function findCheckpoint(dir: string): string | null {
  for (const d of [dir, aside(dir)]) if (existsSync(join(d, 'optimizer.safetensors')) && existsSync(join(d, 'model.safetensors'))) return d;
  return null;
}

/** Restores a trainer (weights, AdamW moments, step counters) from `saveCheckpoint`'s directory. */
export async function loadCheckpoint(dir: string, opts?: { backend?: Backend; optimizer?: AdamWOptions }): Promise<LmTrainer> {
  const found = findCheckpoint(dir);
  if (!found) throw new WeightsError(`${dir}: no checkpoint here (expected model.safetensors and optimizer.safetensors from saveCheckpoint)`);
  const backend = opts?.backend ?? engine.getBackend();
  const reader = await openSafetensors(join(found, 'optimizer.safetensors'));
  const state = Object.create(null) as Record<string, Tensor>;
  let trainer: LmTrainer | null = null;
  try {
    const counter = (key: 'step' | 'optimizerStep' | 'tokensSeen'): number => metadataCount(reader.metadata, key, join(found, 'optimizer.safetensors'));
    const step = counter('step');
    const manifest = await readManifest(found);
    if (manifest && manifest.step !== step) {
      throw new WeightsError(`${found}: checkpoint.json says step ${describeValue(manifest.step)} but optimizer.safetensors holds step ${step}: a mixed checkpoint`);
    }
    const model = await MambaLMHeadModel.fromPretrained(found, { backend });
    trainer = LmTrainer.fromModel(model, opts?.optimizer);
    model.dispose();
    for (const n of reader.names) state[n] = await reader.tensor(n, { backend });
    trainer.optimizer.loadState(state, counter('optimizerStep'));
    trainer.step = step;
    trainer.tokensSeen = counter('tokensSeen');
  } catch (err) {
    dispose(state);
    trainer?.dispose();
    throw err;
  } finally {
    await reader.close();
  }
  return trainer;
}

/** A counter saveCheckpoint wrote into the metadata (absent: 0), else a WeightsError naming the file. */
function metadataCount(metadata: Readonly<Record<string, string>>, key: string, file: string): number {
  const raw = metadata[key];
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new WeightsError(`${file}: metadata "${key}" must be a whole number >= 0, got ${describeValue(raw)}; the checkpoint is damaged (train afresh or restore it)`);
  return n;
}

async function readManifest(dir: string): Promise<CheckpointManifest | null> {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return null;
  const handle = await open(path, 'r');
  try {
    return JSON.parse(await handle.readFile('utf8')) as CheckpointManifest;
  } catch {
    throw new WeightsError(`${path}: not valid JSON`);
  } finally {
    await handle.close();
  }
}
