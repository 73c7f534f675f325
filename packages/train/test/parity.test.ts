import { beforeAll, describe, expect, it } from 'vitest';
import { setBackend } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import { trainParity } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

// The small CPU version of the paper's parity result: the same tiny model (1 layer, d_model 16,
// d_state 8) trained the same way on running parity of 16 bits, with and without the
// data-dependent rotations. Deterministic (fixed seed, CPU backend). The full recipe (length 64
// -> 256) is in BENCHMARKS.md.
describe('parity (state tracking)', () => {
  it('the complex (rotating) Mamba-3 learns running parity; the real-valued one does not', async () => {
    const common = { trainLength: 16, evalLength: 64, steps: 800, batchSize: 32, dModel: 16, nLayer: 1, dState: 8, headdim: 8, lr: 0.01, seed: 3, progress: false, evalSequences: 128 };
    const complex = await trainParity({ ...common, complex: true });
    const real = await trainParity({ ...common, complex: false });
    expect(complex.trainAccuracy).toBeGreaterThan(0.99);
    expect(complex.accuracy).toBeGreaterThan(real.accuracy + 0.2);
    expect(real.trainAccuracy).toBeLessThan(0.8);
  }, 600_000);
});
