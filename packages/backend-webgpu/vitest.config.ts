import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One GPU device per file; files run one after another so lavapipe gets the cores.
    fileParallelism: false,
  },
});
