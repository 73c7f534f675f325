import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createWasmBackend } from '@mamba3/backend-wasm';
import { relativeL2 } from '@mamba3/core';
import type { MambaConfigInput, WeightDType } from '../src/index.js';
import { MambaLMHeadModel, uploadWeight } from '../src/index.js';

// 16-bit weights on wasm (Backend.uploadHalf: the weights stay bf16/f16 in WebAssembly memory,
// the GEMVs decode them as they stream): logits of forward and of decode steps match the cpu
// backend holding the same rounded weights in float32. On wasm the Mamba-3 mixer and Mamba-1's
// selective scan run as fused kernels, on cpu as the composites: this checks those kernels too.
const BASE = { dModel: 32, nLayer: 2, vocabSize: 250 };
const CASES: [string, MambaConfigInput][] = [
  ['Mamba3 SISO', { ...BASE, ssmCfg: { layer: 'Mamba3', dState: 16, headdim: 8, chunkSize: 4 } }],
  ['Mamba1, biases, untied', { ...BASE, tieEmbeddings: false, ssmCfg: { layer: 'Mamba1', dState: 8, bias: true } }],
  // d_inner 62: the scan kernel's last group of four channels is partial; d_state 6: a scalar tail.
  ['Mamba1, odd widths', { ...BASE, dModel: 31, ssmCfg: { layer: 'Mamba1', dState: 6 } }],
  ['Mamba2 + GQA attention', { ...BASE, attnLayerIdx: [1], attnCfg: { numHeads: 4, numHeadsKv: 2, causal: true }, ssmCfg: { layer: 'Mamba2', dState: 8, headdim: 8, chunkSize: 4 } }],
];
const SEQ = [[5, 17, 200, 3, 99, 42, 7], [9, 8, 7, 6, 5, 4, 3]];

/** The reference model's weights uploaded to `backend` stored as `dtype`. */
function copyTo(ref: MambaLMHeadModel, config: MambaConfigInput, backend: Backend, dtype: WeightDType): MambaLMHeadModel {
  const weights: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(ref.params)) {
    weights[name] = uploadWeight({ values: t.dataSync(), shape: [...t.shape], dtype: 'float32', stored: 'F32' }, { backend, dtype });
  }
  return MambaLMHeadModel.fromWeights(config, weights);
}

/** Forward logits, then the logits of each step of the same ids through the cache. */
function logits(model: MambaLMHeadModel): Float32Array[] {
  const out = [model.forward(SEQ).dataSync() as Float32Array];
  const cache = model.allocateInferenceCache(2, { maxSeqlen: 16 });
  for (let t = 0; t < SEQ[0].length; t++) {
    const l = model.step(SEQ.map((s) => s[t]), cache);
    out.push(l.dataSync() as Float32Array);
    l.dispose();
  }
  cache.dispose();
  return out;
}

describe.each(CASES)('%s with 16-bit weights on wasm', (_name, config) => {
  let cpu: Backend;
  let wasm: Backend;
  beforeAll(async () => {
    cpu = createCpuBackend({ name: 'cpu-half-ref' });
    wasm = await createWasmBackend({ name: 'wasm-half-model', threads: 1 });
  });
  afterAll(() => wasm.dispose?.());

  for (const dtype of ['bfloat16', 'float16'] as const) {
    it(`${dtype}: logits match cpu with the same rounded weights`, () => {
      const ref = MambaLMHeadModel.create(config, { seed: 3, backend: cpu });
      const before = wasm.memoryBytes!();
      const onWasm = copyTo(ref, config, wasm, dtype);
      // Two bytes per weight element (size classes round blocks up by at most 1/8).
      expect(wasm.memoryBytes!() - before).toBeLessThan(ref.paramCount * 2 * 1.2);
      const want = logits(copyTo(ref, config, cpu, dtype));
      const got = logits(onWasm);
      const exact = logits(ref);
      for (let i = 0; i < want.length; i++) {
        expect(relativeL2(got[i], want[i]), `${i === 0 ? 'forward' : `step ${i - 1}`}`).toBeLessThan(1e-5);
        // The rounding is real: float32 weights give other logits.
        expect(relativeL2(got[i], exact[i])).toBeGreaterThan(1e-7);
      }
      onWasm.dispose();
      ref.dispose();
    });
  }
});
