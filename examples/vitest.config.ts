import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'readme/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 300_000,
    maxConcurrency: 2,
  },
});
