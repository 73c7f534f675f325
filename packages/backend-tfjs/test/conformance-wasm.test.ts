import { describeConformance } from '@mamba3/tensor/testing';
import { createTfjsBackend } from '../src/index.js';
import { FORWARD_TOLERANCE, GRAD_TOLERANCE } from './tolerance.js';

describeConformance('tfjs-wasm', {
  backend: () => createTfjsBackend({ tfjsBackend: 'wasm', name: 'tfjs-wasm' }),
  tolerance: FORWARD_TOLERANCE,
  gradTolerance: GRAD_TOLERANCE,
});
