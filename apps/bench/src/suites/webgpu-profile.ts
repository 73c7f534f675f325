/**
 * Where the GPU time of the 130M-class model goes: every dispatch of one prefill and of one
 * decode step in its own pass with timestamps around it (`WebGPUBackend.profile`), summed per
 * kernel. The pass boundaries add a little to each dispatch; the shares are what to read.
 */
import { createWebGPUBackend } from '@mamba3/backend-webgpu';
import { useLegacyScanKernels, useStoredBC } from '@mamba3/core';
import { MambaLMHeadModel } from '@mamba3/model';
import { Rng, tidy } from '@mamba3/tensor';
import type { Suite, SuiteResult } from '../suite.js';
import { machineInfo } from '../machine.js';
import { configs } from './model.js';

type Row = SuiteResult['rows'][number];

export const webgpuProfileSuite: Suite = {
  name: 'webgpu-profile',
  summary: 'GPU time per kernel (timestamps around each dispatch) of a 130M-class prefill and decode step on WebGPU',
  async run(opts) {
    const be = await createWebGPUBackend({ name: 'webgpu-profile' });
    // --set scan=legacy: the earlier scalar chunked-scan kernels (before/after, tools/gpu/scan-kernels.sh).
    if (opts.settings.scan === 'legacy') useLegacyScanKernels(be);
    // --set bc=stored: B̃ and C̃ stored by the mixer's prep kernel, not formed in the scan kernels.
    if (opts.settings.bc === 'stored') useStoredBC(be);
    const rows: Row[] = [];
    const L = Number(opts.settings.length ?? (opts.quick ? 128 : 8192));
    // --set batch=B: B sequences (the prefill is [B, L], the decode step B tokens).
    const B = Number(opts.settings.batch ?? 1);
    try {
      if (!be.features.has('timestamp-query')) throw new Error('webgpu-profile: this adapter has no timestamp-query');
      for (const { name, config } of configs(opts.quick, opts.settings)) {
        const model = MambaLMHeadModel.create(config, { seed: 0, backend: be });
        // The profile times each dispatch of the ops; a recorded prefill's replay is not timed per kernel.
        model.prefillGraphs.limit = 0;
        const rng = new Rng(2);
        const ids = Array.from({ length: L }, () => rng.int(config.vocabSize));
        const cache = model.allocateInferenceCache(B);
        const prefill = () => tidy(() => void model.prefill(Array.from({ length: B }, () => ids), cache));
        const step = () => tidy(() => void model.step(Array.from({ length: B }, () => 1), cache));
        // Warm-up: pipelines compiled, pools filled.
        prefill();
        step();
        await be.sync();
        const b = B > 1 ? `, batch ${B}` : '';
        for (const [phase, fn] of [[`prefill ${L}${b}`, prefill], [`decode step${b}`, step]] as const) {
          const { kernels, skipped } = await be.profile(fn);
          const total = kernels.reduce((s, k) => s + k.ms, 0);
          for (const k of kernels) {
            rows.push({ model: name, phase, kernel: k.kernel, calls: k.calls, 'GPU ms': +k.ms.toFixed(3), 'share %': +((100 * k.ms) / total).toFixed(1) });
          }
          rows.push({ model: name, phase, kernel: `total${skipped ? ` (${skipped} dispatches not timed)` : ''}`, calls: kernels.reduce((s, k) => s + k.calls, 0), 'GPU ms': +total.toFixed(3), 'share %': 100 });
          console.log(`  ${name} ${phase}: ${total.toFixed(2)} GPU ms; top: ${kernels.slice(0, 4).map((k) => `${k.kernel} ${k.ms.toFixed(2)}`).join(', ')}`);
        }
        cache.dispose();
        model.dispose();
      }
    } finally {
      be.dispose();
    }
    return {
      suite: 'webgpu-profile',
      machine: { ...machineInfo(), device: be.info.device ?? 'webgpu' },
      rows,
      notes: ['Each dispatch runs in its own compute pass with timestamps at its start and end; kernels are grouped by the first part of their pipeline key.'],
    };
  },
};
