import { BackendError, BackendUnavailableError } from '@mamba3/tensor';
import { WORKER_SOURCE } from './worker-source.js';

/** Kernel exports, by index: the control block names a task by its position here. */
export const KERNEL_NAMES = [
  'packA', 'packB', 'gemmPacked', 'gemvRowMajor', 'gemvTransB', 'unary', 'binary', 'rmsNorm', 'softmax', 'reduce', 'mamba3Scan', 'trig', 'copyRows', 'mamba3Mixer',
  'gemvTransBHalf', 'unpackHalf', 'gatherRows', 'mamba1Scan', 'mamba1ConvStep', 'mamba1StepScan',
] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
/** Each kernel's index (a task names its kernel by it), looked up once per call without a search. */
const KERNEL_INDEX = new Map<KernelName, number>(KERNEL_NAMES.map((n, i) => [n, i]));
type KernelFn = (tid: number, nt: number, ...args: number[]) => void;

/** A kernel run as the pool ran it: the kernel's index, its arguments, whether on every thread. */
export interface KernelCall {
  readonly task: number;
  readonly args: readonly number[];
  readonly parallel: boolean;
}

/**
 * Control block: Int32 words (generation, done count, task, thread count, stop, arg count,
 * error), 24 f64 arguments, then one Int32 per thread: the generation it last ran.
 */
const GEN = 0, DONE = 1, TASK = 2, NT = 3, STOP = 4, NARGS = 5, ERR = 6;
const MAX_ARGS = 24;
const RAN_OFFSET = 64 + MAX_ARGS * 8;
export function controlBytes(threads: number): number {
  return RAN_OFFSET + 4 * threads;
}
const MAIN_SPIN = 2000;

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/**
 * Runs kernels on this thread plus `threads − 1` workers sharing the WebAssembly memory. A task
 * runs synchronously: the caller writes the arguments, bumps the generation counter, runs share
 * 0 itself, and waits for the workers' done count (Atomics.wait where the thread may block, a
 * spin on a browser's main thread).
 */
export class ThreadPool {
  private readonly fns: KernelFn[];
  private buffer: ArrayBufferLike;
  private i32: Int32Array;
  private f64: Float64Array;
  private ran: Int32Array;
  private canBlock = true;
  /** While set, every kernel run is appended to it (a step graph's kernel trace: trace.ts). */
  trace: KernelCall[] | null = null;

  private constructor(
    instance: WebAssembly.Instance,
    private readonly memory: WebAssembly.Memory,
    private readonly ctrl: number,
    private readonly workers: AnyWorker[],
  ) {
    this.fns = KERNEL_NAMES.map((n) => instance.exports[n] as KernelFn);
    this.buffer = memory.buffer;
    this.i32 = new Int32Array(this.buffer, ctrl, 16);
    this.f64 = new Float64Array(this.buffer, ctrl + 64, MAX_ARGS);
    this.ran = new Int32Array(this.buffer, ctrl + RAN_OFFSET, workers.length + 1);
  }

  /** Views of the control block on the memory's current buffer (growing may detach the old one). */
  private control(): void {
    if (this.memory.buffer === this.buffer) return;
    this.buffer = this.memory.buffer;
    this.i32 = new Int32Array(this.buffer, this.ctrl, 16);
    this.f64 = new Float64Array(this.buffer, this.ctrl + 64, MAX_ARGS);
    this.ran = new Int32Array(this.buffer, this.ctrl + RAN_OFFSET, this.workers.length + 1);
  }

  /** Threads a task can use (this one included). */
  get threads(): number {
    return this.workers.length + 1;
  }

  static async create(module: WebAssembly.Module, memory: WebAssembly.Memory, ctrl: number, threads: number): Promise<ThreadPool> {
    const instance = await WebAssembly.instantiate(module, { env: { memory, abort: kernelAbort } });
    const workers: AnyWorker[] = [];
    const names = [...KERNEL_NAMES];
    const started: Promise<void>[] = [];
    for (let tid = 1; tid < threads; tid++) {
      const { worker, ready } = await spawn();
      worker.postMessage({ module, memory, ctrl, names, tid, ranOffset: RAN_OFFSET, maxArgs: MAX_ARGS });
      workers.push(worker);
      started.push(ready);
    }
    await Promise.all(started);
    return new ThreadPool(instance, memory, ctrl, workers);
  }

  /** Runs `name` over all threads (`parallel`) or on this one alone. */
  run(name: KernelName, args: readonly number[], parallel: boolean): void {
    const task = KERNEL_INDEX.get(name)!;
    if (this.trace) this.trace.push({ task, args: [...args], parallel });
    this.runTask(task, args, parallel);
  }

  /** Runs recorded calls again, in order (a step graph's kernel trace: trace.ts). */
  replay(calls: readonly KernelCall[]): void {
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i];
      this.runTask(c.task, c.args, c.parallel);
    }
  }

  private runTask(task: number, args: readonly number[], parallel: boolean): void {
    if (!parallel || this.workers.length === 0) {
      this.fns[task](0, 1, ...args);
      return;
    }
    const name = KERNEL_NAMES[task];
    if (args.length > MAX_ARGS) throw new BackendError(`wasm backend: kernel ${name} takes ${args.length} arguments; the control block holds ${MAX_ARGS}`);
    this.control();
    const { i32, f64 } = this;
    for (let i = 0; i < args.length; i++) f64[i] = args[i];
    i32[TASK] = task;
    i32[NT] = this.threads;
    i32[NARGS] = args.length;
    Atomics.store(i32, DONE, 0);
    const gen = (Atomics.add(i32, GEN, 1) + 1) | 0; // the word wraps as an Int32
    Atomics.notify(i32, GEN);
    this.fns[task](0, this.threads, ...args);
    this.waitWorkers();
    if (Atomics.exchange(i32, ERR, 0) !== 0) throw new Error(`wasm backend: kernel ${name} failed in a worker`);
    this.checkRan(name, gen);
  }

  /**
   * Every worker must have run this generation, once: a result computed without a worker's
   * share would be silently wrong, so a protocol fault is an error (cheap: a load per worker).
   */
  private checkRan(name: KernelName, gen: number): void {
    const done = Atomics.load(this.i32, DONE);
    for (let tid = 1; tid <= this.workers.length; tid++) {
      const ran = Atomics.load(this.ran, tid);
      if (ran !== gen || done !== this.workers.length) {
        throw new BackendError(`wasm backend: thread ${tid} ran task generation ${ran}, not ${gen} (kernel ${name}, ${done} of ${this.workers.length} workers done): a thread-pool fault; use threads: 1 and report it`);
      }
    }
  }

  private waitWorkers(): void {
    const n = this.workers.length;
    let spins = 0;
    for (;;) {
      const done = Atomics.load(this.i32, DONE);
      if (done >= n) return;
      if (spins++ < MAIN_SPIN || !this.canBlock) continue;
      try {
        Atomics.wait(this.i32, DONE, done, 50);
      } catch {
        this.canBlock = false; // a browser's main thread may not block
      }
    }
  }

  dispose(): void {
    this.control();
    Atomics.store(this.i32, STOP, 1);
    Atomics.add(this.i32, GEN, 1);
    Atomics.notify(this.i32, GEN);
    for (const w of this.workers) void w.terminate();
    this.workers.length = 0;
  }
}

function kernelAbort(): never {
  throw new Error('wasm kernel abort');
}

/** A worker running WORKER_SOURCE: worker_threads in Node, a Blob-URL Web Worker in browsers. */
async function spawn(): Promise<{ worker: AnyWorker; ready: Promise<void> }> {
  const g = globalThis as { process?: { versions?: { node?: string } }; Worker?: typeof Worker };
  if (g.process?.versions?.node) {
    const spec = 'node:worker_threads';
    const wt = (await import(/* @vite-ignore */ spec)) as typeof import('node:worker_threads');
    const worker = new wt.Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { worker, ready };
  }
  if (!g.Worker) throw new BackendUnavailableError('wasm backend: threads need Web Workers, which this environment lacks (use threads: 1)');
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new g.Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
  });
  return { worker, ready };
}

/** Threads this platform allows: the cores in Node, the cores in a cross-origin-isolated page, else 1. */
export async function defaultThreads(): Promise<number> {
  const g = globalThis as { process?: { versions?: { node?: string } }; crossOriginIsolated?: boolean; navigator?: { hardwareConcurrency?: number } };
  if (g.process?.versions?.node) {
    const spec = 'node:os';
    const os = (await import(/* @vite-ignore */ spec)) as typeof import('node:os');
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  if (g.crossOriginIsolated && typeof SharedArrayBuffer !== 'undefined') return Math.max(1, g.navigator?.hardwareConcurrency ?? 1);
  return 1;
}
