import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import { createWasmBackend } from '@mamba3/backend-wasm';
import type { MambaConfigInput } from '../src/index.js';
import { MambaLMHeadModel } from '../src/index.js';

// Decoding through a recorded step on wasm (the logits graph: the step replayed without the op
// layer, the pick made on the host from its logits): the same tokens as the op-by-op path for
// every sampling option, batches of prompts of different lengths, stops, attention layers.
const BASE = { dModel: 32, nLayer: 2, vocabSize: 250 };
const CASES: [string, MambaConfigInput][] = [
  ['Mamba3 SISO', { ...BASE, ssmCfg: { layer: 'Mamba3', dState: 16, headdim: 8, chunkSize: 4 } }],
  ['Mamba1', { ...BASE, ssmCfg: { layer: 'Mamba1', dState: 8 } }],
  ['Mamba2 + attention', { ...BASE, attnLayerIdx: [1], attnCfg: { numHeads: 4, numHeadsKv: 2, causal: true }, ssmCfg: { layer: 'Mamba2', dState: 8, headdim: 8, chunkSize: 4 } }],
];
const PROMPTS = [[5, 17, 99], [200, 31, 7, 8, 9]];

for (const threads of [1, 2]) {
  describe(`generate on wasm through a step graph, ${threads} thread(s)`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await createWasmBackend({ name: `wasm-step-graph-${threads}`, threads, alwaysParallel: threads > 1 });
    });
    afterAll(() => backend?.dispose?.());

    for (const [name, config] of CASES) {
      it(`${name}: greedy, top-p with a seed and a stop token give the op-by-op path's tokens`, async () => {
        const model = MambaLMHeadModel.create(config, { backend, seed: 3 });
        const record = model.logitsStepGraph.bind(model);
        let graphs = 0;
        model.logitsStepGraph = (...a) => (graphs++, record(...a));
        const before = backend.memoryBytes!();
        for (const opts of [{ temperature: 0 }, { temperature: 0.9, topP: 0.9, seed: 4 }, { temperature: 1.2, topK: 20, repetitionPenalty: 1.3, seed: 5 }]) {
          const plain = await model.generateText(PROMPTS, { ...opts, maxNewTokens: 14, stepGraph: false });
          const graphed = await model.generateText(PROMPTS, { ...opts, maxNewTokens: 14 });
          expect(graphed.sequences.map((s) => s.ids), JSON.stringify(opts)).toEqual(plain.sequences.map((s) => s.ids));
          const stop = plain.sequences[1].ids[3];
          const stopped = await model.generateText(PROMPTS, { ...opts, maxNewTokens: 14, stopTokens: [stop] });
          expect(stopped.sequences[1].ids).toEqual(plain.sequences[1].ids.slice(0, plain.sequences[1].ids.indexOf(stop) + 1));
        }
        // generate decoded through recorded steps: one graph per run with the graph on (two per option set).
        expect(graphs).toBe(6);
        // Every graph, cache and logits block went back.
        expect(backend.memoryBytes!()).toBe(before);
        model.dispose();
      });
    }

    it('a step that cannot be recorded decodes through the op path, with the same tokens', async () => {
      const model = MambaLMHeadModel.create(CASES[0][1], { backend, seed: 3 });
      const opts = { temperature: 0.9, topP: 0.9, seed: 4, maxNewTokens: 10 };
      const plain = await model.generateText(PROMPTS, { ...opts, stepGraph: false });
      const before = backend.memoryBytes!();
      let refused = 0;
      model.logitsStepGraph = () => {
        refused++;
        throw new UnsupportedError('wasm captureStep: output 1 is not a result computed by the step');
      };
      const fallback = await model.generateText(PROMPTS, opts);
      expect(refused).toBe(1);
      expect(fallback.sequences.map((s) => s.ids)).toEqual(plain.sequences.map((s) => s.ids));
      expect(backend.memoryBytes!()).toBe(before);
      model.dispose();
    });

    it('logitsStepGraph: replays equal re-running the step, with the ids written each run', async () => {
      const model = MambaLMHeadModel.create(CASES[0][1], { backend, seed: 3 });
      const fresh = () => {
        const cache = model.allocateInferenceCache(2);
        model.prefill(PROMPTS.map((p) => p.slice(0, 3)), cache).dispose();
        return cache;
      };
      const recorded = model.logitsStepGraph([1, 2], fresh());
      const eager = model.logitsStepGraph([1, 2], fresh(), { record: false });
      expect(recorded.mode).toBe('recorded');
      for (let k = 0; k < 5; k++) {
        if (k > 0) {
          for (const g of [recorded, eager]) {
            g.write(0, [k, 3 * k]);
            g.run();
          }
        }
        expect(Array.from(recorded.readSync(0)), `run ${k}`).toEqual(Array.from(eager.readSync(0)));
      }
      recorded.dispose();
      eager.dispose();
      model.dispose();
    });
  });
}
