import type { Backend, BackendFactory } from './backend.js';
import type { DType } from './dtype.js';
import { bytesPerElement } from './dtype.js';
import { BackendError } from './errors.js';
import type { Shape } from './shape.js';
import type { StorageHandle, TensorOwner } from './tensor.js';
import { Tensor } from './tensor.js';

/** Gradient of one recorded op: output cotangents in, one input cotangent (or null) per input out. */
export type GradFn = (dys: readonly Tensor[], saved: readonly Tensor[]) => readonly (Tensor | null)[];

export interface TapeNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly saved: readonly Tensor[];
  readonly backward: GradFn;
}

/** Records the ops that depend on watched tensors, for one `grad` call. */
export class Tape {
  readonly nodes: TapeNode[] = [];
  private readonly tracked = new Set<number>();

  watch(t: Tensor): void {
    this.tracked.add(t.id);
  }

  isTracked(t: Tensor): boolean {
    return this.tracked.has(t.id);
  }

  /** Frees the tensors the recorded ops saved for their gradients. */
  dispose(): void {
    for (const node of this.nodes) for (const s of node.saved) s.dispose();
    this.nodes.length = 0;
  }
}

interface Registration {
  factory: BackendFactory;
  priority: number;
  instance?: Backend;
  pending?: Promise<Backend>;
}

/** A marker on the tape stack: ops recorded above it only, so a gradient's own ops are not taped. */
const BARRIER = Symbol('barrier');
/** What tapesFor returns when nothing records (shared, never mutated). */
const NO_TAPES: readonly Tape[] = [];

export interface MemoryInfo {
  /** Live tensor handles (views count once each). */
  numTensors: number;
  /** Live storages (what views share). */
  numStorages: number;
  /** Bytes held by live storages, per backend name. */
  bytes: Record<string, number>;
  /** The most bytes held at once since the last `resetPeakMemory()`, per backend name. */
  peakBytes: Record<string, number>;
}

/**
 * All mutable state of the tensor library in one object: the backend registry and the active
 * backend, tidy scopes, and autograd tapes. One default instance (`engine`) serves the exported
 * functions; tests can `reset()` it.
 */
export class Engine implements TensorOwner {
  private readonly registry = new Map<string, Registration>();
  private active: Backend | null = null;
  private readonly scopes: Set<Tensor>[] = [];
  private readonly tapes: (Tape | typeof BARRIER)[] = [];
  private liveTensors = 0;
  private readonly storages = new Map<string, { count: number; bytes: number; peak: number }>();

  // Registry ------------------------------------------------------------------------------

  registerBackend(name: string, factory: BackendFactory, priority = 1): void {
    if (this.registry.has(name)) throw new BackendError(`registerBackend: a backend named "${name}" is already registered`);
    this.registry.set(name, { factory, priority });
  }

  /** Registered backend names, highest priority first. */
  listBackends(): string[] {
    return [...this.registry.entries()].sort((a, b) => b[1].priority - a[1].priority).map(([n]) => n);
  }

  /** Initialises (once) and returns a registered backend without making it active. */
  async initBackend(name: string): Promise<Backend> {
    const reg = this.registry.get(name);
    if (!reg) {
      throw new BackendError(
        `unknown backend "${name}": registered backends are [${this.listBackends().join(', ')}] (import the backend package, e.g. @mamba3/backend-${name}, to register it)`,
      );
    }
    if (reg.instance) return reg.instance;
    reg.pending ??= Promise.resolve()
      .then(() => reg.factory())
      .then(
        (b) => {
          reg.instance = b;
          return b;
        },
        (err: unknown) => {
          reg.pending = undefined;
          throw err;
        },
      );
    return reg.pending;
  }

  /** Makes `name` the backend new tensors are created on. */
  async setBackend(name: string): Promise<Backend> {
    const b = await this.initBackend(name);
    this.active = b;
    return b;
  }

  /** Makes an already created backend object active (registering it under its name if needed). */
  useBackend(backend: Backend): void {
    const reg = this.registry.get(backend.name);
    if (!reg) this.registry.set(backend.name, { factory: () => backend, priority: 0, instance: backend });
    else reg.instance ??= backend;
    this.active = backend;
  }

  /** The active backend; throws if none was set. */
  getBackend(): Backend {
    if (!this.active) {
      throw new BackendError(
        `no active backend: call await setBackend(name) first (registered: [${this.listBackends().join(', ')}])`,
      );
    }
    return this.active;
  }

  /** Tries registered backends by priority and activates the first that starts. */
  async setBestBackend(names = this.listBackends()): Promise<Backend> {
    const errors: string[] = [];
    for (const name of names) {
      try {
        return await this.setBackend(name);
      } catch (err) {
        errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    throw new BackendError(`no backend could start:\n  ${errors.join('\n  ')}`);
  }

  removeBackend(name: string): void {
    const reg = this.registry.get(name);
    if (!reg) return;
    if (reg.instance && this.active === reg.instance) this.active = null;
    reg.instance?.dispose?.();
    this.registry.delete(name);
  }

  // Tensors -------------------------------------------------------------------------------

  /** Wraps new backend storage in a tensor owned by the current scope. */
  makeTensor(backend: Backend, storage: unknown, shape: Shape, dtype: DType): Tensor {
    const handle: StorageHandle = { backend, value: storage, refs: 1, bytes: sizeOfShape(shape) * bytesPerElement(dtype) };
    const s = this.storages.get(backend.name) ?? { count: 0, bytes: 0, peak: 0 };
    s.count++;
    s.bytes += handle.bytes;
    s.peak = Math.max(s.peak, s.bytes);
    this.storages.set(backend.name, s);
    return this.adopt(new Tensor(handle, shape, dtype, this));
  }

  /** A new tensor viewing `t`'s storage with another shape (same size). */
  shareTensor(t: Tensor, shape: Shape = t.shape): Tensor {
    t.handle.refs++;
    return this.adopt(new Tensor(t.handle, shape, t.dtype, this));
  }

  private adopt(t: Tensor): Tensor {
    this.liveTensors++;
    const scope = this.scopes[this.scopes.length - 1];
    if (scope) {
      scope.add(t);
      t.scope = scope;
    }
    return t;
  }

  onDispose(t: Tensor): void {
    this.liveTensors--;
    t.scope?.delete(t);
    t.scope = null;
    const h = t.handle;
    if (--h.refs === 0) {
      const s = this.storages.get(h.backend.name);
      if (s) {
        s.count--;
        s.bytes -= h.bytes;
      }
      h.backend.release(h.value);
    }
  }

  memory(): MemoryInfo {
    let numStorages = 0;
    const bytes: Record<string, number> = {};
    const peakBytes: Record<string, number> = {};
    for (const [name, s] of this.storages) {
      numStorages += s.count;
      bytes[name] = s.bytes;
      peakBytes[name] = s.peak;
    }
    return { numTensors: this.liveTensors, numStorages, bytes, peakBytes };
  }

  /** Starts peak tracking afresh from the bytes held now. */
  resetPeakMemory(): void {
    for (const s of this.storages.values()) s.peak = s.bytes;
  }

  // Scopes --------------------------------------------------------------------------------

  startScope(): void {
    this.scopes.push(new Set());
  }

  /** Ends the innermost scope: disposes what it owns except `keepers`, which move to the parent scope. */
  endScope(keepers: readonly Tensor[]): void {
    const scope = this.scopes.pop();
    if (!scope) throw new Error('endScope without startScope');
    const parent = this.scopes[this.scopes.length - 1] ?? null;
    const keep = new Set(keepers);
    for (const t of scope) {
      if (keep.has(t)) {
        t.scope = parent;
        parent?.add(t);
      } else {
        t.scope = null;
        t.dispose();
      }
    }
  }

  /** Takes `t` out of every scope: it lives until disposed explicitly. */
  keep(t: Tensor): Tensor {
    t.scope?.delete(t);
    t.scope = null;
    t.kept = true;
    return t;
  }

  // Autograd ------------------------------------------------------------------------------

  pushTape(tape: Tape): void {
    this.tapes.push(tape);
  }

  popTape(tape: Tape): void {
    const top = this.tapes.pop();
    if (top !== tape) throw new Error('popTape: tapes popped out of order');
  }

  /** Stops recording until `resumeRecording` (a gradient's own ops are not recorded). */
  pauseRecording(): void {
    this.tapes.push(BARRIER);
  }

  resumeRecording(): void {
    const top = this.tapes.pop();
    if (top !== BARRIER) throw new Error('resumeRecording without pauseRecording');
  }

  /** The active tapes that watch any of `inputs`. */
  private tapesFor(inputs: readonly Tensor[]): readonly Tape[] {
    // Inference records nothing: no array per op.
    if (this.tapes.length === 0) return NO_TAPES;
    const out: Tape[] = [];
    for (let i = this.tapes.length - 1; i >= 0; i--) {
      const tape = this.tapes[i];
      if (tape === BARRIER) break;
      if (inputs.some((x) => tape.isTracked(x))) out.push(tape);
    }
    return out;
  }

  /** Whether an op on `inputs` would be recorded (lets ops skip saving tensors otherwise). */
  isRecording(inputs: readonly Tensor[]): boolean {
    return this.tapesFor(inputs).length > 0;
  }

  /**
   * Records an op for every tape that watches one of its inputs. `save` lists tensors the
   * gradient needs; they are kept alive (as shared views) until the tape is done, whatever
   * scope disposes the originals, and reach `backward` as `saved`.
   */
  record(name: string, inputs: readonly Tensor[], outputs: readonly Tensor[], backward: GradFn, save: readonly Tensor[] = []): void {
    const tapes = this.tapesFor(inputs);
    if (tapes.length === 0) return;
    for (const tape of tapes) {
      const saved = save.map((t) => this.keep(this.shareTensor(t)));
      tape.nodes.push({ name, inputs, outputs, saved, backward });
      for (const o of outputs) tape.watch(o);
    }
  }

  /** Clears everything: registry, scopes, tapes. Tensors alive before are not freed. */
  reset(): void {
    for (const reg of this.registry.values()) reg.instance?.dispose?.();
    this.registry.clear();
    this.active = null;
    this.scopes.length = 0;
    this.tapes.length = 0;
  }
}

function sizeOfShape(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The engine behind the exported functions. */
export const engine = new Engine();
