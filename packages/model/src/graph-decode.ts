import type { StepGraph } from '@mamba3/tensor';

/**
 * Groups of graph steps kept queued ahead of the one being read back, so the GPU never waits on
 * the host. On the H100 host two and three single steps measured alike once the GPU is warm
 * (854-1169 and 851-1138 tokens/s for the 130M models, BENCHMARKS.md); three leave slack for host
 * pauses (garbage collection).
 */
export const GRAPH_GROUPS_IN_FLIGHT = 3;

/**
 * The most graph steps whose picked ids come back in one read (`StepGraph.collect`). Each read
 * costs the host a copy, a submit and a map. On H200 hosts a decode loop reading 8 steps at a
 * time instead of each one ran the 130M model a median 7% (bf16 weights) and 8% (f32) faster
 * over 56 paired rounds, 20% or more in a quarter of them, where the host was slowest; greedy
 * `generate` so paced ran 7-8% faster than that loop reading each step (BENCHMARKS.md, issue 16,
 * fifteenth session).
 */
export const GRAPH_READ_GROUP = 8;

/**
 * How long a group of steps may take. A stop is seen only when its group is read, and the groups
 * queued behind it still run, so a stop costs up to GRAPH_GROUPS_IN_FLIGHT groups of GPU work
 * before the next call's first step: at most ~3 × this, whatever the model's speed. Tokens also
 * stream a group at a time, so this is their longest stall. At 0.35-0.5 ms a step (130M on an
 * H200) a group holds all GRAPH_READ_GROUP steps; a step slower than this is read on its own.
 */
const GROUP_MS = 4;

/**
 * The decode loop's side of a step graph: runs queued ahead in groups, each group's picked ids
 * ([runs · batch]) read back at once. Groups are single steps until two reads have measured the
 * pace, then double, up to what fits GROUP_MS at that pace (GRAPH_READ_GROUP at most), so the first
 * tokens stream at once and a slow model keeps reading each step.
 */
export class GraphDecodeQueue {
  private readonly inflight: Promise<ArrayLike<number>>[] = [];
  private readonly ready: number[][] = [];
  private groupSize = 1;
  private queued = 0;
  private lastReadAt: number | null = null;
  private msPerStep = 0;

  /**
   * `graph` has just been captured (its run 0 is the first step to read); `steps` runs are wanted
   * after it; `beforeGroup` writes the per-step inputs (sampling draws) of the next `runs` runs
   * before they are queued; `clock` reads the time in ms (tests pass their own).
   */
  constructor(
    private readonly graph: StepGraph,
    private readonly batch: number,
    private readonly steps: number,
    private readonly beforeGroup: ((runs: number) => void) | null,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.inflight.push(graph.read(0));
    graph.collect(0, GRAPH_READ_GROUP);
  }

  /** Queues groups of runs until GRAPH_GROUPS_IN_FLIGHT are in flight or every wanted run is. */
  fill(): void {
    while (this.inflight.length < GRAPH_GROUPS_IN_FLIGHT && this.queued < this.steps) {
      // Single steps until a read has measured the pace; then double, up to what fits GROUP_MS.
      if (this.msPerStep > 0) this.groupSize = Math.max(1, Math.min(2 * this.groupSize, Math.floor(GROUP_MS / this.msPerStep), GRAPH_READ_GROUP));
      const runs = Math.min(this.groupSize, this.steps - this.queued);
      this.beforeGroup?.(runs);
      for (let r = 0; r < runs; r++) this.graph.run();
      this.inflight.push(this.graph.readCollected(0));
      this.queued += runs;
    }
  }

  /** The next step's picked ids, one per sequence (awaits its group's read when needed). */
  async next(): Promise<number[]> {
    if (!this.ready.length) {
      const ids = await this.inflight.shift()!;
      const now = this.clock();
      const rows = ids.length / this.batch;
      // The pace: time between reads over the steps they brought (the GPU's or the host's rate,
      // whichever bounds the queue).
      if (this.lastReadAt !== null) this.msPerStep = (now - this.lastReadAt) / rows;
      this.lastReadAt = now;
      const flat = Array.from(ids);
      for (let at = 0; at < flat.length; at += this.batch) this.ready.push(flat.slice(at, at + this.batch));
    }
    return this.ready.shift()!;
  }

  /** Reads still in flight finish (or fail with the device) unobserved. */
  drop(): void {
    for (const p of this.inflight) p.catch(() => undefined);
    this.inflight.length = 0;
  }
}
