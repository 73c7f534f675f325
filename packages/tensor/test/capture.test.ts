import { describe, expect, it } from 'vitest';
import type { Tensor } from '../src/index.js';
import { add, ArgumentError, captureStep, DisposedError, keep, matmul, memory, mul, ShapeError, sum, tensor, tidy } from '../src/index.js';
import { useReference } from './setup.js';

useReference();

/** A toy recurrence: s' = s·W + x, out = sum(s'); the state feeds back. */
function toyStep(w: Tensor) {
  return (x: Tensor, s: Tensor): Tensor[] => {
    const next = add(matmul(s, w), x);
    return [next, sum(next)];
  };
}

describe('captureStep (eager mode: backends that do not record)', () => {
  it('runs the step once at capture and again per run, feeding the state back', async () => {
    const w = keep(tensor([[0.5, 0.1], [0.2, 0.3]]));
    const x = keep(tensor([[1, -1]]));
    const s0 = keep(tensor([[0, 0]]));
    const before = memory().numTensors;
    const graph = captureStep([x, s0], toyStep(w), { feedback: [[0, 1]] });
    expect(graph.mode).toBe('eager');
    expect(s0.isDisposed).toBe(true); // donated
    // Reference: the same recurrence on the host.
    let s = [0, 0];
    const host = () => {
      s = [s[0] * 0.5 + s[1] * 0.2 + 1, s[0] * 0.1 + s[1] * 0.3 - 1];
      return s;
    };
    for (let run = 0; run < 4; run++) {
      if (run > 0) graph.run();
      const want = host();
      const got = await graph.read(0);
      got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 5));
      expect((await graph.read(1))[0]).toBeCloseTo(want[0] + want[1], 5);
    }
    expect(graph.runs).toBe(4);
    // output() is a copy that later runs do not change.
    const snapshot = graph.output(0);
    const kept = Array.from(await snapshot.data());
    graph.run();
    expect(Array.from(await snapshot.data())).toEqual(kept);
    snapshot.dispose();
    graph.dispose();
    // Everything the graph held is gone: only x and w (the caller's) remain of what we made.
    expect(memory().numTensors).toBe(before - 1);
    expect(() => graph.run()).toThrow(DisposedError);
    x.dispose();
    w.dispose();
  });

  it('collect() keeps an output of every run for one read: the values read() gave run by run, then it starts over', async () => {
    const w = keep(tensor([[0.5, 0.1], [0.2, 0.3]]));
    const x = keep(tensor([[1, -1]]));
    const before = memory().numTensors;
    const make = () => captureStep([x, keep(tensor([[0, 0]]))], toyStep(w), { feedback: [[0, 1]] });
    const graph = make();
    const byRun = make();
    graph.collect(0, 3);
    expect(Array.from(await graph.readCollected(0))).toEqual([]); // no run since collect
    const want: number[] = [];
    for (let group = 0; group < 2; group++) {
      for (let run = 0; run < 3; run++) {
        graph.run();
        byRun.run();
        want.push(...(await byRun.read(0)));
      }
      // Three runs of a [1, 2] output: six values, run after run.
      expect(Array.from(await graph.readCollected(0))).toEqual(want.splice(0));
    }
    graph.run();
    graph.run();
    graph.run();
    // Full: a fourth run before a read is refused, and runs nothing.
    expect(() => graph.run()).toThrow(/collected for 3 runs.*readCollected\(0\) first/);
    expect(graph.runs).toBe(10);
    expect((await graph.readCollected(0)).length).toBe(6);
    expect(() => graph.collect(0, 2)).toThrow(/collected already/);
    expect(() => graph.collect(1, 0)).toThrow(ArgumentError);
    expect(() => graph.readCollected(1)).toThrow(/not collected/);
    graph.run(); // a copy held, unread, goes with the graph
    graph.dispose();
    byRun.dispose();
    expect(memory().numTensors).toBe(before);
    x.dispose();
    w.dispose();
  });

  it('write() gives a non-fed input new values for the following runs; owned inputs go with the graph', async () => {
    const before = memory().numTensors;
    const bias = keep(tensor([[10, 20]]));
    const s0 = keep(tensor([[1, 2]]));
    const graph = captureStep([bias, s0], (b, s) => [add(s, b)], { feedback: [[0, 1]], own: [0] });
    expect(Array.from(await graph.read(0))).toEqual([11, 22]);
    graph.write(0, [100, 200]);
    graph.run();
    expect(Array.from(await graph.read(0))).toEqual([111, 222]);
    graph.run();
    expect(Array.from(await graph.read(0))).toEqual([211, 422]);
    expect(() => graph.write(1, [0, 0])).toThrow(/fed back/);
    expect(() => graph.write(0, [1, 2, 3])).toThrow(/\[1, 2\] \(2 values\), got 3/);
    expect(() => graph.write(5, [1])).toThrow(/input 5 does not exist/);
    graph.dispose();
    expect(bias.isDisposed).toBe(true);
    expect(memory().numTensors).toBe(before);
    expect(() => captureStep([keep(tensor([1]))], (a) => [add(a, 1)], { feedback: [[0, 0]], own: [0] })).toThrow(/fed back/);
  });

  it('writeAhead() gives the next runs one row each, in order; the last row stays; rows left block another write', async () => {
    const before = memory().numTensors;
    const s0 = keep(tensor([[1, 2]]));
    const graph = captureStep([keep(tensor([[0, 0]])), s0], (b, s) => [add(s, b)], { feedback: [[0, 1]], own: [0] });
    expect(Array.from(await graph.read(0))).toEqual([1, 2]);
    graph.writeAhead(0, [10, 20, 100, 200, 1000, 2000], 3);
    expect(() => graph.write(0, [5, 5])).toThrow(/3 rows written ahead that no run has taken yet; run the graph 3 more times first/);
    const sums: number[][] = [];
    for (let run = 0; run < 4; run++) {
      if (run === 2) expect(() => graph.writeAhead(0, [1, 1], 1)).toThrow(/1 rows written ahead/);
      graph.run();
      sums.push(Array.from(await graph.read(0)));
    }
    // Rows 10/20, 100/200, 1000/2000, then the last row again.
    expect(sums).toEqual([[11, 22], [111, 222], [1111, 2222], [2111, 4222]]);
    graph.writeAhead(0, Float32Array.from([-1, -2]), 1);
    graph.run();
    expect(Array.from(await graph.read(0))).toEqual([2110, 4220]);
    graph.write(0, [0, 0]); // every row taken: plain writes again
    expect(() => graph.writeAhead(1, [0, 0], 1)).toThrow(/fed back/);
    expect(() => graph.writeAhead(0, [1, 2, 3], 2)).toThrow(/\[1, 2\] \(2 values\), so 2 runs need 4 values; got 3/);
    expect(() => graph.writeAhead(0, [], 0)).toThrow(/runs must be a whole number, 1 or more; got 0/);
    graph.writeAhead(0, [7, 7, 7, 7], 2); // rows not taken go with the graph
    graph.dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('rejects bad feedback pairs, bad outputs and outputs that change shape', () => {
    const w = keep(tensor([[1, 0], [0, 1]]));
    const make = () => [keep(tensor([[1, 2]])), keep(tensor([[0, 0]]))];
    expect(() => captureStep(make(), toyStep(w), { feedback: [[0, 5]] })).toThrow(ArgumentError);
    expect(() => captureStep(make(), toyStep(w), { feedback: [[1, 1]] })).toThrow(ShapeError);
    expect(() => captureStep(make(), toyStep(w), { feedback: [[0, 1], [0, 0]] })).toThrow(/more than one feedback pair/);
    expect(() => captureStep(make(), () => 3 as unknown as Tensor[])).toThrow(/array of tensors/);
    let grow = false;
    const graph = captureStep(make(), (x, s) => (grow ? [mul(add(x, s), tensor([[1], [1]]))] : [add(x, s)]), { feedback: [[0, 1]] });
    grow = true;
    expect(() => graph.run()).toThrow(/run gave output 0 \[2, 2\] float32, the capture \[1, 2\] float32/);
    expect(() => graph.read(3)).toThrow(/output 3 does not exist/);
    graph.dispose();
    w.dispose();
    expect(() => captureStep([], () => [])).toThrow(/at least one input/);
    tidy(() => undefined);
  });
});
