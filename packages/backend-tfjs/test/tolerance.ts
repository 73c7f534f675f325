import type { Tolerance } from '@mamba3/tensor/testing';

/**
 * Forward ops keep the suite's float32 default (atol 1e-5, rtol 1e-4): tfjs kernels compute in
 * float32 like the reference does after rounding, and pass at that level.
 */
export const FORWARD_TOLERANCE: Partial<Record<'float32' | 'int32', Tolerance>> = {};

/**
 * tfjs has no float64, so analytic gradients are float32 while the finite differences they are
 * checked against are float64: float32 rounding of O(1) values through a few ops leaves
 * ~1e-6..1e-5 absolute error, more where terms cancel (products, norms, the scan), hence
 * atol 1e-4 and rtol 2e-3 instead of the float64 default (1e-6, 1e-5).
 */
export const GRAD_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 2e-3 };
