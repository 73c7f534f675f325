/**
 * @mamba3/model: `MambaLMHeadModel` with Mamba-3 mixers, official weights in and out, and
 * generation (sampling, streaming, stop tokens/strings, AbortSignal, batches).
 */
export type { MambaConfig, MambaConfigInput, SsmConfig } from './config.js';
export { MAMBA_CONFIG_DEFAULTS, resolveMambaConfig, fromConfigJson, toConfigJson, paddedVocabSize, mlpHidden, mixerOptions } from './config.js';
export { lmParamShapes, initLmParams } from './weights.js';
export type { LmParams, LmWeights } from './forward.js';
export { organise, lmSequence, lmStep, lmStepLogits, lmLogits } from './forward.js';
export type { TokenIds, CreateModelOptions } from './model.js';
export { MambaLMHeadModel, MambaInferenceCache } from './model.js';
export type { SamplingOptions } from './sampling.js';
export { sampleToken, checkSampling, sampleByInverseCdf } from './sampling.js';
export type { TokenizerLike, GenerateOptions, GenerationChunk, GenerationResult, SequenceResult, FinishReason } from './generate.js';
export { generate, generateText, checkGenerateOptions } from './generate.js';
export type { PrefillProgress, PrefillOptions } from './prefill.js';
export { prefillInSlices, prefillSliceLength, MAX_PREFILL_SLICE } from './prefill.js';
export { NonFiniteLogitsError, ShardIndexError, shardFiles } from './errors.js';
export type { PretrainedSource, WeightsSource, LoadOptions, LoadProgress } from './loading.js';
export { fromPretrained } from './loading.js';
