import type { Mamba3Config, Mamba3MixerState } from '@mamba3/core';
import { mamba3Forward, mamba3StepForward, unprefixed } from '@mamba3/core';
import type { Tensor } from '@mamba3/tensor';
import { add, fusedLinear, gather, linear, mean, mul, rmsNorm, rsqrt, silu, split, square, sub, tidy } from '@mamba3/tensor';
import type { MambaConfig } from './config.js';

/** Model parameters under the official names. */
export type LmParams = Record<string, Tensor>;

/** Parameters reorganised per layer once, so the forward pass does no name lookups. */
export interface LmWeights {
  embedding: Tensor;
  lmHead: Tensor;
  normF: NormWeights;
  layers: {
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
  return {
    embedding: params['backbone.embedding.weight'],
    lmHead: c.tieEmbeddings ? params['backbone.embedding.weight'] : params['lm_head.weight'],
    normF: norm('backbone.norm_f'),
    layers: Array.from({ length: c.nLayer }, (_, i) => {
      const p = `backbone.layers.${i}.`;
      return {
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

type MixerRun = (params: Record<string, Tensor>, x: Tensor, state: Mamba3MixerState | undefined) => { y: Tensor; state: Mamba3MixerState };

/**
 * Embedding -> (add, norm, mixer [, add, norm2, MLP]) per layer -> add, norm_f. The residual
 * stream is float32, as `residual_in_fp32`. Works on [b, L] ids (sequence) or [b] ids (one step).
 */
function backbone(w: LmWeights, c: MambaConfig, ids: Tensor, states: readonly (Mamba3MixerState | undefined)[], run: MixerRun): { hidden: Tensor; states: Mamba3MixerState[] } {
  let h = gather(w.embedding, ids, 0);
  let residual: Tensor | null = null;
  const out: Mamba3MixerState[] = [];
  w.layers.forEach((layer, i) => {
    residual = residual ? add(h, residual) : h;
    const r = run(layer.mixer, applyNorm(residual, layer.norm, c), states[i]);
    out.push(r.state);
    h = r.y;
    if (layer.mlp) {
      residual = add(h, residual);
      h = gatedMlp(applyNorm(residual, layer.mlp.norm2, c), layer.mlp.fc1, layer.mlp.fc2);
    }
  });
  return { hidden: applyNorm(residual ? add(h, residual) : h, w.normF, c), states: out };
}

/** Sequence forward: ids [b, L] -> hidden [b, L, d] (after norm_f) and each layer's cache. */
export function lmSequence(w: LmWeights, c: MambaConfig, mixer: Mamba3Config, ids: Tensor, states?: readonly Mamba3MixerState[]): { hidden: Tensor; states: Mamba3MixerState[] } {
  return tidy(() => backbone(w, c, ids, states ?? [], (p, x, s) => mamba3Forward(p, mixer, x, s)));
}

/** One decode step: ids [b] -> hidden [b, d] and the next caches. */
export function lmStep(w: LmWeights, c: MambaConfig, mixer: Mamba3Config, ids: Tensor, states: readonly Mamba3MixerState[]): { hidden: Tensor; states: Mamba3MixerState[] } {
  return tidy(() => backbone(w, c, ids, states, (p, x, s) => mamba3StepForward(p, mixer, x, s as Mamba3MixerState)));
}

/**
 * One decode step to logits: ids [b] -> logits [b, paddedVocab] and the next caches. With RMSNorm
 * blocks and no MLPs (the Mamba-3 LMs), each block's norm rides in its in_proj and the residual
 * add in its out_proj, and norm_f in the head: three kernels per layer on backends with
 * `fusedLinear`. Same values as `lmStep` + `lmLogits`.
 */
export function lmStepLogits(w: LmWeights, c: MambaConfig, mixer: Mamba3Config, ids: Tensor, states: readonly Mamba3MixerState[]): { logits: Tensor; states: Mamba3MixerState[] } {
  if (!c.rmsNorm || w.layers.some((l) => l.mlp)) {
    return tidy(() => {
      const r = lmStep(w, c, mixer, ids, states);
      return { logits: lmLogits(w, r.hidden), states: r.states };
    });
  }
  return tidy(() => {
    let residual = gather(w.embedding, ids);
    const out: Mamba3MixerState[] = [];
    w.layers.forEach((layer, i) => {
      const r = mamba3StepForward(layer.mixer, mixer, residual, states[i], { norm: { weight: layer.norm.weight, eps: c.normEpsilon }, residual });
      residual = r.y;
      out.push(r.state);
    });
    return { logits: fusedLinear(residual, w.lmHead, { norm: { weight: w.normF.weight, eps: c.normEpsilon } }), states: out };
  });
}

/** hidden [..., d] -> logits [..., paddedVocab] through the (tied) head. */
export function lmLogits(w: LmWeights, hidden: Tensor): Tensor {
  return linear(hidden, w.lmHead);
}
