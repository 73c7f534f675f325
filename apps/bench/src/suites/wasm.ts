import { loadavg } from 'node:os';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createWasmBackend } from '@mamba3/backend-wasm';
import { loadDefaultModel } from '@mamba3/default-model';
import type { MambaConfigInput, WeightDType } from '@mamba3/model';
import type { MambaLMHeadModel } from '@mamba3/model';
import type { Backend } from '@mamba3/tensor';
import { argMax, dispose, matmul, randomNormal, tensor, tidy, useBackend } from '@mamba3/tensor';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';
import { machineInfo } from '../machine.js';
import { randomModel } from './model.js';

/*
 * The wasm backend's goals (issue 17) on this machine, on 2 threads and 1: the f32 matmul of
 * in_proj at 2048 tokens, its decode GEMV, the default model's prefill (the eval batch shape)
 * and decoding, and decoding of a random Mamba-3 SISO model of ~187M parameters. Shared
 * machines: each row also gives its rate per CPU-second the process got (wall rate when the
 * cores are free) and the load average seen.
 */

interface Timed {
  ms: number;
  cpuMs: number;
}

/** Median of `repeats` runs (after one warm-up): wall ms and process CPU ms (all threads). */
function time(repeats: number, fn: () => void): Timed {
  fn();
  const runs: Timed[] = [];
  for (let r = 0; r < repeats; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    const c = process.cpuUsage(c0);
    runs.push({ ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 });
  }
  runs.sort((a, b) => a.ms - b.ms);
  return runs[Math.floor(runs.length / 2)];
}

/** Greedy decoding of `n` tokens (one step, argmax and one int read back each). */
function decode(model: MambaLMHeadModel, n: number): void {
  const cache = model.allocateInferenceCache(1);
  let id = 1;
  for (let i = 0; i < n; i++) {
    const logits = model.step([id], cache);
    id = tidy(() => argMax(logits, -1).dataSync()[0]);
    logits.dispose();
  }
  cache.dispose();
}

/** ~187M parameters: the 130M-class Mamba-3 SISO (d_model 768, d_state 128, headdim 64) at 39 layers. */
const M187: MambaConfigInput = { dModel: 768, nLayer: 39, vocabSize: 50280, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } };
/** The released mamba-130m (Mamba-1: d_model 768, 24 layers, d_state 16). */
const M130: MambaConfigInput = { dModel: 768, nLayer: 24, vocabSize: 50280, ssmCfg: { layer: 'Mamba1' } };

/** Memory bandwidth of a plain copy (typed-array set: memcpy) of 256 MB, counting bytes read and written. */
function copyBandwidth(): Timed {
  const n = 64 * 2 ** 20;
  const src = new Float32Array(n).fill(1);
  const dst = new Float32Array(n);
  return time(5, () => dst.set(src));
}

export const wasmSuite: Suite = {
  name: 'wasm',
  summary: 'wasm backend goals: f32 matmul and GEMV, default model prefill and decode, ~187M decode; 2 threads and 1 (cpu for reference)',
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    const q = opts.quick;
    const rows: SuiteResult['rows'] = [];
    const threadCounts = (opts.settings.threads ?? '2,1').split(',').map(Number);
    const add = (backend: string, what: string, shape: string, t: Timed, unit: string, amount: number): void => {
      const row = { backend, what, shape, 'ms (wall)': +t.ms.toFixed(2), 'ms (cpu)': +t.cpuMs.toFixed(2), [unit]: +(amount / t.ms).toPrecision(4), [`${unit} per cpu-s`]: +(amount / t.cpuMs).toPrecision(4), load: loadavg()[0].toFixed(1) };
      rows.push(row);
      console.log(`${backend.padEnd(9)} ${what.padEnd(34)} ${shape.padEnd(22)} ${t.ms.toFixed(1).padStart(9)} ms wall ${t.cpuMs.toFixed(1).padStart(9)} ms cpu  ${String(row[unit]).padStart(8)} ${unit} (${row[`${unit} per cpu-s`]} per cpu-s), load ${row.load}`);
    };
    add('js', 'memory copy (typed-array set, 256 MB)', '2×256 MB', copyBandwidth(), 'GB/s', 2 * 256 * 1.048576);
    const backends: [string, () => Promise<Backend>][] = threadCounts.map((n) => [`wasm ×${n}`, () => createWasmBackend({ name: `wasm-bench-${n}`, threads: n })]);
    if (!opts.settings.noCpu) backends.push(['cpu', async () => createCpuBackend({ name: 'cpu-bench' })]);
    /** The matmul, GEMV and default-model rows. */
    const basicRows = async (label: string, backend: Backend, isCpu: boolean): Promise<void> => {
      const [M, K, N] = q || isCpu ? [256, 768, 3432] : [2048, 768, 3432];
      const x = randomNormal([M, K], { seed: 1, backend });
      const w = randomNormal([N, K], { seed: 2, backend });
      add(label, 'matmul x·Wᵀ (in_proj)', `${M}x${K}x${N}`, time(3, () => tidy(() => matmul(x, w, { transposeB: true }).dataSync())), 'GFLOP/s', (2 * M * N * K) / 1e6);
      const x1 = randomNormal([1, K], { seed: 3, backend });
      add(label, 'GEMV x·Wᵀ (decode in_proj)', `1x${K}x${N}`, time(20, () => tidy(() => matmul(x1, w, { transposeB: true }).dataSync())), 'GB/s', (N * K * 4) / 1e6);
      dispose([x, w, x1]);

      const model = await loadDefaultModel({ backend });
      const [b, L] = q || isCpu ? [2, 256] : [16, 256];
      const ids = tensor(Array.from({ length: b * L }, (_, i) => (i * 7) % 65), [b, L], { dtype: 'int32', backend });
      add(label, 'default model forward (eval batch)', `[${b}, ${L}]`, time(q ? 1 : 3, () => tidy(() => model.forward(ids).dataSync())), 'tokens/s', b * L * 1000);
      const n = q ? 50 : isCpu ? 100 : 400;
      add(label, 'default model decode (greedy)', `${n} tokens`, time(1, () => decode(model, n)), 'tokens/s', n * 1000);
      dispose([ids]);
      model.dispose();
    };
    // `--set models=mamba1` (or mamba3): only that big model's decode rows; `--set repeats=5`:
    // their median of 5 runs (default 1) after the warm-up.
    const models = (opts.settings.models ?? 'mamba3,mamba1').split(',');
    const basics = opts.settings.models === undefined;
    const repeats = Number(opts.settings.repeats ?? 1);
    for (const [label, make] of backends) {
      const backend = await make();
      useBackend(backend);
      const isCpu = label === 'cpu';
      if (basics) await basicRows(label, backend, isCpu);
      if (!isCpu && !q) {
        const m = 20;
        const dtypes = (opts.settings.dtypes ?? 'float32,bfloat16').split(',') as WeightDType[];
        const big = [['mamba3', '~187M Mamba-3 SISO', M187], ['mamba1', '130M Mamba-1', M130]] as const;
        for (const [, name, config] of big.filter(([key]) => models.includes(key))) {
          for (const dtype of dtypes) {
            const model = await randomModel(config, backend, dtype);
            add(label, `${name} decode, ${dtype} weights (${(model.paramCount / 1e6).toFixed(0)}M)`, `${m} tokens`, time(repeats, () => decode(model, m)), 'tokens/s', m * 1000);
            model.dispose();
          }
        }
      }
      backend.dispose?.();
    }
    return {
      suite: 'wasm',
      machine: machineInfo(),
      rows,
      notes: [
        'median of the runs after one warm-up; rates from wall time, and per CPU-second the process used (all its threads): on a shared machine the wall rate is what the load left us',
        'load: 1-minute load average when the row finished (2 cores)',
        `~187M: ${JSON.stringify(M187)}, 130M Mamba-1: ${JSON.stringify(M130)}; random weights, float32 or stored as bfloat16 (Backend.uploadHalf)`,
        'memory copy: bytes read plus bytes written per second',
      ],
    };
  },
};
