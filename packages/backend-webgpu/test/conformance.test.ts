import { describe, it } from 'vitest';
import { describeConformance } from '@mamba3/tensor/testing';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/*
 * Tolerances. Forward float32 ops keep the suite's defaults (atol 1e-5, rtol 1e-4): the kernels
 * accumulate in float32 like any float32 backend. Gradients are different: WebGPU has no
 * float64, so the analytic gradient is computed in float32 (inputs rounded to float32, every
 * backward op rounding again) and compared with float64 central differences. Chained backward
 * passes (the Mamba-3 scan composite runs ~60 ops) leave relative errors around 1e-5..1e-4 of
 * the gradient's magnitude, so: atol 1e-4, rtol 2e-3 — the float32 rounding of such chains,
 * not a looser check of the math (a wrong gradient is off by O(1)).
 */
if (SKIP_WEBGPU) {
  describe.skip(`webgpu backend conformance (${SKIP_REASON})`, () => {
    it('skipped', () => {});
  });
} else {
  describeConformance('webgpu', {
    backend: () => makeBackend(),
    gradTolerance: { atol: 1e-4, rtol: 2e-3 },
  });
}
