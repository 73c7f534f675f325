import { describe, expect, it, vi } from 'vitest';
import * as tensorOps from '@mamba3/tensor';
import * as core from '../src/index.js';
import type { Backend } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { SKIP_REASON, SKIP_WEBGPU, makeBackend } from './webgpu.js';

const ops = { ...tensorOps, ...core };

// Dawn's GPU instance must outlive the devices made from it (a collected instance takes its
// devices' threads down with it), so it is held at module scope.
let instance: GPU | null = null;
(SKIP_WEBGPU ? describe.skip : describe)(`device limits${SKIP_WEBGPU ? ` (skipped: ${SKIP_REASON})` : ''}`, () => {
  it('a kernel the device cannot bind declines it (visibly), and the composite gives the same results', async () => {
    const { create } = (await import('webgpu')) as { create(flags: string[]): GPU };
    instance = create([]);
    const adapter = await instance.requestAdapter();
    // Default limits: 8 storage buffers per stage; the fused step kernels bind 11, the chunked mixer 10.
    const small = await makeBackend({ name: 'webgpu-default-limits', device: await adapter!.requestDevice() });
    const cpu = createCpuBackend({ name: 'cpu-limits-ref' });
    try {
      expect(small.device.limits.maxStorageBuffersPerShaderStage).toBe(8);
      expect(ops.hasKernel('mamba3StepScan', small)).toBe(false);
      expect(ops.hasKernel('mamba3MixerStep', small)).toBe(false);
      expect(ops.hasKernel('mamba3MixerChunked', small)).toBe(false);
      expect(ops.hasKernel('mamba3ChunkScan', small)).toBe(true);
      const why = ops.explainKernels(small).find((e) => e.op === 'mamba3StepScan');
      expect(why).toEqual({ op: 'mamba3StepScan', backend: 'webgpu', runs: 'composite', reason: 'needs 11 storage buffers per shader stage, the device allows 8' });
      const notice = vi.fn();
      ops.kernelRegistry.notice = notice;
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
      expect(notice).toHaveBeenCalledTimes(1);
      expect(notice.mock.calls[0][0]).toMatch(/mamba3StepScan runs its reference composite on webgpu-default-limits/);
    } finally {
      ops.kernelRegistry.notice = (m) => console.warn(m);
      small.dispose();
      instance = null;
    }
  });
});
