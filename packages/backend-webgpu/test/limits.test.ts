import { describe, expect, it } from 'vitest';
import * as ops from '@mamba3/tensor';
import type { Backend } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { SKIP_REASON, SKIP_WEBGPU, makeBackend } from './setup.js';

// Dawn's GPU instance must outlive the devices made from it (a collected instance takes its
// devices' threads down with it), so it is held at module scope.
let instance: GPU | null = null;
(SKIP_WEBGPU ? describe.skip : describe)(`device limits${SKIP_WEBGPU ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('a device that cannot bind a fused kernel leaves that op out, and its composite gives the same results', async () => {
    const { create } = (await import('webgpu')) as { create(flags: string[]): GPU };
    instance = create([]);
    const adapter = await instance.requestAdapter();
    // Default limits: 8 storage buffers per stage; the fused step kernels bind 11, the chunked mixer 9.
    const small = await makeBackend({ name: 'webgpu-default-limits', device: await adapter!.requestDevice() });
    const cpu = createCpuBackend({ name: 'cpu-limits-ref' });
    try {
      expect(small.device.limits.maxStorageBuffersPerShaderStage).toBe(8);
      expect(small.mamba3StepScan).toBeUndefined();
      expect(small.mamba3MixerStep).toBeUndefined();
      expect(small.mamba3MixerChunked).toBeUndefined();
      expect(small.mamba3ChunkScan).toBeDefined();
      const run = async (b: Backend) => {
        const y = ops.tidy(() => {
          const t = (shape: number[], seed: number) => ops.randomNormal(shape, { backend: b, seed });
          const u = (shape: number[], seed: number) => ops.randomUniform(shape, { backend: b, seed });
          return ops.mamba3StepScan({ C: t([1, 2, 3, 4], 1), B: t([1, 2, 3, 4], 2), x: t([1, 2, 3, 5], 3), adt: ops.neg(u([1, 3], 4)), dt: u([1, 3], 5), trap: u([1, 3], 6), ssm: t([1, 3, 5, 4], 7), prevK: t([1, 2, 3, 4], 8), prevV: t([1, 2, 3, 5], 9) }).y;
        });
        const v = await y.data();
        y.dispose();
        return v;
      };
      const [gpu, ref] = [await run(small), await run(cpu)];
      for (let i = 0; i < ref.length; i++) expect(gpu[i]).toBeCloseTo(ref[i], 5);
    } finally {
      small.dispose();
      instance = null;
    }
  });
});
