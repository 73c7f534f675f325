import type { Backend, DType, Tensor } from '@mamba3/tensor';
import { engine, full, keep, Rng, tensor } from '@mamba3/tensor';
import { linearInit, prefixed } from '@mamba3/core';
import { layerSpecs } from './blocks.js';
import type { MambaConfig } from './config.js';
import { mlpHidden, paddedVocabSize } from './config.js';

/** Official parameter names and shapes of `MambaLMHeadModel`. */
export function lmParamShapes(c: MambaConfig): Record<string, number[]> {
  const d = c.dModel;
  const specs = layerSpecs(c);
  const shapes: Record<string, number[]> = { 'backbone.embedding.weight': [paddedVocabSize(c), d] };
  const norm = (name: string): void => {
    shapes[`${name}.weight`] = [d];
    if (!c.rmsNorm) shapes[`${name}.bias`] = [d];
  };
  for (let i = 0; i < c.nLayer; i++) {
    const p = `backbone.layers.${i}.`;
    norm(`${p}norm`);
    Object.assign(shapes, prefixed(`${p}mixer.`, specs[i].paramShapes));
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
 * The official initialisation (`_init_weights`): embedding N(0, 0.02²), each mixer its own,
 * out_proj and fc2 re-drawn and scaled by 1/√(residuals per layer · nLayer), norms 1, biases 0.
 * With tied embeddings `lm_head.weight` is the embedding tensor itself.
 */
export function initLmParams(c: MambaConfig, opts?: { seed?: number; backend?: Backend; dtype?: DType }): Record<string, Tensor> {
  const rng = new Rng(opts?.seed);
  const backend = opts?.backend ?? engine.getBackend();
  const dtype = opts?.dtype ?? 'float32';
  const make = (shape: number[], values: Float64Array): Tensor => keep(tensor(values, shape, { dtype, backend }));
  const specs = layerSpecs(c);
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
    const m = specs[i].init({ rng: rng.fork(), backend, dtype });
    const out = m['out_proj.weight'];
    m['out_proj.weight'] = make(out.shape as number[], linearInit(rng, out.shape[0], out.shape[1]).map((v) => v * rescale));
    out.dispose();
    // Linear biases start at zero (`_init_weights`), except Mamba-1's dt_proj.bias (marked _no_reinit).
    for (const name of ['in_proj.bias', 'out_proj.bias']) {
      if (m[name]) {
        const b = m[name];
        m[name] = keep(full(b.shape, 0, { dtype, backend }));
        b.dispose();
      }
    }
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
