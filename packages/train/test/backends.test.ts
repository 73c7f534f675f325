import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@mamba3/tensor';
import { dispose, Rng } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { createTfjsBackend } from '@mamba3/backend-tfjs';
import { MambaLMHeadModel } from '@mamba3/model';
import { LmTrainer, TokenStream } from '../src/index.js';

// Training runs the same everywhere: our autograd on each backend's kernels (WebGPU's fused
// mixer kernels included, whose gradient is the recomputed composite's) gives the same losses
// over several AdamW steps from the same start and the same batches.
process.env.XDG_RUNTIME_DIR ??= '/tmp';
const SKIP_WEBGPU = process.env.MAMBA3_SKIP_WEBGPU === '1';
const CONFIG = { dModel: 32, nLayer: 2, vocabSize: 40, ssmCfg: { layer: 'Mamba3' as const, dState: 16, headdim: 16, chunkSize: 16, isMimo: true, mimoRank: 2 } };

async function losses(backend: Backend): Promise<number[]> {
  const data = new TokenStream(Array.from({ length: 3000 }, (_, i) => (i * 7 + (i >> 2)) % 40));
  const model = MambaLMHeadModel.create(CONFIG, { seed: 3, backend });
  const trainer = LmTrainer.fromModel(model);
  model.dispose();
  const rng = new Rng(7);
  const out: number[] = [];
  for (let s = 0; s < 5; s++) {
    const batch = data.sample(2, 40, rng, backend);
    out.push(await trainer.update([batch], 3e-3));
    dispose(batch);
  }
  trainer.dispose();
  return out;
}

describe('training gives the same losses on every backend', () => {
  const backends: Backend[] = [];
  let reference: number[];
  beforeAll(async () => {
    reference = await losses(createCpuBackend({ name: 'cpu-train-ref' }));
  });
  afterAll(() => backends.forEach((b) => b.dispose?.()));

  (SKIP_WEBGPU ? it.skip : it)('webgpu matches cpu over 5 AdamW steps (MIMO, 2 layers)', async () => {
    const b = await createWebGPUBackend();
    backends.push(b);
    const got = await losses(b);
    got.forEach((l, i) => expect(Math.abs(l - reference[i]), `step ${i}: ${l} vs ${reference[i]}`).toBeLessThan(1e-4));
  });

  it('tfjs (cpu) matches cpu over 5 AdamW steps', async () => {
    const b = await createTfjsBackend({ tfjsBackend: 'cpu', name: 'tfjs-train-test' });
    backends.push(b);
    const got = await losses(b);
    got.forEach((l, i) => expect(Math.abs(l - reference[i]), `step ${i}: ${l} vs ${reference[i]}`).toBeLessThan(1e-4));
  });
});
