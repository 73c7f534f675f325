import { defineConfig } from 'vitest/config';
import { WAITING_TEST_WORKERS } from '../../vitest.shared.js';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    maxWorkers: WAITING_TEST_WORKERS,
  },
});
