import type { Backend, KernelInputs, KernelOutputs } from './backend.js';
import type { DType } from './dtype.js';
import { engine } from './engine.js';
import type { GradFn } from './engine.js';
import { recordCompositeGrad } from './autograd.js';
import { ArgumentError } from './errors.js';
import { tidy } from './scope.js';
import type { Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/*
 * Fused ops and their kernels, after tfjs-core's kernel registry. A fused op is a name, typed
 * inputs (a record of tensors) and attributes, a reference composite on the primitive ops (what
 * runs where no kernel is registered) and a gradient. Any package defines fused ops
 * (`defineFusedOp`) and registers kernels for them per (op name, backend kind)
 * (`registerKernel`); the op looks its kernel up by the backend of its inputs. @mamba3/tensor
 * knows no model: the Mamba ops and their kernels live in @mamba3/core.
 */

/** A fused op's tensor inputs: named, some optional. */
export type OpInputs = { readonly [name: string]: Tensor | undefined };
/** A fused op's outputs: named tensors. */
export type OpOutputs = { [name: string]: Tensor };
/** Constraint for an inputs record type (interfaces included): every field a tensor or absent. */
export type TensorFields<T> = { [K in keyof T]: Tensor | undefined };
/** Constraint for an outputs record type: every field a tensor. */
export type TensorResults<T> = { [K in keyof T]: Tensor };

/** What a kernel gets: the inputs as kernel tensors (storage, shape, dtype), the attributes, the backend object. */
export interface KernelArgs<I, A> {
  inputs: KernelInputs<I>;
  attrs: A;
  /** The backend the inputs live on (cast it to the backend package's own type for its kernel-authoring API). */
  backend: Backend;
}

/** Computes a fused op: one new backend storage per output, or null to decline these inputs (the composite runs). */
export type KernelFunc<I = OpInputs, A = unknown, O = OpOutputs> = (args: KernelArgs<I, A>) => KernelOutputs<O> | null;

export interface KernelConfig<I = OpInputs, A = unknown, O = OpOutputs> {
  kernelName: string;
  /** The backend kind it runs on (`BackendInfo.kind`, else the backend's name): `cpu`, `webgpu`, `tfjs`, ... */
  backendName: string;
  kernelFunc: KernelFunc<I, A, O>;
  /**
   * Asked once per backend instance: `true`, or why this kernel cannot run there (a device limit
   * such as storage buffers per shader stage). Declined kernels leave the op to its composite,
   * with a one-time notice and a line in `explainKernels()`.
   */
  supports?: (backend: Backend) => true | string;
}

/** Output cotangents in, one input cotangent (or null) per named input out. */
export type FusedGradFunc<I, A, O> = (args: { dys: { [K in keyof O]: Tensor }; inputs: I; attrs: A }) => { [K in keyof I]?: Tensor | null };

export interface FusedOpSpec<I extends TensorFields<I>, A, O extends TensorResults<O>> {
  name: string;
  /** Every input name, in a fixed order (optional ones included). */
  inputNames: readonly (keyof I & string)[];
  /** Every output name, in a fixed order. */
  outputNames: readonly (keyof O & string)[];
  /** Validates inputs and attributes (typed errors); returns each output's shape. */
  check(inputs: I, attrs: A): { [K in keyof O]: Shape };
  /** Outputs of another dtype than the first input's (which the others have): token ids from float logits. */
  outputDTypes?: { readonly [K in keyof O]?: DType };
  /** The reference: the op on primitive ops. Runs where no kernel does, and defines the default gradient. */
  composite(inputs: I, attrs: A): O;
  /** The gradient, in ops. Default: the vjp of the composite, recomputed in the backward pass. */
  grad?: FusedGradFunc<I, A, O>;
}

/** A defined fused op: call it like any op. */
export interface FusedOp<I extends TensorFields<I>, A, O extends TensorResults<O>> {
  (inputs: I, attrs: A): O;
  readonly opName: string;
  /** The reference composite (validated, in its own tidy scope), whatever kernels are registered. */
  composite(inputs: I, attrs: A): O;
}

/** How an op runs on a backend, from `explainKernels`. */
export interface KernelExplanation {
  op: string;
  /** The backend kind looked up. */
  backend: string;
  /** `kernel`: a registered kernel runs; `composite`: the reference composite runs. */
  runs: 'kernel' | 'composite';
  /** Why the composite runs (no kernel registered, or the kernel's reason for declining this device). */
  reason?: string;
}

type AnyKernel = KernelConfig<OpInputs, unknown, OpOutputs>;
type AnySpec = FusedOpSpec<OpInputs, unknown, OpOutputs>;

/** The backend kind kernels are registered under. */
export function backendKind(backend: Backend): string {
  return backend.info.kind ?? backend.name;
}

const key = (op: string, kind: string): string => `${op}\u0000${kind}`;

/**
 * All kernel-registry state in one object: fused op specs, kernels per (op, backend kind),
 * each kernel's answer per backend instance, and the notices already given.
 */
export class KernelRegistry {
  private readonly ops = new Map<string, AnySpec>();
  private readonly kernels = new Map<string, AnyKernel>();
  private readonly answers = new WeakMap<Backend, Map<string, true | string>>();
  private readonly noticed = new Set<string>();
  /** Where one-time notices go (default: console.warn); null silences them. */
  notice: ((message: string) => void) | null = (m) => console.warn(m);

  defineOp(spec: AnySpec): void {
    if (this.ops.has(spec.name)) throw new ArgumentError(`defineFusedOp: an op named "${spec.name}" is already defined`);
    this.ops.set(spec.name, spec);
  }

  registerKernel(config: AnyKernel): void {
    const k = key(config.kernelName, config.backendName);
    if (this.kernels.has(k)) {
      throw new ArgumentError(`registerKernel: a "${config.kernelName}" kernel for the ${config.backendName} backend is already registered (unregisterKernel first to replace it)`);
    }
    this.kernels.set(k, config);
  }

  unregisterKernel(kernelName: string, backendName: string): void {
    this.kernels.delete(key(kernelName, backendName));
  }

  getKernel(kernelName: string, backendName: string): AnyKernel | undefined {
    return this.kernels.get(key(kernelName, backendName));
  }

  /** Defined fused op names. */
  listOps(): string[] {
    return [...this.ops.keys()];
  }

  /** `true`, or why the kernel cannot run on this backend (no kernel, or the kernel declines the device). */
  status(kernelName: string, backend: Backend): true | string {
    const kind = backendKind(backend);
    const kernel = this.getKernel(kernelName, kind);
    if (!kernel) return `no kernel registered for ${kind}`;
    if (!kernel.supports) return true;
    let answers = this.answers.get(backend);
    if (!answers) this.answers.set(backend, (answers = new Map()));
    let answer = answers.get(kernelName);
    if (answer === undefined) {
      answer = kernel.supports(backend);
      answers.set(kernelName, answer);
    }
    return answer;
  }

  /** The kernel to run for `op` on `backend`, or null (then notes a declined kernel once). */
  resolve(kernelName: string, backend: Backend): AnyKernel | null {
    const kernel = this.getKernel(kernelName, backendKind(backend));
    if (!kernel) return null;
    const s = this.status(kernelName, backend);
    if (s === true) return kernel;
    const n = key(kernelName, backend.name);
    if (!this.noticed.has(n)) {
      this.noticed.add(n);
      this.notice?.(`@mamba3/tensor: ${kernelName} runs its reference composite on ${backend.name} (slower, same values): its kernel declines this device: ${s}`);
    }
    return null;
  }

  explain(backend: Backend): KernelExplanation[] {
    return this.listOps().map((op) => {
      const s = this.status(op, backend);
      return s === true ? { op, backend: backendKind(backend), runs: 'kernel' } : { op, backend: backendKind(backend), runs: 'composite', reason: s };
    });
  }
}

/** The registry behind the exported functions. */
export const kernelRegistry = new KernelRegistry();

/** Registers a kernel for one fused op on one backend kind. */
export function registerKernel<I, A, O>(config: KernelConfig<I, A, O>): void {
  kernelRegistry.registerKernel(config as unknown as AnyKernel);
}

export function unregisterKernel(kernelName: string, backendName: string): void {
  kernelRegistry.unregisterKernel(kernelName, backendName);
}

export function getKernel(kernelName: string, backendName: string): KernelConfig | undefined {
  return kernelRegistry.getKernel(kernelName, backendName);
}

/** Whether `kernelName` runs a kernel on this backend (registered for its kind, and not declining the device). */
export function hasKernel(kernelName: string, backend: Backend | string): boolean {
  if (typeof backend === 'string') return !!kernelRegistry.getKernel(kernelName, backend);
  return kernelRegistry.status(kernelName, backend) === true;
}

/** For every defined fused op: does it run a kernel on this backend (default: the active one), and if not, why. */
export function explainKernels(backend: Backend = engine.getBackend()): KernelExplanation[] {
  return kernelRegistry.explain(backend);
}

/** Defines a fused op (see `FusedOpSpec`) and returns the function that runs it. */
export function defineFusedOp<I extends TensorFields<I>, A, O extends TensorResults<O>>(spec: FusedOpSpec<I, A, O>): FusedOp<I, A, O> {
  kernelRegistry.defineOp(spec as unknown as AnySpec);
  const composite = (inputs: I, attrs: A): O => {
    spec.check(inputs, attrs);
    return tidy(() => spec.composite(inputs, attrs));
  };
  const run = (inputs: I, attrs: A): O => {
    const shapes = spec.check(inputs, attrs);
    const present = spec.inputNames.filter((k) => inputs[k] !== undefined);
    const first = inputs[present[0]] as Tensor;
    const backend = first.backend;
    const kernel = kernelRegistry.resolve(spec.name, backend);
    const storages = kernel?.kernelFunc({ inputs: inputs as unknown as KernelInputs<OpInputs>, attrs, backend }) ?? null;
    if (!storages) return tidy(() => spec.composite(inputs, attrs));
    const out = {} as Record<string, Tensor>;
    for (const k of spec.outputNames) out[k] = engine.makeTensor(backend, storages[k], shapes[k], spec.outputDTypes?.[k] ?? first.dtype);
    recordGrad(spec, inputs, attrs, present, out as O);
    return out as O;
  };
  return Object.assign(run, { opName: spec.name, composite });
}

function recordGrad<I extends TensorFields<I>, A, O extends TensorResults<O>>(spec: FusedOpSpec<I, A, O>, inputs: I, attrs: A, present: (keyof I & string)[], out: O): void {
  const ins = present.map((k) => inputs[k] as Tensor);
  const outs = spec.outputNames.map((k) => out[k]);
  if (!engine.isRecording(ins)) return;
  const rebuild = (ts: readonly Tensor[]): I => Object.fromEntries(present.map((k, i) => [k, ts[i]])) as unknown as I;
  if (!spec.grad) {
    recordCompositeGrad(spec.name, ins, outs, (...ts) => {
      const r = spec.composite(rebuild(ts), attrs);
      return spec.outputNames.map((k) => r[k]);
    });
    return;
  }
  const grad = spec.grad;
  const backward: GradFn = (dys, saved) => {
    const named = Object.fromEntries(spec.outputNames.map((k, i) => [k, dys[i]])) as { [K in keyof O]: Tensor };
    const g = grad({ dys: named, inputs: rebuild(saved), attrs });
    return present.map((k) => g[k] ?? null);
  };
  engine.record(spec.name, ins, outs, backward, ins);
}
