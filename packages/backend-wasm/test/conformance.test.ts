import { describeConformance } from '@mamba3/tensor/testing';
import { createWasmBackend } from '../src/index.js';
import { GRAD_TOLERANCE } from './tolerance.js';

// Every kernel on both threads, however small, then on one thread: the two code paths differ
// (shares of rows, columns and panels), so both are checked against the reference.
describeConformance('wasm-threads', {
  backend: () => createWasmBackend({ name: 'wasm-conf-threads', threads: 2, alwaysParallel: true }),
  gradTolerance: GRAD_TOLERANCE,
});

describeConformance('wasm-single', {
  backend: () => createWasmBackend({ name: 'wasm-conf-single', threads: 1 }),
  gradTolerance: GRAD_TOLERANCE,
});
