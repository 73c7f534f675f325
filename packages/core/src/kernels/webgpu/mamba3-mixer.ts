import type { GPUStorage, Runtime, WebGPUBackend } from '@mamba3/backend-webgpu';
import type { KernelInputs, KernelTensor } from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerState } from '../../ops/mamba3/mixer-types.js';
import { MIXER_PARAM_KEYS } from '../../ops/mamba3/mixer-types.js';
import type { MixerDims, ParamLayout } from './mamba3-mixer.wgsl.js';
import { mixerStepWgsl, stepSharedBytes, stepSlices } from './mamba3-mixer-step.wgsl.js';
import { ANGLE_CHUNK, mixerAngleScanWgsl, mixerAngleSumsWgsl, mixerPostWgsl, mixerPrepWgsl, mixerSections } from './mamba3-mixer.wgsl.js';
import type { BCSource } from './mamba3-scan.js';
import { buf, chunkScanCore, scanDims, tiledScan } from './mamba3-scan.js';

/** What the fused mixer kernels return (the backend interface's MixerKernelOutputs). */
export interface MixerStorages {
  y: GPUStorage;
  angle: GPUStorage;
  ssm: GPUStorage;
  k: GPUStorage;
  v: GPUStorage;
}

const PARAM_ORDER = MIXER_PARAM_KEYS;

interface Packed {
  sources: (GPUStorage | null)[];
  buffer: GPUBuffer;
  layout: ParamLayout;
  /** The layout as a pipeline-key fragment, built once. */
  layoutKey: string;
}

/**
 * A layer's parameter tensors copied once into one buffer: the step kernel then needs 11
 * bindings instead of 21 (lavapipe allows 16 storage buffers per stage). Cached per parameter
 * set (tensors are immutable; new weights are new storages) and dropped when any of its source
 * tensors is released.
 */
const caches = new WeakMap<Runtime, Map<GPUStorage, Packed>>();

function cacheOf(rt: Runtime): Map<GPUStorage, Packed> {
  let cache = caches.get(rt);
  if (!cache) {
    const c = new Map<GPUStorage, Packed>();
    rt.onRelease((s) => {
      const hit = c.get(s);
      if (!hit) return;
      for (const src of hit.sources) if (src && c.get(src) === hit) c.delete(src);
      rt.destroyCacheBuffer(hit.buffer);
    });
    caches.set(rt, (cache = c));
  }
  return cache;
}

function packParams(rt: Runtime, p: KernelInputs<Mamba3MixerParams>): Packed {
  const sources = PARAM_ORDER.map((k) => (p[k] ? (p[k]!.storage as GPUStorage) : null));
  const cache = cacheOf(rt);
  const hit = cache.get(sources[0]!);
  if (hit && hit.sources.every((s, i) => s === sources[i])) return hit;
  const layout = {} as Record<(typeof PARAM_ORDER)[number], number>;
  let total = 0;
  // Each parameter starts on a vec4 boundary: the chunk scan kernels read the norm weights and
  // biases as vec4 when they form B̃ and C̃ (BCRows).
  PARAM_ORDER.forEach((k) => {
    const t = p[k] as KernelTensor | undefined;
    layout[k] = t ? total : -1;
    total += t ? Math.ceil(t.size / 4) * 4 : 0;
  });
  const buffer = rt.createCacheBuffer('mamba3MixerStep', total * 4);
  for (const k of PARAM_ORDER) {
    const t = p[k] as KernelTensor | undefined;
    // Not recorded: a step graph captured now would re-pack the parameters on every replay.
    if (t && t.size) rt.copy(buf(t), buffer, layout[k] * 4, t.size * 4, 0, { record: false });
  }
  const packed: Packed = { sources, buffer, layout, layoutKey: PARAM_ORDER.map((k) => layout[k]).join(',') };
  for (const s of sources) if (s) cache.set(s, packed);
  return packed;
}

/** Runtimes told to store B̃ and C̃ from the prep kernel (see `useStoredBC`). */
const storedBC = new WeakSet<Runtime>();

/**
 * Makes `backend`'s chunked mixer store B̃ and C̃ [b·L, R, H, N] from its prep kernel for the scan
 * to read, as before the vec4 kernels formed them from zxbcdt's rows (the results are the same
 * bits); for side-by-side timings.
 */
export function useStoredBC(backend: WebGPUBackend): void {
  storedBC.add(backend.runtime);
}

/**
 * Whether the prep kernel stores B̃ and C̃ for the vec4 scan kernels instead of their forming
 * them from zxbcdt's rows: when told to (`useStoredBC`), and for rotated MIMO, whose pairs (j,
 * j + N/2) make every vec4 read its partner's row and take 4 cos and 4 sin. On an H200 (130M
 * MIMO r4, 8192 tokens, tools/gpu/bc-source.sh) forming them took m3chunkOutput from 28.7 to 41.6
 * GPU ms and the prefill from 127.0 to 132.3; for SISO (pairs within a vec4) forming them saves
 * 0.6 ms of 73.9.
 */
function storeBC(rt: Runtime, d: MixerDims, rotated: boolean): boolean {
  return storedBC.has(rt) || (rotated && d.isMimo);
}

/** Everything the mixer kernels bake in, as a pipeline-key fragment (cheap: runs every decode step). */
function dimsKey(d: MixerDims): string {
  return `${d.H}/${d.P}/${d.N}/${d.G}/${d.R}/${d.A}/${+d.isMimo}${+d.complex}${+d.outNorm}/${d.AFloor}/${d.eps}`;
}

export function mixerDims(a: Mamba3MixerAttrs): MixerDims {
  return {
    H: a.nheads,
    P: a.headdim,
    N: a.dState,
    G: a.ngroups,
    R: a.mimoRank,
    A: a.numRopeAngles,
    isMimo: a.isMimo,
    complex: a.complex,
    outNorm: a.isOutprojNorm,
    AFloor: a.AFloor,
    eps: a.eps,
  };
}

/** One decode step of the whole mixer, one dispatch. */
export function mamba3MixerStep(
  gpu: WebGPUBackend,
  zxbcdt: KernelTensor,
  params: KernelInputs<Mamba3MixerParams>,
  state: KernelInputs<Mamba3MixerState>,
  attrs: Mamba3MixerAttrs,
): MixerStorages {
  const op = 'mamba3MixerStep';
  const rt = gpu.runtime;
  const d = mixerDims(attrs);
  const b = zxbcdt.shape[0];
  const { H, P, N, R, A } = d;
  let slices = stepSlices(P, d.outNorm, H * b);
  // Fewer slices need more workgroup memory: a large batch falls back to the most slices allowed.
  if (stepSharedBytes(d, slices) > rt.limits.maxComputeWorkgroupStorageSize) slices = stepSlices(P, d.outNorm, 0);
  const shared = stepSharedBytes(d, slices);
  if (shared > rt.limits.maxComputeWorkgroupStorageSize) {
    throw new UnsupportedError(`webgpu ${op}: needs ${shared} bytes of workgroup memory (R=${R}, P=${P}, N=${N}); this device allows ${rt.limits.maxComputeWorkgroupStorageSize}`);
  }
  const packed = packParams(rt, params);
  const out: MixerStorages = {
    y: rt.alloc(op, b * H * P * 4, zxbcdt.dtype),
    angle: rt.alloc(op, b * H * A * 4, zxbcdt.dtype),
    ssm: rt.alloc(op, b * H * P * N * 4, zxbcdt.dtype),
    k: rt.alloc(op, b * R * H * N * 4, zxbcdt.dtype),
    v: rt.alloc(op, b * H * P * 4, zxbcdt.dtype),
  };
  const l = packed.layout;
  const sg = rt.subgroupReduce;
  const key = `m3mixerStep/${dimsKey(d)}/${packed.layoutKey}/${slices}${sg ? '/sg' : ''}`;
  rt.dispatch(
    key,
    () => mixerStepWgsl(d, l, gpu.wgsl, slices, sg),
    [buf(zxbcdt), packed.buffer, buf(state.angle), buf(state.ssm), buf(state.k), buf(state.v), out.y.buffer, out.angle.buffer, out.ssm.buffer, out.k.buffer, out.v.buffer],
    [H, b, slices],
  );
  return out;
}

/**
 * The whole mixer over a sequence: angles (a two-pass running sum), a per-position prep kernel,
 * the three-dispatch chunked scan, a per-(position, head) output kernel (for SISO without the
 * output norm, done in the chunk outputs' writes instead); the cache's k is written by the prep, v
 * is a buffer copy of the last position. 7 dispatches (6 for that SISO; +2 for MIMO with a cache)
 * instead of the composite's ~60. The vec4 scan kernels form x̃ = x ⊙ mimo_x, B̃ and C̃ from
 * zxbcdt themselves (the prep gives them the 1/RMS of each B and C row), and the output kernel
 * forms x̃ too; only the scalar scan kernels get x̃, B̃, C̃ [b, L, R, H, ·] from the prep kernel,
 * and the vec4 ones B̃, C̃ for rotated MIMO (see `storeBC`).
 */
export function mamba3MixerChunked(
  gpu: WebGPUBackend,
  zxbcdt: KernelTensor,
  params: KernelInputs<Mamba3MixerParams>,
  state: KernelInputs<Mamba3MixerState> | null,
  attrs: Mamba3MixerAttrs,
): MixerStorages {
  const op = 'mamba3MixerChunked';
  const rt = gpu.runtime;
  const d = mixerDims(attrs);
  const [b, L] = zxbcdt.shape;
  const { H, P, N, R, A } = d;
  const dIn = zxbcdt.shape[2];
  const packed = packParams(rt, params);
  const l = packed.layout;
  const zx = buf(zxbcdt);
  const tag = `${dimsKey(d)}/${packed.layoutKey}`;
  const seq = rt.uniform([b, L, 0, 0]);
  const angle = rt.alloc(op, b * H * A * 4, 'float32');
  const rot = d.complex && A > 0;
  let theta: GPUStorage | null = null;
  if (rot) {
    theta = rt.alloc(op, b * L * H * A * 4, 'float32');
    const chunks = Math.ceil(L / ANGLE_CHUNK);
    const sums = rt.alloc(op, b * H * chunks * A * 4, 'float32');
    rt.dispatch(`m3mixAngleSums/${tag}`, () => mixerAngleSumsWgsl(d, l, gpu.wgsl), [zx, packed.buffer, sums.buffer, seq], [chunks, b * H]);
    const bindings = [zx, packed.buffer, sums.buffer, theta.buffer, angle.buffer, ...(state ? [buf(state.angle)] : []), seq];
    rt.dispatch(`m3mixAngleScan/${tag}/${+!!state}`, () => mixerAngleScanWgsl(d, l, !!state, gpu.wgsl), bindings, [chunks, b * H]);
    rt.release(sums);
  } else if (state) {
    rt.copy(buf(state.angle), angle.buffer, 0, b * H * A * 4);
  } else {
    rt.clear(angle.buffer, b * H * A * 4);
  }
  const sec = mixerSections(d);
  const positions = b * L;
  const tiled = tiledScan(rt, P, N);
  const bcRows = tiled && !storeBC(rt, d, rot);
  const Bt = bcRows ? null : rt.alloc(op, positions * R * H * N * 4, 'float32');
  const Ct = bcRows ? null : rt.alloc(op, positions * R * H * N * 4, 'float32');
  const rms = bcRows ? rt.alloc(op, positions * R * d.G * 2 * 4, 'float32') : null;
  // x̃ = x ⊙ mimo_x as a tensor only for the scalar scan kernels: the vec4 ones form it from zxbcdt.
  const xt = tiled ? null : rt.alloc(op, positions * R * H * P * 4, 'float32');
  const adt = rt.alloc(op, positions * H * 4, 'float32');
  const dt = rt.alloc(op, positions * H * 4, 'float32');
  const trap = rt.alloc(op, positions * H * 4, 'float32');
  // Cache out: k = B̃ (written by the prep) and v = raw x at each row's last position.
  const k = rt.alloc(op, b * R * H * N * 4, 'float32');
  const bcOuts = Bt && Ct ? [Bt.buffer, Ct.buffer] : [rms!.buffer];
  const prepBindings = [zx, packed.buffer, ...bcOuts, ...(xt ? [xt.buffer] : []), adt.buffer, dt.buffer, trap.buffer, k.buffer, ...(theta ? [theta.buffer] : []), seq];
  const bcMode = bcRows ? 'rows' : 'store';
  // θ stays until the scan is done: with 'rows' the vec4 kernels rotate B̃ and C̃ by it themselves.
  rt.dispatch(`m3mixPrep/${tag}/${+!!xt}${bcMode}`, () => mixerPrepWgsl(d, l, !!xt, bcMode, gpu.wgsl), prepBindings, rt.grid(positions));

  // The cache carried in: ṽ_r = v ⊙ mimo_x[:, r] (a reshape for SISO).
  let initialV: GPUStorage | null = null;
  if (state && d.isMimo) {
    const mimoX = params.mimoX!;
    const mx = gpu.transpose(mimoX, [1, 0, 2], [R, H, P]) as GPUStorage;
    const v4 = { shape: [b, 1, H, P], dtype: 'float32', size: b * H * P, storage: state.v.storage } as const;
    const m4 = { shape: [R, H, P], dtype: 'float32', size: R * H * P, storage: mx } as const;
    initialV = gpu.binary('mul', v4, m4, [b, R, H, P]) as GPUStorage;
    rt.release(mx);
  }
  const foldPost = !!rms && !d.isMimo && !d.outNorm && R === 1;
  const bc: BCSource | null = rms
    ? {
        form: {
          B: sec.OB,
          C: sec.OC,
          weightB: l.BNormWeight,
          weightC: l.CNormWeight,
          biasB: l.BBias,
          biasC: l.CBias,
          G: d.G,
          A,
          rotate: rot,
        },
        prm: packed.buffer,
        rms: rms.buffer,
        theta: theta ? theta.buffer : null,
      }
    : null;
  const scan = chunkScanCore(rt, gpu.wgsl, op, scanDims(b, L, R, H, P, N), {
    C: Ct ? Ct.buffer : null,
    B: Bt ? Bt.buffer : null,
    ...(xt ? { x: xt.buffer } : { x: zx, xRows: { stride: dIn, offset: sec.OX, scale: d.isMimo ? buf(params.mimoX!) : null, bc } }),
    adt: adt.buffer,
    dt: dt.buffer,
    trap: trap.buffer,
    ...(state ? { initialSsm: buf(state.ssm), initialK: buf(state.k), initialV: initialV ? initialV.buffer : buf(state.v) } : {}),
    // SISO without the output norm: the output kernel's work is elementwise, done in the chunk outputs' writes.
    ...(foldPost ? { gate: { z: sec.OZ, D: l.D } } : {}),
  });
  for (const t of [initialV, Bt, Ct, rms, theta, xt, adt, dt, trap]) if (t) rt.release(t);

  let y = scan.y;
  if (!foldPost) {
    y = rt.alloc(op, positions * H * P * 4, 'float32');
    rt.dispatch(`m3mixPost/${tag}`, () => mixerPostWgsl(d, l, gpu.wgsl), [zx, packed.buffer, scan.y.buffer, y.buffer, seq], rt.grid(positions * H));
    rt.release(scan.y);
  }
  const v = rt.alloc(op, b * H * P * 4, 'float32');
  for (let bi = 0; bi < b; bi++) rt.copy(zx, v.buffer, bi * H * P * 4, H * P * 4, ((bi * L + L - 1) * dIn + sec.OX) * 4);
  return { y, angle, ssm: scan.finalSsm, k, v };
}
