import type { MixerState, StepFusion } from '@mamba3/core';
import { unprefixed } from '@mamba3/core';
import type { Tensor } from '@mamba3/tensor';
import { add, fusedLinear, gather, linear, mean, mul, rmsNorm, rsqrt, silu, split, square, sub, tidy } from '@mamba3/tensor';
import type { LayerSpec } from './blocks.js';
import { layerSpecs } from './blocks.js';
import type { MambaConfig } from './config.js';
import { argMaxOfVocab, gatherPicked, lmHeadArgmaxEmbed } from './head-pick.js';

/** Model parameters under the official names. */
export type LmParams = Record<string, Tensor>;

/** Parameters reorganised per layer once, so the forward pass does no name lookups. */
export interface LmWeights {
  embedding: Tensor;
  lmHead: Tensor;
  normF: NormWeights;
  layers: {
    spec: LayerSpec;
    norm: NormWeights;
    mixer: Record<string, Tensor>;
    mlp?: { norm2: NormWeights; fc1: Tensor; fc2: Tensor };
  }[];
}

export interface NormWeights {
  weight: Tensor;
  bias?: Tensor;
}

export function organise(params: LmParams, c: MambaConfig): LmWeights {
  const norm = (name: string): NormWeights => ({ weight: params[`${name}.weight`], ...(params[`${name}.bias`] ? { bias: params[`${name}.bias`] } : {}) });
  const specs = layerSpecs(c);
  return {
    embedding: params['backbone.embedding.weight'],
    lmHead: c.tieEmbeddings ? params['backbone.embedding.weight'] : params['lm_head.weight'],
    normF: norm('backbone.norm_f'),
    layers: specs.map((spec, i) => {
      const p = `backbone.layers.${i}.`;
      return {
        spec,
        norm: norm(`${p}norm`),
        mixer: unprefixed(`${p}mixer.`, params),
        ...(c.dIntermediate > 0 ? { mlp: { norm2: norm(`${p}norm2`), fc1: params[`${p}mlp.fc1.weight`], fc2: params[`${p}mlp.fc2.weight`] } } : {}),
      };
    }),
  };
}

function applyNorm(x: Tensor, n: NormWeights, c: MambaConfig): Tensor {
  if (c.rmsNorm) return rmsNorm(x, n.weight, c.normEpsilon);
  const centered = sub(x, mean(x, -1, { keepDims: true }));
  const y = mul(centered, rsqrt(add(mean(square(centered), -1, { keepDims: true }), c.normEpsilon)));
  return add(mul(y, n.weight), n.bias as Tensor);
}

/** The official GatedMLP: fc1 -> (y, gate) -> y·silu(gate) -> fc2. */
function gatedMlp(x: Tensor, fc1: Tensor, fc2: Tensor): Tensor {
  const [y, gate] = split(linear(x, fc1), 2, -1);
  return linear(mul(y, silu(gate)), fc2);
}

type MixerRun = (layer: LmWeights['layers'][number], x: Tensor, state: MixerState | undefined) => { y: Tensor; state: MixerState | null };

/**
 * (add, norm, mixer [, add, norm2, MLP]) per layer on the embedded ids `x` -> add, norm_f. The
 * residual stream is float32, as `residual_in_fp32`. Works on [b, L, d] (sequence) or [b, d] (one
 * step).
 */
function backbone(w: LmWeights, c: MambaConfig, x: Tensor, states: readonly (MixerState | undefined)[], run: MixerRun): { hidden: Tensor; states: (MixerState | null)[] } {
  let h = x;
  let residual: Tensor | null = null;
  const out: (MixerState | null)[] = [];
  w.layers.forEach((layer, i) => {
    residual = residual ? add(h, residual) : h;
    const r = run(layer, applyNorm(residual, layer.norm, c), states[i]);
    out.push(r.state);
    h = r.y;
    if (layer.mlp) {
      residual = add(h, residual);
      h = gatedMlp(applyNorm(residual, layer.mlp.norm2, c), layer.mlp.fc1, layer.mlp.fc2);
    }
  });
  return { hidden: applyNorm(residual ? add(h, residual) : h, w.normF, c), states: out };
}

/**
 * Sequence forward: ids [b, L] -> hidden [b, L, d] (after norm_f) and each layer's decode state.
 * Without `states` attention layers see only this sequence and return a null state. With
 * RMSNorm blocks and no MLPs each block's norm rides in its in_proj and the residual add in its
 * out_proj, as in `lmStepLogits` (one product each on backends with fused kernels; the same
 * values otherwise).
 */
export function lmSequence(w: LmWeights, c: MambaConfig, ids: Tensor, states?: readonly MixerState[]): { hidden: Tensor; states: (MixerState | null)[] } {
  if (!fusesBlocks(w, c)) return tidy(() => backbone(w, c, embed(w, ids), states ?? [], (l, x, s) => l.spec.forward(l.mixer, x, s)));
  return tidy(() => {
    const r = fusedBackbone(w, c, embed(w, ids), (l, x, i, fuse) => l.spec.forward(l.mixer, x, states?.[i], fuse));
    return { hidden: applyNorm(r.residual, w.normF, c), states: r.states };
  });
}

/** Whether a block's norm and residual add can ride in its mixer's projections: RMSNorm blocks, no MLPs. */
function fusesBlocks(w: LmWeights, c: MambaConfig): boolean {
  return c.rmsNorm && !w.layers.some((l) => l.mlp);
}

/** ids [...] -> their rows of the embedding [..., d]. */
export function embed(w: LmWeights, ids: Tensor): Tensor {
  return gather(w.embedding, ids, 0);
}

/**
 * The blocks with their norms and residual adds in the mixers' projections (`fusesBlocks`): each
 * layer's `run` on the embedded ids `x` with the block's fusion; the residual stream after the
 * last layer (before norm_f) and each layer's state.
 */
function fusedBackbone<S extends MixerState | null>(
  w: LmWeights,
  c: MambaConfig,
  x: Tensor,
  run: (layer: LmWeights['layers'][number], x: Tensor, i: number, fuse: StepFusion) => { y: Tensor; state: S },
): { residual: Tensor; states: S[] } {
  let residual = x;
  const states: S[] = [];
  w.layers.forEach((layer, i) => {
    const r = run(layer, residual, i, { norm: { weight: layer.norm.weight, eps: c.normEpsilon }, residual });
    residual = r.y;
    states.push(r.state);
  });
  return { residual, states };
}

/** One decode step: ids [b] -> hidden [b, d] and the next states. */
export function lmStep(w: LmWeights, c: MambaConfig, ids: Tensor, states: readonly MixerState[]): { hidden: Tensor; states: MixerState[] } {
  return tidy(() => lmStepFrom(w, c, embed(w, ids), states));
}

/** `lmStep` from the embedded ids x [b, d]. */
function lmStepFrom(w: LmWeights, c: MambaConfig, x: Tensor, states: readonly MixerState[]): { hidden: Tensor; states: MixerState[] } {
  return tidy(() => backbone(w, c, x, states, (l, x, s) => l.spec.step(l.mixer, x, s as MixerState))) as { hidden: Tensor; states: MixerState[] };
}

/**
 * One decode step to logits: ids [b] -> logits [b, paddedVocab] and the next states. With
 * RMSNorm blocks and no MLPs, each block's norm rides in its in_proj and the residual add in
 * its out_proj, and norm_f in the head: three kernels per layer on backends with
 * `fusedLinear`. Same values as `lmStep` + `lmLogits`.
 */
export function lmStepLogits(w: LmWeights, c: MambaConfig, ids: Tensor, states: readonly MixerState[]): { logits: Tensor; states: MixerState[] } {
  return tidy(() => lmStepLogitsFrom(w, c, embed(w, ids), states));
}

/** `lmStepLogits` from the embedded ids x [b, d]. */
export function lmStepLogitsFrom(w: LmWeights, c: MambaConfig, x: Tensor, states: readonly MixerState[]): { logits: Tensor; states: MixerState[] } {
  const r = stepThroughHead(w, c, x, states, (h, normF) => (normF ? fusedLinear(h, w.lmHead, { norm: normF }) : lmLogits(w, h)));
  return { logits: r.out, states: r.states };
}

/**
 * One greedy decode step from the embedded ids x [b, d]: the argmax of each sequence's first
 * `vocab` logits [b] (int32), their rows of the embedding [b, d] (the next step's x) and the next
 * states. With fused blocks (see `lmStepLogits`) the head, the argmax and the embedding are one
 * fused op (`lmHeadArgmaxEmbed`). Same ids as argMax over `lmStepLogits`' logits.
 */
export function lmStepArgmaxFrom(w: LmWeights, c: MambaConfig, x: Tensor, states: readonly MixerState[], vocab: number): { ids: Tensor; next: Tensor; states: MixerState[] } {
  const r = stepThroughHead(w, c, x, states, (h, normF) => {
    if (normF) return lmHeadArgmaxEmbed(h, w.lmHead, normF, vocab, w.embedding);
    const ids = argMaxOfVocab(lmLogits(w, h), vocab);
    return { ids, next: gatherPicked(w.embedding, ids) };
  });
  return { ...r.out, states: r.states };
}

/**
 * A decode step from the embedded ids x up to `head`, which gets the residual stream with norm_f
 * for it to fuse (fused blocks), or the normed hidden state and null.
 */
function stepThroughHead<Out>(
  w: LmWeights,
  c: MambaConfig,
  x: Tensor,
  states: readonly MixerState[],
  head: (h: Tensor, normF: { weight: Tensor; eps: number } | null) => Out,
): { out: Out; states: MixerState[] } {
  return tidy(() => {
    if (!fusesBlocks(w, c)) {
      const r = lmStepFrom(w, c, x, states);
      return { out: head(r.hidden, null), states: r.states };
    }
    const r = fusedBackbone(w, c, x, (l, h, i, fuse) => l.spec.step(l.mixer, h, states[i], fuse));
    return { out: head(r.residual, { weight: w.normF.weight, eps: c.normEpsilon }), states: r.states };
  });
}

/** hidden [..., d] -> logits [..., paddedVocab] through the (tied) head. */
export function lmLogits(w: LmWeights, hidden: Tensor): Tensor {
  return linear(hidden, w.lmHead);
}
