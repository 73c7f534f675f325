import type { InitOptions, Mamba3Config, MixerState, StepFusion } from '@mamba3/core';
import {
  initMamba1Params, initMamba2Params, initMamba3Params, initMhaParams, mamba1Forward, mamba1ParamShapes, mamba1StepForward, mamba1ZeroState, mamba2Forward,
  mamba2ParamShapes, mamba2StepForward, mamba2ZeroState, mamba3Forward, mamba3ParamShapes, mamba3StepForward, Mamba3InferenceCache, mhaForward, mhaParamShapes,
  mhaStepForward, mhaZeroState, resolveMamba1Config, resolveMamba2Config, resolveMamba3Config, resolveMhaConfig,
} from '@mamba3/core';
import type { Mamba1State, Mamba2State, MhaState } from '@mamba3/core';
import type { Mamba3MixerState } from '@mamba3/core';
import type { Backend, DType, Tensor } from '@mamba3/tensor';
import type { MambaConfig } from './config.js';
import { attnOptions, mixerOptions } from './config.js';

export type LayerKind = 'Mamba1' | 'Mamba2' | 'Mamba3' | 'MHA';

export interface StateOptions {
  backend: Backend;
  dtype: DType;
  /** Positions an attention layer's KV cache holds. */
  maxSeqlen: number;
}

/**
 * One block's mixer, whatever its kind: its official parameter shapes and init, the sequence
 * forward (continuing from and returning a decode state), the one-token step and a zero state.
 * `forward` without a state returns a state too (SSMs) or null (attention, which has no cache
 * to write without one).
 */
/** The longest prefill slice (prefill.ts reads it too). */
export const MAX_PREFILL_SLICE = 4096;

export interface LayerSpec {
  readonly kind: LayerKind;
  readonly paramShapes: Record<string, number[]>;
  /**
   * What a prefill slice costs: floats per token of the largest intermediate of the sequence
   * forward, and the multiple a slice length must be (its chunk size). Read by prefillSliceLength.
   */
  readonly prefill: { floatsPerToken: number; chunk: number };
  init(opts: InitOptions): Record<string, Tensor>;
  forward(p: Record<string, Tensor>, x: Tensor, state?: MixerState, fuse?: StepFusion): { y: Tensor; state: MixerState | null };
  step(p: Record<string, Tensor>, x: Tensor, state: MixerState, fuse?: StepFusion): { y: Tensor; state: MixerState };
  zeroState(batch: number, opts: StateOptions): MixerState;
}

function mamba3Spec(c: Mamba3Config): LayerSpec {
  return {
    kind: 'Mamba3',
    paramShapes: mamba3ParamShapes(c),
    // in_proj's output, the intra-chunk [C·R, C·R] blocks per head, the chunk states.
    prefill: {
      floatsPerToken: Math.max(c.dInProj, c.nheads * c.chunkSize * c.mimoRank * c.mimoRank, Math.ceil((c.nheads * c.headdim * c.dState) / c.chunkSize), c.nheads * c.dState * c.mimoRank),
      chunk: c.chunkSize,
    },
    init: (o) => initMamba3Params(c, o),
    forward: (p, x, s, fuse) => {
      const r = mamba3Forward(p, c, x, s as unknown as Mamba3MixerState | undefined, fuse);
      return { y: r.y, state: { ...r.state } };
    },
    step: (p, x, s, fuse) => {
      const r = mamba3StepForward(p, c, x, s as unknown as Mamba3MixerState, fuse);
      return { y: r.y, state: { ...r.state } };
    },
    zeroState: (batch, o) => {
      // The Mamba3 cache class allocates; its tensors are handed over as a plain state.
      const cache = Mamba3InferenceCache.zeros(c, batch, o);
      return { ...cache.state() };
    },
  };
}

/** The mixer of every layer (SSM layers share one spec object, attention layers another). */
export function layerSpecs(c: MambaConfig): LayerSpec[] {
  const attn = c.attnLayerIdx.length > 0 ? resolveMhaConfig(attnOptions(c)) : null;
  let ssm: LayerSpec | null = null;
  if (c.attnLayerIdx.length < c.nLayer) {
    const m = mixerOptions(c);
    if (m.layer === 'Mamba1') {
      const mc = resolveMamba1Config(m.options);
      ssm = {
        kind: 'Mamba1',
        paramShapes: mamba1ParamShapes(mc),
        // in_proj's [2·d_inner] per token, or the scan's [d_inner, d_state] state per chunk (the
        // scans keep one per chunk, never one per position).
        prefill: { floatsPerToken: Math.max(2 * mc.dInner, Math.ceil((mc.dInner * mc.dState) / mc.chunkSize)), chunk: mc.chunkSize },
        init: (o) => initMamba1Params(mc, o),
        forward: (p, x, s, fuse) => mamba1Forward(p, mc, x, s as Mamba1State | undefined, fuse),
        step: (p, x, s, fuse) => mamba1StepForward(p, mc, x, s as Mamba1State, fuse),
        zeroState: (batch, o) => mamba1ZeroState(mc, batch, o),
      };
    } else if (m.layer === 'Mamba2') {
      const mc = resolveMamba2Config(m.options);
      ssm = {
        kind: 'Mamba2',
        paramShapes: mamba2ParamShapes(mc),
        // in_proj's output, the intra-chunk [C, C] blocks per head, the chunk states.
        prefill: { floatsPerToken: Math.max(mc.dInProj, mc.nheads * mc.chunkSize, Math.ceil((mc.nheads * mc.headdim * mc.dState) / mc.chunkSize)), chunk: mc.chunkSize },
        init: (o) => initMamba2Params(mc, o),
        forward: (p, x, s, fuse) => mamba2Forward(p, mc, x, s as Mamba2State | undefined, fuse),
        step: (p, x, s, fuse) => mamba2StepForward(p, mc, x, s as Mamba2State, fuse),
        zeroState: (batch, o) => mamba2ZeroState(mc, batch, o),
      };
    } else ssm = mamba3Spec(resolveMamba3Config(m.options));
  }
  const mha: LayerSpec | null = attn && {
    kind: 'MHA',
    paramShapes: mhaParamShapes(attn),
    // Scores of each new token against up to a slice's worth of keys per head.
    prefill: { floatsPerToken: Math.max(attn.qkvDim, attn.numHeads * MAX_PREFILL_SLICE), chunk: 1 },
    init: (o) => initMhaParams(attn, o),
    forward: (p, x, s, fuse) => mhaForward(p, attn, x, s as MhaState | undefined, fuse),
    step: (p, x, s, fuse) => mhaStepForward(p, attn, x, s as MhaState, fuse),
    zeroState: (batch, o) => mhaZeroState(attn, batch, o.maxSeqlen, o),
  };
  return Array.from({ length: c.nLayer }, (_, i) => (c.attnLayerIdx.includes(i) ? (mha as LayerSpec) : (ssm as LayerSpec)));
}
