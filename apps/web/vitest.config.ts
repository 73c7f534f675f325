import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds dist/ once, so the browser tests always serve the current sources.
    globalSetup: ['test/support/build-site.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One Chromium at a time: the machine has 2 cores and SwiftShader wants them.
    fileParallelism: false,
  },
});
