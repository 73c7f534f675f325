import type { Backend, BackendGraph } from './backend.js';
import type { TypedArray } from './dtype.js';
import { engine } from './engine.js';
import { ArgumentError, DisposedError, ShapeError, UnsupportedError } from './errors.js';
import { concat, identity, reshape } from './ops/layout.js';
import { tensor } from './ops/creation.js';
import { allocArray, toArrayOf } from './dtype.js';
import { dispose, keep, tidy } from './scope.js';
import { formatShape, sizeOf } from './shape.js';
import type { Tensor } from './tensor.js';

/**
 * Step graphs: a function of tensors run many times on the same shapes (a decode step). Where the
 * backend can record its device work (WebGPU), later runs replay the recording: no op layer, no
 * validation, no new tensors, so the host cost of a step is a few calls per kernel. Elsewhere
 * each run calls the function again, with the same results.
 */

export interface CaptureStepOptions {
  /**
   * [output, input] pairs: after each run, that output is the next run's input (a decode step's
   * cache, or the token it picked). Inputs named here are donated: the graph takes them over and
   * their tensors are disposed.
   */
  feedback?: readonly (readonly [number, number])[];
  /** Record where the backend can (default true); false re-runs the function every time. */
  record?: boolean;
  /**
   * Other inputs the graph takes over: kept alive by it and disposed with it (per-step inputs
   * it is written through). Inputs neither fed back nor owned stay the caller's and must stay
   * alive while the graph runs: a recorded run reads their storage.
   */
  own?: readonly number[];
}

/**
 * The function must be a pure function of its inputs and of tensors that outlive the graph (the
 * weights): a recorded run replays the same kernels on the same buffers, so host values read or
 * made inside it (random numbers, `data()`) are frozen at capture, and reading back throws.
 */
export class StepGraph {
  /** `recorded`: runs replay the backend's recording; `eager`: runs call the function again. */
  readonly mode: 'recorded' | 'eager';
  private runCount = 1;
  private disposed = false;
  /** Collected outputs (`collect`): runs since the last read, and their copies where the backend keeps no log. */
  private readonly logs = new Map<number, { capacity: number; count: number; copies: Tensor[] | null }>();
  /** Rows written ahead (`writeAhead`) that runs have still to take, by input; the rows themselves where the backend keeps no table. */
  private readonly ahead = new Map<number, { left: number; rows: TypedArray[] | null }>();
  private readonly recorded: BackendGraph | null;
  private readonly eager: EagerRuns | null;

  /** @internal Made by `captureStep`. */
  constructor(
    readonly backend: Backend,
    private readonly outputMeta: readonly { shape: readonly number[]; dtype: Tensor['dtype'] }[],
    private readonly inputMeta: readonly InputMeta[],
    recorded: BackendGraph | null,
    eager: EagerRuns | null,
  ) {
    this.recorded = recorded;
    this.eager = eager;
    this.mode = recorded ? 'recorded' : 'eager';
  }

  /** Runs so far, the capture included (it is run 0). */
  get runs(): number {
    return this.runCount;
  }

  get outputCount(): number {
    return this.outputMeta.length;
  }

  /** Device bytes the recording holds (0 in eager mode: its tensors are counted as usual). */
  get bytes(): number {
    return this.recorded?.bytes ?? 0;
  }

  /** Runs the step again (queued on GPU backends: nothing waits). */
  run(): void {
    this.check('run');
    for (const [i, log] of this.logs) {
      if (log.count === log.capacity) throw new ArgumentError(`StepGraph.run: output ${i} is collected for ${log.capacity} runs and none of them has been read; call readCollected(${i}) first, or collect with a larger capacity`);
    }
    for (const [i, rows] of this.ahead) {
      if (rows.rows) this.writeInput(i, rows.rows.shift()!);
      if (--rows.left === 0) this.ahead.delete(i);
    }
    if (this.recorded) this.recorded.run();
    else this.eager!.run();
    this.runCount++;
    for (const [i, log] of this.logs) {
      // Without a device-side log: a copy of the output as a tensor, concatenated at the read.
      if (log.copies) log.copies.push(keep(this.output(i)));
      log.count++;
    }
  }

  /**
   * Keeps output i of every run from the next one on, up to `capacity` runs between reads, for
   * `readCollected`: one readback for many runs, where `read` after each run costs a copy, a
   * submit and a map each (a decode's picked ids, read a group of tokens at a time). On a GPU
   * backend each run adds one device-side copy of the output.
   */
  collect(i: number, capacity: number): void {
    this.check('collect', i);
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new ArgumentError(`StepGraph.collect: capacity must be a whole number of runs, 1 or more; got ${capacity}`);
    if (this.logs.has(i)) throw new ArgumentError(`StepGraph.collect: output ${i} is collected already`);
    const native = !!this.recorded?.collect && !!this.recorded.readCollected;
    if (native) this.recorded!.collect!(i, capacity);
    this.logs.set(i, { capacity, count: 0, copies: native ? null : [] });
  }

  /**
   * Output i of each run since `collect` or the last `readCollected`, in run order ([runs, ...the
   * output's shape] flattened; empty when no run happened), read back at once. The log starts over
   * when this is called: runs queued after it go into the next read.
   */
  readCollected(i: number): Promise<TypedArray> {
    this.check('readCollected', i);
    const log = this.logs.get(i);
    if (!log) throw new ArgumentError(`StepGraph.readCollected: output ${i} is not collected; call collect(${i}, capacity) first`);
    const runs = log.count;
    log.count = 0;
    if (!log.copies) return this.recorded!.readCollected!(i, runs);
    const copies = log.copies.splice(0);
    if (!copies.length) return Promise.resolve(allocArray(this.outputMeta[i].dtype, 0));
    const all = keep(tidy(() => concat(copies.map((c) => reshape(c, [sizeOf(c.shape)])))));
    dispose(copies);
    return all.data().finally(() => all.dispose());
  }

  /**
   * New values for input i (one not fed back: a per-step value such as a random draw) from the
   * next run on; runs already queued keep the old ones. On a recorded graph this overwrites
   * the input tensor's storage.
   */
  write(i: number, values: TypedArray | readonly number[]): void {
    const { shape, dtype } = this.writable('write', i);
    const typed = toArrayOf(dtype, values);
    if (typed.length !== sizeOf(shape)) throw new ShapeError(`StepGraph.write: input ${i} is ${formatShape(shape)} (${sizeOf(shape)} values), got ${typed.length}`);
    this.writeInput(i, typed);
  }

  /**
   * Values of input i (one not fed back) for each of the next `runs` runs, `values` being
   * [runs, ...the input's shape] flattened: run k of them reads row k, and the input keeps the
   * last row after them. Where `write` before each run costs an upload a run, this is one upload
   * for them all (a sampled decode's draws, a group of steps at a time); a GPU backend keeps the
   * rows on the device and each run starts with a copy of its row. Runs queued earlier keep their
   * values. Every row must be taken by a run before input i is written again.
   */
  writeAhead(i: number, values: TypedArray | readonly number[], runs: number): void {
    const { shape, dtype } = this.writable('writeAhead', i);
    if (!(Number.isInteger(runs) && runs >= 1)) throw new ArgumentError(`StepGraph.writeAhead: runs must be a whole number, 1 or more; got ${runs}`);
    const size = sizeOf(shape);
    const typed = toArrayOf(dtype, values);
    if (typed.length !== runs * size) {
      throw new ShapeError(`StepGraph.writeAhead: input ${i} is ${formatShape(shape)} (${size} values), so ${runs} runs need ${runs * size} values; got ${typed.length}`);
    }
    if (this.recorded?.writeAhead) {
      this.recorded.writeAhead(i, typed, runs);
      this.ahead.set(i, { left: runs, rows: null });
      return;
    }
    const rows = Array.from({ length: runs }, (_, k) => typed.slice(k * size, (k + 1) * size));
    this.ahead.set(i, { left: runs, rows });
  }

  /** Input i's metadata, if `op` may write it (it exists, is not fed back, has no rows written ahead left). */
  private writable(op: string, i: number): InputMeta {
    this.check(op);
    if (!(Number.isInteger(i) && i >= 0 && i < this.inputMeta.length)) {
      throw new ArgumentError(`StepGraph.${op}: input ${i} does not exist (the step has ${this.inputMeta.length} inputs)`);
    }
    const meta = this.inputMeta[i];
    if (meta.fed) throw new ArgumentError(`StepGraph.${op}: input ${i} is fed back from an output; only the other inputs can be written`);
    const left = this.ahead.get(i)?.left;
    if (left) throw new ArgumentError(`StepGraph.${op}: input ${i} has ${left} rows written ahead that no run has taken yet; run the graph ${left} more times first`);
    return meta;
  }

  private writeInput(i: number, typed: TypedArray): void {
    const { shape, dtype } = this.inputMeta[i];
    if (this.recorded) this.recorded.write(i, typed);
    else this.eager!.write(i, typed, shape, dtype);
  }

  /** Output i of the last run, read back. Reading right after `run` and awaiting later lets runs overlap. */
  read(i: number): Promise<TypedArray> {
    this.check('read', i);
    return this.recorded ? this.recorded.read(i) : this.eager!.outputs[i].data();
  }

  /**
   * Output i of the last run at once, on a backend that reads synchronously (`info.syncRead`:
   * cpu, wasm): no promise per step. A view that the next run overwrites; copy what you keep.
   */
  readSync(i: number): TypedArray {
    this.check('readSync', i);
    if (!this.backend.info.syncRead) throw new UnsupportedError(`StepGraph.readSync: backend ${this.backend.name} reads asynchronously; use read`);
    if (!this.recorded) return this.eager!.outputs[i].dataSync();
    if (!this.recorded.readSync) throw new UnsupportedError(`StepGraph.readSync: backend ${this.backend.name}'s step graphs read asynchronously; use read`);
    return this.recorded.readSync(i);
  }

  /** Output i of the last run as a new tensor (a copy: later runs do not change it). */
  output(i: number): Tensor {
    this.check('output', i);
    if (!this.recorded) return identity(this.eager!.outputs[i]);
    const { shape, dtype } = this.outputMeta[i];
    return engine.makeTensor(this.backend, this.recorded.copyOutput(i), shape, dtype);
  }

  /** @internal Input tensors the graph owns besides the fed-back ones (`CaptureStepOptions.own`). */
  owned: Tensor[] = [];

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const log of this.logs.values()) if (log.copies) dispose(log.copies);
    this.recorded?.dispose();
    this.eager?.dispose();
    for (const t of this.owned) if (!t.isDisposed) t.dispose();
  }

  private check(op: string, i?: number): void {
    if (this.disposed) throw new DisposedError(`StepGraph.${op}: the graph was disposed`);
    if (i !== undefined && !(Number.isInteger(i) && i >= 0 && i < this.outputMeta.length)) {
      throw new ArgumentError(`StepGraph.${op}: output ${i} does not exist (the step has ${this.outputMeta.length} outputs)`);
    }
  }
}

/** A step input's shape and dtype, and whether an output feeds it. */
type InputMeta = { shape: readonly number[]; dtype: Tensor['dtype']; fed: boolean };

/** The eager fallback: the current inputs and outputs, as kept tensors. */
class EagerRuns {
  /** Inputs made by `write` (the graph's to dispose), by index. */
  private readonly written = new Map<number, Tensor>();

  constructor(
    private readonly fn: (...inputs: Tensor[]) => Tensor[],
    private readonly inputs: Tensor[],
    public outputs: Tensor[],
    private readonly feedback: readonly (readonly [number, number])[],
  ) {
    this.feedBack();
  }

  run(): void {
    const previous = this.outputs;
    const next = tidy(() => checkOutputs(this.fn(...this.inputs), previous));
    for (const t of next) keep(t);
    this.outputs = next;
    // Outputs that were not fed back, and inputs replaced by feedback, are done with.
    const live = new Set<Tensor>(this.inputs);
    for (const t of previous) if (!live.has(t)) t.dispose();
    this.feedBack();
  }

  write(i: number, values: TypedArray, shape: readonly number[], dtype: Tensor['dtype']): void {
    const t = keep(tensor(values, shape, { dtype, backend: this.inputs[i].backend }));
    this.written.get(i)?.dispose();
    this.written.set(i, t);
    this.inputs[i] = t;
  }

  /** Feedback inputs become the matching outputs (the replaced inputs were donated: dispose them). */
  private feedBack(): void {
    for (const [o, i] of this.feedback) {
      const old = this.inputs[i];
      this.inputs[i] = this.outputs[o];
      if (!this.outputs.includes(old)) old.dispose();
    }
  }

  dispose(): void {
    const all = new Set<Tensor>([...this.outputs, ...this.feedback.map(([, i]) => this.inputs[i]), ...this.written.values()]);
    for (const t of all) if (!t.isDisposed) t.dispose();
  }
}

function checkOutputs(result: unknown, like?: readonly Tensor[]): Tensor[] {
  if (!Array.isArray(result) || result.some((t) => typeof t !== 'object' || t === null || !('shape' in t))) {
    throw new ArgumentError('captureStep: the step function must return an array of tensors');
  }
  const outs = result as Tensor[];
  if (like) {
    outs.forEach((t, i) => {
      if (t.dtype !== like[i].dtype || formatShape(t.shape) !== formatShape(like[i].shape)) {
        throw new ShapeError(`captureStep: run gave output ${i} ${formatShape(t.shape)} ${t.dtype}, the capture ${formatShape(like[i].shape)} ${like[i].dtype}`);
      }
    });
  }
  return outs;
}

function checkFeedback(inputs: readonly Tensor[], outputs: readonly Tensor[], feedback: readonly (readonly [number, number])[]): void {
  const seenOut = new Set<number>();
  const seenIn = new Set<number>();
  for (const [o, i] of feedback) {
    if (!(Number.isInteger(o) && o >= 0 && o < outputs.length) || !(Number.isInteger(i) && i >= 0 && i < inputs.length)) {
      throw new ArgumentError(`captureStep: feedback pair [${o}, ${i}] is out of range (${outputs.length} outputs, ${inputs.length} inputs)`);
    }
    if (seenOut.has(o) || seenIn.has(i)) throw new ArgumentError(`captureStep: output ${o} or input ${i} appears in more than one feedback pair`);
    seenOut.add(o);
    seenIn.add(i);
    const a = outputs[o];
    const b = inputs[i];
    if (a.dtype !== b.dtype || formatShape(a.shape) !== formatShape(b.shape)) {
      throw new ShapeError(`captureStep: output ${o} ${formatShape(a.shape)} ${a.dtype} cannot feed input ${i} ${formatShape(b.shape)} ${b.dtype}`);
    }
  }
  for (const i of seenIn) {
    if (inputs.some((t, j) => j !== i && t.handle === inputs[i].handle)) {
      throw new ArgumentError(`captureStep: donated input ${i} shares its storage with another input; pass separate tensors`);
    }
  }
}

function inputMeta(inputs: readonly Tensor[], feedback: readonly (readonly [number, number])[]): InputMeta[] {
  const fed = new Set(feedback.map(([, i]) => i));
  return inputs.map((t, i) => ({ shape: t.shape, dtype: t.dtype, fed: fed.has(i) }));
}

/**
 * Runs `fn(...inputs)` once and returns a graph that runs it again on demand, replaying the
 * backend's recording where it can (see `StepGraph`). The first run happens here.
 */
export function captureStep(inputs: readonly Tensor[], fn: (...inputs: Tensor[]) => Tensor[], opts: CaptureStepOptions = {}): StepGraph {
  if (inputs.length === 0) throw new ArgumentError('captureStep: a step needs at least one input tensor');
  inputs.forEach((t, i) => t.assertAlive(`captureStep input ${i}`));
  const backend = inputs[0].backend;
  if (inputs.some((t) => t.backend !== backend)) throw new ArgumentError('captureStep: the inputs live on different backends');
  const feedback = opts.feedback ?? [];
  const record = (opts.record ?? true) && !!backend.beginCapture && !!backend.endCapture;
  const own = [...inputs];
  for (const i of opts.own ?? []) {
    if (!(Number.isInteger(i) && i >= 0 && i < inputs.length) || feedback.some(([, j]) => j === i)) {
      throw new ArgumentError(`captureStep: own lists input ${i}, which does not exist or is fed back (fed-back inputs are the graph's already)`);
    }
  }
  const adopt = (g: StepGraph): StepGraph => {
    g.owned = (opts.own ?? []).map((i) => inputs[i]);
    return g;
  };

  if (!record) {
    const outputs = tidy(() => checkOutputs(fn(...own)));
    for (const t of outputs) keep(t);
    try {
      checkFeedback(own, outputs, feedback);
    } catch (err) {
      for (const t of outputs) if (!own.includes(t)) t.dispose();
      throw err;
    }
    return adopt(new StepGraph(backend, outputs.map((t) => ({ shape: t.shape, dtype: t.dtype })), inputMeta(own, feedback), null, new EagerRuns(fn, own, outputs, feedback)));
  }

  backend.beginCapture!();
  let outputs: Tensor[];
  try {
    outputs = tidy(() => checkOutputs(fn(...own)));
  } catch (err) {
    backend.cancelCapture?.();
    throw err;
  }
  try {
    checkFeedback(own, outputs, feedback);
    const types = (ts: readonly Tensor[]) => ts.map((t) => [t.size, t.dtype] as const);
    const graph = backend.endCapture!({ inputs: own.map((t) => t.storage), outputs: outputs.map((t) => t.storage), inputTypes: types(own), outputTypes: types(outputs), feedback });
    const meta = outputs.map((t) => ({ shape: t.shape, dtype: t.dtype }));
    const inMeta = inputMeta(own, feedback);
    // The graph owns the outputs and the donated inputs now: their tensors go, their buffers stay.
    for (const t of outputs) if (!t.isDisposed) t.dispose();
    for (const [, i] of feedback) own[i].dispose();
    return adopt(new StepGraph(backend, meta, inMeta, graph, null));
  } catch (err) {
    backend.cancelCapture?.();
    for (const t of outputs) if (!t.isDisposed) t.dispose();
    throw err;
  }
}
