/**
 * @mamba3/core: the Mamba-3 mixer (config, official initialisation and weights, chunked forward,
 * recurrent step, inference cache), its fused ops (src/ops: contracts, the in_proj layout,
 * composites, gradients) with their kernels per backend (src/kernels, registered on import), and
 * the Edifice-style Mamba-3 backbone. Core loads no backend: kernels reach the backend they run on
 * through the object it hands them.
 */
import './kernels/index.js';
export * from './ops/mamba3/index.js';
export type { Mamba3Options, Mamba3Config } from './config.js';
export { MAMBA3_DEFAULTS, resolveMamba3Config, mixerAttrs, fromOfficialOptions, toOfficialOptions } from './config.js';
export type { Mamba3Params, InitOptions } from './params.js';
export { mamba3ParamShapes, initMamba3Params, checkWeights, isNoWeightDecay, linearInit, prefixed, unprefixed } from './params.js';
export { Mamba3, Mamba3InferenceCache, mamba3Forward, mamba3StepForward, mixerParams } from './mixer.js';
export type { StepFusion } from './mixer.js';
export type { FixtureInfo, FixtureMode, RunFixtureOptions, FixtureComparison } from './fixture.js';
export { fixtureInfo, mixerFixtureOptions, relativeL2, tensorRelativeL2, runMixerFixture, compareWithFixture } from './fixture.js';
export type { BackboneOptions, ResolvedBackboneOptions, BackboneForwardOptions } from './backbone.js';
export {
  buildMamba3,
  Mamba3Backbone,
  backboneSequence,
  backboneParamShapes,
  paramCount,
  outputSize,
  recommendedDefaults,
  resolveBackboneOptions,
} from './backbone.js';
export type { MixerState } from './cache.js';
export { MixerCache } from './cache.js';
export { causalConv1d, causalConv1dStep } from './conv.js';
export { useLegacyScanKernels } from './kernels/webgpu/mamba3-scan.js';
export { useStoredBC } from './kernels/webgpu/mamba3-mixer.js';
export type { ConvResult } from './conv.js';
export { causalConv1dSilu, causalConv1dSiluXBC } from './conv-silu.js';
export type { ConvSiluInputs, ConvSiluAttrs, ConvSiluResult, ConvSiluXBCAttrs, ConvSiluXBCResult } from './conv-silu.js';
export type { Mamba1Options, Mamba1Config } from './mamba1/config.js';
export { MAMBA1_DEFAULTS, resolveMamba1Config, mamba1FromOfficial, mamba1ToOfficial } from './mamba1/config.js';
export { mamba1ParamShapes, initMamba1Params } from './mamba1/params.js';
export type { SelectiveScanInputs, SelectiveScanStepInputs, SelectiveScanResult } from './mamba1/scan.js';
export { selectiveScan, selectiveScanStep, mamba1SelectiveScan, mamba1SelectiveScanStep } from './mamba1/scan.js';
export type { Mamba1ConvStepInputs, Mamba1ConvStepResult, Mamba1StepScanInputs, Mamba1StepScanResult } from './mamba1/step.js';
export { mamba1ConvStep, mamba1InProjConv, mamba1StepScan } from './mamba1/step.js';
export type { Mamba1State } from './mamba1/mixer.js';
export { Mamba1, mamba1Forward, mamba1StepForward, mamba1ZeroState } from './mamba1/mixer.js';
export type { Mamba2Options, Mamba2Config } from './mamba2/config.js';
export { MAMBA2_DEFAULTS, resolveMamba2Config, mamba2FromOfficial, mamba2ToOfficial } from './mamba2/config.js';
export { mamba2ParamShapes, initMamba2Params } from './mamba2/params.js';
export type { SsdInputs, SsdStepInputs, SsdAttrs, SsdResult } from './mamba2/ssd.js';
export { ssdChunked, ssdStep, mamba2SsdChunked, mamba2SsdStep } from './mamba2/ssd.js';
export type { Mamba2StepCoreInputs, Mamba2StepCoreAttrs, Mamba2StepCoreResult } from './mamba2/step.js';
export { mamba2StepCore } from './mamba2/step.js';
export type { Mamba1ChunkCoreInputs, Mamba1ChunkCoreAttrs, Mamba1ChunkCoreResult } from './mamba1/chunk-core.js';
export { mamba1ChunkCore } from './mamba1/chunk-core.js';
export type { Mamba2ChunkCoreInputs, Mamba2ChunkCoreAttrs, Mamba2ChunkCoreResult } from './mamba2/chunk-core.js';
export { mamba2ChunkCore } from './mamba2/chunk-core.js';
export type { Mamba2State } from './mamba2/mixer.js';
export { Mamba2, mamba2Forward, mamba2StepForward, mamba2ZeroState } from './mamba2/mixer.js';
export type { MambaBackboneOptions, ResolvedMambaBackboneOptions } from './mamba1/backbone.js';
export {
  buildMamba,
  MambaBackbone,
  mambaBackboneSequence,
  mambaBackboneParamShapes,
  mambaBlockConfig,
  mambaParamCount,
  mambaOutputSize,
  mambaRecommendedDefaults,
  resolveMambaBackboneOptions,
} from './mamba1/backbone.js';
export type { MhaOptions, MhaConfig } from './mha/config.js';
export { MHA_DEFAULTS, resolveMhaConfig, mhaFromOfficial, mhaToOfficial } from './mha/config.js';
export type { MhaState } from './mha/attention.js';
export { mhaParamShapes, initMhaParams, mhaZeroState, mhaForward, mhaStepForward } from './mha/attention.js';
