import * as tf from '@tensorflow/tfjs-core';
import { describe, it } from 'vitest';
import { describeConformance } from '@mamba3/tensor/testing';
import { createTfjsBackend } from '../src/index.js';
import { FORWARD_TOLERANCE, GRAD_TOLERANCE } from './tolerance.js';
import { webgpuUnavailable } from './webgpu.js';

// tfjs's WebGPU backend in Node, on Dawn from the `webgpu` package (lavapipe on CPU-only machines).
const reason = await webgpuUnavailable();
if (reason) {
  describe.skip(`tfjs-webgpu conformance (skipped: ${reason})`, () => {
    it('needs a WebGPU adapter', () => undefined);
  });
} else {
  describeConformance('tfjs-webgpu', {
    backend: async () => {
      const backend = await createTfjsBackend({ tfjsBackend: 'webgpu', name: 'tfjs-webgpu' });
      // tfjs-webgpu runs ops on small CPU-resident tensors on the CPU; the suite's tensors are
      // small, so turn that off to test the GPU shaders themselves.
      tf.env().set('WEBGPU_CPU_FORWARD', false);
      return backend;
    },
    tolerance: FORWARD_TOLERANCE,
    gradTolerance: GRAD_TOLERANCE,
  });
}
