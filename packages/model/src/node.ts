/** @mamba3/model/node: saving a model to a directory (config.json + model.safetensors). */
import type { MambaLMHeadModel } from './model.js';
import { writeModelDirectory } from './node-files.js';

export async function saveModel(model: MambaLMHeadModel, dir: string, opts?: { floatDType?: 'F32' | 'F16' | 'BF16' }): Promise<void> {
  const { configJson, weights } = await model.save(opts);
  await writeModelDirectory(dir, configJson, weights);
}
