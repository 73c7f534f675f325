import { formatShape, linear, randomNormal, setBackend, tidy, mamba3ChunkScan, sigmoid, softplus, mul, neg, reshape, randomUniform } from '@mamba3/tensor';
import '@mamba3/backend-cpu';
import type { Command } from '../command.js';

/**
 * The README's main job. For now: a random Mamba-3-sized computation on the CPU backend
 * (in_proj, the chunked scan, out_proj) with shapes and timings.
 */
export const demo: Command = {
  name: 'demo',
  summary: 'run the demo (a random Mamba-3 layer on the CPU, with shapes and timings)',
  usage: 'usage: mamba3 demo [--seqlen N]',
  options: { seqlen: { type: 'string' } },
  async run({ values }) {
    await setBackend('cpu');
    const L = Number(values.seqlen ?? 256);
    const dModel = 256;
    const H = 8;
    const P = 64;
    const N = 64;
    const t0 = performance.now();
    tidy(() => {
      const u = randomNormal([1, L, dModel], { seed: 1 });
      const wIn = randomNormal([H * P, dModel], { seed: 2, std: dModel ** -0.5 });
      const x = reshape(linear(u, wIn), [1, L, 1, H, P]);
      const B = randomNormal([1, L, 1, H, N], { seed: 3 });
      const C = randomNormal([1, L, 1, H, N], { seed: 4 });
      const dt = softplus(randomNormal([1, L, H], { seed: 5, mean: -3 }));
      const adt = mul(neg(randomUniform([1, L, H], { seed: 6, min: 0.5, max: 1.5 })), dt);
      const trap = sigmoid(randomNormal([1, L, H], { seed: 7 }));
      const t1 = performance.now();
      const { y, finalSsm } = mamba3ChunkScan({ C, B, x, adt, dt, trap }, { chunkSize: 64 });
      const t2 = performance.now();
      console.log(`input u          ${formatShape(u.shape)}`);
      console.log(`scan output y    ${formatShape(y.shape)}`);
      console.log(`final SSM state  ${formatShape(finalSsm.shape)}`);
      console.log(`setup ${(t1 - t0).toFixed(1)} ms, chunked scan ${(t2 - t1).toFixed(1)} ms (${((L / (t2 - t1)) * 1000).toFixed(0)} tokens/s)`);
    });
    return 0;
  },
};
