import { describeConformance } from '@mamba3/tensor/testing';
import { createCpuBackend } from '../src/index.js';

// The CPU backend is the oracle: float64 gradients, tight float32 tolerances.
describeConformance('cpu', { backend: () => createCpuBackend() });
