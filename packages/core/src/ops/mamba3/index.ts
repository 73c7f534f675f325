/*
 * The Mamba-3 fused ops: contracts (types.ts, mixer-types.ts), the in_proj layout (layout.ts),
 * reference composites on @mamba3/tensor's primitives and their gradients (scan.ts, mixer.ts).
 * Kernels per backend: ../../kernels/<backend>/.
 */
export type * from './types.js';
export type { Mamba3MixerAttrs, Mamba3MixerParams, Mamba3MixerState, Mamba3MixerResult } from './mixer-types.js';
export { MIXER_PARAM_KEYS, MIXER_STATE_KEYS } from './mixer-types.js';
export { IN_PROJ_SECTIONS, inProjLayout, dInProjOf } from './layout.js';
export type { InProjLayout, InProjSection, InProjDims } from './layout.js';
export { mamba3ChunkScan, mamba3ChunkScanComposite, mamba3ChunkScanOp, mamba3StepScan, mamba3StepScanComposite, mamba3StepScanOp } from './scan.js';
export {
  mamba3MixerChunked,
  mamba3MixerStep,
  mamba3MixerComposites,
  mamba3MixerChunkedOp,
  mamba3MixerStepOp,
  checkMixerAttrs,
  mixerParamsOf,
  mixerStateOf,
} from './mixer.js';
export type { Mamba3MixerOpInputs, Mamba3MixerOpOutputs } from './mixer.js';
