import type { GPUStorage, Runtime, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs, KernelTensor } from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import type { Mamba3ChunkScanInputs, Mamba3ChunkScanResult, Mamba3ScanAttrs, Mamba3StepScanInputs, Mamba3StepScanResult } from '../../ops/mamba3/types.js';
import type { WgslLib } from './mamba3-mixer.wgsl.js';
import type { ScanDims } from './mamba3-scan.wgsl.js';
import { chunkOutputWgsl, chunkStateWgsl, scanDimValues, statePassWgsl, stepScanWgsl } from './mamba3-scan.wgsl.js';
import type { BCRows, XRows } from './mamba3-scan-rows.wgsl.js';
import { rowsKey } from './mamba3-scan-rows.wgsl.js';
import type { OutputGate } from './mamba3-scan-tiled.wgsl.js';
import { chunkOutputTiledWgsl, chunkStateTiledWgsl, gateKey, statePassTiledWgsl } from './mamba3-scan-tiled.wgsl.js';
import type { OutputSkip } from './mamba2-ssd-tiled.wgsl.js';
import { CB_TILE, chunkScoresWgsl, skipKey } from './mamba2-ssd-tiled.wgsl.js';

/** The GPU buffer behind a kernel tensor (storage the webgpu backend made). */
export function buf(x: KernelTensor): GPUBuffer {
  return (x.storage as GPUStorage).buffer;
}

/** Rows (positions × ranks) per chunk: one 64-row tile. */
const MAX_ROWS = 64;

export function chunkDims(C: KernelTensor, x: KernelTensor): ScanDims {
  const [b, L, R, H, N] = C.shape;
  return scanDims(b, L, R, H, x.shape[4], N);
}

export function scanDims(b: number, L: number, R: number, H: number, P: number, N: number): ScanDims {
  if (R > MAX_ROWS) throw new UnsupportedError(`webgpu mamba3ChunkScan: mimoRank ${R} exceeds the kernel's ${MAX_ROWS} rows per chunk`);
  const T = Math.min(L, Math.floor(MAX_ROWS / R));
  return { b, L, R, H, P, N, T, nc: Math.ceil(L / T) };
}

function checkGrid(rt: Runtime, op: string, dims: Record<string, number>): void {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  for (const [what, n] of Object.entries(dims)) {
    if (n > max) throw new UnsupportedError(`webgpu ${op}: ${what} = ${n} exceeds maxComputeWorkgroupsPerDimension ${max}`);
  }
}

/** Buffers of the chunked scan's inputs (layouts as in mamba3-scan.wgsl.ts). */
export interface ScanBuffers {
  /** C̃ and B̃, or null when `xRows.bc` forms them. */
  C: GPUBuffer | null;
  B: GPUBuffer | null;
  /** x̃, or with `xRows` the rows it is formed from. */
  x: GPUBuffer;
  /**
   * x's rows and mimo_x [H, R, P] (null: x̃ = x), and B̃'s and C̃'s form with the buffers it reads
   * (mamba3-scan-rows.wgsl.ts), for the vec4 kernels only.
   */
  xRows?: Omit<XRows, 'scaled' | 'bc'> & { scale: GPUBuffer | null; bc: BCSource | null };
  adt: GPUBuffer;
  dt: GPUBuffer;
  trap: GPUBuffer;
  initialSsm?: GPUBuffer;
  initialK?: GPUBuffer;
  initialV?: GPUBuffer;
  /** B̃ and C̃ per group [b, L, R, G, N], G = bcGroups (vec4 kernels, buffers only); else per head. */
  bcGroups?: number;
  /** The SISO mixer's output step in the chunk outputs' writes (vec4 kernels, `xRows` with `bc`): y is then the mixer's output. */
  gate?: OutputGate;
  /** Mamba-2's D skip and z gate in the chunk outputs' writes (vec4 kernels, x from a buffer): D, and zxbcdt when gated. */
  skip?: { form: OutputSkip; D: GPUBuffer; zxbcdt: GPUBuffer | null };
}

/** B̃ and C̃ formed from zxbcdt's rows: how (BCRows), the packed parameters, rms and θ (null without rotation). */
export interface BCSource {
  form: BCRows;
  prm: GPUBuffer;
  rms: GPUBuffer;
  theta: GPUBuffer | null;
}

/** Runtimes told to run the scalar chunked-scan kernels (before/after timings of issue 16). */
const legacyScan = new WeakSet<Runtime>();

/**
 * Makes `backend` run the earlier scalar chunked-scan kernels instead of the vec4 ones (Mamba-3's
 * and Mamba-2's SSD) and the staged ones (Mamba-1's); the results agree to rounding. For
 * side-by-side timings (tools/gpu/scan-kernels.sh, the `webgpu-scan-legacy` bench backend).
 */
export function useLegacyScanKernels(backend: WebGPUBackend): void {
  legacyScan.add(backend.runtime);
}

/** Whether `useLegacyScanKernels` was called for this runtime. */
export function legacyScanKernels(rt: Runtime): boolean {
  return legacyScan.has(rt);
}

/** Whether chunkScanCore runs the vec4 kernels: they need whole vec4 rows of x, B, C and the states. */
export function tiledScan(rt: Runtime, P: number, N: number): boolean {
  return P % 4 === 0 && N % 4 === 0 && !legacyScan.has(rt);
}

/**
 * Chunks (over the batch) from which Mamba-2's heads share their group's scores (m2chunkScores):
 * the extra dispatch pays for itself only over many chunks. 130M Mamba-2 on an H100, one
 * sequence, GPU ms of a prefill without → with: 8192 tokens 55.15 → 53.75-54.06, 2048 16.63 →
 * 16.40-16.52, 1024 8.98 → 8.98-9.03, 512 6.59 → 6.64-6.70 (BENCHMARKS, issue 16, eleventh session).
 */
const SHARED_SCORES_MIN_CHUNKS = 32;

/** The chunked scan in three dispatches: chunk states, the state hand-off, chunk outputs (and Mamba-2's shared scores before them). */
export function chunkScanCore(rt: Runtime, w: WgslLib, op: string, d: ScanDims, i: ScanBuffers): { y: GPUStorage; finalSsm: GPUStorage } {
  const { b, L, R, H, P, N, nc } = d;
  const tiled = tiledScan(rt, P, N);
  const xr = i.xRows;
  if (xr && !tiled) throw new Error(`webgpu ${op}: x from zxbcdt rows needs the vec4 scan kernels (P ${P}, N ${N})`);
  const rows: XRows | null = xr ? { stride: xr.stride, offset: xr.offset, scaled: xr.scale !== null, bc: xr.bc?.form ?? null } : null;
  const bc = xr?.bc;
  if (!bc && !(i.B && i.C)) throw new Error(`webgpu ${op}: no B̃ and C̃ (neither buffers nor their rows)`);
  // The row source's bindings, in rowSourceWgsl's order.
  const source = (withC: boolean): GPUBuffer[] => [
    i.x,
    ...(xr?.scale ? [xr.scale] : []),
    ...(bc ? [bc.prm, bc.rms, ...(bc.theta ? [bc.theta] : [])] : [...(withC ? [i.C!] : []), i.B!]),
  ];
  const G = i.bcGroups ?? 0;
  if (G > 0 && (!tiled || xr || H % G !== 0)) throw new Error(`webgpu ${op}: B and C per group (${G} of ${H} heads) need the vec4 kernels, buffers and G dividing H`);
  const xKey = `${rowsKey(rows)}${G > 0 ? `/g${G}` : ''}`;
  checkGrid(rt, op, { 'chunks (seqlen / chunk)': nc, 'batch·nheads': b * H });
  const y = rt.alloc(op, b * L * R * H * P * 4, 'float32');
  const finalSsm = rt.alloc(op, b * H * P * N * 4, 'float32');
  const states = rt.alloc(op, b * H * nc * P * N * 4, 'float32');
  const decay = rt.alloc(op, b * H * nc * 4, 'float32');
  const dims = rt.uniform(scanDimValues(d));
  const tiles = Math.ceil(P / 64) * Math.ceil(N / 64);
  const scalars = [i.adt, i.dt, i.trap];
  const stateKernel = tiled ? ([`m3chunkState/t${R}/${xKey}`, () => chunkStateTiledWgsl(R, rows, w, G)] as const) : (['m3chunkState', chunkStateWgsl] as const);
  const stateSource = tiled ? source(false) : [i.x, i.B!];
  rt.dispatch(stateKernel[0], stateKernel[1], [...scalars, ...stateSource, states.buffer, decay.buffer, dims], [tiled ? Math.ceil(P / 64) : tiles, nc, b * H]);
  const hasSsm = !!i.initialSsm;
  const hasKV = !!(i.initialK && i.initialV);
  const extra = [...(i.initialSsm ? [i.initialSsm] : []), ...(hasKV ? [i.dt, i.trap, i.initialK!, i.initialV!] : [])];
  const passBindings = [decay.buffer, states.buffer, finalSsm.buffer, ...extra, dims];
  if (tiled) rt.dispatch(`m3statePass/t${+hasSsm}${+hasKV}`, () => statePassTiledWgsl(hasSsm, hasKV, w), passBindings, [Math.ceil((P * N) / 4 / 64), b * H]);
  else rt.dispatch(`m3statePass/${+hasSsm}${+hasKV}`, () => statePassWgsl(hasSsm, hasKV), passBindings, [Math.ceil((P * N) / 256), b * H]);
  const gate = i.gate ?? null;
  const skip = i.skip ?? null;
  if ((gate || skip) && !tiled) throw new Error(`webgpu ${op}: the output gate and skip need the vec4 scan kernels`);
  if (skip && !skip.form.z !== !skip.zxbcdt) throw new Error(`webgpu ${op}: the skip's z gate needs zxbcdt bound, and only then`);
  // Heads sharing a group's B and C (Mamba-2) share its scores C·Bᵀ: formed once per chunk and group.
  const sharedCB = tiled && G > 0 && H / G > 1 && b * nc >= SHARED_SCORES_MIN_CHUNKS;
  let scores: GPUStorage | null = null;
  if (sharedCB) {
    scores = rt.alloc(op, b * nc * G * CB_TILE * 16, 'float32');
    rt.dispatch(`m2chunkScores/${G}`, () => chunkScoresWgsl(G, w), [i.C!, i.B!, scores.buffer, dims], [4, nc, b * G]);
  }
  const outKernel = tiled
    ? ([`m3chunkOutput/t${R}/${xKey}${gateKey(gate)}${skipKey(skip?.form ?? null)}${sharedCB ? '/cb' : ''}`, () => chunkOutputTiledWgsl(R, rows, w, G, gate, skip?.form ?? null, sharedCB)] as const)
    : (['m3chunkOutput', chunkOutputWgsl] as const);
  const outSource = scores ? [i.x, i.C!, scores.buffer] : tiled ? source(true) : [i.C!, i.B!, i.x];
  const skipBindings = skip ? [skip.D, ...(skip.zxbcdt ? [skip.zxbcdt] : [])] : [];
  rt.dispatch(outKernel[0], outKernel[1], [...scalars, ...outSource, states.buffer, y.buffer, dims, ...skipBindings], [Math.ceil(P / 64), nc, b * H]);
  for (const t of [states, decay, ...(scores ? [scores] : [])]) rt.release(t);
  return { y, finalSsm };
}

export function mamba3ChunkScan(gpu: WebGPUBackend, i: KernelInputs<Mamba3ChunkScanInputs>, _attrs: Mamba3ScanAttrs): KernelOutputs<Mamba3ChunkScanResult> {
  const rt = gpu.runtime;
  const d = chunkDims(i.C, i.x);
  const opt = (t: KernelTensor | undefined) => (t ? buf(t) : undefined);
  return chunkScanCore(rt, gpu.wgsl, 'mamba3ChunkScan', d, {
    C: buf(i.C),
    B: buf(i.B),
    x: buf(i.x),
    adt: buf(i.adt),
    dt: buf(i.dt),
    trap: buf(i.trap),
    initialSsm: opt(i.initialSsm),
    initialK: opt(i.initialK),
    initialV: opt(i.initialV),
  });
}

/** One decode step in one dispatch. */
export function mamba3StepScan(gpu: WebGPUBackend, i: KernelInputs<Mamba3StepScanInputs>): KernelOutputs<Mamba3StepScanResult> {
  const rt = gpu.runtime;
  const op = 'mamba3StepScan';
  const [b, R, H, N] = i.C.shape;
  const P = i.x.shape[3];
  checkGrid(rt, op, { nheads: H, batch: b });
  const y: GPUStorage = rt.alloc(op, b * R * H * P * 4, i.x.dtype);
  const ssm: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.x.dtype);
  const inputs = [i.C, i.B, i.x, i.adt, i.dt, i.trap, i.ssm, i.prevK, i.prevV].map(buf);
  rt.dispatch(`m3step/${R}`, () => stepScanWgsl(R), [...inputs, y.buffer, ssm.buffer, rt.uniform([H, P, N, 0])], [Math.ceil(P / 8), H, b]);
  return { y, ssm };
}
