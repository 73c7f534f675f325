import type { Tensor } from '@mamba3/tensor';
import { dispose, keep } from '@mamba3/tensor';

/** A mixer's decode state: named tensors, each with the batch first. */
export type MixerState = Record<string, Tensor>;

/**
 * The decode cache of one mixer (any kind): its tensors live outside tidy scopes, and updates
 * replace them (freeing the old ones), like the official in-place `copy_`.
 */
export class MixerCache<S extends MixerState = MixerState> {
  private current: S;

  constructor(state: S) {
    for (const t of Object.values(state)) keep(t);
    this.current = state;
  }

  get batch(): number {
    return Object.values(this.current)[0].shape[0];
  }

  state(): S {
    return this.current;
  }

  /** The state's tensors in a fixed order (its keys'), e.g. to feed a step graph. */
  tensors(): Tensor[] {
    return Object.values(this.current);
  }

  /** Replaces the state (taking ownership of the new tensors). */
  update(next: S): void {
    const old = Object.values(this.current);
    for (const t of Object.values(next)) keep(t);
    const kept = new Set(Object.values(next));
    this.current = next;
    for (const t of old) if (!kept.has(t)) t.dispose();
  }

  dispose(): void {
    dispose(Object.values(this.current));
  }
}
