import type { GPUStorage, Runtime, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelOutputs, KernelTensor } from '@mamba3/tensor';
import type { SelectiveScanInputs, SelectiveScanResult } from '../../mamba1/scan.js';
import type { SsdAttrs, SsdInputs, SsdResult } from '../../mamba2/ssd.js';
import type { Mamba2ChunkCoreAttrs, Mamba2ChunkCoreInputs, Mamba2ChunkCoreResult } from '../../mamba2/chunk-core.js';
import { mamba2CoreSizes } from '../../mamba2/chunk-core.js';
import type { Mamba1ChunkCoreAttrs, Mamba1ChunkCoreInputs, Mamba1ChunkCoreResult } from '../../mamba1/chunk-core.js';
import { mamba1CoreSizes } from '../../mamba1/chunk-core.js';
import { buf, chunkScanCore, legacyScanKernels, scanDims, tiledScan } from './mamba3-scan.js';
import { m1ChunkOutputStagedWgsl, m1ChunkStateStagedWgsl, OUTPUT_CHANNELS, stagedOutputFits, stagedStateFits, stateChannels } from './mamba1-scan-staged.wgsl.js';
import type { DtSource, M1Source } from './family-scans.wgsl.js';
import { dtSourceKey, M1_PLAIN, m1SourceKey, m1ChunkOutputWgsl, m1ChunkStateWgsl, m1StatePassWgsl, m2ChunkOutputWgsl, m2ChunkStateWgsl, m2DtWgsl, m2StatePassWgsl, NB } from './family-scans.wgsl.js';

/*
 * Prefill scans of the Mamba-1 and Mamba-2 mixers, chunked: chunk states, state pass, chunk
 * outputs (family-scans.wgsl.ts). Mamba-1's chunk passes stage a chunk's shared inputs in
 * workgroup memory where N and the chunk fit (mamba1-scan-staged.wgsl.ts). Mamba-2's SSD runs on
 * Mamba-3's vec4 kernels when P and N are multiples of 4 (`ssdOnTiledScan`), else on the scalar
 * ones here, which first take Δ and its decay per position and head. The chunk length is the
 * kernel's (the result does not depend on it beyond rounding): CHUNK positions, doubled while the
 * chunk states would outgrow one binding. The mixers' prefill cores (mamba1ChunkCore,
 * mamba2ChunkCore) run the same kernels on their inputs in place: in_proj's and x_proj's rows, A_log.
 */

/** Positions per chunk: (L / 32) · rows threads in the output pass, 32 recurrence steps each. */
const CHUNK = 32;

/** f32 bits as u32, for the uniform (which holds u32 words). */
function bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

/** Mamba-2's dt limit as the two u32 words its kernels' uniforms hold (an infinite upper bound as f32's largest). */
export function dtLimitWords(limit: readonly [number, number]): [number, number] {
  return [bits(limit[0]), bits(Number.isFinite(limit[1]) ? limit[1] : 3.4e38)];
}

/** Chunk length and count for `stateFloats` state elements per chunk (all rows, all batches). */
function chunking(rt: Runtime, L: number, stateFloats: number): { T: number; nc: number } {
  const max = Math.min(rt.limits.maxStorageBufferBindingSize, rt.limits.maxBufferSize);
  let T = Math.min(CHUNK, L);
  while (T < L && Math.ceil(L / T) * stateFloats * 4 > max) T *= 2;
  return { T, nc: Math.ceil(L / T) };
}

export function mamba1ScanKernel(gpu: WebGPUBackend, i: KernelInputs<SelectiveScanInputs>): KernelOutputs<SelectiveScanResult> | null {
  const [u, delta, A, B, C, D, z, deltaBias] = [i.u, i.delta, i.A, i.B, i.C, i.D, i.z, i.deltaBias].map(buf);
  return m1Scan(gpu, 'mamba1SelectiveScan', i.u, i.A.shape[1], { u, delta, A, B, C, D, z, deltaBias, h0: i.h0 ? buf(i.h0) : null }, M1_PLAIN);
}

/** `mamba1ChunkCore`: the same kernels reading B, C and z in place and A from A_log (`M1Source`). */
export function mamba1ChunkCoreKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba1ChunkCoreInputs>, attrs: Mamba1ChunkCoreAttrs): KernelOutputs<Mamba1ChunkCoreResult> | null {
  const [, , E, N] = mamba1CoreSizes(i);
  const [xz, dbc] = [buf(i.xz), buf(i.dbc)];
  const src: M1Source = { bc: { stride: attrs.dtRank + 2 * N, B: attrs.dtRank, C: attrs.dtRank + N }, z: { stride: 2 * E, offset: E }, aLog: true };
  const [u, delta, A, D, deltaBias] = [i.x, i.delta, i.ALog, i.D, i.deltaBias].map(buf);
  return m1Scan(gpu, 'mamba1ChunkCore', i.x, N, { u, delta, A, B: dbc, C: dbc, D, z: xz, deltaBias, h0: i.h0 ? buf(i.h0) : null }, src);
}

/** Mamba-1's three chunk passes over `bufs` (u [b, L, E]; the rest where `src` says), for the fused op `op`. */
function m1Scan(gpu: WebGPUBackend, op: string, uT: KernelTensor, N: number, bufs: Record<'u' | 'delta' | 'A' | 'B' | 'C' | 'D' | 'z' | 'deltaBias', GPUBuffer> & { h0: GPUBuffer | null }, src: M1Source): KernelOutputs<SelectiveScanResult> | null {
  const [b, L, E] = uT.shape;
  if (L === 0) return null;
  const rt = gpu.runtime;
  const key = m1SourceKey(src);
  const { T, nc } = chunking(rt, L, b * E * N);
  const y: GPUStorage = rt.alloc(op, b * L * E * 4, uT.dtype);
  const state: GPUStorage = rt.alloc(op, b * E * N * 4, uT.dtype);
  const states = rt.alloc(op, b * nc * E * N * 4, 'float32');
  const dsum = rt.alloc(op, b * nc * E * 4, 'float32');
  const dims = rt.uniform([L, E, N, T, nc, bufs.h0 ? 1 : 0, 0, 0]);
  const lanes = Math.ceil((E * N) / 256);
  // The staged chunk states where N and the chunk fit (the scalar kernel otherwise, or when asked: useLegacyScanKernels).
  const staged = !legacyScanKernels(rt) && stagedStateFits(N, T, rt.limits.maxComputeWorkgroupStorageSize);
  const stateInputs = [bufs.u, bufs.delta, bufs.A, bufs.B, bufs.deltaBias, states.buffer, dsum.buffer, dims];
  if (staged) rt.dispatch(`m1chunkState/s${N}/${T}${key}`, () => m1ChunkStateStagedWgsl(N, T, gpu.wgsl, src), stateInputs, [Math.ceil(E / stateChannels(N)), nc, b]);
  else rt.dispatch(`m1chunkState${key}`, () => m1ChunkStateWgsl(src), stateInputs, [lanes, nc, b]);
  // Without h0 its binding holds any buffer (never read: hasH0 is 0).
  rt.dispatch(`m1statePass${key}`, () => m1StatePassWgsl(undefined, src), [bufs.A, dsum.buffer, bufs.h0 ?? bufs.u, states.buffer, state.buffer, dims], [lanes, b]);
  const outInputs = [bufs.u, bufs.delta, bufs.A, bufs.B, bufs.C, bufs.D, bufs.z, bufs.deltaBias, states.buffer, y.buffer, dims];
  if (!legacyScanKernels(rt) && stagedOutputFits(N, T, rt.limits.maxComputeWorkgroupStorageSize)) {
    rt.dispatch(`m1chunkOutput/s${N}/${T}${key}`, () => m1ChunkOutputStagedWgsl(N, T, src), outInputs, [Math.ceil(E / OUTPUT_CHANNELS), nc, b]);
  } else {
    const blocks = Math.ceil(N / NB);
    rt.dispatch(`m1chunkOutput/${blocks}${key}`, () => m1ChunkOutputWgsl(blocks, src), outInputs, [Math.ceil(E / 64), nc, b]);
  }
  rt.release(states);
  rt.release(dsum);
  return { y, state };
}

/** The uniform of Mamba-2's kernels (M2_DIMS), with the scalar kernels' chunking. */
function m2Dims(rt: Runtime, [b, L, H, P, N, G]: readonly number[], dtLimit: readonly [number, number], perChannelD: boolean, hasH0: boolean): { T: number; nc: number; dims: GPUBuffer } {
  const { T, nc } = chunking(rt, L, b * H * P * N);
  return { T, nc, dims: rt.uniform([L, H, P, N, G, ...dtLimitWords(dtLimit), +perChannelD, +hasH0, T, nc, b]) };
}

export function mamba2ScanKernel(gpu: WebGPUBackend, i: KernelInputs<SsdInputs>, attrs: SsdAttrs): KernelOutputs<SsdResult> | null {
  const [b, L, H, P] = i.x.shape;
  const [G, N] = i.B.shape.slice(2);
  if (L === 0) return null;
  const rt = gpu.runtime;
  const op = 'mamba2SsdChunked';
  const { T, nc, dims } = m2Dims(rt, [b, L, H, P, N, G], attrs.dtLimit, i.D.size !== H, !!i.h0);
  if (tiledScan(rt, P, N) && H % G === 0) {
    const [x, dt, A, B, C, D, dtBias] = [i.x, i.dt, i.A, i.B, i.C, i.D, i.dtBias].map(buf);
    const s: TiledSsd = { x, B, C, D, dt, A, dtBias, h0: i.h0 ? buf(i.h0) : null, dtSource: { rows: null, aLog: false }, perChannelD: i.D.size !== H, z: null };
    return ssdOnTiledScan(gpu, op, s, b, L, H, P, N, G, dims);
  }
  const y: GPUStorage = rt.alloc(op, b * L * H * P * 4, i.x.dtype);
  const state: GPUStorage = rt.alloc(op, b * H * P * N * 4, i.x.dtype);
  const states = rt.alloc(op, b * H * nc * P * N * 4, 'float32');
  const dsum = rt.alloc(op, b * H * nc * 4, 'float32');
  const [x, dt, A, B, C, D, dtBias] = [i.x, i.dt, i.A, i.B, i.C, i.D, i.dtBias].map(buf);
  // Δ and its decay once per (position, head), not once per state element.
  const dts = rt.alloc(op, b * L * H * 4, 'float32');
  const das = rt.alloc(op, b * L * H * 4, 'float32');
  rt.dispatch('m2dt', () => m2DtWgsl(), [dt, A, dtBias, dts.buffer, das.buffer, dims], rt.grid(Math.ceil((b * L * H) / 256)));
  const lanes = Math.ceil((P * N) / 256);
  rt.dispatch('m2chunkState', m2ChunkStateWgsl, [x, dts.buffer, das.buffer, B, states.buffer, dsum.buffer, dims], [lanes, nc, b * H]);
  rt.dispatch('m2statePass', m2StatePassWgsl, [A, dsum.buffer, i.h0 ? buf(i.h0) : x, states.buffer, state.buffer, dims], [lanes, b * H]);
  const blocks = Math.ceil(N / NB);
  rt.dispatch(`m2chunkOutput/${blocks}`, () => m2ChunkOutputWgsl(blocks), [x, dts.buffer, das.buffer, B, C, D, states.buffer, y.buffer, dims], [Math.ceil(P / 64), nc, b * H]);
  for (const t of [states, dsum, dts, das]) rt.release(t);
  return { y, state };
}

/** The SSD's buffers on the vec4 kernels: dt as `dtSource` says, D (and z when gated) in the chunk outputs' writes. */
interface TiledSsd {
  x: GPUBuffer;
  B: GPUBuffer;
  C: GPUBuffer;
  D: GPUBuffer;
  dt: GPUBuffer;
  A: GPUBuffer;
  dtBias: GPUBuffer;
  h0: GPUBuffer | null;
  dtSource: DtSource;
  perChannelD: boolean;
  /** zxbcdt and z's place in its rows, for the gate y·silu(z); null: no gate. */
  z: { zxbcdt: GPUBuffer; stride: number; offset: number } | null;
}

/**
 * The SSD on Mamba-3's vec4 chunk kernels (mamba3-scan-tiled.wgsl.ts): Mamba-2's recurrence
 * h_t = exp(Δ_t·A)·h_{t-1} + Δ_t·x_t ⊗ B_t, y_t = C_t·h_t is the exponential-trapezoid one with
 * λ = 1 (both trapezoid weights become Δ_t). B and C stay per group; D (and the gate) ride in the
 * chunk outputs' writes. H200, 130M Mamba-2 (BENCHMARKS, issue 16, seventh session): the scalar
 * kernels above took most of an 8192-token prefill.
 */
function ssdOnTiledScan(gpu: WebGPUBackend, op: string, s: TiledSsd, b: number, L: number, H: number, P: number, N: number, G: number, dims: GPUBuffer): KernelOutputs<SsdResult> {
  const rt = gpu.runtime;
  const scalars = [0, 1, 2].map(() => rt.alloc(op, b * L * H * 4, 'float32'));
  const [dts, adt, trap] = scalars;
  rt.dispatch(`m2dt/t${dtSourceKey(s.dtSource)}`, () => m2DtWgsl(true, s.dtSource), [s.dt, s.A, s.dtBias, dts.buffer, adt.buffer, trap.buffer, dims], rt.grid(Math.ceil((b * L * H) / 256)));
  const d = scanDims(b, L, 1, H, P, N);
  const skip = { form: { perChannel: s.perChannelD, z: s.z ? { stride: s.z.stride, offset: s.z.offset } : null }, D: s.D, zxbcdt: s.z?.zxbcdt ?? null };
  const r = chunkScanCore(rt, gpu.wgsl, op, d, { x: s.x, B: s.B, C: s.C, adt: adt.buffer, dt: dts.buffer, trap: trap.buffer, bcGroups: G, skip, ...(s.h0 ? { initialSsm: s.h0 } : {}) });
  for (const t of scalars) rt.release(t);
  return { y: r.y, state: r.finalSsm };
}

/** `mamba2ChunkCore` on the vec4 kernels; null (the composite) where they do not apply. */
export function mamba2ChunkCoreKernel(gpu: WebGPUBackend, i: KernelInputs<Mamba2ChunkCoreInputs>, attrs: Mamba2ChunkCoreAttrs): KernelOutputs<Mamba2ChunkCoreResult> | null {
  const [b, L, H, P, G, N] = mamba2CoreSizes(i, attrs);
  const rt = gpu.runtime;
  if (L === 0 || !tiledScan(rt, P, N)) return null;
  const stride = i.zxbcdt.shape[2];
  const perChannelD = i.D.size !== H;
  const { dims } = m2Dims(rt, [b, L, H, P, N, G], attrs.dtLimit, perChannelD, !!i.h0);
  const zxbcdt = buf(i.zxbcdt);
  const [x, B, C, D, A, dtBias] = [i.x, i.B, i.C, i.D, i.ALog, i.dtBias].map(buf);
  const s: TiledSsd = {
    x, B, C, D, A, dtBias, dt: zxbcdt, h0: i.h0 ? buf(i.h0) : null, perChannelD,
    dtSource: { rows: { stride, offset: stride - H }, aLog: true },
    z: attrs.gate ? { zxbcdt, stride, offset: 2 * attrs.dMlp } : null,
  };
  return ssdOnTiledScan(gpu, 'mamba2ChunkCore', s, b, L, H, P, N, G, dims);
}
