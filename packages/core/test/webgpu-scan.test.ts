import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tensorOps from '@mamba3/tensor';
import * as core from '../src/index.js';
import { referenceMamba3Recurrence } from '../src/testing/index.js';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './webgpu.js';

const ops = { ...tensorOps, ...core };

/**
 * The chunked scan over several of the kernel's own chunks (T = floor(64 / R) positions), which
 * the conformance shapes (L <= 37) never reach: the chunk-state hand-off, decays across chunk
 * boundaries, the trapezoid term that crosses a boundary and the initial state.
 * Tolerance: the conformance suite's float32 default (rtol 1e-4, atol 1e-5) against the float64
 * recurrence, with atol scaled by √(N·R) as the suite scales its matmul tolerance by √K: y sums
 * N·R products of O(1) terms, so its rounding grows with that count while cancellation can
 * leave a small result (at the 130M shapes, N = 128, errors reach 3e-5 on values of 0.01).
 */
const tolFor = (N: number, R: number) => ({ atol: 1e-5 * Math.sqrt(N * R), rtol: 1e-4 });

function rand(n: number, seed: number, kind: 'normal' | 'unit'): number[] {
  const rng = new ops.Rng(seed);
  return Array.from({ length: n }, () => (kind === 'normal' ? rng.normal() : rng.uniform()));
}

(SKIP_WEBGPU ? describe.skip : describe)(`chunked scan across chunk boundaries${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-scan' });
  });
  afterAll(() => be?.dispose());

  const cases: [number, number, number, number, number, number, boolean][] = [
    [1, 150, 1, 2, 5, 7, true],
    [2, 70, 1, 1, 3, 4, false],
    [1, 40, 4, 2, 3, 5, true],
    [1, 50, 3, 1, 66, 70, true],
    [1, 300, 1, 1, 4, 3, true],
    [2, 100, 4, 1, 3, 4, true],
    // The 130M model's head shapes (24 heads of 64, d_state 128: two N tiles per chunk state).
    [1, 130, 1, 24, 64, 128, true],
    [1, 40, 4, 24, 64, 128, true],
    // The vec4 kernels (P and N multiples of 4): partial 64-wide tiles, odd lengths with a short
    // last chunk, batch > 1, ranks 1 to 4, P beyond one tile, more chunks than statePass takes a
    // group (18 chunks of 64 positions, rank 1; of 16, rank 4).
    [2, 77, 1, 3, 8, 12, true],
    [2, 45, 4, 2, 68, 20, true],
    [1, 99, 2, 1, 16, 132, false],
    [3, 23, 3, 2, 4, 4, true],
    [1, 1125, 1, 1, 4, 8, true],
    [2, 150, 4, 1, 12, 16, false],
    [1, 277, 4, 1, 8, 8, false],
  ];
  for (const [b, L, R, H, P, N, init] of cases) {
    it(`b${b} L${L} R${R} H${H} P${P} N${N}${init ? ' with initial state' : ''}`, async () => {
      const C = rand(b * L * R * H * N, 1, 'normal');
      const B = rand(b * L * R * H * N, 2, 'normal');
      const x = rand(b * L * R * H * P, 3, 'normal');
      const adt = rand(b * L * H, 4, 'unit').map((v) => -0.3 * v);
      const dt = rand(b * L * H, 5, 'unit');
      const trap = rand(b * L * H, 6, 'unit');
      const s0 = rand(b * H * P * N, 7, 'normal');
      const k0 = rand(b * R * H * N, 8, 'normal');
      const v0 = rand(b * R * H * P, 9, 'normal');
      const ref = referenceMamba3Recurrence({ dims: { b, L, R, H, P, N }, C, B, x, adt, dt, trap, ...(init ? { initialSsm: s0, initialK: k0, initialV: v0 } : {}) });
      const t = (v: number[], shape: number[]) => ops.tensor(v, shape, { backend: be });
      const out = ops.tidy(() => {
        const r = ops.mamba3ChunkScan(
          {
            C: t(C, [b, L, R, H, N]),
            B: t(B, [b, L, R, H, N]),
            x: t(x, [b, L, R, H, P]),
            adt: t(adt, [b, L, H]),
            dt: t(dt, [b, L, H]),
            trap: t(trap, [b, L, H]),
            ...(init ? { initialSsm: t(s0, [b, H, P, N]), initialK: t(k0, [b, R, H, N]), initialV: t(v0, [b, R, H, P]) } : {}),
          },
          { chunkSize: 16 },
        );
        return [r.y, r.finalSsm];
      });
      const [y, fin] = await Promise.all(out.map((o) => o.data()));
      ops.dispose(out);
      const TOL = tolFor(N, R);
      for (const [name, got, want] of [['y', y, ref.y], ['finalSsm', fin, ref.finalSsm]] as const) {
        let worst = 0;
        let at = 0;
        for (let i = 0; i < want.length; i++) {
          const r = Math.abs(got[i] - want[i]) / (TOL.atol + TOL.rtol * Math.abs(want[i]));
          if (!(r <= worst)) [worst, at] = [r, i];
        }
        expect(worst, `${name}[${at}]: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(1);
      }
    });
  }
});
