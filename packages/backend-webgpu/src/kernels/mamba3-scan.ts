import type { KernelInputs, KernelOutputs, KernelTensor, Mamba3ChunkScanInputs, Mamba3ChunkScanResult, Mamba3ScanAttrs, Mamba3StepScanInputs, Mamba3StepScanResult } from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { ScanDims } from './mamba3-scan.wgsl.js';
import { chunkOutputWgsl, chunkStateWgsl, scanDimValues, statePassWgsl, stepScanWgsl } from './mamba3-scan.wgsl.js';
import { buf } from './util.js';

/** Rows (positions × ranks) per chunk: one 64-row tile. */
const MAX_ROWS = 64;

export function chunkDims(C: KernelTensor, x: KernelTensor): ScanDims {
  const [b, L, R, H, N] = C.shape;
  const P = x.shape[4];
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

/** The chunked scan in three dispatches: chunk states, the state hand-off, chunk outputs. */
export function mamba3ChunkScan(rt: Runtime, i: KernelInputs<Mamba3ChunkScanInputs>, _attrs: Mamba3ScanAttrs): KernelOutputs<Mamba3ChunkScanResult> {
  const op = 'mamba3ChunkScan';
  const d = chunkDims(i.C, i.x);
  const { b, L, R, H, P, N, nc } = d;
  checkGrid(rt, op, { 'chunks (seqlen / chunk)': nc, 'batch·nheads': b * H });
  const y = rt.alloc(op, b * L * R * H * P * 4, i.x.dtype);
  const finalSsm = rt.alloc(op, b * H * P * N * 4, i.x.dtype);
  const states = rt.alloc(op, b * H * nc * P * N * 4, i.x.dtype);
  const decay = rt.alloc(op, b * H * nc * 4, i.x.dtype);
  const dims = rt.uniform(scanDimValues(d));
  const tiles = Math.ceil(P / 64) * Math.ceil(N / 64);
  const scalars = [buf(i.adt), buf(i.dt), buf(i.trap)];
  rt.dispatch('m3chunkState', chunkStateWgsl, [...scalars, buf(i.x), buf(i.B), states.buffer, decay.buffer, dims], [tiles, nc, b * H]);
  const hasSsm = !!i.initialSsm;
  const hasKV = !!(i.initialK && i.initialV);
  const extra = [
    ...(i.initialSsm ? [buf(i.initialSsm)] : []),
    ...(hasKV ? [buf(i.dt), buf(i.trap), buf(i.initialK!), buf(i.initialV!)] : []),
  ];
  rt.dispatch(`m3statePass/${+hasSsm}${+hasKV}`, () => statePassWgsl(hasSsm, hasKV), [decay.buffer, states.buffer, finalSsm.buffer, ...extra, dims], [Math.ceil((P * N) / 256), b * H]);
  rt.dispatch('m3chunkOutput', chunkOutputWgsl, [...scalars, buf(i.C), buf(i.B), buf(i.x), states.buffer, y.buffer, dims], [Math.ceil(P / 64), nc, b * H]);
  rt.release(states);
  rt.release(decay);
  return { y, finalSsm };
}

/** One decode step in one dispatch. */
export function mamba3StepScan(rt: Runtime, i: KernelInputs<Mamba3StepScanInputs>): KernelOutputs<Mamba3StepScanResult> {
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
