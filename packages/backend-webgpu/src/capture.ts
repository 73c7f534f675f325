import type { DType, TypedArray } from '@mamba3/tensor';
import { BackendError, UnsupportedError } from '@mamba3/tensor';
import type { GraphCopies } from './options.js';
import { GPUStorage } from './pool.js';

/** One command of a captured step: what `dispatch`, `copy` and `clear` encoded. */
export type Recorded =
  | { kind: 'dispatch'; pipeline: GPUComputePipeline; layout: GPUBindGroupLayout; buffers: readonly GPUBuffer[]; groups: readonly [number, number, number] }
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; bytes: number };

/** A capture in progress: the commands, and the buffers allocated while recording. */
export interface Capture {
  commands: Recorded[];
  /** Every buffer allocated during the capture: the graph owns them all afterwards. */
  owned: Set<GPUBuffer>;
  /** Buffers released during the capture, reusable by its later allocations (same order on replay). */
  free: Map<number, GPUBuffer[]>;
  /** Buffers written from the host (constants): never reused, or a replay would read them clobbered. */
  constants: Set<GPUBuffer>;
  /** Constants whose tensors were released during the capture (the graph still reads them). */
  retired: GPUBuffer[];
  /** Why the recording cannot be replayed (a readback was attempted), if so. */
  poisoned: string | null;
}

export function newCapture(): Capture {
  return { commands: [], owned: new Set(), free: new Map(), constants: new Set(), retired: [], poisoned: null };
}

/** What `endCapture` needs: the graph's input and output storages, and which outputs feed which inputs. */
export interface CaptureIO {
  inputs: readonly GPUStorage[];
  outputs: readonly GPUStorage[];
  /** [output, input] pairs: after a run, the output is the next run's input. */
  feedback: readonly (readonly [number, number])[];
}

/** A buffer released during a capture: reusable by its later allocations unless host-written. */
export function releaseCaptured(cap: Capture, buffer: GPUBuffer): void {
  if (cap.constants.has(buffer)) {
    cap.retired.push(buffer);
    return;
  }
  let list = cap.free.get(buffer.size);
  if (!list) cap.free.set(buffer.size, (list = []));
  list.push(buffer);
}

/**
 * Checks a finished capture against its inputs and outputs and returns the feedback swaps
 * (each output and the input it feeds, both ways) and every buffer the graph will hold. Throws
 * UnsupportedError when the graph cannot be replayed as asked.
 */
export function closeCapture(cap: Capture, io: CaptureIO): { swaps: Map<GPUBuffer, GPUBuffer>; held: Set<GPUBuffer> } {
  if (cap.poisoned) throw new UnsupportedError(cap.poisoned);
  io.outputs.forEach((out, o) => {
    if (out.half || !cap.owned.has(out.own) || cap.constants.has(out.own)) {
      throw new UnsupportedError(`webgpu captureStep: output ${o} is not a result computed by the step (a view of an input or a weight, or a constant); return a computed tensor`);
    }
  });
  const swaps = new Map<GPUBuffer, GPUBuffer>();
  io.feedback.forEach(([o, i]) => {
    const out = io.outputs[o];
    const inp = io.inputs[i];
    if (swaps.has(out.own) || swaps.has(inp.own)) {
      throw new UnsupportedError(`webgpu captureStep: output ${o} or input ${i} appears in two feedback pairs (or shares storage with another); each pair needs its own tensors`);
    }
    swaps.set(out.own, inp.own).set(inp.own, out.own);
  });
  for (const [o, i] of io.feedback) {
    if (io.inputs[i].dtype !== io.outputs[o].dtype || io.inputs[i].bytes !== io.outputs[o].bytes) {
      throw new UnsupportedError(`webgpu captureStep: output ${o} (${io.outputs[o].bytes} bytes ${io.outputs[o].dtype}) cannot feed input ${i} (${io.inputs[i].bytes} bytes ${io.inputs[i].dtype})`);
    }
  }
  const held = new Set<GPUBuffer>(cap.owned);
  for (const [, i] of io.feedback) held.add(io.inputs[i].own);
  return { swaps, held };
}

/** A step graph's input: its buffer, size and dtype, and whether an output feeds it. */
export interface GraphInput {
  buffer: GPUBuffer;
  bytes: number;
  dtype: DType;
  fed: boolean;
}

/** What a step graph needs from the runtime that replays it. */
export interface GraphHost {
  makeBindGroup(layout: GPUBindGroupLayout, buffers: readonly GPUBuffer[]): GPUBindGroup;
  encodeRecorded(commands: readonly Recorded[], bindGroups: readonly (GPUBindGroup | null)[], map: (b: GPUBuffer) => GPUBuffer): void;
  writeAfterQueued(buffer: GPUBuffer, values: TypedArray): void;
  read(op: string, s: GPUStorage, bytes: number, dtype: DType): Promise<TypedArray>;
  alloc(op: string, bytes: number, dtype: DType): GPUStorage;
  release(s: GPUStorage): void;
  copy(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset?: number): void;
  copyInPass(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset?: number): void;
  releaseGraph(buffers: Iterable<GPUBuffer>, bytes: number): void;
  /** How runs copy rows into inputs and outputs into logs (`RuntimeOptions.graphCopies`). */
  readonly graphCopies: GraphCopies;
}

/**
 * A captured step: the recorded commands, replayed without the op layer. Feedback pairs swap
 * roles on every run (ping-pong), so no copies are needed: run k reads what run k-1 wrote.
 */
export class StepGraphGPU {
  private runs = 0;
  private disposed = false;
  private readonly variants: (GPUBindGroup | null)[][];
  /** Collected outputs (`collect`): each run copies the output into the next slot of its log. */
  private readonly logs = new Map<number, { log: GPUStorage; slots: number; used: number }>();
  /** Rows written ahead (`writeAhead`), by input: each run first copies its row into the input. */
  private readonly tables = new Map<number, { table: GPUStorage; rows: number; next: number }>();

  constructor(
    private readonly rt: GraphHost,
    private readonly commands: readonly Recorded[],
    private readonly swaps: ReadonlyMap<GPUBuffer, GPUBuffer>,
    private readonly outputBuffers: readonly GPUBuffer[],
    private readonly outputTypes: readonly (readonly [number, DType])[],
    private readonly inputs: readonly GraphInput[],
    private readonly held: ReadonlySet<GPUBuffer>,
    readonly bytes: number,
  ) {
    // Variant 0 is the capture as recorded; variant 1 has every feedback pair swapped (the same
    // bind groups when nothing is fed back).
    const variant = (v: number) => commands.map((c) => (c.kind === 'dispatch' ? rt.makeBindGroup(c.layout, v ? c.buffers.map((b) => this.swapped(b)) : c.buffers) : null));
    const recorded = variant(0);
    this.variants = [recorded, swaps.size ? variant(1) : recorded];
  }

  private swapped(b: GPUBuffer): GPUBuffer {
    return this.swaps.get(b) ?? b;
  }

  /** The capture itself was run 0; run k uses variant k mod 2 (reads what run k-1 wrote). */
  run(): void {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    for (const [i, entry] of this.logs) {
      if (entry.used === entry.slots) throw new BackendError(`webgpu captureStep: output ${i}'s log of ${entry.slots} runs is full; read it first`);
    }
    for (const [i, t] of this.tables) {
      if (t.next === t.rows) continue;
      const bytes = this.inputs[i].bytes;
      this.copyWords(t.table.buffer, this.inputs[i].buffer, 0, bytes, t.next++ * bytes);
    }
    this.runs++;
    const v = this.runs % 2;
    this.rt.encodeRecorded(this.commands, this.variants[v], v ? (b) => this.swapped(b) : (b) => b);
    for (const [i, entry] of this.logs) {
      const bytes = this.outputTypes[i][0];
      this.copyWords(this.current(i), entry.log.buffer, entry.used++ * bytes, bytes, 0);
    }
  }

  /** A run's own copies (rows in, outputs to logs: whole words), as `graphCopies` says. */
  private copyWords(src: GPUBuffer, dst: GPUBuffer, dstOffset: number, bytes: number, srcOffset: number): void {
    if (this.rt.graphCopies === 'dispatch') this.rt.copyInPass(src, dst, dstOffset, bytes, srcOffset);
    else this.rt.copy(src, dst, dstOffset, bytes, srcOffset);
  }

  /** From the next run on, each run copies output i into a log of `capacity` runs on the device. */
  collect(i: number, capacity: number): void {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    if (this.logs.has(i)) throw new BackendError(`webgpu captureStep: output ${i} is collected already`);
    const [bytes, dtype] = this.outputTypes[i];
    this.logs.set(i, { log: this.rt.alloc('captureStep collect', bytes * capacity, dtype), slots: capacity, used: 0 });
  }

  /**
   * The first `runs` entries of output i's log, in one copy and one map. Later runs write the log
   * from its start again: they are queued after this read's copy, so they cannot overwrite what
   * it reads.
   */
  readCollected(i: number, runs: number): Promise<TypedArray> {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    const entry = this.logs.get(i);
    if (!entry) throw new BackendError(`webgpu captureStep: output ${i} is not collected`);
    if (runs > entry.used) throw new BackendError(`webgpu captureStep: output ${i}'s log holds ${entry.used} runs, not ${runs}`);
    entry.used = 0;
    const [bytes, dtype] = this.outputTypes[i];
    return this.rt.read('captureStep readCollected', new GPUStorage(entry.log.buffer, runs * bytes, dtype), runs * bytes, dtype);
  }

  /** Output i's buffer as of the last run. */
  private current(i: number): GPUBuffer {
    const b = this.outputBuffers[i];
    return this.runs % 2 ? this.swapped(b) : b;
  }

  /**
   * New values for input i (not one fed back) before the next run: written after everything
   * queued so far, so earlier runs keep reading the old ones.
   */
  write(i: number, values: TypedArray): void {
    const input = this.writable('write', i);
    if (values.byteLength !== input.bytes) throw new UnsupportedError(`webgpu captureStep write: input ${i} holds ${input.bytes} bytes, got ${values.byteLength}`);
    this.rt.writeAfterQueued(input.buffer, values);
  }

  /** Input i, if `op` may write it: the graph is alive and the input is not fed back. */
  private writable(op: string, i: number): GraphInput {
    if (this.disposed) throw new BackendError('webgpu captureStep: the step graph was disposed');
    const input = this.inputs[i];
    if (input.fed) throw new UnsupportedError(`webgpu captureStep ${op}: input ${i} is fed back from an output; only the other inputs can be written`);
    return input;
  }

  /**
   * Rows of input i for the next `runs` runs: uploaded once, after everything queued so far,
   * into a table on the device that each run copies its row from. Runs queued earlier copied
   * theirs before this upload lands, so the table is reused.
   */
  writeAhead(i: number, values: TypedArray, runs: number): void {
    const input = this.writable('writeAhead', i);
    if (values.byteLength !== runs * input.bytes) throw new UnsupportedError(`webgpu captureStep writeAhead: ${runs} runs of input ${i} hold ${runs * input.bytes} bytes, got ${values.byteLength}`);
    // Buffer copies move whole 4-byte words.
    if (input.bytes % 4) throw new UnsupportedError(`webgpu captureStep writeAhead: input ${i} is ${input.bytes} bytes, not whole 4-byte words; use write before each run`);
    const old = this.tables.get(i);
    if (old && old.next < old.rows) throw new BackendError(`webgpu captureStep writeAhead: input ${i} still has ${old.rows - old.next} rows no run has taken`);
    let table = old?.table;
    if (!table || table.bytes < values.byteLength) {
      if (table) this.rt.release(table);
      table = this.rt.alloc('captureStep writeAhead', values.byteLength, input.dtype);
    }
    this.rt.writeAfterQueued(table.buffer, values);
    this.tables.set(i, { table, rows: runs, next: 0 });
  }

  read(i: number): Promise<TypedArray> {
    const [bytes, dtype] = this.outputTypes[i];
    return this.rt.read('captureStep read', new GPUStorage(this.current(i), bytes, dtype), bytes, dtype);
  }

  /** A new storage holding a copy of output i as of the last run. */
  copyOutput(i: number): GPUStorage {
    const [bytes, dtype] = this.outputTypes[i];
    const s = this.rt.alloc('captureStep output', bytes, dtype);
    this.rt.copy(this.current(i), s.buffer, 0, Math.ceil(bytes / 4) * 4);
    return s;
  }

  get commandCount(): number {
    return this.commands.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const { log } of this.logs.values()) this.rt.release(log);
    for (const { table } of this.tables.values()) this.rt.release(table);
    this.rt.releaseGraph(this.held, this.bytes);
  }
}
