import { createTfjsBackend } from '@mamba3/backend-tfjs';
import { describeGolden } from '../src/testing/index.js';
import { webgpuUnavailable } from './webgpu.js';

// Core's tfjs scan kernels on tfjs's cpu, wasm and webgpu backends.
const noWebGPU = await webgpuUnavailable();
for (const tfjsBackend of ['cpu', 'wasm', 'webgpu'] as const) {
  describeGolden(`tfjs ${tfjsBackend}`, {
    backend: () => createTfjsBackend({ tfjsBackend, name: `tfjs-golden-${tfjsBackend}` }),
    chunkSizes: [16],
    skip: tfjsBackend === 'webgpu' ? noWebGPU : null,
  });
}
