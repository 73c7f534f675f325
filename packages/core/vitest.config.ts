import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // The fused ops run on lavapipe (WebGPU on the CPU) and tfjs-webgpu too: minutes on a shared CPU.
    testTimeout: 300_000,
    // Most of a WebGPU file's time is lavapipe compiling shaders on one thread of its own, and
    // the backend does not spin while it waits (backend-webgpu's waiting.ts): two files at once
    // use both cores even on a 2-core machine, where vitest's default (cores - 1) runs one.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
