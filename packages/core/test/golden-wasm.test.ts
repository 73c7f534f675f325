import { createWasmBackend } from '@mamba3/backend-wasm';
import { describeGolden } from '../src/testing/index.js';

// Core's wasm kernels (the fused mixer for chunked and step runs) on two threads, every kernel
// split however small, and on one thread.
for (const threads of [2, 1]) {
  describeGolden(`wasm, ${threads} thread(s)`, {
    backend: () => createWasmBackend({ name: `wasm-golden-${threads}`, threads, alwaysParallel: threads > 1 }),
    chunkSizes: [16],
  });
}
