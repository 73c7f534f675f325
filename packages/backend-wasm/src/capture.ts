/**
 * Step graphs on the wasm backend (`captureStep` in @mamba3/tensor): a decode step recorded once
 * and replayed without the op layer (no tensors, scopes or shape checks per op, which on a small
 * model cost as much as the kernels and take the engine long to warm up).
 *
 * Recording keeps each backend entry point the op layer called (an op, a model's fused kernel,
 * an upload) with its arguments, and every tensor block allocated meanwhile, in order: the
 * allocation script. A replay calls the same entry points with the same arguments while the
 * heap hands out the script's blocks again in the same order, so every op writes where it
 * wrote when recorded and reads what the op before it wrote there. The graph owns those blocks:
 * releasing one while the graph lives frees nothing. Kernels are functions of shapes, so the
 * order of allocations is too; a replay that allocates differently is an error, not a guess.
 *
 * Feedback pairs (a state fed back as the next step's input) swap roles on every run, as on
 * WebGPU: odd runs see each such input and output block exchanged, in the arguments and in the
 * script, so run k reads what run k-1 wrote and nothing is copied.
 *
 * After each of those two variants has replayed once, the graph runs the kernels that replay
 * ran, where that is the same step (trace.ts).
 */
import type { BackendGraph, DType, TypedArray } from '@mamba3/tensor';
import { BackendError, UnsupportedError } from '@mamba3/tensor';
import type { WasmContext } from './context.js';
import type { WasmHeap } from './heap.js';
import { WasmStorage } from './heap.js';
import type { KernelTrace } from './trace.js';
import { recordTrace, releaseTrace } from './trace.js';

type EntryPoint = (...args: unknown[]) => unknown;

interface RecordedCall {
  fn: EntryPoint;
  args: readonly unknown[];
}

/** Element count and dtype of each input or output, as the op layer gives them. */
type IoTypes = readonly (readonly [number, DType])[];

/** What `endCapture` gets: storages of the step's inputs and outputs, their types, the feedback pairs. */
export interface WasmCaptureIO {
  inputs: readonly unknown[];
  outputs: readonly unknown[];
  inputTypes: IoTypes;
  outputTypes: IoTypes;
  feedback: readonly (readonly [number, number])[];
}

/** A recording in progress. */
export class WasmCapture {
  readonly calls: RecordedCall[] = [];
  /** Tensor blocks allocated while recording, in order. */
  readonly script: WasmStorage[] = [];
  /** Entry points running now: only the outermost is recorded (one may call another). */
  depth = 0;

  record(fn: EntryPoint, args: readonly unknown[]): void {
    if (this.depth === 0) this.calls.push({ fn, args: args.map(snapshot) });
  }
}

/**
 * An argument as it was at the call: tensors as plain {shape, dtype, size, storage} records (the
 * op layer's tensor objects are disposed after the capture), host values copied.
 */
function snapshot(arg: unknown): unknown {
  if (arg instanceof WasmStorage || arg === null || typeof arg !== 'object') return arg;
  if (ArrayBuffer.isView(arg)) return (arg as TypedArray).slice();
  if (Array.isArray(arg)) return arg.map(snapshot);
  const rec = arg as Record<string, unknown>;
  if (rec.storage instanceof WasmStorage && Array.isArray(rec.shape)) {
    return { shape: [...(rec.shape as number[])], dtype: rec.dtype, size: rec.size, storage: rec.storage };
  }
  if (Object.getPrototypeOf(arg) !== Object.prototype) return arg;
  return Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, snapshot(v)]));
}

/** The argument with every storage mapped through `swap`. */
function remap(arg: unknown, swap: ReadonlyMap<WasmStorage, WasmStorage>): unknown {
  if (arg instanceof WasmStorage) return swap.get(arg) ?? arg;
  if (arg === null || typeof arg !== 'object' || ArrayBuffer.isView(arg)) return arg;
  if (Array.isArray(arg)) return arg.map((a) => remap(a, swap));
  if (Object.getPrototypeOf(arg) !== Object.prototype) return arg;
  return Object.fromEntries(Object.entries(arg as Record<string, unknown>).map(([k, v]) => [k, remap(v, swap)]));
}

function storageOf(s: unknown, what: string): WasmStorage {
  if (!(s instanceof WasmStorage)) throw new BackendError(`wasm captureStep: ${what} is not a wasm tensor`);
  return s;
}

/** A recorded step, replayed by calling its entry points again over the same blocks. */
export class WasmStepGraph implements BackendGraph {
  private runs = 0;
  private disposed = false;
  /** Per variant (run parity): the calls' arguments and the allocation script. */
  private readonly variants: { args: (readonly unknown[])[]; script: readonly WasmStorage[] }[];
  private readonly calls: readonly RecordedCall[];
  /** Per variant: its kernel trace; null where it has none; undefined until its first replay. */
  private readonly traces: (KernelTrace | null | undefined)[] = [undefined, undefined];
  private readonly heap: WasmHeap;
  readonly bytes: number;

  constructor(
    private readonly ctx: WasmContext,
    cap: WasmCapture,
    private readonly io: WasmCaptureIO,
    private readonly closed: ClosedCapture,
  ) {
    const { swap } = closed;
    this.heap = ctx.heap;
    this.calls = cap.calls;
    const v0 = { args: cap.calls.map((c) => c.args), script: cap.script };
    const v1 = swap.size > 0 ? { args: cap.calls.map((c) => c.args.map((a) => remap(a, swap))), script: cap.script.map((s) => swap.get(s) ?? s) } : v0;
    this.variants = [v0, v1];
    this.bytes = closed.held.reduce((n, s) => n + s.capacity, 0);
  }

  /** The capture was run 0; run k uses variant k mod 2 (it reads what run k-1 wrote). */
  run(): void {
    this.check('run');
    const variant = (this.runs + 1) % 2;
    const trace = this.traces[variant];
    if (trace) {
      this.heap.checkIdle();
      this.ctx.pool.replay(trace.calls);
    } else {
      const v = this.variants[variant];
      const step = (): void => this.heap.replay(v.script, () => this.calls.forEach((c, k) => c.fn(...v.args[k])));
      if (trace === undefined) this.traces[variant] = recordTrace(this.ctx, step);
      else step();
    }
    this.runs++;
  }

  /** Whether run k replays kernels (trace.ts) rather than entry points: for tests and benchmarks. */
  tracedRun(k: number): boolean {
    return !!this.traces[(k + 1) % 2];
  }

  private current(i: number): WasmStorage {
    const s = this.closed.outputs[i];
    return this.runs % 2 ? (this.closed.swap.get(s) ?? s) : s;
  }

  /** Output i as of the last run: a view of the memory (valid until the next run or allocation). */
  readSync(i: number): TypedArray {
    this.check('read');
    const [n, dtype] = this.io.outputTypes[i];
    return this.heap.view(this.current(i), dtype, n);
  }

  read(i: number): Promise<TypedArray> {
    return Promise.resolve(this.readSync(i).slice());
  }

  copyOutput(i: number): WasmStorage {
    this.check('copyOutput');
    const [n, dtype] = this.io.outputTypes[i];
    const s = this.heap.alloc(n * 4);
    this.heap.view(s, dtype, n).set(this.heap.view(this.current(i), dtype, n));
    return s;
  }

  write(i: number, values: TypedArray): void {
    this.check('write');
    if (this.closed.fed.has(i)) throw new UnsupportedError(`wasm captureStep write: input ${i} is fed back from an output; only the other inputs can be written`);
    const [n, dtype] = this.io.inputTypes[i];
    if (values.length !== n) throw new UnsupportedError(`wasm captureStep write: input ${i} holds ${n} values, got ${values.length}`);
    this.heap.view(this.closed.inputs[i], dtype, n).set(values);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of this.traces) if (t) releaseTrace(this.ctx, t.recording);
    this.heap.releaseHeld(this.closed.held);
  }

  private check(op: string): void {
    if (this.disposed) throw new BackendError(`wasm captureStep ${op}: the step graph was disposed`);
  }
}

/** A recording checked against its step: the io blocks, the feedback swaps, what the graph holds. */
export interface ClosedCapture {
  inputs: WasmStorage[];
  outputs: WasmStorage[];
  /** Each fed-back output and its input, both ways. */
  swap: Map<WasmStorage, WasmStorage>;
  /** The script, and the fed-back inputs allocated before it. */
  held: WasmStorage[];
  /** Inputs fed back from an output (not writable). */
  fed: Set<number>;
}

/**
 * Checks a finished recording against the step's inputs and outputs: every output a block the
 * step allocated, every feedback pair two blocks of one size. Returns the swap map and the
 * blocks the graph holds (the script, and the fed-back inputs).
 */
export function closeWasmCapture(cap: WasmCapture, io: WasmCaptureIO): ClosedCapture {
  const inputs = io.inputs.map((s, i) => storageOf(s, `input ${i}`));
  const outputs = io.outputs.map((s, o) => storageOf(s, `output ${o}`));
  const inScript = new Set(cap.script);
  outputs.forEach((s, o) => {
    if (!inScript.has(s) || s.half) {
      throw new UnsupportedError(`wasm captureStep: output ${o} is not a result computed by the step (a view of an input or a weight); return a computed tensor`);
    }
  });
  const swap = new Map<WasmStorage, WasmStorage>();
  for (const [o, i] of io.feedback) {
    const out = outputs[o];
    const inp = inputs[i];
    if (swap.has(out) || swap.has(inp)) throw new UnsupportedError(`wasm captureStep: output ${o} or input ${i} appears in two feedback pairs (or shares storage with another); each pair needs its own tensors`);
    if (out.capacity !== inp.capacity || inp.half) throw new UnsupportedError(`wasm captureStep: output ${o} (${out.capacity} bytes) cannot feed input ${i} (${inp.capacity} bytes${inp.half ? ', 16-bit' : ''})`);
    swap.set(out, inp).set(inp, out);
  }
  const held = [...cap.script, ...io.feedback.map(([, i]) => inputs[i]).filter((s) => !inScript.has(s))];
  return { inputs, outputs, swap, held, fed: new Set(io.feedback.map(([, i]) => i)) };
}
