import type { Backend, DType, Tensor } from '@mamba3/tensor';
import { engine, full, keep, Rng, tensor } from '@mamba3/tensor';
import { initMamba3Params, linearInit, mamba3ParamShapes, prefixed, resolveMamba3Config } from '@mamba3/core';
import type { MambaConfig } from './config.js';
import { mixerOptions, mlpHidden, paddedVocabSize } from './config.js';

/** Official parameter names and shapes of `MambaLMHeadModel`. */
export function lmParamShapes(c: MambaConfig): Record<string, number[]> {
  const d = c.dModel;
  const mixer = resolveMamba3Config(mixerOptions(c));
  const shapes: Record<string, number[]> = { 'backbone.embedding.weight': [paddedVocabSize(c), d] };
  const norm = (name: string): void => {
    shapes[`${name}.weight`] = [d];
    if (!c.rmsNorm) shapes[`${name}.bias`] = [d];
  };
  for (let i = 0; i < c.nLayer; i++) {
    const p = `backbone.layers.${i}.`;
    norm(`${p}norm`);
    Object.assign(shapes, prefixed(`${p}mixer.`, mamba3ParamShapes(mixer)));
    if (c.dIntermediate > 0) {
      norm(`${p}norm2`);
      shapes[`${p}mlp.fc1.weight`] = [2 * mlpHidden(c), d];
      shapes[`${p}mlp.fc2.weight`] = [d, mlpHidden(c)];
    }
  }
  norm('backbone.norm_f');
  shapes['lm_head.weight'] = [paddedVocabSize(c), d];
  return shapes;
}

/**
 * The official initialisation (`_init_weights`): embedding N(0, 0.02²), mixers as Mamba3,
 * out_proj and fc2 re-drawn and scaled by 1/√(residuals per layer · nLayer), norms 1, biases 0.
 * With tied embeddings `lm_head.weight` is the embedding tensor itself.
 */
export function initLmParams(c: MambaConfig, opts?: { seed?: number; backend?: Backend; dtype?: DType }): Record<string, Tensor> {
  const rng = new Rng(opts?.seed);
  const backend = opts?.backend ?? engine.getBackend();
  const dtype = opts?.dtype ?? 'float32';
  const make = (shape: number[], values: Float64Array): Tensor => keep(tensor(values, shape, { dtype, backend }));
  const mixer = resolveMamba3Config(mixerOptions(c));
  const residuals = c.dIntermediate > 0 ? 2 : 1;
  const rescale = 1 / Math.sqrt(residuals * c.nLayer);
  const params: Record<string, Tensor> = {};
  const vp = paddedVocabSize(c);
  const emb = new Float64Array(vp * c.dModel);
  for (let i = 0; i < emb.length; i++) emb[i] = 0.02 * rng.normal();
  params['backbone.embedding.weight'] = make([vp, c.dModel], emb);
  const norm = (name: string): void => {
    params[`${name}.weight`] = keep(full([c.dModel], 1, { dtype, backend }));
    if (!c.rmsNorm) params[`${name}.bias`] = keep(full([c.dModel], 0, { dtype, backend }));
  };
  for (let i = 0; i < c.nLayer; i++) {
    const p = `backbone.layers.${i}.`;
    norm(`${p}norm`);
    const m = initMamba3Params(mixer, { rng: rng.fork(), backend, dtype });
    const out = m['out_proj.weight'];
    m['out_proj.weight'] = make(out.shape as number[], linearInit(rng, mixer.dModel, mixer.dInner).map((v) => v * rescale));
    out.dispose();
    Object.assign(params, prefixed(`${p}mixer.`, m));
    if (c.dIntermediate > 0) {
      const h = mlpHidden(c);
      norm(`${p}norm2`);
      params[`${p}mlp.fc1.weight`] = make([2 * h, c.dModel], linearInit(rng, 2 * h, c.dModel));
      params[`${p}mlp.fc2.weight`] = make([c.dModel, h], linearInit(rng, c.dModel, h).map((v) => v * rescale));
    }
  }
  norm('backbone.norm_f');
  params['lm_head.weight'] = c.tieEmbeddings ? params['backbone.embedding.weight'] : make([vp, c.dModel], linearInit(rng, vp, c.dModel));
  return params;
}
