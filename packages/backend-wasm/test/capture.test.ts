import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { BackendError, UnsupportedError } from '@mamba3/tensor';
import type { WasmBackend } from '../src/index.js';
import { createWasmBackend } from '../src/index.js';

/**
 * A step with the shapes of a decode step: a gather of ids, a matmul against a weight (float32
 * and bfloat16), a constant made inside the step, a reduction, an argmax fed back as the next
 * ids and a state carried over.
 */
function step(w: Tensor, w16: Tensor, table: Tensor) {
  return (ids: Tensor, s: Tensor): Tensor[] => {
    const emb = ops.gather(table, ids, 0); // [b, d]
    const half = ops.matmul(emb, w16, { transposeB: true });
    const next = ops.tanh(ops.add(ops.add(ops.matmul(s, w), ops.mul(emb, ops.tensor([0.5], [1], { backend: w.backend }))), half));
    const picked = ops.argMax(ops.sliceAxis(next, 1, 0, 4), -1); // ids stay within the table
    return [picked, next, ops.sum(next, -1)];
  };
}

for (const threads of [1, 2]) {
  describe(`captureStep on wasm, ${threads} thread(s) (recorded replay)`, () => {
    let be: WasmBackend;
    beforeAll(async () => {
      // alwaysParallel: the threaded kernels run inside the replays too.
      be = await createWasmBackend({ name: `wasm-capture-${threads}`, threads, alwaysParallel: threads > 1 });
    });
    afterAll(() => be?.dispose?.());

    const setup = () => {
      const rng = new ops.Rng(7);
      const o = { backend: be };
      const w = ops.keep(ops.tensor(Float32Array.from({ length: 64 }, () => rng.normal() * 0.5), [8, 8], o));
      const w16v = Float32Array.from({ length: 64 }, () => rng.normal() * 0.3);
      const w16 = ops.keep(ops.engine.makeTensor(be, be.uploadHalf!(w16v, [8, 8], 'bfloat16'), [8, 8], 'float32'));
      const table = ops.keep(ops.tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [4, 8], o));
      const s0 = Float32Array.from({ length: 16 }, () => rng.normal());
      const inputs = () => [ops.keep(ops.tensor([1, 3], [2], { ...o, dtype: 'int32' })), ops.keep(ops.tensor(s0, [2, 8], o))];
      const done = () => ops.dispose([w, w16, table]);
      return { step: step(w, w16, table), inputs, done };
    };

    it('replays give the same bits as re-running the ops, run after run, with the state and ids fed back', async () => {
      const { step, inputs, done } = setup();
      const feedback = [[0, 0], [1, 1]] as const;
      const recorded = ops.captureStep(inputs(), step, { feedback });
      const eager = ops.captureStep(inputs(), step, { feedback, record: false });
      expect(recorded.mode).toBe('recorded');
      for (let run = 0; run < 6; run++) {
        if (run > 0) {
          recorded.run();
          eager.run();
        }
        for (let i = 0; i < 3; i++) {
          expect(Array.from(recorded.readSync(i)), `run ${run} output ${i}`).toEqual(Array.from(await eager.read(i)));
          expect(Array.from(await recorded.read(i))).toEqual(Array.from(eager.readSync(i)));
        }
      }
      // A copy taken now is unaffected by the next runs.
      const snap = recorded.output(1);
      const snapValues = Array.from(snap.dataSync());
      recorded.run();
      expect(Array.from(snap.dataSync())).toEqual(snapValues);
      ops.dispose([snap]);
      recorded.dispose();
      eager.dispose();
      done();
    });

    it('write() feeds a per-step input, as the logits graph of generate writes the picked ids', async () => {
      const { step, inputs, done } = setup();
      // Ids written each run (not fed back); only the state is.
      const recorded = ops.captureStep(inputs(), step, { feedback: [[1, 1]], own: [0] });
      const eager = ops.captureStep(inputs(), step, { feedback: [[1, 1]], own: [0], record: false });
      const rng = new ops.Rng(3);
      for (let run = 1; run < 6; run++) {
        const ids = [Math.floor(rng.uniform() * 4), Math.floor(rng.uniform() * 4)];
        recorded.write(0, ids);
        recorded.run();
        eager.write(0, ids);
        eager.run();
        for (let i = 0; i < 3; i++) expect(Array.from(recorded.readSync(i)), `run ${run} output ${i}`).toEqual(Array.from(eager.readSync(i)));
      }
      expect(() => recorded.write(0, [1, 2, 3])).toThrow(/input 0 is \[2\] \(2 values\), got 3/);
      recorded.dispose();
      eager.dispose();
      done();
    });

    it('gives back every block it held on dispose, and refuses what cannot be replayed', () => {
      const { step, inputs, done } = setup();
      const live = be.memoryBytes!();
      const ins = inputs();
      const inBytes = be.memoryBytes!() - live;
      const graph = ops.captureStep(ins, step, { feedback: [[0, 0], [1, 1]] });
      // The graph's blocks are not tensors: the donated inputs' bytes left the count with them.
      expect(be.memoryBytes!()).toBe(live);
      expect(graph.bytes).toBeGreaterThan(inBytes);
      graph.run();
      graph.dispose();
      expect(() => graph.run()).toThrow(/disposed/);
      expect(be.memoryBytes!()).toBe(live);
      // Blocks given back are reused: a second capture of the same step needs no new memory.
      const again = ops.captureStep(inputs(), step, { feedback: [[0, 0], [1, 1]] });
      again.run();
      again.dispose();
      expect(be.memoryBytes!()).toBe(live);
      // An output that is an input is not a result of the step.
      const passthrough = inputs();
      expect(() => ops.captureStep(passthrough, (a, b) => [a, ops.add(b, 1)])).toThrow(UnsupportedError);
      ops.dispose(passthrough);
      done();
    });
  });
}

describe('captureStep on wasm: misuse', () => {
  it('nested captures and a graph run during a capture are clear errors', async () => {
    const be = await createWasmBackend({ name: 'wasm-capture-misuse', threads: 1 });
    try {
      const x = ops.keep(ops.tensor([1, 2], [2], { backend: be }));
      const graph = ops.captureStep([x], (a) => [ops.mul(a, 2)], { own: [0] });
      expect(() => ops.captureStep([ops.keep(ops.tensor([1], [1], { backend: be }))], () => (graph.run(), [ops.tensor([1], [1], { backend: be })]))).toThrow(BackendError);
      graph.run();
      expect(Array.from(graph.readSync(0))).toEqual([2, 4]);
      graph.dispose();
    } finally {
      be.dispose?.();
    }
  });
});
