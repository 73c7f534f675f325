import { defineConfig } from 'vitest/config';
import { WAITING_TEST_WORKERS } from '../../vitest.shared.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The fused ops run on lavapipe (WebGPU on the CPU) and tfjs-webgpu too: minutes on a shared CPU.
    testTimeout: 300_000,
    maxWorkers: WAITING_TEST_WORKERS,
  },
});
