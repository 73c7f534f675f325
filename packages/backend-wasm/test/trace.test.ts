import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackendGraph, Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import type { WasmBackend } from '../src/index.js';
import { createWasmBackend } from '../src/index.js';

/** What the wasm backend's step graphs say about their kernel traces (src/trace.ts). */
interface Traced extends BackendGraph {
  tracedRun(k: number): boolean;
}

/** The backend graphs `endCapture` returns, newest last. */
function spyGraphs(be: WasmBackend): Traced[] {
  const graphs: Traced[] = [];
  const end = be.endCapture!.bind(be);
  be.endCapture = (io) => {
    const g = end(io) as Traced;
    graphs.push(g);
    return g;
  };
  return graphs;
}

/**
 * A step the kernels alone compute (a trace replays it): ids written per run pick rows of a
 * table, a state of 8 rows goes through a matmul (packed panels in scratch: more rows than a
 * matrix-vector product takes), a norm and tanh, and is fed back.
 */
function kernelStep(w: Tensor, table: Tensor, nw: Tensor) {
  return (ids: Tensor, s: Tensor): Tensor[] => {
    const emb = ops.gather(table, ids, 0); // [8, 8]
    const next = ops.tanh(ops.add(ops.rmsNorm(ops.matmul(s, w), nw, 1e-5), emb));
    return [next, ops.sum(next, -1)];
  };
}

for (const threads of [1, 2]) {
  describe(`kernel traces on wasm, ${threads} thread(s)`, () => {
    let be: WasmBackend;
    let graphs: Traced[];
    beforeAll(async () => {
      be = await createWasmBackend({ name: `wasm-trace-${threads}`, threads, alwaysParallel: threads > 1 });
      graphs = spyGraphs(be);
    });
    afterAll(() => be?.dispose?.());

    const setup = () => {
      const rng = new ops.Rng(11);
      const o = { backend: be };
      const w = ops.keep(ops.tensor(Float32Array.from({ length: 64 }, () => rng.normal() * 0.5), [8, 8], o));
      const table = ops.keep(ops.tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [4, 8], o));
      const nw = ops.keep(ops.tensor(Float32Array.from({ length: 8 }, () => 1 + rng.normal() * 0.1), [8], o));
      const s0 = Float32Array.from({ length: 64 }, () => rng.normal());
      const inputs = () => [ops.keep(ops.tensor([1, 3, 0, 2, 2, 1, 3, 0], [8], { ...o, dtype: 'int32' })), ops.keep(ops.tensor(s0, [8, 8], o))];
      return { step: kernelStep(w, table, nw), inputs, done: () => ops.dispose([w, table, nw]) };
    };

    it('replays the kernels from the third run on, with the same bits as re-running the ops', () => {
      const { step, inputs, done } = setup();
      const recorded = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0] });
      const graph = graphs[graphs.length - 1];
      const eager = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0], record: false });
      const rng = new ops.Rng(5);
      for (let run = 1; run <= 8; run++) {
        const ids = Array.from({ length: 8 }, () => Math.floor(rng.uniform() * 4));
        for (const g of [recorded, eager]) {
          g.write(0, ids);
          g.run();
        }
        for (let i = 0; i < 2; i++) expect(Array.from(recorded.readSync(i)), `run ${run} output ${i}`).toEqual(Array.from(eager.readSync(i)));
      }
      // Runs 1 and 2 (one per variant) went through the entry points and recorded the traces.
      expect([1, 2, 3, 4].map((k) => graph.tracedRun(k))).toEqual([true, true, true, true]);
      recorded.dispose();
      eager.dispose();
      done();
    });

    it('keeps a scratch block its trace uses after the op that owned it moves to a larger one', () => {
      const { step, inputs, done } = setup();
      const recorded = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0] });
      const eager = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0], record: false });
      for (const g of [recorded, eager]) for (let k = 0; k < 3; k++) g.run();
      // A larger product outside the graph replaces the packing scratch; then tensors of the old
      // scratch's size take whatever blocks are free. Were the old one freed, the trace would pack into them.
      const big = ops.matmul(ops.ones([8, 64], { backend: be }), ops.ones([64, 64], { backend: be }));
      const bystanders = Array.from({ length: 16 }, () => ops.keep(ops.full([64], 7, { backend: be })));
      for (const g of [recorded, eager]) for (let k = 0; k < 3; k++) g.run();
      for (let i = 0; i < 2; i++) expect(Array.from(recorded.readSync(i))).toEqual(Array.from(eager.readSync(i)));
      for (const t of bystanders) expect(Array.from(t.dataSync()).every((v) => v === 7)).toBe(true);
      expect(big.dataSync()[0]).toBe(64);
      ops.dispose([big, ...bystanders]);
      recorded.dispose();
      eager.dispose();
      done();
    });

    it('replays entry points where a trace would not be the step (host work inside it)', () => {
      const { inputs, done } = setup();
      // The constant is uploaded inside the step and argMax runs on the cpu backend: host work per run.
      const step = (ids: Tensor, s: Tensor): Tensor[] => {
        const next = ops.tanh(ops.mul(s, ops.tensor([0.5], [1], { backend: be })));
        return [next, ops.argMax(next, -1), ops.add(ids, 1)];
      };
      const recorded = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0] });
      const graph = graphs[graphs.length - 1];
      const eager = ops.captureStep(inputs(), step, { feedback: [[0, 1]], own: [0], record: false });
      for (let run = 1; run <= 4; run++) {
        for (const g of [recorded, eager]) g.run();
        for (let i = 0; i < 3; i++) expect(Array.from(recorded.readSync(i))).toEqual(Array.from(eager.readSync(i)));
      }
      expect(graph.tracedRun(3)).toBe(false);
      recorded.dispose();
      eager.dispose();
      done();
    });
  });
}
