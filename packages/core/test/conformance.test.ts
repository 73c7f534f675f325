import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createTfjsBackend } from '@mamba3/backend-tfjs';
import { createWasmBackend } from '@mamba3/backend-wasm';
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { describeConformance, FLOAT32_GRAD_TOLERANCE } from '@mamba3/tensor/testing';
import { mamba3ConformanceGroups } from '../src/testing/index.js';
import { webgpuUnavailable } from './webgpu.js';

/*
 * Core's fused ops on every backend, through the backend conformance suite (the op set itself
 * is checked by each backend's own suite): kernels where registered, composites elsewhere,
 * against the float64 recurrence, the reference backend and finite differences.
 */
const groups = mamba3ConformanceGroups;
describeConformance('cpu', { backend: () => createCpuBackend({ name: 'cpu-mamba3' }), builtIn: false, groups });

// wasm: float32 only, so float32 gradients; both threads on every kernel, then one thread.
describeConformance('wasm-threads', {
  backend: () => createWasmBackend({ name: 'wasm-mamba3-threads', threads: 2, alwaysParallel: true }),
  builtIn: false,
  groups,
  gradTolerance: FLOAT32_GRAD_TOLERANCE,
});
describeConformance('wasm-single', { backend: () => createWasmBackend({ name: 'wasm-mamba3-single', threads: 1 }), builtIn: false, groups, gradTolerance: FLOAT32_GRAD_TOLERANCE });

// Gradients: float32 on webgpu; they pass at the float32 forward tolerance (see backend-webgpu's suite).
const noWebGPU = await webgpuUnavailable();
if (noWebGPU) describe.skip(`webgpu mamba3 conformance (skipped: ${noWebGPU})`, () => it('needs a WebGPU adapter', () => undefined));
else describeConformance('webgpu', { backend: () => createWebGPUBackend({ name: 'webgpu-mamba3' }), builtIn: false, groups, gradTolerance: { atol: 1e-5, rtol: 1e-4 } });

for (const tfjsBackend of ['cpu', 'wasm', 'webgpu'] as const) {
  const name = `tfjs-${tfjsBackend}`;
  if (tfjsBackend === 'webgpu' && noWebGPU) {
    describe.skip(`${name} mamba3 conformance (skipped: ${noWebGPU})`, () => it('needs a WebGPU adapter', () => undefined));
    continue;
  }
  describeConformance(name, {
    backend: async () => {
      const backend = await createTfjsBackend({ tfjsBackend, name: `${name}-mamba3` });
      // tfjs-webgpu runs small CPU-resident tensors on the CPU: test its GPU shaders instead.
      if (tfjsBackend === 'webgpu') tf.env().set('WEBGPU_CPU_FORWARD', false);
      return backend;
    },
    builtIn: false,
    groups,
    gradTolerance: FLOAT32_GRAD_TOLERANCE,
  });
}
