/**
 * WebGPU kernel benchmarks: tiled matmul and GEMV (TFLOP/s), the Mamba-3 chunked scan (GB/s of
 * compulsory traffic and tokens/s), the recurrent step and the fused mixer step (µs per call).
 * Each measurement: warm-up (compiles pipelines, fills the buffer pool), then N calls encoded
 * back to back between two `await backend.sync()`, and the same N calls bracketed by GPU
 * timestamps when the device has `timestamp-query`.
 */
import { loadavg } from 'node:os';
import type { Tensor } from '@mamba3/tensor';
import type { Mamba3MixerAttrs } from '@mamba3/core';
import * as tensorOps from '@mamba3/tensor';
import * as core from '@mamba3/core';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { MambaLMHeadModel } from '@mamba3/model';
import { createWebGPUBackend, MATMUL_TILE_VARIANTS } from '@mamba3/backend-webgpu';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';
import { countSetting } from '../suite.js';
import { machineInfo } from '../machine.js';

/** The primitive ops and core's fused Mamba-3 ops in one namespace. */
const ops = { ...tensorOps, ...core };

type Row = SuiteResult['rows'][number];

interface Timing {
  /** Wall ms per call (host encode + GPU), from sync to sync. */
  ms: number;
  /** GPU ms per call from timestamps (null without timestamp-query). */
  gpuMs: number | null;
}

async function timeIt(be: WebGPUBackend, fn: () => Tensor | Tensor[], iters: number, warmup = 2): Promise<Timing> {
  const once = () => ops.dispose(fn());
  for (let i = 0; i < warmup; i++) once();
  await be.sync();
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) once();
  await be.sync();
  const ms = (performance.now() - t0) / iters;
  let gpuMs: number | null = null;
  if (be.features.has('timestamp-query')) {
    try {
      gpuMs = (await be.timeGpu(() => {
        for (let i = 0; i < iters; i++) once();
      })) / iters;
    } catch {
      gpuMs = null;
    }
  }
  return { ms, gpuMs };
}

/** GPU time when it is plausible (lavapipe's timestamps can exceed the wall time), else wall. */
const best = (t: Timing) => (t.gpuMs !== null && t.gpuMs <= t.ms ? t.gpuMs : t.ms);
const r3 = (v: number) => +v.toPrecision(3);

function matmulCases(quick: boolean, T: number): { name: string; M: number; K: number; N: number; transB: boolean; transA?: boolean }[] {
  if (quick) {
    return [
      { name: 'square', M: 256, K: 256, N: 256, transB: false },
      { name: 'in_proj-like', M: T, K: 96, N: 430, transB: false },
      { name: 'out_proj-like', M: T, K: 192, N: 96, transB: false },
      { name: 'LM head GEMV (x·Wᵀ)', M: 1, K: 96, N: 6285, transB: true },
    ];
  }
  return [
    { name: 'square 4096³', M: 4096, K: 4096, N: 4096, transB: false },
    { name: 'in_proj [T,768]x[768,3432]', M: T, K: 768, N: 3432, transB: false },
    { name: 'in_proj x·Wᵀ, W [3432,768]', M: T, K: 768, N: 3432, transB: true },
    { name: 'out_proj [T,1536]x[1536,768]', M: T, K: 1536, N: 768, transB: false },
    { name: 'LM head [1,768]x[768,50280]', M: 1, K: 768, N: 50280, transB: false },
    { name: 'LM head GEMV x·Wᵀ, W [50280,768]', M: 1, K: 768, N: 50280, transB: true },
    { name: 'decode in_proj GEMV x·Wᵀ, W [3432,768]', M: 1, K: 768, N: 3432, transB: true },
  ];
}

/**
 * The products of a 130M Mamba-3 prefill as the model runs them (x·Wᵀ, W [N, K] as nn.Linear
 * stores it), and one weight gradient of training's backward (dW = dyᵀ·x).
 */
function prefillCases(): ReturnType<typeof matmulCases> {
  return [
    { name: 'in_proj x·Wᵀ L=512', M: 512, K: 768, N: 3432, transB: true },
    { name: 'in_proj x·Wᵀ L=2048', M: 2048, K: 768, N: 3432, transB: true },
    { name: 'out_proj x·Wᵀ L=2048', M: 2048, K: 1536, N: 768, transB: true },
    { name: 'in_proj x·Wᵀ L=8192', M: 8192, K: 768, N: 3432, transB: true },
    { name: 'out_proj x·Wᵀ L=8192', M: 8192, K: 1536, N: 768, transB: true },
    { name: 'LM head x·Wᵀ L=2048', M: 2048, K: 768, N: 50280, transB: true },
    { name: 'in_proj dW = dyᵀ·x L=2048', M: 3432, K: 2048, N: 768, transB: false, transA: true },
  ];
}

/**
 * The x·Wᵀ products of a batched decode step (130M: in_proj, out_proj, LM head) at 8, 32 and 128
 * rows: the decode GEMV takes them by default, the tiled kernel when `gemvMaxRows` is lower.
 */
function decodeBatchCases(): ReturnType<typeof matmulCases> {
  return [8, 32, 128].flatMap((M) => [
    { name: `in_proj x·Wᵀ B=${M}`, M, K: 768, N: 3432, transB: true },
    { name: `out_proj x·Wᵀ B=${M}`, M, K: 1536, N: 768, transB: true },
    { name: `LM head x·Wᵀ B=${M}`, M, K: 768, N: 50280, transB: true },
  ]);
}

/** The median of a non-empty list. */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * `--set tiles=all` (or a comma list of MATMUL_TILE_VARIANTS names, 'legacy', 64, 128): each
 * tiling forced on its own backend, on the prefill products (`--set shapes=prefill`, the
 * default here), the batched-decode products (`shapes=decode`: every tiling with gemvMaxRows 0,
 * so the tiled kernel runs them, beside 'auto', the default decode GEMV, and 'auto-tiled') or the
 * usual cases; 'auto' is always timed too. `--set rounds=R` times every tiling R times, taking
 * turns (the GPU's clocks drift over a sweep), and ranks them by their median. `--set dawn=...`
 * passes Dawn toggles to these backends.
 */
async function sweepMatmul(settings: Readonly<Record<string, string>>, quick: boolean, rows: Row[]): Promise<void> {
  const { tiles, shapes, dawn } = settings;
  // `--set dawn=toggle,...`: Dawn toggles for these backends (e.g. disable_robustness: the
  // WGSL index clamps dropped); Node only, through the `webgpu` package's create().
  const gpu = dawn ? (await import('webgpu')).create([`enable-dawn-features=${dawn}`]) : undefined;
  const suffix = dawn ? ` +${dawn}` : '';
  const decode = shapes === 'decode';
  const names = tiles === 'all' ? ['auto', 'legacy', '64', '128', ...Object.keys(MATMUL_TILE_VARIANTS)] : ['auto', ...tiles.split(',').filter((t) => t !== 'auto')];
  if (decode && !names.includes('auto-tiled')) names.splice(1, 0, 'auto-tiled');
  const rounds = countSetting(settings, 'rounds', 1, 1);
  const cases = decode
    ? decodeBatchCases()
    : shapes === 'usual'
      ? matmulCases(quick, quick ? 64 : 2048).filter((c) => c.M >= 128)
      : quick
        ? prefillCases().map((c) => ({ ...c, M: Math.min(c.M, 256), N: Math.min(c.N, 300) }))
        : prefillCases();
  const timed: Row[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const name of names) {
      const tile = name === '64' || name === '128' ? (Number(name) as 64 | 128) : name === 'auto-tiled' ? 'auto' : name;
      const gemvMaxRows = decode && name !== 'auto' ? { gemvMaxRows: 0 } : {};
      const be = await createWebGPUBackend({ name: `webgpu-tile-${name}`, matmulTile: tile, ...gemvMaxRows, ...(gpu ? { gpu } : {}) });
      try {
        for (const c of cases) {
          // A variant this device cannot run (workgroup memory, invocations) is reported, not fatal.
          await benchMatmulCase(be, name + suffix, c, quick, timed).catch((err: unknown) => console.log(`  matmul ${c.name} (tile ${name}${suffix}): skipped, ${err instanceof Error ? err.message : String(err)}`));
        }
      } finally {
        be.dispose();
      }
    }
  }
  // One row per tiling and case: the median round (every round's TFLOP/s listed beside it).
  for (const c of cases) {
    for (const name of names) {
      const mine = timed.filter((r) => r.case === c.name && r.tile === name + suffix && typeof r['TFLOP/s'] === 'number');
      if (!mine.length) continue;
      const all = mine.map((r) => r['TFLOP/s'] as number);
      const mid = median(all);
      const row = mine.reduce((a, b) => (Math.abs((b['TFLOP/s'] as number) - mid) < Math.abs((a['TFLOP/s'] as number) - mid) ? b : a));
      rows.push({ ...row, 'TFLOP/s': r3(mid), rounds: all.join(' ') });
    }
    const ranked = rows.filter((r) => r.case === c.name && typeof r['TFLOP/s'] === 'number').sort((x, y) => (y['TFLOP/s'] as number) - (x['TFLOP/s'] as number));
    console.log(`  ${c.name}: ${ranked.slice(0, 5).map((r) => `${r.tile} ${r['TFLOP/s']}`).join(', ')}`);
  }
}

async function benchMatmul(be: WebGPUBackend, quick: boolean, rows: Row[]): Promise<void> {
  const T = quick ? 64 : 2048;
  // Full runs also force each tile size on the large products, to check the 'auto' choice.
  const forced = quick ? [] : await Promise.all(([64, 128] as const).map((tile) => createWebGPUBackend({ name: `webgpu-tile${tile}`, matmulTile: tile }).then((b) => [tile, b] as const)));
  try {
    for (const c of matmulCases(quick, T)) {
      await benchMatmulCase(be, 'auto', c, quick, rows);
      if (c.M >= 128) for (const [tile, b] of forced) await benchMatmulCase(b, String(tile), c, quick, rows);
    }
  } finally {
    for (const [, b] of forced) b.dispose();
  }
}

async function benchMatmulCase(be: WebGPUBackend, tile: string, c: ReturnType<typeof matmulCases>[number], quick: boolean, rows: Row[]): Promise<void> {
  const a = ops.randomNormal(c.transA ? [c.K, c.M] : [c.M, c.K], { seed: 1, backend: be });
  const w = ops.randomNormal(c.transB ? [c.N, c.K] : [c.K, c.N], { seed: 2, backend: be });
  const flops = 2 * c.M * c.N * c.K;
  // About 40 ms of GPU work per timed batch at 30 TFLOP/s.
  const iters = quick ? 3 : Math.max(5, Math.min(50, Math.ceil(1.2e12 / flops)));
  const t = await timeIt(be, () => ops.matmul(a, w, { transposeA: c.transA ?? false, transposeB: c.transB }), iters);
  const bytes = 4 * (c.M * c.K + c.K * c.N + c.M * c.N);
  rows.push({
    kernel: tile === 'auto' ? 'matmul' : `matmul (tile ${tile})`,
    tile,
    case: c.name,
    shape: `${c.M}x${c.K}x${c.N}`,
    'ms (wall)': r3(t.ms),
    'ms (gpu)': t.gpuMs === null ? null : r3(t.gpuMs),
    'TFLOP/s': r3(flops / (best(t) * 1e-3) / 1e12),
    'GB/s': r3(bytes / (best(t) * 1e-3) / 1e9),
    'tokens/s': null,
  });
  console.log(`  matmul ${c.name} (tile ${tile}): ${best(t).toFixed(3)} ms, ${(flops / (best(t) * 1e-3) / 1e12).toFixed(3)} TFLOP/s`);
  ops.dispose([a, w]);
}

function scanInputs(be: WebGPUBackend, L: number, R: number, H: number, P: number, N: number) {
  const n = (shape: number[], seed: number) => ops.randomNormal(shape, { seed, backend: be, std: 0.5 });
  const u = (shape: number[], seed: number) => ops.randomUniform(shape, { seed, backend: be });
  return {
    C: n([1, L, R, H, N], 1),
    B: n([1, L, R, H, N], 2),
    x: n([1, L, R, H, P], 3),
    adt: ops.neg(u([1, L, H], 4)),
    dt: u([1, L, H], 5),
    trap: u([1, L, H], 6),
  };
}

async function benchScans(be: WebGPUBackend, quick: boolean, rows: Row[]): Promise<void> {
  const [H, P, N] = quick ? [4, 16, 32] : [24, 64, 128];
  const lengths = quick ? [128] : [2048, 8192];
  for (const R of [1, 4]) {
    for (const L of lengths) {
      const inp = scanInputs(be, L, R, H, P, N);
      const t = await timeIt(be, () => {
        const r = ops.mamba3ChunkScan(inp, { chunkSize: 64 });
        return [r.y, r.finalSsm];
      }, quick ? 2 : 10);
      // Compulsory traffic: read C, B, x, adt, dt, trap; write y and the final state.
      const bytes = 4 * (2 * L * R * H * N + 2 * L * R * H * P + 3 * L * H + H * P * N);
      rows.push({
        kernel: 'mamba3ChunkScan',
        case: `${R === 1 ? 'SISO' : `MIMO r${R}`} L=${L}`,
        shape: `H${H} P${P} N${N}`,
        'ms (wall)': r3(t.ms),
        'ms (gpu)': t.gpuMs === null ? null : r3(t.gpuMs),
        'TFLOP/s': null,
        'GB/s': r3(bytes / (best(t) * 1e-3) / 1e9),
        'tokens/s': Math.round(L / (best(t) * 1e-3)),
      });
      console.log(`  chunk scan R=${R} L=${L}: ${best(t).toFixed(3)} ms, ${Math.round(L / (best(t) * 1e-3))} tok/s (one layer)`);
      ops.dispose(Object.values(inp));
    }
    // The step: each call's state feeds the next, as in decoding.
    const s = scanInputs(be, 1, R, H, P, N);
    const step = {
      C: ops.reshape(s.C, [1, R, H, N]),
      B: ops.reshape(s.B, [1, R, H, N]),
      x: ops.reshape(s.x, [1, R, H, P]),
      adt: ops.reshape(s.adt, [1, H]),
      dt: ops.reshape(s.dt, [1, H]),
      trap: ops.reshape(s.trap, [1, H]),
      prevK: ops.reshape(s.B, [1, R, H, N]),
      prevV: ops.reshape(s.x, [1, R, H, P]),
    };
    let ssm = ops.zeros([1, H, P, N], { backend: be });
    const t = await timeIt(be, () => {
      const r = ops.mamba3StepScan({ ...step, ssm });
      ssm.dispose();
      ssm = r.ssm;
      return r.y;
    }, quick ? 5 : 200, 3);
    rows.push(stateStepRow('mamba3StepScan', R, H, P, N, t));
    console.log(`  step scan R=${R}: ${(best(t) * 1000).toFixed(1)} µs per call`);
    ops.dispose([...Object.values(s), ...Object.values(step), ssm]);
  }
}

/** A row for a kernel that reads and writes the SSM state once per call (GB/s counts that traffic). */
function stateStepRow(kernel: string, R: number, H: number, P: number, N: number, t: Timing): Row {
  return {
    kernel,
    case: R === 1 ? 'SISO' : `MIMO r${R}`,
    shape: `H${H} P${P} N${N}`,
    'ms (wall)': r3(t.ms),
    'ms (gpu)': t.gpuMs === null ? null : r3(t.gpuMs),
    'TFLOP/s': null,
    'GB/s': r3((4 * 2 * H * P * N) / (best(t) * 1e-3) / 1e9),
    'tokens/s': null,
  };
}

async function benchMixerStep(be: WebGPUBackend, quick: boolean, rows: Row[]): Promise<void> {
  const [H, P, N] = quick ? [4, 16, 32] : [24, 64, 128];
  for (const R of [1, 4]) {
    const attrs: Mamba3MixerAttrs = {
      nheads: H, headdim: P, dState: N, ngroups: 1, mimoRank: R, isMimo: R > 1, numRopeAngles: N / 4, complex: true,
      AFloor: 1e-4, isOutprojNorm: true, chunkSize: 64, eps: 1e-5,
    };
    const n = (shape: number[], seed: number, std = 0.5, mean = 0) => ops.randomNormal(shape, { seed, backend: be, std, mean });
    const params = {
      dtBias: n([H], 1), BBias: n([H, R, N], 2), CBias: n([H, R, N], 3), BNormWeight: n([N], 4, 0.1, 1), CNormWeight: n([N], 5, 0.1, 1), D: n([H], 6),
      ...(R > 1 ? { mimoX: n([H, R, P], 7), mimoZ: n([H, R, P], 8), mimoO: n([H, R, P], 9) } : {}),
      normWeight: n([H * P], 10, 0.1, 1),
    };
    const zx = n([1, ops.dInProjOf(attrs)], 11);
    let state = { angle: n([1, H, attrs.numRopeAngles], 12), ssm: n([1, H, P, N], 13), k: n([1, R, H, N], 14), v: n([1, H, P], 15) };
    const t = await timeIt(be, () => {
      const r = ops.mamba3MixerStep(zx, params, attrs, state);
      ops.dispose(Object.values(state));
      state = r.state;
      return r.y;
    }, quick ? 5 : 200, 3);
    rows.push(stateStepRow('mamba3MixerStep', R, H, P, N, t));
    console.log(`  mixer step R=${R}: ${(best(t) * 1000).toFixed(1)} µs per call (one layer)`);
    ops.dispose([...Object.values(params), zx, ...Object.values(state)]);
  }
}

/**
 * A whole-model decode step (random weights, 130M shapes; --quick: tiny): the LM head and a greedy
 * pick on the device, one int read back. Reports ms per token and the submissions and dispatches
 * each step took (the design target: one submission).
 */
async function benchDecode(be: WebGPUBackend, quick: boolean, rows: Row[]): Promise<void> {
  const base = quick ? { dModel: 64, nLayer: 2, vocabSize: 500 } : { dModel: 768, nLayer: 24, vocabSize: 50280 };
  const [dState, headdim] = quick ? [16, 16] : [128, 64];
  for (const R of [1, 4]) {
    const config = { ...base, ssmCfg: { layer: 'Mamba3' as const, dState, headdim, chunkSize: 64, ...(R > 1 ? { isMimo: true, mimoRank: R } : {}) } };
    const model = MambaLMHeadModel.create(config, { seed: 0, backend: be });
    const cache = model.allocateInferenceCache(1);
    const step = async (token: number): Promise<number> => {
      const logits = model.step([token], cache);
      const next = ops.tidy(() => ops.argMax(ops.sliceAxis(logits, 1, 0, config.vocabSize), -1));
      const id = (await next.data())[0];
      ops.dispose([logits, next]);
      return id;
    };
    try {
      let token = 1;
      for (let i = 0; i < 3; i++) token = await step(token);
      const n = quick ? 5 : 50;
      const s0 = be.stats();
      const t0 = performance.now();
      for (let i = 0; i < n; i++) token = await step(token);
      const ms = (performance.now() - t0) / n;
      const s1 = be.stats();
      rows.push({
        kernel: 'decode step (whole model)',
        case: `${R === 1 ? 'SISO' : `MIMO r${R}`}, ${config.nLayer} layers`,
        shape: `d${config.dModel} N${dState} P${headdim} V${config.vocabSize}`,
        'ms (wall)': r3(ms),
        'ms (gpu)': null,
        'TFLOP/s': null,
        'GB/s': null,
        'tokens/s': Math.round(1000 / ms),
        'submits/step': (s1.submits - s0.submits) / n,
        'dispatches/step': (s1.dispatches - s0.dispatches) / n,
      });
      console.log(`  decode ${R === 1 ? 'SISO' : `MIMO r${R}`}: ${ms.toFixed(2)} ms/token, ${(s1.submits - s0.submits) / n} submits and ${(s1.dispatches - s0.dispatches) / n} dispatches per step`);
    } finally {
      cache.dispose();
      model.dispose();
    }
  }
}

export const webgpuKernelsSuite: Suite = {
  name: 'webgpu-kernels',
  summary: 'WebGPU kernels: matmul/GEMV TFLOP/s, Mamba-3 chunked scan GB/s and tok/s, step and fused mixer-step latency, whole-model decode step',
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    process.env.XDG_RUNTIME_DIR ??= '/tmp';
    // --set f16=1: the opt-in f16 weight path (where the device has shader-f16).
    const be = await createWebGPUBackend({ name: 'webgpu-kernels', f16: opts.settings.f16 === '1' });
    const rows: Row[] = [];
    const only = opts.settings.only?.split(',');
    const want = (k: string) => !only || only.includes(k);
    console.log(`  device: ${be.info.device}; features: ${[...be.features].join(', ')}`);
    try {
      if (opts.settings.tiles) await sweepMatmul(opts.settings, opts.quick, rows);
      else if (want('matmul')) await benchMatmul(be, opts.quick, rows);
      if (want('scan')) await benchScans(be, opts.quick, rows);
      if (want('mixer')) await benchMixerStep(be, opts.quick, rows);
      if (want('decode')) await benchDecode(be, opts.quick, rows);
    } finally {
      be.dispose();
    }
    return {
      suite: 'webgpu-kernels',
      machine: machineInfo(),
      rows,
      notes: [
        `device: ${be.info.device}; features: ${[...be.features].join(', ')}; f16 weights: ${be.f16 ? 'on' : 'off'}`,
        'ms (wall): per call, N calls encoded back to back between two awaited sync()s (includes host encoding); ms (gpu): the same N calls between GPU timestamps, when the device has timestamp-query. Rates use the GPU time when there is one and it does not exceed the wall time (lavapipe timestamps can), else the wall time.',
        'GB/s for the scans counts compulsory traffic only (inputs read once, outputs written once), not the chunk states; tokens/s is for one layer (b=1).',
        'decode step: a whole model (random weights) through model.step, the LM head and an argmax on the device, one int read back per token; submits/dispatches per step from the backend counters.',
        'step/mixer-step: each call consumes the previous call\'s state (as in decoding); GB/s counts the state read and written.',
        `load average at the end: ${loadavg().map((v) => v.toFixed(1)).join(' ')}`,
        ...(opts.quick ? ['--quick: small shapes (lavapipe-sized), not the 130M shapes.'] : []),
      ],
    };
  },
};
