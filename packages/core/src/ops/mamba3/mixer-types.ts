import type { Tensor } from '@mamba3/tensor';

/*
 * The Mamba-3 mixer between its two projections, as one fused op. Shapes:
 *   b batch, L sequence length, H nheads, P headdim, N dState, G ngroups, R mimoRank (1 for SISO),
 *   A numRopeAngles, dInner = H·P,
 *   dInProj = 2·dInner + 2·N·G·R + 3·H + A   (in_proj output: the layout is defined once, in layout.ts).
 */

export interface Mamba3MixerAttrs {
  nheads: number;
  headdim: number;
  dState: number;
  ngroups: number;
  /** R; 1 for SISO. */
  mimoRank: number;
  /** MIMO pairs rotation elements (i, i + N/2); SISO pairs (2i, 2i + 1). MIMO also mixes with mimo_x/z/o. */
  isMimo: boolean;
  /** A = floor(dState·ropeFraction / 2). */
  numRopeAngles: number;
  /** false: no rotation (the real-valued ablation); the angle projection is ignored. */
  complex: boolean;
  AFloor: number;
  isOutprojNorm: boolean;
  chunkSize: number;
  /** RMSNorm epsilon of B_norm, C_norm and the output norm (official: 1e-5). */
  eps: number;
}

/** Parameters under their official meaning (names: `dt_bias`, `B_bias`, ... in the module). */
export interface Mamba3MixerParams {
  /** [H] */
  dtBias: Tensor;
  /** [H, R, N] */
  BBias: Tensor;
  /** [H, R, N] */
  CBias: Tensor;
  /** [N] */
  BNormWeight: Tensor;
  /** [N] */
  CNormWeight: Tensor;
  /** [H] */
  D: Tensor;
  /** [H, R, P], MIMO only */
  mimoX?: Tensor;
  /** [H, R, P], MIMO only */
  mimoZ?: Tensor;
  /** [H, R, P], MIMO only */
  mimoO?: Tensor;
  /** [dInner], with isOutprojNorm only */
  normWeight?: Tensor;
}

/** The decode cache, with the official shapes. */
export interface Mamba3MixerState {
  /** Accumulated rotation angles θ: [b, H, A] */
  angle: Tensor;
  /** SSM state S: [b, H, P, N] */
  ssm: Tensor;
  /** Last rotated B̃: [b, R, H, N] */
  k: Tensor;
  /** Last raw x: [b, H, P] */
  v: Tensor;
}

export interface Mamba3MixerResult {
  /** [b, L, dInner] (chunked) or [b, dInner] (step): the input of out_proj */
  y: Tensor;
  state: Mamba3MixerState;
}

export const MIXER_PARAM_KEYS = ['dtBias', 'BBias', 'CBias', 'BNormWeight', 'CNormWeight', 'D', 'mimoX', 'mimoZ', 'mimoO', 'normWeight'] as const;
export const MIXER_STATE_KEYS = ['angle', 'ssm', 'k', 'v'] as const;
