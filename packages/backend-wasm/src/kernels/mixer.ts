import type { KernelTensor } from '@mamba3/tensor';
import type { WasmContext, WasmStorage } from '../context.js';

/** The fused mixer's outputs: y and the four cache tensors. */
export interface MixerOutputs {
  y: WasmStorage;
  angle: WasmStorage;
  ssm: WasmStorage;
  k: WasmStorage;
  v: WasmStorage;
}

/** The mixer's attributes the kernel reads (the contract: @mamba3/core's ops/mamba3/mixer-types.ts). */
export interface MixerKernelAttrs {
  nheads: number;
  headdim: number;
  dState: number;
  ngroups: number;
  mimoRank: number;
  isMimo: boolean;
  numRopeAngles: number;
  complex: boolean;
  AFloor: number;
  isOutprojNorm: boolean;
  eps: number;
}

/** Parameters by their official meaning (dtBias, BBias, ..., mimoX/Z/O and normWeight when present). */
export type MixerKernelParams = { readonly [K in (typeof PARAM_ORDER)[number]]?: KernelTensor };

/** The decode cache. */
export interface MixerKernelState {
  angle: KernelTensor;
  ssm: KernelTensor;
  k: KernelTensor;
  v: KernelTensor;
}

/** Word order of the parameter block assembly/mixer.ts reads (one definition on each side). */
const PARAM_ORDER = ['dtBias', 'BBias', 'CBias', 'BNormWeight', 'CNormWeight', 'D', 'mimoX', 'mimoZ', 'mimoO', 'normWeight'] as const;
const STATE_ORDER = ['angle', 'ssm', 'k', 'v'] as const;
const BLOCK_WORDS = 33;

/**
 * The Mamba-3 mixer over zxbcdt [b, L, dInProj] (a step is L = 1) in one wasm kernel
 * (assembly/mixer.ts): y [b, L, H·P] and the cache after the last position.
 */
export function mamba3Mixer(
  ctx: WasmContext,
  zxbcdt: KernelTensor,
  L: number,
  params: MixerKernelParams,
  state: MixerKernelState | null,
  a: MixerKernelAttrs,
): MixerOutputs {
  const b = zxbcdt.shape[0];
  const { nheads: H, headdim: P, dState: N, ngroups: G, mimoRank: R, numRopeAngles: A } = a;
  const out: MixerOutputs = {
    y: ctx.alloc(b * L * H * P),
    angle: ctx.alloc(b * H * A),
    ssm: ctx.alloc(b * H * P * N),
    k: ctx.alloc(b * R * H * N),
    v: ctx.alloc(b * H * P),
  };
  const per = 3 * R * N + 3 * R * P + 3 * (Math.ceil(A / 4) * 4);
  const scratch = ctx.scratchPtr('mixer.threads', ctx.pool.threads * per * 4);
  const ptr = (t: KernelTensor | undefined): number => (t ? ctx.ptr(t) : 0);
  // Pointers first (unpacking a 16-bit parameter may grow the memory), then the block.
  const paramPtrs = PARAM_ORDER.map((k) => ptr(params[k]));
  const statePtrs = STATE_ORDER.map((k) => (state ? ctx.ptr(state[k]) : 0));
  const input = ctx.ptr(zxbcdt);
  const blk = ctx.paramBlock('mixer.block', BLOCK_WORDS, (words, floats) => {
    paramPtrs.forEach((p, i) => (words[i] = p));
    statePtrs.forEach((p, i) => (words[10 + i] = p));
    [out.y, out.angle, out.ssm, out.k, out.v].forEach((s, i) => (words[14 + i] = s.ptr));
    [b, L, H, P, N, G, R, A, a.isMimo ? 1 : 0, a.complex ? 1 : 0, a.isOutprojNorm ? 1 : 0].forEach((v, i) => (words[19 + i] = v));
    floats[30] = a.AFloor;
    floats[31] = a.eps;
    words[32] = scratch;
  });
  // State elements touched: a small model's decode step stays on one thread (waking one costs more).
  ctx.run('mamba3Mixer', [input, blk], (b * L * H * P * N * R) / 4);
  return out;
}
