import { describeConformance } from '@mamba3/tensor/testing';
import { createTfjsBackend } from '../src/index.js';
import { FORWARD_TOLERANCE, GRAD_TOLERANCE } from './tolerance.js';

describeConformance('tfjs-cpu', {
  backend: () => createTfjsBackend({ tfjsBackend: 'cpu', name: 'tfjs-cpu' }),
  tolerance: FORWARD_TOLERANCE,
  gradTolerance: GRAD_TOLERANCE,
});
