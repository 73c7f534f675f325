import type { Tolerance } from '@mamba3/tensor/testing';
import { FLOAT32_GRAD_TOLERANCE } from '@mamba3/tensor/testing';

/**
 * Forward ops keep the suite's float32 default (atol 1e-5, rtol 1e-4): tfjs kernels compute in
 * float32 like the reference does after rounding, and pass at that level.
 */
export const FORWARD_TOLERANCE: Partial<Record<'float32' | 'int32', Tolerance>> = {};

/** tfjs has no float64: float32 gradients against float64 finite differences. */
export const GRAD_TOLERANCE: Tolerance = FLOAT32_GRAD_TOLERANCE;
