import { defineConfig } from 'vitest/config';
import { WAITING_TEST_WORKERS } from '../../vitest.shared.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // One GPU device per file.
    maxWorkers: WAITING_TEST_WORKERS,
  },
});
