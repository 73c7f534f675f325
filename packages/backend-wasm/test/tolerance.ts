import type { Tolerance } from '@mamba3/tensor/testing';

/**
 * The wasm backend has no float64, so analytic gradients are float32 while the finite
 * differences they are checked against are float64: float32 rounding of O(1) values through a
 * few ops leaves ~1e-6..1e-5 absolute error, more where terms cancel (products, norms, the
 * scan). Same bound as the other float32-only backends (backend-tfjs/test/tolerance.ts).
 */
export const GRAD_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 2e-3 };
