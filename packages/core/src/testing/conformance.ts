import { expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import * as tensorOps from '@mamba3/tensor';
import type { ConformanceKit, InputSpec } from '@mamba3/tensor/testing';
import { describeMismatch } from '@mamba3/tensor/testing';
import * as mamba3 from '../ops/mamba3/index.js';
import { referenceMamba3Recurrence } from './mamba3-reference.js';

const ops = { ...tensorOps, ...mamba3 };

/*
 * The Mamba-3 fused ops in the backend conformance suite (@mamba3/tensor/testing): each backend
 * runs them from core's tests,
 *
 *   describeConformance('webgpu', { backend, builtIn: false, groups: mamba3ConformanceGroups });
 *
 * the scans against the float64 recurrence and the reference backend (which runs the
 * composites), and their gradients against finite differences.
 */
export const mamba3ConformanceGroups: Record<string, (kit: ConformanceKit) => void> = {
  mamba3: ({ inputs, compare, backend, tolerance, seed }) => {
    const scanCase = (b: number, L: number, R: number, H: number, P: number, N: number, withInitial: boolean): InputSpec[] => [
      { shape: [b, L, R, H, N] },
      { shape: [b, L, R, H, N] },
      { shape: [b, L, R, H, P] },
      { shape: [b, L, H], kind: 'unit' },
      { shape: [b, L, H], kind: 'unit' },
      { shape: [b, L, H], kind: 'unit' },
      ...(withInitial ? [{ shape: [b, H, P, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] }] : []),
    ];
    const asInputs = (ts: Tensor[]) => ({
      C: ts[0],
      B: ts[1],
      x: ts[2],
      adt: ops.neg(ts[3]),
      dt: ts[4],
      trap: ts[5],
      ...(ts.length > 6 ? { initialSsm: ts[6], initialK: ts[7], initialV: ts[8] } : {}),
    });
    it('chunked scan equals the sequential recurrence (float64) on many shapes', async () => {
      const cases: [number, number, number, number, number, number, boolean, number][] = [
        [1, 1, 1, 1, 1, 1, false, 4],
        [2, 13, 1, 3, 5, 4, false, 4],
        [1, 37, 1, 2, 8, 6, true, 16],
        [2, 9, 4, 2, 3, 5, false, 2],
        [1, 20, 2, 3, 4, 8, true, 64],
        [1, 33, 1, 1, 7, 3, true, 1],
        [2, 21, 2, 2, 3, 4, true, 8],
      ];
      for (const [b, L, R, H, P, N, init, chunkSize] of cases) {
        const label = `mamba3ChunkScan b${b} L${L} R${R} H${H} P${P} N${N} init=${init} chunk ${chunkSize} (seed ${seed})`;
        const inp = inputs(scanCase(b, L, R, H, P, N, init));
        const v = inp.values;
        const ref = referenceMamba3Recurrence({
          dims: { b, L, R, H, P, N },
          C: v[0], B: v[1], x: v[2], adt: v[3].map((a) => -a), dt: v[4], trap: v[5],
          ...(init ? { initialSsm: v[6], initialK: v[7], initialV: v[8] } : {}),
        });
        const out = ops.tidy(() => {
          const r = ops.mamba3ChunkScan(asInputs(inp.on(backend())), { chunkSize });
          return [r.y, r.finalSsm];
        });
        const [y, finalSsm] = await Promise.all(out.map((t) => t.data()));
        ops.dispose(out);
        expect(describeMismatch(y, ref.y, tolerance.float32), `${label}: y`).toBeNull();
        expect(describeMismatch(finalSsm, ref.finalSsm, tolerance.float32), `${label}: finalSsm`).toBeNull();
      }
    });
    it('step scan matches the reference', async () => {
      for (const [b, R, H, P, N] of [[1, 1, 1, 1, 1], [2, 1, 3, 5, 4], [2, 4, 2, 3, 7]]) {
        await compare(`mamba3StepScan b${b} R${R} H${H} P${P} N${N}`, [
          { shape: [b, R, H, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] },
          { shape: [b, H], kind: 'unit' }, { shape: [b, H], kind: 'unit' }, { shape: [b, H], kind: 'unit' },
          { shape: [b, H, P, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] },
        ], (C, B, x, a, dt, trap, ssm, prevK, prevV) => {
          const r = ops.mamba3StepScan({ C, B, x, adt: ops.neg(a), dt, trap, ssm, prevK, prevV });
          return [r.y, r.ssm];
        });
      }
    });
  },
  'mamba3 gradients': ({ gradCheck }) => {
    it('mamba3 chunked scan and step', async () => {
      const [b, L, R, H, P, N] = [1, 5, 2, 2, 2, 3];
      await gradCheck('mamba3ChunkScan', [
        { shape: [b, L, R, H, N] }, { shape: [b, L, R, H, N] }, { shape: [b, L, R, H, P] },
        { shape: [b, L, H], kind: 'unit' }, { shape: [b, L, H], kind: 'unit' }, { shape: [b, L, H], kind: 'unit' },
        { shape: [b, H, P, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] },
      ], (C, B, x, a, dt, trap, s0, k0, v0) => {
        const r = ops.mamba3ChunkScan({ C, B, x, adt: ops.neg(a), dt, trap, initialSsm: s0, initialK: k0, initialV: v0 }, { chunkSize: 2 });
        return ops.concat([ops.reshape(r.y, [-1]), ops.reshape(r.finalSsm, [-1])]);
      });
      await gradCheck('mamba3StepScan', [
        { shape: [b, R, H, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] },
        { shape: [b, H], kind: 'unit' }, { shape: [b, H], kind: 'unit' }, { shape: [b, H], kind: 'unit' },
        { shape: [b, H, P, N] }, { shape: [b, R, H, N] }, { shape: [b, R, H, P] },
      ], (C, B, x, a, dt, trap, ssm, prevK, prevV) => {
        const r = ops.mamba3StepScan({ C, B, x, adt: ops.neg(a), dt, trap, ssm, prevK, prevV });
        return ops.concat([ops.reshape(r.y, [-1]), ops.reshape(r.ssm, [-1])]);
      });
    });
  },
};
