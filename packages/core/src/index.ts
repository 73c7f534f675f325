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
