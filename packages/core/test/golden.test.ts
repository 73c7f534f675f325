import { createCpuBackend } from '@mamba3/backend-cpu';
import { describeGolden } from '../src/testing/index.js';

// The CPU backend (the oracle) also runs chunk size 1: one position per chunk, the scan's edge case.
describeGolden('cpu', { backend: () => createCpuBackend({ name: 'cpu-golden' }), chunkSizes: [1, 16, 64] });
