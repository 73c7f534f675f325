import type { KernelInputs, KernelTensor, Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerState } from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import { f32Lit } from '../codegen.js';
import type { GPUStorage, Runtime } from '../runtime.js';
import type { MixerDims, ParamLayout } from './mamba3-mixer.wgsl.js';
import { mixerStepWgsl } from './mamba3-mixer.wgsl.js';
import { buf } from './util.js';

/** What the fused mixer kernels return (the backend interface's MixerKernelOutputs). */
export interface MixerStorages {
  y: GPUStorage;
  angle: GPUStorage;
  ssm: GPUStorage;
  k: GPUStorage;
  v: GPUStorage;
}

const PARAM_ORDER = ['dtBias', 'BBias', 'CBias', 'BNormWeight', 'CNormWeight', 'D', 'mimoX', 'mimoZ', 'mimoO', 'normWeight'] as const;

interface Packed {
  sources: (GPUStorage | null)[];
  buffer: GPUBuffer;
  layout: ParamLayout;
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
  PARAM_ORDER.forEach((k) => {
    const t = p[k] as KernelTensor | undefined;
    layout[k] = t ? total : -1;
    total += t ? t.size : 0;
  });
  const buffer = rt.createCacheBuffer('mamba3MixerStep', total * 4);
  for (const k of PARAM_ORDER) {
    const t = p[k] as KernelTensor | undefined;
    if (t && t.size) rt.copy(buf(t), buffer, layout[k] * 4, t.size * 4);
  }
  const packed: Packed = { sources, buffer, layout };
  for (const s of sources) if (s) cache.set(s, packed);
  return packed;
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
  rt: Runtime,
  zxbcdt: KernelTensor,
  params: KernelInputs<Mamba3MixerParams>,
  state: KernelInputs<Mamba3MixerState>,
  attrs: Mamba3MixerAttrs,
): MixerStorages {
  const op = 'mamba3MixerStep';
  const d = mixerDims(attrs);
  const b = zxbcdt.shape[0];
  const { H, P, N, R, A } = d;
  const shared = 4 * (3 * R * N + 3 * R * P + Math.max(2 * R * 256, R * P * 8) + 2 * R);
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
  const key = `m3mixerStep/${JSON.stringify(d)}/${Object.values(l).join(',')}`;
  rt.dispatch(
    key,
    () => mixerStepWgsl(d, l, f32Lit),
    [buf(zxbcdt), packed.buffer, buf(state.angle), buf(state.ssm), buf(state.k), buf(state.v), out.y.buffer, out.angle.buffer, out.ssm.buffer, out.k.buffer, out.v.buffer],
    [H, b],
  );
  return out;
}
