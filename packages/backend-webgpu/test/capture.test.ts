import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { UnsupportedError } from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

/**
 * A step with the shapes of a decode step: a matmul, a constant made inside the step, a
 * reduction, an argmax (int32 output fed back through a gather) and a state carried over.
 */
function step(w: Tensor, table: Tensor) {
  return (ids: Tensor, s: Tensor): Tensor[] => {
    const emb = ops.gather(table, ids, 0); // [b, d]
    const next = ops.tanh(ops.add(ops.matmul(s, w), ops.mul(emb, ops.tensor([0.5], [1], { backend: w.backend }))));
    const picked = ops.argMax(ops.sliceAxis(next, 1, 0, 4), -1); // ids stay within the table
    return [picked, next, ops.sum(next, -1)];
  };
}

// Every test runs with each way a run copies its rows in and its collected outputs out.
for (const graphCopies of ['copy', 'dispatch'] as const) {
(SKIP_WEBGPU ? describe.skip : describe)(`captureStep on WebGPU (recorded replay), graphCopies '${graphCopies}'${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: `webgpu-capture-${graphCopies}`, graphCopies });
  });
  afterAll(() => be?.dispose());

  const setup = () => {
    const rng = new ops.Rng(7);
    const o = { backend: be };
    const w = ops.keep(ops.tensor(Float32Array.from({ length: 64 }, () => rng.normal() * 0.5), [8, 8], o));
    const table = ops.keep(ops.tensor(Float32Array.from({ length: 32 }, () => rng.normal()), [4, 8], o));
    const s0 = Float32Array.from({ length: 16 }, () => rng.normal());
    const inputs = () => [ops.keep(ops.tensor([1, 3], [2], { ...o, dtype: 'int32' })), ops.keep(ops.tensor(s0, [2, 8], o))];
    return { w, table, inputs };
  };

  /**
   * The step with a per-step input (input 2, noise [2, 4]: not fed back, owned by the graph) added
   * to what it picks from and to its state: recorded, and eager beside it.
   */
  const noisyGraphs = () => {
    const { w, table, inputs } = setup();
    const noisy = (ids: Tensor, s: Tensor, noise: Tensor): Tensor[] => {
      const [picked, next, total] = step(w, table)(ids, s);
      picked.dispose();
      return [ops.argMax(ops.add(ops.sliceAxis(next, 1, 0, 4), noise), -1), ops.add(next, ops.mul(ops.sum(noise, -1, { keepDims: true }), 0.1)), total];
    };
    const mk = () => [...inputs(), ops.keep(ops.tensor([0, 0, 0, 0, 0, 0, 0, 0], [2, 4], { backend: be }))];
    const feedback = [[0, 0], [1, 1]] as const;
    const recorded = ops.captureStep(mk(), (a, b, c) => noisy(a, b, c), { feedback, own: [2] });
    const eager = ops.captureStep(mk(), (a, b, c) => noisy(a, b, c), { feedback, own: [2], record: false });
    return { w, table, recorded, eager };
  };

  it('replays give the same outputs as re-running the ops, run after run, with the state and ids fed back', async () => {
    const { w, table, inputs } = setup();
    const feedback = [[0, 0], [1, 1]] as const;
    const recorded = ops.captureStep(inputs(), step(w, table), { feedback });
    const eager = ops.captureStep(inputs(), step(w, table), { feedback, record: false });
    expect(recorded.mode).toBe('recorded');
    expect(eager.mode).toBe('eager');
    const replayedBefore = be.stats().replayedDispatches;
    for (let run = 0; run < 5; run++) {
      if (run > 0) {
        recorded.run();
        eager.run();
      }
      for (let i = 0; i < 3; i++) expect(Array.from(await recorded.read(i))).toEqual(Array.from(await eager.read(i)));
    }
    expect(be.stats().replayedDispatches).toBeGreaterThan(replayedBefore);
    // A copy taken now is unaffected by the next runs.
    const snap = recorded.output(1);
    const snapValues = Array.from(await snap.data());
    recorded.run();
    expect(Array.from(await snap.data())).toEqual(snapValues);
    snap.dispose();
    recorded.dispose();
    eager.dispose();
    w.dispose();
    table.dispose();
  });

  it('queued runs overlap: reads taken right after each run see that run', async () => {
    const { w, table, inputs } = setup();
    const feedback = [[0, 0], [1, 1]] as const;
    const recorded = ops.captureStep(inputs(), step(w, table), { feedback });
    const eager = ops.captureStep(inputs(), step(w, table), { feedback, record: false });
    const pending = [recorded.read(2)];
    const want = [Array.from(await eager.read(2))];
    for (let run = 1; run < 6; run++) {
      recorded.run();
      pending.push(recorded.read(2));
      eager.run();
      want.push(Array.from(await eager.read(2)));
    }
    const got = await Promise.all(pending);
    expect(got.map((g) => Array.from(g))).toEqual(want);
    recorded.dispose();
    eager.dispose();
    w.dispose();
    table.dispose();
  });

  it('collect(): a device-side log of every run, read a group at a time while later runs are queued behind the read', async () => {
    const { w, table, inputs } = setup();
    const feedback = [[0, 0], [1, 1]] as const;
    const recorded = ops.captureStep(inputs(), step(w, table), { feedback });
    const eager = ops.captureStep(inputs(), step(w, table), { feedback, record: false });
    recorded.collect(0, 4); // the picked ids, int32 [2]
    recorded.collect(2, 4); // the sums, float32 [2]
    const bytesBefore = be.memoryBytes();
    const sizes = [1, 4, 3, 4];
    const want: number[][][] = [];
    for (const size of sizes) {
      const ids: number[] = [];
      const sums: number[] = [];
      for (let r = 0; r < size; r++) {
        eager.run();
        ids.push(...(await eager.read(0)));
        sums.push(...(await eager.read(2)));
      }
      want.push([ids, sums]);
    }
    // Every group queued before anything is awaited: each read's copy is queued ahead of the next
    // group's runs, which write the log's first slots again.
    const pending = sizes.map((size) => {
      for (let r = 0; r < size; r++) recorded.run();
      return Promise.all([recorded.readCollected(0), recorded.readCollected(2)]);
    });
    const got = await Promise.all(pending);
    expect(got.map(([a, b]) => [Array.from(a), Array.from(b)])).toEqual(want);
    // A run's two log entries: two buffer copies, or two copy dispatches inside the pass.
    const s0 = be.stats();
    recorded.run();
    const s1 = be.stats();
    expect(s1.copies - s0.copies).toBe(graphCopies === 'copy' ? 2 : 0);
    expect(s1.dispatches - s0.dispatches - (s1.replayedDispatches - s0.replayedDispatches)).toBe(graphCopies === 'dispatch' ? 2 : 0);
    await recorded.readCollected(0);
    await recorded.readCollected(2);
    expect(got[0][0]).toBeInstanceOf(Int32Array);
    expect(be.memoryBytes()).toBe(bytesBefore);
    for (let r = 0; r < 4; r++) recorded.run();
    expect(() => recorded.run()).toThrow(/collected for 4 runs/);
    recorded.dispose();
    eager.dispose();
    w.dispose();
    table.dispose();
  });

  it('write() feeds a per-step input: replays match re-running with the same values, and queued runs keep theirs', async () => {
    const { w, table, recorded, eager } = noisyGraphs();
    const rng = new ops.Rng(3);
    const pending: Promise<ArrayLike<number>>[] = [];
    const want: number[][] = [];
    for (let run = 1; run < 6; run++) {
      const noise = Array.from({ length: 8 }, () => rng.normal() * 3);
      recorded.write(2, noise);
      recorded.run();
      pending.push(recorded.read(1));
      eager.write(2, noise);
      eager.run();
      want.push(Array.from(await eager.read(1)));
    }
    expect((await Promise.all(pending)).map((g) => Array.from(g))).toEqual(want);
    // Runs queued back to back with writes between them and no read: each used its own values
    // (the state carries every run's noise, so the last state shows a clobbered one).
    for (let run = 0; run < 4; run++) {
      const noise = Array.from({ length: 8 }, () => rng.normal() * 3);
      recorded.write(2, noise);
      recorded.run();
      eager.write(2, noise);
      eager.run();
    }
    expect(Array.from(await recorded.read(1))).toEqual(Array.from(await eager.read(1)));
    recorded.dispose();
    eager.dispose();
    w.dispose();
    table.dispose();
  });

  it('writeAhead(): per-step rows of a group in one upload, each run copying its own on the device, with groups queued back to back', async () => {
    const { w, table, recorded, eager } = noisyGraphs();
    recorded.collect(1, 8);
    const rng = new ops.Rng(5);
    const sizes = [1, 3, 8, 2, 5];
    const want: number[][] = [];
    const groups: number[][] = [];
    for (const size of sizes) {
      const rows = Array.from({ length: size * 8 }, () => rng.normal() * 3);
      const states: number[] = [];
      for (let r = 0; r < size; r++) {
        eager.write(2, rows.slice(r * 8, (r + 1) * 8));
        eager.run();
        states.push(...(await eager.read(1)));
      }
      want.push(states);
      groups.push(rows);
    }
    // Every group written and run before anything is read: a group's upload lands after the runs
    // queued before it have copied their rows (the table is reused, and regrown from 1 row to 8).
    const bytesBefore = be.memoryBytes();
    const pending = groups.map((rows, g) => {
      recorded.writeAhead(2, rows, sizes[g]);
      for (let r = 0; r < sizes[g]; r++) recorded.run();
      return recorded.readCollected(1);
    });
    expect((await Promise.all(pending)).map((a) => Array.from(a))).toEqual(want);
    // Rows not yet run block a write; a fed-back input takes none.
    recorded.writeAhead(2, new Float32Array(16), 2);
    expect(() => recorded.write(2, new Float32Array(8))).toThrow(/2 rows written ahead/);
    expect(() => recorded.writeAhead(1, new Float32Array(16), 1)).toThrow(/fed back/);
    recorded.dispose();
    eager.dispose();
    expect(be.memoryBytes()).toBeLessThanOrEqual(bytesBefore);
    w.dispose();
    table.dispose();
  });

  it('frees every buffer it held on dispose, and refuses what cannot be replayed', async () => {
    const { w, table, inputs } = setup();
    await be.sync();
    const live = be.memoryBytes();
    const graphBytes = be.stats().graphBytes;
    const graph = ops.captureStep(inputs(), step(w, table), { feedback: [[0, 0], [1, 1]] });
    expect(be.stats().graphBytes).toBeGreaterThan(graphBytes);
    graph.run();
    graph.dispose();
    await be.sync();
    expect(be.stats().graphBytes).toBe(graphBytes);
    expect(be.memoryBytes()).toBe(live);
    // Reading back inside the step would freeze a host value into the recording.
    expect(() => ops.captureStep(inputs(), (a, b) => (a.data().catch(() => undefined), [ops.add(b, 1)]))).toThrow(/cannot read a tensor back while capturing/);
    // An output that is a view of an input is not something the step computes.
    expect(() => ops.captureStep(inputs(), (a, b) => [ops.identity(b)], { feedback: [[0, 1]] })).toThrow(UnsupportedError);
    // After a failed capture the backend works as before.
    const x = ops.tidy(() => ops.add(ops.tensor([1, 2], [2], { backend: be }), 1));
    expect(Array.from(await x.data())).toEqual([2, 3]);
    x.dispose();
    w.dispose();
    table.dispose();
  });
});
}
