import { describe, expect, it } from 'vitest';
import type { StepGraph } from '@mamba3/tensor';
import { GRAPH_GROUPS_IN_FLIGHT, GRAPH_READ_GROUP, GraphDecodeQueue } from '../src/graph-decode.js';

/**
 * A stand-in step graph: run k picks ids [k·10, k·10 + 1] (batch 2), and reads resolve at once.
 * Its clock says when each read would have landed on a device that takes `stepMs` a step and
 * works through the queue in order: the queue reads the clock once a read, so the n-th call
 * returns stepMs × (steps carried by reads 0..n).
 */
function fakeGraph(stepMs: number) {
  let runs = 0;
  let logged: number[] = [];
  const sizes = [1]; // steps a read carries: run 0's read, then each group's
  let calls = 0;
  const pick = (k: number) => [k * 10, k * 10 + 1];
  const graph = {
    run: () => {
      runs++;
      logged.push(...pick(runs));
    },
    read: () => Promise.resolve(Int32Array.from(pick(runs))),
    collect: () => undefined,
    readCollected: () => {
      const ids = logged;
      logged = [];
      sizes.push(ids.length / 2);
      return Promise.resolve(Int32Array.from(ids));
    },
  };
  const clock = () => stepMs * sizes.slice(0, ++calls).reduce((a, b) => a + b, 0);
  return { graph: graph as unknown as StepGraph, groups: sizes.slice(1), sizes, clock };
}

async function decode(stepMs: number, steps: number): Promise<{ ids: number[][]; groups: number[]; written: number[] }> {
  const fake = fakeGraph(stepMs);
  // What a group's per-step inputs are written for: the runs queued since the last read.
  const written: number[] = [];
  const queue = new GraphDecodeQueue(fake.graph, 2, steps, (runs) => written.push(runs), fake.clock);
  const ids: number[][] = [];
  for (let k = 0; k <= steps; k++) {
    ids.push(await queue.next());
    queue.fill();
  }
  return { ids, groups: fake.sizes.slice(1), written };
}

describe('GraphDecodeQueue: the graph decode read a group of steps at a time', () => {
  it('gives every step its ids in order, in groups that double to GRAPH_READ_GROUP when steps are fast', async () => {
    const { ids, groups, written } = await decode(0.4, 40);
    expect(ids).toEqual(Array.from({ length: 41 }, (_, k) => [k * 10, k * 10 + 1]));
    // Single steps until a read has measured the pace, then 2, 4, 8 (4 ms fits 10 steps of 0.4 ms).
    expect(groups).toEqual([1, 1, 1, 2, 4, 8, 8, 8, 7]);
    // Each group's inputs are written once, for its runs, before they are queued.
    expect(written).toEqual(groups);
    expect(GRAPH_GROUPS_IN_FLIGHT).toBe(3);
    expect(GRAPH_READ_GROUP).toBe(8);
  });

  it('keeps reading single steps when a step takes longer than a group may (4 ms)', async () => {
    const { ids, groups } = await decode(6, 12);
    expect(ids.map((r) => r[1])).toEqual(Array.from({ length: 13 }, (_, k) => k * 10 + 1));
    expect(groups).toEqual(Array(12).fill(1));
  });

  it('settles on the groups that fit 4 ms at a middling pace', async () => {
    const { groups } = await decode(1.5, 20);
    expect(groups).toEqual([1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 1]);
  });
});
