import type { Backend, BackendInfo, DType, HalfStorage, KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { BackendUnavailableError, floatToBf16, floatToHalf, sizeOf } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { KERNELS_SHARED_BASE64, KERNELS_SINGLE_BASE64 } from './generated/kernels-wasm.js';
import { compileKernels } from './compile.js';
import { WasmContext } from './context.js';
import type { WasmStorage } from './heap.js';
import { HALF_CODES, MAX_PAGES, WasmHeap } from './heap.js';
import { controlBytes, defaultThreads, ThreadPool } from './pool.js';
import { binary, unary } from './kernels/elementwise.js';
import { concat, gather, slice } from './kernels/layout.js';
import { fusedLinear } from './kernels/linear.js';
import type { ScanKernelInputs, StepKernelInputs } from './kernels/mamba3.js';
import { mamba3ChunkScan, mamba3StepScan } from './kernels/mamba3.js';
import { matmul } from './kernels/matmul.js';
import type { Mamba1ConvStepKernelInputs, Mamba1ScanKernelInputs, Mamba1StepScanKernelInputs } from './kernels/mamba1.js';
import { mamba1ConvStep, mamba1Scan, mamba1StepScan } from './kernels/mamba1.js';
import type { MixerKernelAttrs, MixerKernelParams, MixerKernelState, MixerOutputs } from './kernels/mixer.js';
import { mamba3Mixer } from './kernels/mixer.js';
import { reduce, rmsNorm, softmax } from './kernels/nn.js';
import { StepRecorder } from './recorder.js';

export interface WasmBackendOptions {
  /** Registry name (default `wasm`). */
  name?: string;
  /**
   * Threads, this one included (default: the cores in Node and in cross-origin-isolated pages,
   * else 1). More than 1 needs SharedArrayBuffer.
   */
  threads?: number;
  /**
   * Run every kernel on all threads, however small (default false: small ops stay on one
   * thread, since waking workers costs more than they save). For tests of the threaded paths.
   */
  alwaysParallel?: boolean;
  /**
   * Compile the kernels with the engine's optimizing tier at once where the platform allows it
   * (Node; default true): see compile.ts. False keeps the engine's baseline-first tiering.
   */
  optimizingCompile?: boolean;
}

/**
 * The wasm backend with its kernel-authoring API: the Mamba-3 kernels compiled into this
 * package's WebAssembly module, for the fused-op kernels @mamba3/core registers for kind `wasm`.
 * Storage is a block of the WebAssembly memory; these take and return such blocks.
 */
export interface WasmBackend extends Backend {
  readonly wasmKernels: {
    /** The exact sequential recurrence: y [b, L, R, H, P] and the final state [b, H, P, N]. */
    mamba3ChunkScan(inputs: ScanKernelInputs): { y: unknown; finalSsm: unknown };
    /** One recurrent step: y [b, R, H, P] and the new state. */
    mamba3StepScan(inputs: StepKernelInputs): { y: unknown; ssm: unknown };
    /** The whole mixer over zxbcdt [b, L, dInProj] (L positions; a decode step is L = 1). */
    mamba3Mixer(zxbcdt: KernelTensor, L: number, params: MixerKernelParams, state: MixerKernelState | null, attrs: MixerKernelAttrs): MixerOutputs;
    /** The Mamba-1 selective scan, sequential: u [b, L, E] (or one step: u [b, E] with the state as h0); y like u, state [b, E, N]. */
    mamba1Scan(inputs: Mamba1ScanKernelInputs): { y: unknown; state: unknown };
    /** The Mamba-1 decode step's conv and SiLU: x [b, E] and the rolled conv state [b, E, K]. */
    mamba1ConvStep(inputs: Mamba1ConvStepKernelInputs): { x: unknown; conv: unknown };
    /** The Mamba-1 decode step's dt_proj, scan step and gate: y [b, E] and the next state [b, E, N]. */
    mamba1StepScan(inputs: Mamba1StepScanKernelInputs): { y: unknown; state: unknown };
  };
}

function decode(base64: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) return new Uint8Array(g.Buffer.from(base64, 'base64'));
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Whether this platform runs the wasm backend: WebAssembly with SIMD128 (Node ≥ 16.4, every
 * current browser). The `auto` rule asks this before trying the backend.
 */
export function wasmAvailable(): boolean {
  if (typeof WebAssembly !== 'object') return false;
  try {
    return WebAssembly.validate(decode(KERNELS_SINGLE_BASE64) as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

/** Compiled kernel modules by (shared memory, optimizing): one compilation per process, however many backends. */
const modules = new Map<string, Promise<WebAssembly.Module>>();

function kernelModule(shared: boolean, optimizing: boolean): Promise<WebAssembly.Module> {
  const key = `${shared}/${optimizing}`;
  let m = modules.get(key);
  if (!m) {
    m = compileKernels(decode(shared ? KERNELS_SHARED_BASE64 : KERNELS_SINGLE_BASE64) as Uint8Array<ArrayBuffer>, optimizing).then((c) => c.module);
    // A failed compilation is not kept: the next backend tries again.
    m.catch(() => modules.delete(key));
    modules.set(key, m);
  }
  return m;
}

/**
 * Creates the WebAssembly SIMD backend: every tensor is a block of one WebAssembly memory; the
 * hot kernels (matmul, elementwise math, norms, softmax, reductions) run as SIMD128 code on all
 * threads; ops without a wasm kernel run the cpu backend's loops on views of that memory.
 */
export async function createWasmBackend(opts?: WasmBackendOptions): Promise<WasmBackend> {
  const name = opts?.name ?? 'wasm';
  if (!wasmAvailable()) throw new BackendUnavailableError('wasm backend: this platform has no WebAssembly SIMD128 (Node ≥ 16.4 or a current browser has it); use the cpu backend');
  let threads = Math.max(1, Math.floor(opts?.threads ?? (await defaultThreads())));
  if (threads > 1 && typeof SharedArrayBuffer === 'undefined') threads = 1;
  const shared = threads > 1;
  const module = await kernelModule(shared, opts?.optimizingCompile ?? true);
  const memory = new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared });
  // heapBase from a throwaway instance: the module has no static data today, but may.
  const probe = await WebAssembly.instantiate(module, { env: { memory, abort: () => undefined } });
  const heap = new WasmHeap(memory, (probe.exports.heapBase as () => number)());
  const ctrl = heap.alloc(controlBytes(threads), false);
  const pool = await ThreadPool.create(module, memory, ctrl.ptr, threads);
  const cpu = createCpuBackend({ name: `${name}-fallback` });
  const ctx = opts?.alwaysParallel ? new WasmContext(heap, pool, cpu, 0, 0) : new WasmContext(heap, pool, cpu);
  const info: BackendInfo = { name, kind: 'wasm', dtypes: ['float32', 'int32'], syncRead: true, device: `WebAssembly SIMD128, ${threads} thread${threads > 1 ? 's' : ''}` };
  const v = (t: KernelTensor): KernelTensor => ctx.view(t);
  const read = (x: KernelTensor): TypedArray => {
    const s = x.storage as WasmStorage;
    if (!s.half) return heap.view(s, x.dtype, x.size).slice();
    try {
      return heap.f32(ctx.ptr(x), x.size).slice();
    } finally {
      ctx.endOp();
    }
  };
  const f32 = (...ts: KernelTensor[]): boolean => ts.every((t) => t.dtype === 'float32');

  const backend: WasmBackend = {
    name,
    info,
    upload: (values: TypedArray, _shape: Shape, dtype: DType) => {
      const s = ctx.alloc(values.length, dtype);
      heap.view(s, dtype, values.length).set(values);
      return s;
    },
    uploadHalf: (values: Float32Array, _shape: Shape, storage: HalfStorage) => {
      const s = heap.allocHalf(values.length, HALF_CODES[storage]);
      heap.u16(s.ptr, values.length).set(toHalfBits(values, storage));
      return s;
    },
    fill: (shape, dtype, value) => {
      const n = sizeOf(shape);
      const s = ctx.alloc(n, dtype);
      heap.view(s, dtype, n).fill(value);
      return s;
    },
    read: async (x) => read(x),
    readSync: read,
    release: (storage) => {
      ctx.releaseDerived(storage as WasmStorage);
      heap.release(storage as WasmStorage);
    },
    memoryBytes: () => heap.liveBytes,
    dispose: () => pool.dispose(),

    unary: (op, x) => unary(ctx, op, x),
    binary: (op, a, b, outShape) => binary(ctx, op, a, b, outShape),
    where: (c, a, b, outShape) => {
      const [vc, va, vb] = ctx.views(c, a, b);
      return ctx.viaCpu((cpu) => cpu.where(vc, va, vb, outShape));
    },
    cast: (x, dtype) => ctx.viaCpu((cpu) => cpu.cast(v(x), dtype)),
    matmul: (a, b, ta, tb, outShape) => (f32(a, b) ? matmul(ctx, a, b, ta, tb, outShape) : ctx.viaCpu((cpu) => cpu.matmul(v(a), v(b), ta, tb, outShape))),
    reduce: (op, x, axes, outShape) => reduce(ctx, op, x, axes, outShape),
    argReduce: (op, x, axis, outShape) => ctx.viaCpu((cpu) => cpu.argReduce(op, v(x), axis, outShape)),
    cumsum: (x, axis, exclusive, reverse) => ctx.viaCpu((cpu) => cpu.cumsum(v(x), axis, exclusive, reverse)),
    transpose: (x, perm, outShape) => ctx.viaCpu((cpu) => cpu.transpose(v(x), perm, outShape)),
    slice: (x, begin, size) => slice(ctx, x, begin, size),
    concat: (xs, axis, outShape) => concat(ctx, xs, axis, outShape),
    pad: (x, paddings, value, outShape) => ctx.viaCpu((cpu) => cpu.pad(v(x), paddings, value, outShape)),
    gather: (x, indices, axis, outShape) => gather(ctx, x, indices, axis, outShape),
    scatterAdd: (u, indices, axis, outShape) => {
      const [vu, vi] = ctx.views(u, indices);
      return ctx.viaCpu((cpu) => cpu.scatterAdd(vu, vi, axis, outShape));
    },
    softmax: (x) => softmax(ctx, x, false),
    logSoftmax: (x) => softmax(ctx, x, true),
    rmsNorm: (x, w, eps) => rmsNorm(ctx, x, null, w, eps, x.shape[x.shape.length - 1] ?? 1, true),
    gatedRmsNorm: (x, z, w, eps, groupSize, normBeforeGate) => rmsNorm(ctx, x, z, w, eps, groupSize, normBeforeGate),
    fusedLinear: (x, w, nw, eps, residual) => fusedLinear(ctx, x, w, nw, eps, residual),
    wasmKernels: {
      mamba3ChunkScan: (inputs) => mamba3ChunkScan(ctx, inputs),
      mamba3StepScan: (inputs) => mamba3StepScan(ctx, inputs),
      mamba3Mixer: (zxbcdt, L, params, state, attrs) => mamba3Mixer(ctx, zxbcdt, L, params, state, attrs),
      mamba1Scan: (inputs) => mamba1Scan(ctx, inputs),
      mamba1ConvStep: (inputs) => mamba1ConvStep(ctx, inputs),
      mamba1StepScan: (inputs) => mamba1StepScan(ctx, inputs),
    },
  };
  // Every op frees the transient f32 copies of 16-bit inputs it made (context.ts `ptr`), and
  // is recorded when a step is captured (capture.ts).
  const recorder = new StepRecorder(ctx);
  const ops = backend as unknown as Record<string, unknown>;
  for (const key of OPS) ops[key] = recorder.entry(endingOp(ctx, ops[key] as (...a: unknown[]) => unknown));
  for (const key of HOST_WRITES) ops[key] = recorder.entry(ops[key] as (...a: unknown[]) => unknown);
  const kernels = backend.wasmKernels as unknown as Record<string, (...a: unknown[]) => unknown>;
  for (const key of Object.keys(kernels)) kernels[key] = recorder.entry(endingOp(ctx, kernels[key]));
  backend.beginCapture = () => recorder.begin();
  backend.endCapture = (io) => recorder.end(io);
  backend.cancelCapture = () => recorder.cancel();
  return backend;
}

/** Backend methods that write host values into new tensors: recorded like ops (a step's constants). */
const HOST_WRITES = ['upload', 'uploadHalf', 'fill'] as const satisfies readonly (keyof Backend)[];

/** Backend methods that compute (the rest manage memory). */
const OPS = [
  'unary', 'binary', 'where', 'cast', 'matmul', 'reduce', 'argReduce', 'cumsum', 'transpose', 'slice', 'concat', 'pad', 'gather', 'scatterAdd',
  'softmax', 'logSoftmax', 'rmsNorm', 'gatedRmsNorm', 'fusedLinear',
] as const satisfies readonly (keyof Backend)[];

function endingOp(ctx: WasmContext, f: (...a: unknown[]) => unknown): (...a: unknown[]) => unknown {
  return (...a) => {
    try {
      return f(...a);
    } finally {
      ctx.endOp();
    }
  };
}

/** The 16-bit patterns of `values`, rounded to nearest (the caller has usually rounded them already: then exact). */
function toHalfBits(values: Float32Array, storage: HalfStorage): Uint16Array {
  const out = new Uint16Array(values.length);
  const round = storage === 'bfloat16' ? floatToBf16 : floatToHalf;
  for (let i = 0; i < values.length; i++) out[i] = round(values[i]);
  return out;
}
