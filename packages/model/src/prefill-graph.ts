import type { MixerState } from '@mamba3/core';
import type { StepGraph, Tensor } from '@mamba3/tensor';
import { captureStep, keep, tensor, UnsupportedError } from '@mamba3/tensor';

/**
 * Recorded prefills (issue 16): on a backend that records its device work (WebGPU), a prefill of
 * a fresh cache is captured once per [batch, length] and replayed afterwards, so a repeated
 * prompt length costs a few host calls per kernel instead of the op layer (~50 µs per dispatch
 * on the H100 host, which at 2048 tokens was a third of the wall time). The replay runs the same
 * kernels on the same buffers as the capture, so its results are bit-identical to the op path.
 */

/** What a prefill graph computes: ids [b, L] and the zero states -> [last-position logits, ...states]. */
export type PrefillFn = (ids: Tensor, states: readonly MixerState[]) => { logits: Tensor; states: readonly MixerState[] };

/** The recorded prefills of one model, most recent last; at most `limit` are kept. */
export class PrefillGraphs {
  private readonly graphs = new Map<string, { graph: StepGraph; keys: string[][] }>();
  /** Shapes whose capture was refused (a layer returned an input as its state): op path. */
  private readonly refused = new Set<string>();

  /** Graphs kept (each holds its prefill's working buffers); 0 turns recording off. */
  limit = 1;

  get size(): number {
    return this.graphs.size;
  }

  /**
   * Runs the prefill of `flat` ids [b, L] through its graph, capturing it first when this shape
   * has none (`zero()` makes the zero states the graph then owns). Returns the logits and the
   * states as new tensors, or null when this shape cannot be recorded (the caller runs the ops).
   */
  run(flat: Int32Array, b: number, L: number, zero: () => MixerState[], fn: PrefillFn): { logits: Tensor; states: MixerState[] } | null {
    const key = `${b}x${L}`;
    if (this.limit < 1 || this.refused.has(key)) return null;
    let hit = this.graphs.get(key);
    if (hit) {
      this.graphs.delete(key);
      this.graphs.set(key, hit);
      hit.graph.write(0, flat);
      hit.graph.run();
    } else {
      const made = this.capture(flat, b, L, zero, fn);
      if (!made) {
        this.refused.add(key);
        return null;
      }
      hit = made;
      this.graphs.set(key, hit);
      for (const [k, old] of this.graphs) {
        if (this.graphs.size <= this.limit) break;
        old.graph.dispose();
        this.graphs.delete(k);
      }
    }
    const { graph, keys } = hit;
    let at = 1;
    const states = keys.map((ks) => Object.fromEntries(ks.map((k) => [k, graph.output(at++)])));
    return { logits: graph.output(0), states };
  }

  private capture(flat: Int32Array, b: number, L: number, zero: () => MixerState[], fn: PrefillFn): { graph: StepGraph; keys: string[][] } | null {
    const states = zero();
    const keys = states.map((s) => Object.keys(s));
    const ids = keep(tensor(flat, [b, L], { dtype: 'int32', backend: Object.values(states[0])[0].backend }));
    const inputs = [ids, ...states.flatMap((s) => Object.values(s))];
    const step = (idsNow: Tensor, ...flatStates: Tensor[]): Tensor[] => {
      let at = 0;
      const r = fn(
        idsNow,
        keys.map((ks) => Object.fromEntries(ks.map((k) => [k, flatStates[at++]]))),
      );
      return [r.logits, ...r.states.flatMap((s, i) => keys[i].map((k) => s[k]))];
    };
    try {
      // Every input is the graph's: the ids are rewritten before each run, the zero states stay.
      return { graph: captureStep(inputs, step, { own: inputs.map((_, i) => i) }), keys };
    } catch (err) {
      for (const t of inputs) if (!t.isDisposed) t.dispose();
      if (err instanceof UnsupportedError) return null;
      throw err;
    }
  }

  /** Frees every graph (their buffers go back to the backend's pool). */
  clear(): void {
    for (const { graph } of this.graphs.values()) graph.dispose();
    this.graphs.clear();
  }
}
