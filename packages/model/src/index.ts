/**
 * @mamba3/model: `MambaLMHeadModel` (Mamba-1, Mamba-2 or Mamba-3 mixers, attention layers,
 * GatedMLPs), official weights in and out, and
 * generation (sampling, streaming, stop tokens/strings, AbortSignal, batches).
 */
import './kernels/index.js';
export type { MambaConfig, MambaConfigInput, SsmConfig, SsmLayer, SsmOptions, AttnConfig } from './config.js';
export { MAMBA_CONFIG_DEFAULTS, resolveMambaConfig, fromConfigJson, toConfigJson, paddedVocabSize, mlpHidden, mixerOptions, attnOptions, ssmLayer } from './config.js';
export type { LayerKind, LayerSpec, StateOptions } from './blocks.js';
export { layerSpecs } from './blocks.js';
export { lmParamShapes, initLmParams } from './weights.js';
export type { LmParams, LmWeights } from './forward.js';
export { organise, lmSequence, lmStep, lmStepLogits, lmLogits } from './forward.js';
export type { TokenIds, CreateModelOptions } from './model.js';
export { MambaLMHeadModel, MambaInferenceCache, DEFAULT_MAX_SEQLEN } from './model.js';
export type { SamplingOptions } from './sampling.js';
export { sampleToken, checkSampling, sampleByInverseCdf, sampleByInverseCdfComposite, sampleByInverseCdfEmbed, sampleByInverseCdfEmbedComposite, float32Draw } from './sampling.js';
export { lmHeadArgmax, lmHeadArgmaxComposite, lmHeadArgmaxEmbed, lmHeadArgmaxEmbedComposite } from './head-pick.js';
export type { GenerationTokenizer, GenerateOptions, GenerationChunk, GenerationResult, SequenceResult, FinishReason } from './generate.js';
export { generate, generateText, checkGenerateOptions } from './generate.js';
export type { PrefillProgress, PrefillOptions } from './prefill.js';
export { prefillInSlices, prefillSliceLength, MAX_PREFILL_SLICE, yieldToEventLoop } from './prefill.js';
export { NonFiniteLogitsError, ShardIndexError, shardFiles } from './errors.js';
export type { PretrainedSource, WeightsSource, LoadOptions, LoadProgress } from './loading.js';
export { fromPretrained } from './loading.js';
export type { Layout } from './layouts.js';
export { detectLayout, parseConfigText, hfToOfficialConfig, officialToHfConfig, toOfficialConfig, officialName, layoutName } from './layouts.js';
export type { Checkpoint, CheckpointWeight } from './checkpoint.js';
export { openCheckpoint, WEIGHT_FILES, TOKENIZER_FILES } from './checkpoint.js';
export type { CheckpointFiles, FileProgress } from './checkpoint-files.js';
export { filesFromList, filesFromRecord, filesFromUrl, filesFromDirectory, RANGED_URL_BYTES } from './checkpoint-files.js';
export type { CheckpointSource, LoadPretrainedOptions, Pretrained, PretrainedProgress } from './pretrained.js';
export { loadPretrained, checkpointFiles, loadCheckpointWeights } from './pretrained.js';
export type { WeightDType } from './upload.js';
export { uploadWeight, checkWeightDType, WEIGHT_DTYPES } from './upload.js';
export type { ConvertOptions, ConvertedCheckpoint } from './convert.js';
export { convertCheckpoint } from './convert.js';
