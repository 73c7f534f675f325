import { Mamba3 } from '@mamba3/core';
import type { Mamba3Options } from '@mamba3/core';
import { dispose, randomNormal, setBackend, tidy } from '@mamba3/tensor';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';
import { machineInfo } from '../machine.js';
import { loadBackends } from '../backends.js';

/**
 * One Mamba-3 mixer (the default options: d_state 128, headdim 64, expand 2) at d_model 768:
 * a chunked forward over a sequence and one recurrent step, per backend, timed to the readback.
 */
export const mixerSuite: Suite = {
  name: 'mixer',
  summary: 'one Mamba-3 mixer (d_model 768, defaults): chunked forward of 2048 tokens and one step, per backend',
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    await loadBackends();
    const L = Number(opts.settings.tokens ?? (opts.quick ? 256 : 2048));
    const steps = Number(opts.settings.steps ?? 20);
    const repeats = Number(opts.settings.repeats ?? (opts.quick ? 1 : 3));
    const variants: [string, Mamba3Options][] = [
      ['SISO', { dModel: 768 }],
      ['MIMO r4', { dModel: 768, isMimo: true, mimoRank: 4, chunkSize: 16 }],
    ];
    const rows: SuiteResult['rows'] = [];
    for (const name of opts.backends) {
      const backend = await setBackend(name);
      for (const [label, o] of variants) {
        const mixer = Mamba3.create(o, { seed: 0, backend });
        const u = randomNormal([1, L, 768], { seed: 1, backend });
        const u1 = randomNormal([1, 768], { seed: 2, backend });
        // Warm-up (pipelines, pools).
        await tidy(() => mixer.forward(randomNormal([1, 64, 768], { seed: 3, backend }))).data().then(() => undefined);
        const forwardMs: number[] = [];
        for (let r = 0; r < repeats; r++) {
          const t0 = performance.now();
          const y = mixer.forward(u);
          await y.data();
          forwardMs.push(performance.now() - t0);
          y.dispose();
        }
        const cache = mixer.allocateInferenceCache(1);
        const stepMs: number[] = [];
        for (let s = 0; s < steps + 2; s++) {
          const t0 = performance.now();
          const y = mixer.step(u1, cache);
          await y.data();
          if (s >= 2) stepMs.push(performance.now() - t0);
          y.dispose();
        }
        cache.dispose();
        forwardMs.sort((a, b) => a - b);
        stepMs.sort((a, b) => a - b);
        const fwd = forwardMs[Math.floor(forwardMs.length / 2)];
        const step = stepMs[Math.floor(stepMs.length / 2)];
        rows.push({ backend: name, mixer: label, tokens: L, 'chunked forward ms': +fwd.toFixed(1), 'tokens/s': Math.round((L * 1000) / fwd), 'step ms (median)': +step.toFixed(3) });
        console.log(`  ${name} ${label}: forward ${L} tokens ${fwd.toFixed(1)} ms (${Math.round((L * 1000) / fwd)} tok/s), step ${step.toFixed(3)} ms`);
        dispose([u, u1, mixer.params]);
      }
    }
    return {
      suite: 'mixer',
      machine: machineInfo(),
      rows,
      notes: [`batch 1, float32; forward: median of ${repeats}, step: median of ${steps} after 2 warm-up steps; both timed until the output is read back.`],
    };
  },
};
