/** @mamba3/train/node: checkpoints on disk (official weight layout + optimizer state), resumable. */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MambaLMHeadModel } from '@mamba3/model';
import type { Backend, Tensor } from '@mamba3/tensor';
import { dispose, engine, saveSafetensors, WeightsError } from '@mamba3/tensor';
import { openSafetensors } from '@mamba3/tensor/node';
import type { AdamWOptions } from './optim.js';
import { LmTrainer } from './trainer.js';

/** config.json + model.safetensors (loadable by MambaLMHeadModel and PyTorch) + optimizer.safetensors. */
export async function saveCheckpoint(trainer: LmTrainer, dir: string, opts?: { floatDType?: 'F32' | 'F16' | 'BF16' }): Promise<void> {
  await mkdir(dir, { recursive: true });
  const model = trainer.model();
  try {
    const { configJson, weights } = await model.save(opts);
    await writeFile(join(dir, 'config.json'), `${JSON.stringify(configJson, null, 2)}\n`);
    await writeFile(join(dir, 'model.safetensors'), weights);
  } finally {
    model.dispose();
  }
  const optimizer = await saveSafetensors(trainer.optimizer.stateTensors(), {
    metadata: { step: String(trainer.step), optimizerStep: String(trainer.optimizer.step), tokensSeen: String(trainer.tokensSeen) },
  });
  await writeFile(join(dir, 'optimizer.safetensors'), optimizer);
}

/** Restores a trainer (weights, AdamW moments, step counters) from `saveCheckpoint`'s directory. */
export async function loadCheckpoint(dir: string, opts?: { backend?: Backend; optimizer?: AdamWOptions }): Promise<LmTrainer> {
  const backend = opts?.backend ?? engine.getBackend();
  const model = await MambaLMHeadModel.fromPretrained(dir, { backend });
  const trainer = LmTrainer.fromModel(model, opts?.optimizer);
  const path = join(dir, 'optimizer.safetensors');
  if (!existsSync(path)) throw new WeightsError(`${dir}: no optimizer.safetensors (not a training checkpoint)`);
  const reader = await openSafetensors(path);
  const state: Record<string, Tensor> = {};
  try {
    for (const n of reader.names) state[n] = await reader.tensor(n, { backend });
    trainer.optimizer.loadState(state, Number(reader.metadata.optimizerStep ?? 0));
    trainer.step = Number(reader.metadata.step ?? 0);
    trainer.tokensSeen = Number(reader.metadata.tokensSeen ?? 0);
  } catch (err) {
    dispose(state);
    throw err;
  } finally {
    await reader.close();
  }
  return trainer;
}

