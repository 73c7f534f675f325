import { engine, useBackend } from '../src/index.js';
import { createReferenceBackend } from '../src/testing/reference.js';

/** Tensor-package tests run on the naive reference backend (no dependency on a real backend). */
export function useReference() {
  const backend = createReferenceBackend('reference');
  useBackend(backend);
  return backend;
}

export { engine };
