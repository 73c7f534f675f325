import { afterAll, beforeAll, describe, it } from 'vitest';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import * as core from '../src/index.js';
import { chunkedAgainstCpu, FUSED_BC, FUSED_X } from './mixer-cases.js';
import type { Config } from './mixer-cases.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './webgpu.js';

/*
 * The chunked fused mixer on the vec4 scan kernels, which form x̃ (and B̃, C̃ unless the config is
 * rotated MIMO) from zxbcdt's rows themselves, against the CPU composites; then the scalar scan
 * kernels and the stored-B̃/C̃ variant on the same configs.
 */

(SKIP_WEBGPU ? describe.skip : describe)(`fused Mamba-3 mixer, x̃ / B̃ / C̃ in the scan kernels${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-mixer-ref' });
  beforeAll(async () => {
    gpu = await makeBackend({ name: 'webgpu-mixer-fused-scan' });
  });
  afterAll(() => gpu?.dispose());

  const chunked = (backend: WebGPUBackend, c: Config, L: number, withState: boolean) => chunkedAgainstCpu(cpu, backend, c, L, withState);

  for (const c of [...FUSED_X, ...FUSED_BC]) {
    for (const withState of [false, true]) {
      // B̃ and C̃ are formed in the scan kernels too unless the config is rotated MIMO (stored by the prep).
      const bc = c.attrs.isMimo && c.attrs.complex ? 'B̃, C̃ stored' : 'B̃, C̃ formed';
      it(`chunked, x̃ formed in the scan kernels, ${bc} (b=2, L=150${withState ? ', from a cache' : ''}): ${c.name}`, () => chunked(gpu, c, 150, withState));
    }
  }

  // 18 chunks of 64 positions: the angle kernels add the chunks before theirs in groups of 16 (and
  // their 64 positions too), and the scan's state hand-off takes its chunks in groups of 16.
  it('chunked over 18 chunks of 64 positions (b=2, L=1100, from a cache): SISO and MIMO rank 2', async () => {
    for (const c of [FUSED_X[FUSED_X.length - 1], FUSED_X[1]]) await chunked(gpu, c, 1100, true);
  }, 120_000);

  it('chunked on the scalar scan kernels, which read a materialised x̃, B̃, C̃ (b=2, L=150, from a cache): MIMO rank 2', async () => {
    const legacy = await makeBackend({ name: 'webgpu-mixer-legacy-scan' });
    core.useLegacyScanKernels(legacy);
    try {
      await chunked(legacy, FUSED_X[1], 150, true);
    } finally {
      legacy.dispose();
    }
  });

  it('chunked with B̃ and C̃ stored by the prep kernel for the vec4 scan kernels (useStoredBC; b=2, L=150, from a cache): SISO, unrotated MIMO', async () => {
    // The configs whose default forms B̃ and C̃ in the scan kernels (rotated MIMO stores them anyway).
    const stored = await makeBackend({ name: 'webgpu-mixer-stored-bc' });
    core.useStoredBC(stored);
    try {
      for (const c of [FUSED_X[0], FUSED_BC[FUSED_BC.length - 1]]) await chunked(stored, c, 150, true);
    } finally {
      stored.dispose();
    }
  });
});
