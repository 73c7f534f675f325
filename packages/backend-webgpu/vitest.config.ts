import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One GPU device per file. Most of a file's time is lavapipe compiling shaders on one thread
    // of its own, and the backend does not spin while it waits (src/waiting.ts): two files at
    // once use both cores even on a 2-core machine, where vitest's default (cores - 1) runs one.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
