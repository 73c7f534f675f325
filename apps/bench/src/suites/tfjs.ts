/*
 * The TensorFlow.js backend beside our own: matmul and Mamba-3 scan throughput at the 130M
 * model's shapes, on every tfjs backend that starts here (and on the native backends named
 * with --backend), so one table shows what our kernels gain over tfjs on the same device.
 *
 *   node apps/bench/dist/main.js --suite tfjs [--quick] [--backend cpu] [--backend webgpu]
 *        [--set tfjs=cpu,wasm,webgpu,tensorflow] [--set wasmPath=DIR] [--set minTime=2]
 *
 * tfjs packages are imported with literal specifiers (so a bundler packs them) and only when
 * the suite runs; WebGPU in Node takes navigator.gpu from the `webgpu` package (Dawn) first.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Backend, Tensor } from '@mamba3/tensor';
import * as tensorOps from '@mamba3/tensor';
import * as core from '@mamba3/core';
import { initBackend, listBackends } from '@mamba3/tensor';
import { createTfjsBackend } from '@mamba3/backend-tfjs';
import type { Tf } from '@mamba3/backend-tfjs';
import { machineInfo } from '../machine.js';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';

/** The primitive ops and core's fused Mamba-3 ops in one namespace. */
const ops = { ...tensorOps, ...core };

type Row = SuiteResult['rows'][number];

/** The 130M model: d_model 768, expand 2, 24 heads of 64, d_state 128, SISO, chunk 64. */
const FULL = { tokens: 2048, dModel: 768, inProj: 3432, heads: 24, headdim: 64, dState: 128, chunk: 64 };
const QUICK = { tokens: 256, dModel: 768, inProj: 3432, heads: 24, headdim: 64, dState: 128, chunk: 64 };
type Sizes = typeof FULL;

const DEFAULT_TFJS = ['cpu', 'wasm', 'webgpu', 'tensorflow'];

/** Our own backends for --backend, registered on demand (literal specifiers, so a bundle has them). */
const NATIVE: Record<string, () => Promise<unknown>> = {
  cpu: () => import('@mamba3/backend-cpu'),
  webgpu: () => import('@mamba3/backend-webgpu'),
};

/** The `.wasm` files of a bundled bench: `tfjs-wasm/` beside the script (tools/gpu/bundle.mjs puts them there). */
function bundledWasmDir(): string | undefined {
  const dir = join(dirname(process.argv[1] ?? '.'), 'tfjs-wasm');
  return existsSync(join(dir, 'tfjs-backend-wasm.wasm')) ? dir : undefined;
}

/** Loads tfjs and the packages of the requested tfjs backends; returns why each that cannot start. */
async function loadTfjs(names: readonly string[], wasmPath: string | undefined): Promise<{ tf: Tf; failed: Map<string, string> }> {
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  const failed = new Map<string, string>();
  const attempt = async (name: string, load: () => Promise<unknown>): Promise<void> => {
    if (!names.includes(name)) return;
    try {
      await load();
    } catch (err) {
      failed.set(name, err instanceof Error ? err.message.split('\n')[0] : String(err));
    }
  };
  await attempt('cpu', () => import('@tensorflow/tfjs-backend-cpu'));
  await attempt('wasm', async () => {
    const dir = wasmPath ?? bundledWasmDir();
    // Emscripten's loader reads __dirname in Node, which an ES-module bundle does not define.
    if (dir) (globalThis as { __dirname?: string }).__dirname ??= dir;
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    if (dir) wasm.setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
  });
  await attempt('webgpu', async () => {
    const g = globalThis as { navigator?: { gpu?: unknown } };
    if (!g.navigator?.gpu) {
      process.env.XDG_RUNTIME_DIR ??= '/tmp';
      const { create, globals } = await import('webgpu');
      Object.assign(globalThis, globals);
      if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: {}, writable: true, configurable: true });
      (g.navigator as { gpu?: unknown }).gpu = create([]);
    }
    await import('@tensorflow/tfjs-backend-webgpu');
  });
  return { tf, failed };
}

/**
 * Median and best milliseconds of `fn` after one warm-up call, repeated until `minTime` seconds
 * or 20 runs. The best run is the steadier figure on a shared machine.
 */
async function time(backend: Backend, minTime: number, fn: () => Tensor[]): Promise<{ median: number; best: number }> {
  const once = async (): Promise<number> => {
    const t0 = performance.now();
    const outs = ops.tidy(fn);
    await backend.sync?.();
    // Backends without sync may still be running: a one-element read waits for them.
    if (!backend.sync) await ops.tidy(() => ops.slice(ops.reshape(outs[0], [-1]), [0], [1])).data();
    const ms = performance.now() - t0;
    ops.dispose(outs);
    return ms;
  };
  await once();
  const runs: number[] = [];
  const start = performance.now();
  while (runs.length < 20 && (runs.length < 2 || performance.now() - start < minTime * 1000)) runs.push(await once());
  runs.sort((a, b) => a - b);
  return { median: runs[Math.floor(runs.length / 2)], best: runs[0] };
}

interface Case {
  op: string;
  shape: string;
  flops: number;
  tokens: number;
  run: (backend: Backend) => { inputs: Tensor[]; fn: (...xs: Tensor[]) => Tensor[] };
}

function scanInputs(backend: Backend, s: Sizes, seed: number): Tensor[] {
  const { tokens: L, heads: H, headdim: P, dState: N } = s;
  const n = (shape: number[], k: number, scale = 1): Tensor => ops.mul(ops.randomNormal(shape, { seed: seed + k, backend }), scale);
  return ops.tidy(() => [
    n([1, L, 1, H, N], 0, 0.1),
    n([1, L, 1, H, N], 1, 0.1),
    n([1, L, 1, H, P], 2),
    ops.neg(ops.sigmoid(n([1, L, H], 3))), // adt: log decay ≤ 0
    ops.sigmoid(n([1, L, H], 4)), // dt
    ops.sigmoid(n([1, L, H], 5)), // trap (λ)
  ]).map((t) => ops.keep(t));
}

function cases(s: Sizes): Case[] {
  const { tokens: L, heads: H, headdim: P, dState: N, chunk } = s;
  // Per chunk and head: C·Bᵀ, (scores)·x, the chunk's state, C·stateᵀ; plus the chunk-to-chunk pass.
  const nc = Math.ceil(L / chunk);
  const scanFlops = 2 * H * nc * (chunk * chunk * N + chunk * chunk * P + 2 * chunk * P * N) + 2 * H * (nc + 1) * nc * P * N;
  const scan = (fn: (C: Tensor, B: Tensor, x: Tensor, adt: Tensor, dt: Tensor, trap: Tensor) => Tensor[]) => (backend: Backend) => ({
    inputs: scanInputs(backend, s, 7),
    fn: (...xs: Tensor[]) => fn(xs[0], xs[1], xs[2], xs[3], xs[4], xs[5]),
  });
  const scanShape = `b1 L${L} H${H} P${P} N${N} chunk ${chunk}`;
  return [
    {
      op: 'matmul (in_proj)',
      shape: `[${L}, ${s.dModel}] @ [${s.inProj}, ${s.dModel}]ᵀ`,
      flops: 2 * L * s.dModel * s.inProj,
      tokens: L,
      run: (backend) => ({
        inputs: [ops.randomNormal([1, L, s.dModel], { seed: 1, backend }), ops.randomNormal([s.inProj, s.dModel], { seed: 2, backend, std: 0.03 })],
        fn: (x, w) => [ops.matmul(x, w, { transposeB: true })],
      }),
    },
    {
      op: 'mamba3ChunkScan',
      shape: scanShape,
      flops: scanFlops,
      tokens: L,
      run: scan((C, B, x, adt, dt, trap) => {
        const r = ops.mamba3ChunkScan({ C, B, x, adt, dt, trap }, { chunkSize: chunk });
        return [r.y, r.finalSsm];
      }),
    },
    {
      op: 'mamba3ChunkScan (composite)',
      shape: scanShape,
      flops: scanFlops,
      tokens: L,
      run: scan((C, B, x, adt, dt, trap) => {
        const r = ops.mamba3ChunkScanComposite({ C, B, x, adt, dt, trap }, { chunkSize: chunk });
        return [r.y, r.finalSsm];
      }),
    },
    {
      op: 'mamba3ChunkScan fwd+bwd',
      shape: scanShape,
      flops: 3 * scanFlops,
      tokens: L,
      run: scan((C, B, x, adt, dt, trap) =>
        ops.grads((c: Tensor, b: Tensor, xx: Tensor) => ops.sum(ops.mamba3ChunkScan({ C: c, B: b, x: xx, adt, dt, trap }, { chunkSize: chunk }).y))([C, B, x]),
      ),
    },
    {
      op: 'mamba3StepScan (decode)',
      shape: `b1 H${H} P${P} N${N}`,
      flops: 6 * H * P * N,
      tokens: 1,
      run: (backend) => {
        const r = (shape: number[], k: number): Tensor => ops.randomNormal(shape, { seed: 20 + k, backend, std: 0.1 });
        const inputs = ops.tidy(() => [r([1, 1, H, N], 0), r([1, 1, H, N], 1), r([1, 1, H, P], 2), ops.neg(ops.sigmoid(r([1, H], 3))), ops.sigmoid(r([1, H], 4)), ops.sigmoid(r([1, H], 5)), r([1, H, P, N], 6), r([1, 1, H, N], 7), r([1, 1, H, P], 8)]).map((t) => ops.keep(t));
        return {
          inputs,
          fn: (C, B, x, adt, dt, trap, ssm, prevK, prevV) => {
            const o = ops.mamba3StepScan({ C, B, x, adt, dt, trap, ssm, prevK, prevV });
            return [o.y, o.ssm];
          },
        };
      },
    },
  ];
}

async function measure(backend: Backend, s: Sizes, minTime: number, rows: Row[]): Promise<void> {
  for (const c of cases(s)) {
    const { inputs, fn } = c.run(backend);
    try {
      const { median: ms, best } = await time(backend, minTime, () => fn(...inputs));
      const row: Row = {
        backend: backend.name,
        device: backend.info.device ?? '',
        op: c.op,
        shape: c.shape,
        ms: Number(ms.toFixed(3)),
        'best ms': Number(best.toFixed(3)),
        'GFLOP/s': Number((c.flops / ms / 1e6).toFixed(2)),
        'tokens/s': Math.round((c.tokens / ms) * 1000),
      };
      rows.push(row);
      console.log(`${String(row.backend).padEnd(12)} ${c.op.padEnd(28)} ${String(row.ms).padStart(10)} ms (best ${row['best ms']}) ${String(row['GFLOP/s']).padStart(9)} GFLOP/s ${String(row['tokens/s']).padStart(9)} tok/s`);
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      rows.push({ backend: backend.name, device: backend.info.device ?? '', op: c.op, shape: c.shape, ms: null, 'best ms': null, 'GFLOP/s': null, 'tokens/s': null, error: msg });
      console.log(`${backend.name.padEnd(12)} ${c.op.padEnd(28)} failed: ${msg}`);
    } finally {
      ops.dispose(inputs);
    }
  }
}

async function run(opts: SuiteOptions): Promise<SuiteResult> {
  const s = opts.quick ? QUICK : FULL;
  const minTime = Number(opts.settings.minTime ?? (opts.quick ? 0.3 : 2));
  const wanted = (opts.settings.tfjs ?? DEFAULT_TFJS.join(',')).split(',').map((n) => n.trim()).filter(Boolean);
  const rows: Row[] = [];
  const notes: string[] = [`sizes: ${JSON.stringify(s)}; median (and best) of runs after one warm-up, each ending in a device sync; GFLOP/s and tokens/s from the median`];
  const { tf, failed } = await loadTfjs(wanted, opts.settings.wasmPath);
  const backends: Backend[] = [];
  for (const name of wanted) {
    if (failed.has(name)) {
      notes.push(`tfjs-${name}: not measured (${failed.get(name)})`);
      console.log(`tfjs-${name}: not measured (${failed.get(name)})`);
      continue;
    }
    try {
      backends.push(await createTfjsBackend({ tf, tfjsBackend: name, name: `tfjs-${name}` }));
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      notes.push(`tfjs-${name}: not measured (${msg})`);
      console.log(`tfjs-${name}: not measured (${msg})`);
    }
  }
  for (const name of opts.backends) {
    try {
      if (!listBackends().includes(name)) await NATIVE[name]?.();
      backends.push(await initBackend(name));
    } catch (err) {
      const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
      notes.push(`${name}: not measured (${msg})`);
      console.log(`${name}: not measured (${msg})`);
    }
  }
  for (const backend of backends) await measure(backend, s, minTime, rows);
  for (const b of backends) if (b.name.startsWith('tfjs-')) b.dispose?.();
  // Dawn's device keeps Node's event loop alive: release tfjs's WebGPU backend when done.
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  return { suite: 'tfjs', machine: machineInfo(), rows, notes };
}

export const tfjsSuite: Suite = {
  name: 'tfjs',
  summary: 'TensorFlow.js backend (cpu, wasm, webgpu, tfjs-node) vs ours: matmul and Mamba-3 scans at 130M shapes',
  run,
};
