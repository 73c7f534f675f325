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
    backend: () => createTfjsBackend({ tfjsBackend: 'webgpu', name: 'tfjs-webgpu' }),
    tolerance: FORWARD_TOLERANCE,
    gradTolerance: GRAD_TOLERANCE,
  });
}
