import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MambaConfigInput } from '@mamba3/model';
import { MambaLMHeadModel } from '@mamba3/model';
import type { Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/**
 * The whole language model on this backend (fused chunked mixer for the prompt, fused mixer step
 * for decoding) against the same model on the CPU backend, and the submission count of a
 * decode step. Tolerance: float32 on both sides with different summation orders; the suite's
 * float32 default (atol 1e-5, rtol 1e-4) holds through 3 layers and the LM head.
 */
const TOL = { atol: 1e-5, rtol: 1e-4 };

const CONFIGS: [string, MambaConfigInput][] = [
  ['SISO', { dModel: 64, nLayer: 3, vocabSize: 50, ssmCfg: { layer: 'Mamba3', dState: 16, headdim: 16, chunkSize: 8 } }],
  ['MIMO r2', { dModel: 64, nLayer: 3, vocabSize: 50, ssmCfg: { layer: 'Mamba3', dState: 16, headdim: 16, isMimo: true, mimoRank: 2, chunkSize: 8 } }],
];

async function expectClose(label: string, got: Tensor, want: Tensor): Promise<void> {
  const g = await got.data();
  const w = await want.data();
  expect(g.length, label).toBe(w.length);
  for (let i = 0; i < w.length; i++) {
    if (!(Math.abs(g[i] - w[i]) <= TOL.atol + TOL.rtol * Math.abs(w[i]))) {
      expect.fail(`${label}: element ${i} got ${g[i]}, want ${w[i]}`);
    }
  }
}

(SKIP_WEBGPU ? describe.skip : describe)(`Mamba-3 LM on webgpu${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-model-ref' });
  beforeAll(async () => {
    gpu = await makeBackend({ name: 'webgpu-model' });
  });
  afterAll(() => gpu?.dispose());

  for (const [name, config] of CONFIGS) {
    it(`${name}: prefill and decode logits match the CPU backend; a decode step is one submission`, async () => {
      const onGpu = MambaLMHeadModel.create(config, { seed: 7, backend: gpu });
      const onCpu = MambaLMHeadModel.create(config, { seed: 7, backend: cpu });
      const cg = onGpu.allocateInferenceCache(1);
      const cc = onCpu.allocateInferenceCache(1);
      try {
        const prompt = [[3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3, 2, 38, 4, 6, 2, 6, 4, 3]];
        const lg = onGpu.prefill(prompt, cg);
        const lc = onCpu.prefill(prompt, cc);
        await expectClose(`${name} prefill logits`, lg, lc);
        ops.dispose([lg, lc]);
        let token = 11;
        for (let i = 0; i < 3; i++) {
          await gpu.sync();
          const before = gpu.stats();
          const logits = onGpu.step([token], cg);
          const next = ops.tidy(() => ops.argMax(ops.sliceAxis(logits, 1, 0, config.vocabSize), -1));
          const id = (await next.data())[0];
          const after = gpu.stats();
          expect(after.submits - before.submits, 'one submission per decode step').toBe(1);
          // Per layer: residual add, RMSNorm, in_proj, the fused mixer step, out_proj.
          expect(after.dispatches - before.dispatches).toBeLessThanOrEqual(5 * config.nLayer + 6);
          const want = onCpu.step([token], cc);
          await expectClose(`${name} step ${i} logits`, logits, want);
          ops.dispose([logits, next, want]);
          token = id;
        }
      } finally {
        cg.dispose();
        cc.dispose();
        onGpu.dispose();
        onCpu.dispose();
      }
    });
  }
});
