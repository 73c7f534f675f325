import type { Tensor } from '@mamba3/tensor';
import { abs, argMax, ArgumentError, defineFusedOp, fusedLinear, gather, less, maximum, sliceAxis, sum, where } from '@mamba3/tensor';

export type HeadArgmaxInputs = { hidden: Tensor; weight: Tensor; normWeight: Tensor };
export type HeadArgmaxAttrs = { eps: number; vocab: number };
export type HeadArgmaxOutputs = { ids: Tensor };

/** `lmHeadArgmax`'s checks: its inputs' shapes and the vocabulary; the ids' shape [rows]. */
function checkHeadArgmax({ hidden, weight, normWeight }: HeadArgmaxInputs, { vocab }: HeadArgmaxAttrs): { ids: number[] } {
  const d = hidden.shape[hidden.rank - 1];
  if (hidden.rank !== 2 || weight.rank !== 2 || weight.shape[1] !== d || normWeight.rank !== 1 || normWeight.shape[0] !== d) {
    throw new ArgumentError(`lmHeadArgmax: want hidden [rows, d], weight [V, d] and normWeight [d], got [${hidden.shape}], [${weight.shape}] and [${normWeight.shape}]`);
  }
  if (!Number.isInteger(vocab) || vocab < 1 || vocab > weight.shape[0]) throw new ArgumentError(`lmHeadArgmax: vocab must be an integer in [1, ${weight.shape[0]}] (the head's rows), got ${vocab}`);
  return { ids: [hidden.shape[0]] };
}

/**
 * The greedy pick through the LM head: hidden [rows, d], the head's weight [V, d] (the padded
 * vocabulary) and norm_f's weight [d] -> ids [rows] (int32), the argmax of
 * rmsNorm(hidden)·Wᵀ over the first `vocab` logits (the first id of the largest), or -1 for a row
 * whose first `vocab` logits hold a NaN or an infinity (a greedy pick there means nothing;
 * `generate` stops with a NonFiniteLogitsError). A fused op: WebGPU folds the argmax's first pass
 * into the head's GEMV (kernels/webgpu/head-argmax.wgsl.ts), a greedy decode step's dispatch
 * fewer, and leaves out the padded columns without a copy; other backends run this composite.
 */
const headArgmaxOp = defineFusedOp<HeadArgmaxInputs, HeadArgmaxAttrs, HeadArgmaxOutputs>({
  name: 'lmHeadArgmax',
  inputNames: ['hidden', 'weight', 'normWeight'],
  outputNames: ['ids'],
  outputDTypes: { ids: 'int32' },
  check: checkHeadArgmax,
  composite: ({ hidden, weight, normWeight }, { eps, vocab }) => ({ ids: argMaxOfVocab(fusedLinear(hidden, weight, { norm: { weight: normWeight, eps } }), vocab) }),
});

/**
 * The argmax of each row's first `vocab` logits (logits [..., V]; a copy of them only when vocab <
 * V), or -1 where they hold a NaN or infinite logit: where their sum is not finite, the host
 * pick's rule (picking.ts), one reduction.
 */
export function argMaxOfVocab(logits: Tensor, vocab: number): Tensor {
  const real = vocab < logits.shape[logits.rank - 1] ? sliceAxis(logits, -1, 0, vocab) : logits;
  return where(less(abs(sum(real, -1)), Infinity), argMax(real, -1), -1);
}

export type HeadArgmaxEmbedInputs = HeadArgmaxInputs & { embedding: Tensor };
export type HeadArgmaxEmbedOutputs = { ids: Tensor; next: Tensor };

/**
 * `lmHeadArgmax` and the picked ids' rows of the embedding [V', e]: ids [rows] (int32) and next
 * [rows, e], the input of a greedy decode step after this one. A fused op: on WebGPU the pick
 * writes the rows itself (kernels/webgpu/head-argmax.ts), so a step graph's run starts at its
 * first layer, a dispatch fewer than with the embedding's gather.
 */
const headArgmaxEmbedOp = defineFusedOp<HeadArgmaxEmbedInputs, HeadArgmaxAttrs, HeadArgmaxEmbedOutputs>({
  name: 'lmHeadArgmaxEmbed',
  inputNames: ['hidden', 'weight', 'normWeight', 'embedding'],
  outputNames: ['ids', 'next'],
  outputDTypes: { ids: 'int32' },
  check: (inputs, attrs) => {
    const { ids } = checkHeadArgmax(inputs, attrs);
    return { ids, next: checkNextRows('lmHeadArgmaxEmbed', inputs.embedding, ids[0], attrs.vocab) };
  },
  // The pick as its own op (its kernel where one is registered), then the gather: the step before.
  composite: ({ hidden, weight, normWeight, embedding }, attrs) => {
    const { ids } = headArgmaxOp({ hidden, weight, normWeight }, attrs);
    return { ids, next: gatherPicked(embedding, ids) };
  },
});

/**
 * The picked ids' rows of the embedding; a -1 (non-finite logits) takes row 0, as no row is right
 * there and the gather would refuse it where it checks indices.
 */
export function gatherPicked(embedding: Tensor, ids: Tensor): Tensor {
  return gather(embedding, maximum(ids, 0), 0);
}

/**
 * The shape of the embedded picks [rows, e] of a pick among `vocab` ids, after checking that the
 * embedding [V', e] (V' ≥ vocab) has a row for every id the pick can give.
 */
export function checkNextRows(op: string, embedding: Tensor, rows: number, vocab: number): number[] {
  if (embedding.rank !== 2 || embedding.shape[0] < vocab) {
    throw new ArgumentError(`${op}: want the embedding [V', e] with a row for each of the ${vocab} ids the pick can give, got [${embedding.shape}]`);
  }
  return [rows, embedding.shape[1]];
}

/** See `headArgmaxOp`. */
export function lmHeadArgmax(hidden: Tensor, weight: Tensor, norm: { weight: Tensor; eps: number }, vocab: number): Tensor {
  return headArgmaxOp({ hidden, weight, normWeight: norm.weight }, { eps: norm.eps, vocab }).ids;
}

/** See `headArgmaxEmbedOp`. */
export function lmHeadArgmaxEmbed(hidden: Tensor, weight: Tensor, norm: { weight: Tensor; eps: number }, vocab: number, embedding: Tensor): { ids: Tensor; next: Tensor } {
  return headArgmaxEmbedOp({ hidden, weight, normWeight: norm.weight, embedding }, { eps: norm.eps, vocab });
}

/** The composite of `lmHeadArgmaxEmbed` whatever kernels are registered. */
export function lmHeadArgmaxEmbedComposite(hidden: Tensor, weight: Tensor, norm: { weight: Tensor; eps: number }, vocab: number, embedding: Tensor): { ids: Tensor; next: Tensor } {
  return headArgmaxEmbedOp.composite({ hidden, weight, normWeight: norm.weight, embedding }, { eps: norm.eps, vocab });
}

/** The composite of `lmHeadArgmax` whatever kernels are registered (the reference its kernels are tested against). */
export function lmHeadArgmaxComposite(hidden: Tensor, weight: Tensor, norm: { weight: Tensor; eps: number }, vocab: number): Tensor {
  return headArgmaxOp.composite({ hidden, weight, normWeight: norm.weight }, { eps: norm.eps, vocab }).ids;
}
