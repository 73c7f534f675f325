import { describe, it } from 'vitest';
import { describeConformance } from '@mamba3/tensor/testing';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/*
 * Tolerances. Forward float32 ops keep the suite's defaults (atol 1e-5, rtol 1e-4): the kernels
 * accumulate in float32 like any float32 backend. int32 stays exact (the default). There is no
 * float64 here (WebGPU has none), so the float64 tolerance never applies. Gradients: WebGPU has no float64, so the
 * analytic gradients are float32 (inputs rounded to float32, each backward op rounding again)
 * while the finite differences are float64. Measured: they pass even at atol 1e-6 / rtol 1e-5
 * on six seeds; the check uses the float32 forward tolerance (atol 1e-5, rtol 1e-4), ~10x margin
 * for the random inputs of other seeds and still ~1e4 times tighter than a wrong gradient.
 */
if (SKIP_WEBGPU) {
  describe.skip(`webgpu backend conformance (${SKIP_REASON})`, () => {
    it('skipped', () => {});
  });
} else {
  describeConformance('webgpu', {
    backend: () => makeBackend(),
    gradTolerance: { atol: 1e-5, rtol: 1e-4 },
  });
}
