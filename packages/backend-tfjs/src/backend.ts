import type { Backend, BackendInfo, DType, KernelTensor, Shape, TypedArray } from '@mamba3/tensor';
import { BackendError, BackendUnavailableError } from '@mamba3/tensor';
import { argReduce, cumsum, reduce } from './kernels/reduce.js';
import { binary, cast, unary, where } from './kernels/elementwise.js';
import { concat, gather, pad, scatterAdd, slice, transpose } from './kernels/layout.js';
import { outerDiff, scaleCols, scaleRows } from './kernels/broadcast.js';
import { matmul } from './kernels/matmul.js';
import type { Traits } from './kernels/quirks.js';
import { padAny, sliceAny, traitsOf } from './kernels/quirks.js';
import { gatedRmsNorm, logSoftmax, rmsNorm, softmax } from './kernels/nn.js';
import type { KnownTfjsBackend } from './loader.js';
import { defaultCandidates, ensureRegistered, resolveTf } from './loader.js';
import type { Tf, TfTensor } from './tf.js';
import { input, tfDtype } from './tf.js';

export interface TfjsBackendOptions {
  /**
   * The tfjs namespace you use (`import * as tf from '@tensorflow/tfjs'`, `@tensorflow/tfjs-node`,
   * ...). Default: the installed `@tensorflow/tfjs-core` (the peer dependency).
   */
  tf?: Tf;
  /**
   * The tfjs backend to run on: `cpu`, `wasm`, `webgpu`, `webgl`, `tensorflow` (tfjs-node /
   * tfjs-node-gpu), or any name you registered with tfjs. Known ones are loaded by package name
   * when not registered yet. Default: tfjs's own choice among the registered backends; when none
   * is, the first that loads of tensorflow, wasm, cpu (Node) or webgpu, webgl, wasm, cpu (browsers).
   */
  tfjsBackend?: KnownTfjsBackend | (string & {});
  /** Registry name of this instance (default `tfjs`), e.g. `tfjs-wasm` to keep several. */
  name?: string;
}

/** Helpers for kernels written on tfjs: inputs as tfjs tensors, and broadcasts and slices that avoid tfjs's slow or broken paths (see quirks.ts). */
export const tfjsKernelHelpers = { input, scaleRows, scaleCols, outerDiff, padAny, sliceAny };

/**
 * The tfjs backend with its kernel-authoring API, for fused-op kernels registered from other
 * packages (`registerKernel({ backendName: 'tfjs', ... })`).
 */
export interface TfjsBackend extends Backend {
  /** The tfjs namespace this backend runs on. */
  readonly tf: Tf;
  /** What the running tfjs backend can be trusted with (pass to the helpers). */
  readonly traits: Traits;
  readonly helpers: typeof tfjsKernelHelpers;
  /**
   * Runs a kernel's tfjs code in one tf.tidy (intermediates die with it) and takes ownership of
   * the tensors it returns: they become this backend's storages.
   */
  runKernel<K extends string>(inputs: readonly KernelTensor[], kernel: () => Record<K, TfTensor>): Record<K, TfTensor>;
}

/** tfjs backends whose reads can be synchronous (webgpu's dataSync needs OffscreenCanvas). */
const SYNC_READ = new Set(['cpu', 'wasm', 'tensorflow', 'webgl']);

async function activateFirstThatStarts(tf: Tf, names: readonly string[]): Promise<string> {
  const errors: Error[] = [];
  for (const name of names) {
    try {
      await ensureRegistered(tf, name);
      if (await tf.setBackend(name)) return name;
      errors.push(new BackendUnavailableError(`tfjs backend "${name}": tfjs could not initialise it (see tfjs's warning above)`));
    } catch (err) {
      errors.push(err instanceof Error ? err : new Error(String(err)));
    }
  }
  if (errors.length === 1) throw errors[0];
  throw new BackendUnavailableError(`tfjs backend: no tfjs backend could start:\n  ${errors.map((e) => e.message).join('\n  ')}`);
}

/** Picks and initialises the tfjs backend; returns its name. */
async function startTfjs(tf: Tf, wanted: string | undefined): Promise<string> {
  if (wanted) return activateFirstThatStarts(tf, [wanted]);
  if (Object.keys(tf.engine().registryFactory).length > 0) {
    try {
      await tf.ready();
      return tf.getBackend();
    } catch {
      // Registered backends that cannot start here (webgl in Node): fall through to loading one.
    }
  }
  return activateFirstThatStarts(tf, defaultCandidates());
}

function describeDevice(tf: Tf, tfjsName: string): string {
  const info = (tf.backend() as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  const adapter = info?.vendor ? ` (${[info.vendor, info.architecture].filter(Boolean).join(' ')})` : '';
  return `TensorFlow.js ${tf.version_core} ${tfjsName}${adapter}`;
}

/** A mutable copy in the typed array tfjs wants; tfjs's cpu backend keeps the array it is given. */
function uploadArray(values: TypedArray, dtype: DType): Float32Array | Int32Array {
  if (dtype === 'int32') return values instanceof Int32Array ? values.slice() : Int32Array.from(values, Math.trunc);
  return values instanceof Float32Array ? values.slice() : Float32Array.from(values);
}

/**
 * Creates a backend running every op on TensorFlow.js tensors. Gradients come from
 * @mamba3/tensor's autograd, never tfjs's, so training behaves as on every other backend.
 */
export async function createTfjsBackend(opts: TfjsBackendOptions = {}): Promise<TfjsBackend> {
  const tf = await resolveTf(opts.tf);
  const tfjsName = await startTfjs(tf, opts.tfjsBackend);
  await tf.ready();
  return makeBackend(tf, opts.name ?? 'tfjs', tfjsName);
}

function makeBackend(tf: Tf, name: string, tfjsName: string): TfjsBackend {
  const syncRead = SYNC_READ.has(tfjsName);
  const traits = traitsOf(tfjsName);
  const live = new Set<TfTensor>();
  let liveBytes = 0;

  /** tfjs has one global backend; put ours back if someone (another instance, the user) switched it. */
  const activate = (): void => {
    if (tf.getBackend() === tfjsName) return;
    // For an initialised backend, setBackend switches before its first await; the promise only reports.
    tf.setBackend(tfjsName).catch(() => undefined);
    if (tf.getBackend() !== tfjsName) {
      throw new BackendError(`${name}: could not switch tfjs back to its "${tfjsName}" backend (was it removed with tf.removeBackend?)`);
    }
  };

  /** Takes ownership of a kernel result: out of every tf.tidy (ours are released through `release`). */
  const own = (t: TfTensor, inputs: readonly KernelTensor[]): TfTensor => {
    const fresh = inputs.some((x) => x.storage === t) ? tf.clone(t) : t;
    tf.keep(fresh);
    live.add(fresh);
    liveBytes += fresh.size * 4;
    return fresh;
  };

  /** Runs a kernel in tf.tidy, so tfjs intermediates die with it. */
  const run = (inputs: readonly KernelTensor[], kernel: () => TfTensor): TfTensor => {
    activate();
    return own(tf.tidy(kernel), inputs);
  };

  const runMany = <K extends string>(inputs: readonly KernelTensor[], kernel: () => Record<K, TfTensor>): Record<K, TfTensor> => {
    activate();
    const out = tf.tidy(kernel);
    for (const k of Object.keys(out) as K[]) out[k] = own(out[k], inputs);
    return out;
  };

  const copyOut = (data: ArrayLike<number>): TypedArray => (data instanceof Int32Array ? data.slice() : Float32Array.from(data));

  const info: BackendInfo = { name, kind: 'tfjs', dtypes: ['float32', 'int32'], syncRead, device: describeDevice(tf, tfjsName) };
  const backend: TfjsBackend = {
    name,
    info,
    tf,
    traits,
    helpers: tfjsKernelHelpers,
    runKernel: runMany,
    upload: (values: TypedArray, shape: Shape, dtype: DType) => {
      activate();
      return own(tf.tensor(uploadArray(values, dtype), [...shape], tfDtype(dtype)), []);
    },
    fill: (shape, dtype, value) => run([], () => tf.fill([...shape], value, tfDtype(dtype))),
    read: async (x) => copyOut(await (x.storage as TfTensor).data()),
    release: (storage) => {
      const t = storage as TfTensor;
      if (live.delete(t)) liveBytes -= t.size * 4;
      t.dispose();
    },
    sync: async () => {
      // Only GPU backends queue work and tfjs exposes no flush: for tfjs-webgpu, end its open
      // compute pass, submit, and wait for the queue (what its own reads do first).
      const b = tf.findBackend(tfjsName) as WebGPULike | null;
      if (!b?.device?.queue || typeof b.submitQueue !== 'function') return;
      if (b.commandEncoder) {
        b.endComputePassEncoder?.();
        b.submitQueue();
      }
      await b.device.queue.onSubmittedWorkDone();
    },
    memoryBytes: () => liveBytes,
    dispose: () => {
      for (const t of live) t.dispose();
      live.clear();
      liveBytes = 0;
    },
    unary: (op, x) => run([x], () => unary(tf, op, x)),
    binary: (op, a, b, outShape) => run([a, b], () => binary(tf, op, a, b, outShape)),
    where: (c, a, b, outShape) => run([c, a, b], () => where(tf, c, a, b, outShape)),
    cast: (x, dtype) => run([x], () => cast(tf, x, dtype)),
    matmul: (a, b, ta, tb, outShape) => run([a, b], () => matmul(tf, a, b, ta, tb, outShape)),
    reduce: (op, x, axes, outShape) => run([x], () => reduce(tf, op, x, axes, outShape, traits)),
    argReduce: (op, x, axis, outShape) => run([x], () => argReduce(tf, op, x, axis, outShape, traits)),
    cumsum: (x, axis, exclusive, reverse) => run([x], () => cumsum(tf, x, axis, exclusive, reverse, traits)),
    transpose: (x, perm) => run([x], () => transpose(tf, x, perm, traits)),
    slice: (x, begin, size) => run([x], () => slice(tf, x, begin, size)),
    concat: (xs, axis) => run(xs, () => concat(tf, xs, axis)),
    pad: (x, paddings, value) => run([x], () => pad(tf, x, paddings, value)),
    gather: (x, indices, axis, outShape) => run([x, indices], () => gather(tf, x, indices, axis, outShape)),
    scatterAdd: (u, indices, axis, outShape) => run([u, indices], () => scatterAdd(tf, u, indices, axis, outShape, traits)),
    softmax: (x) => run([x], () => softmax(tf, x)),
    logSoftmax: (x) => run([x], () => logSoftmax(tf, x)),
    rmsNorm: (x, w, eps) => run(w ? [x, w] : [x], () => rmsNorm(tf, x, w, eps)),
    gatedRmsNorm: (x, z, w, eps, groupSize, normBeforeGate) =>
      run(w ? [x, z, w] : [x, z], () => gatedRmsNorm(tf, x, z, w, eps, groupSize, normBeforeGate)),
  };
  if (syncRead) backend.readSync = (x) => copyOut((x.storage as TfTensor).dataSync());
  return backend;
}

/** The parts of tfjs-webgpu's backend object `sync` uses (not public API: checked before use). */
interface WebGPULike {
  commandEncoder?: unknown;
  endComputePassEncoder?: () => void;
  submitQueue?: () => void;
  device?: { queue?: { onSubmittedWorkDone: () => Promise<void> } };
}

