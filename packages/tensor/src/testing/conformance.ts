/**
 * The backend conformance suite. A backend's test file calls
 *
 *   describeConformance('webgpu', { backend: () => createWebGPUBackend() });
 *
 * and every op runs on fresh random inputs of varied shapes (size-1 dims, dims that are not
 * multiples of 4 or of any tile size; the groups are in conformance-ops.ts), compared with the
 * naive reference backend; every
 * gradient is compared with central finite differences in float64. The seed is random per run
 * (set CONFORMANCE_SEED to replay one) and is printed in every failure message.
 */
import { afterAll, beforeAll, describe, expect } from 'vitest';
import type { Backend } from '../backend.js';
import type { DType, TypedArray } from '../dtype.js';
import { engine } from '../engine.js';
import { Rng } from '../random.js';
import type { Shape } from '../shape.js';
import { sizeOf } from '../shape.js';
import { tidy } from '../scope.js';
import type { Tensor } from '../tensor.js';
import { tensor } from '../ops/creation.js';
import * as ops from '../index.js';
import { createReferenceBackend } from './reference.js';
import { describeOpGroups } from './conformance-ops.js';

export interface Tolerance {
  /** Absolute slack. */
  atol: number;
  /** Relative slack: |got − want| ≤ atol + rtol·|want| elementwise. */
  rtol: number;
}

export interface ConformanceOptions {
  /** Creates the backend under test (called once, before the tests). */
  backend: () => Backend | Promise<Backend>;
  /** Per-dtype tolerances for forward ops; defaults below. */
  tolerance?: Partial<Record<DType, Tolerance>>;
  /** Tolerance of analytic gradients against float64 finite differences. */
  gradTolerance?: Tolerance;
  /** Test groups to leave out, each with the reason (reported as skipped, never silently). */
  skip?: Record<string, string>;
  /** Seed for the random inputs (default: CONFORMANCE_SEED or a fresh one). */
  seed?: number;
  /**
   * Extra groups, e.g. a model package's fused ops (`@mamba3/core/testing`): each body gets the
   * suite's tools and registers its own `it`s. Their names can be skipped like the built-in ones.
   */
  groups?: Record<string, (kit: ConformanceKit) => void>;
  /** false: only the extra `groups` (the op set itself is checked by the backend's own suite). Default true. */
  builtIn?: boolean;
}

/** What extra conformance groups get: the backend under test and the suite's comparisons. */
export interface ConformanceKit {
  /** The backend under test (available inside tests, not while registering them). */
  backend(): Backend;
  readonly seed: number;
  readonly tolerance: Record<DType, Tolerance>;
  readonly gradTolerance: Tolerance;
  /** The same random inputs, as values and as tensors on any backend. */
  inputs(specs: readonly InputSpec[]): { values: number[][]; on: (b: Backend) => Tensor[] };
  /** Runs `fn` on the backend under test and on the naive reference backend and compares every output. */
  compare(label: string, specs: readonly InputSpec[], fn: (...ts: Tensor[]) => Tensor | readonly Tensor[], tol?: Tolerance): Promise<void>;
  /** Analytic gradients on the backend under test against float64 central differences on the reference. */
  gradCheck(label: string, specs: readonly InputSpec[], fn: (...ts: Tensor[]) => Tensor, wrt?: number[]): Promise<void>;
}

/** Defaults: float32 kernels may reorder sums and use fast transcendental functions. */
/**
 * Gradient tolerance for backends without float64 (tfjs, webgpu): analytic gradients are
 * float32 while the finite differences they are checked against are float64; float32 rounding
 * of O(1) values through a few ops leaves ~1e-6..1e-5 absolute error, more where terms cancel
 * (products, norms, the scans), hence atol 1e-4 and rtol 2e-3 instead of the float64 default.
 */
export const FLOAT32_GRAD_TOLERANCE: Tolerance = { atol: 1e-4, rtol: 2e-3 };

export const DEFAULT_TOLERANCE: Record<DType, Tolerance> = {
  float32: { atol: 1e-5, rtol: 1e-4 },
  float64: { atol: 1e-12, rtol: 1e-10 },
  int32: { atol: 0, rtol: 0 },
};

export type Kind = 'normal' | 'positive' | 'unit' | 'int' | 'small-int' | 'distinct';

interface InputSpec {
  shape: Shape;
  dtype?: DType;
  kind?: Kind;
  /** For index tensors: values in [0, max). */
  max?: number;
}

function sample(rng: Rng, spec: InputSpec, n: number): number[] {
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    switch (spec.kind ?? 'normal') {
      case 'normal':
        out[i] = rng.normal();
        break;
      case 'positive':
        out[i] = 0.2 + 2 * rng.uniform();
        break;
      case 'unit':
        out[i] = rng.uniform();
        break;
      case 'int':
        out[i] = spec.max !== undefined ? rng.int(spec.max) : rng.int(201) - 100;
        break;
      case 'small-int':
        out[i] = rng.int(7) - 3;
        break;
      case 'distinct':
        // Well separated values: max/min/argmax ties and kinks stay away from finite differences.
        out[i] = i * 0.37 + 0.05 * rng.uniform();
        break;
    }
  }
  if (spec.kind === 'distinct') {
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
  }
  return out;
}

/** null when `got` is within `tol` of `want` elementwise, else the worst element, described. */
export function describeMismatch(got: TypedArray, want: ArrayLike<number>, tol: Tolerance): string | null {
  if (got.length !== want.length) return `length ${got.length} vs ${want.length}`;
  let worst = -1;
  let worstRatio = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i];
    const w = want[i];
    if (Number.isNaN(w) && Number.isNaN(g)) continue;
    if (g === w) continue;
    const err = Math.abs(g - w);
    const ratio = err / (tol.atol + tol.rtol * Math.abs(w));
    if (!(ratio <= 1) && (worst < 0 || ratio > worstRatio || Number.isNaN(ratio))) {
      worst = i;
      worstRatio = ratio;
    }
  }
  if (worst < 0) return null;
  return `element ${worst}: got ${got[worst]}, want ${want[worst]} (|err| ${Math.abs(got[worst] - want[worst]).toExponential(2)} > ${tol.atol} + ${tol.rtol}·|want|)`;
}

/** Registers the conformance tests for one backend. */
export function describeConformance(name: string, opts: ConformanceOptions): void {
  const envSeed = typeof process !== 'undefined' ? process.env?.CONFORMANCE_SEED : undefined;
  const seed = opts.seed ?? (envSeed ? Number(envSeed) : (Math.random() * 2 ** 31) >>> 0);
  const tolerance = { ...DEFAULT_TOLERANCE, ...opts.tolerance };
  const gradTol = opts.gradTolerance ?? { atol: 1e-6, rtol: 1e-5 };
  const skip = opts.skip ?? {};
  const reference = createReferenceBackend(`${name}-reference`);
  let backend: Backend;
  let floatType: 'float32' | 'float64' = 'float32';
  // Fresh inputs per run, reproducible from the printed seed (tests in a file run in order).
  const rng = new Rng(seed);
  let liveBefore = 0;

  beforeAll(async () => {
    backend = await opts.backend();
    floatType = backend.info.dtypes.includes('float64') ? 'float64' : 'float32';
    liveBefore = engine.memory().numTensors;
  });

  afterAll(() => {
    // Every case runs inside tidy(): nothing may be left behind.
    expect(engine.memory().numTensors, `conformance left tensors alive (seed ${seed})`).toBe(liveBefore);
  });

  const group = (title: string, body: () => void): void => {
    if (skip[title]) describe.skip(`${title} (skipped: ${skip[title]})`, body);
    else describe(title, body);
  };

  /** Makes the same random inputs on the backend under test and on the reference. */
  function inputs(specs: readonly InputSpec[]): { values: number[][]; on: (b: Backend) => Tensor[] } {
    const values = specs.map((s) => sample(rng, s, sizeOf(s.shape)));
    return {
      values,
      on: (b) => specs.map((s, i) => tensor(values[i], s.shape, { dtype: s.dtype ?? 'float32', backend: b })),
    };
  }

  async function compare(label: string, specs: readonly InputSpec[], fn: (...ts: Tensor[]) => Tensor | readonly Tensor[], tol?: Tolerance): Promise<void> {
    const inp = inputs(specs);
    const run = (b: Backend): Tensor[] =>
      tidy(() => {
        const out = fn(...inp.on(b));
        return Array.isArray(out) ? [...out] : [out as Tensor];
      });
    const want = run(reference);
    const got = run(backend);
    try {
      expect(got.length).toBe(want.length);
      for (let k = 0; k < got.length; k++) {
        expect(got[k].shape, `${label}: output ${k} shape (seed ${seed})`).toEqual(want[k].shape);
        expect(got[k].dtype, `${label}: output ${k} dtype (seed ${seed})`).toBe(want[k].dtype);
        const g = await got[k].data();
        const w = await want[k].data();
        const mismatch = describeMismatch(g, w, tol ?? tolerance[got[k].dtype]);
        expect(mismatch, `${label}: output ${k} ${JSON.stringify(got[k].shape)} (seed ${seed}, inputs ${JSON.stringify(specs.map((s) => s.shape))})`).toBeNull();
      }
    } finally {
      for (const t of [...got, ...want]) t.dispose();
    }
  }

  /**
   * Gradient of sum(fn(...) · w) for a random w: analytic on the backend under test (float64
   * when it has it), central differences on the reference in float64.
   */
  async function gradCheck(label: string, specs: readonly InputSpec[], fn: (...ts: Tensor[]) => Tensor, wrt?: number[]): Promise<void> {
    const inp = inputs(specs);
    const which = wrt ?? specs.map((_, i) => i).filter((i) => (specs[i].dtype ?? 'float32') !== 'int32');
    const loss = (b: Backend, dtype: 'float32' | 'float64', values: number[][]) => {
      const ts = specs.map((s, i) => tensor(values[i], s.shape, { dtype: (s.dtype ?? 'float32') === 'int32' ? 'int32' : dtype, backend: b }));
      return ts;
    };
    const outShape = tidy(() => fn(...loss(reference, 'float64', inp.values)).shape);
    const w = sample(rng, { shape: outShape }, sizeOf(outShape));
    const objective = (b: Backend, dtype: 'float32' | 'float64') => (...ts: Tensor[]): Tensor =>
      ops.sum(ops.mul(fn(...ts), tensor(w, outShape, { dtype, backend: b })));

    const analytic = tidy(() => {
      const ts = loss(backend, floatType, inp.values);
      const f = (...xs: Tensor[]): Tensor => {
        const args = [...ts];
        which.forEach((i, k) => (args[i] = xs[k]));
        return objective(backend, floatType)(...args);
      };
      return ops.grads(f)(which.map((i) => ts[i]));
    });
    const h = 1e-6;
    const evalAt = (values: number[][]): number =>
      tidy(() => objective(reference, 'float64')(...loss(reference, 'float64', values)).dataSync()[0]);
    try {
      for (const [k, i] of which.entries()) {
        const numeric = new Float64Array(inp.values[i].length);
        for (let e = 0; e < numeric.length; e++) {
          const plus = inp.values.map((v) => [...v]);
          const minus = inp.values.map((v) => [...v]);
          plus[i][e] += h;
          minus[i][e] -= h;
          numeric[e] = (evalAt(plus) - evalAt(minus)) / (2 * h);
        }
        const got = await analytic[k].data();
        const mismatch = describeMismatch(got, numeric, gradTol);
        expect(mismatch, `${label}: gradient of input ${i} (seed ${seed}, ${floatType})`).toBeNull();
      }
    } finally {
      analytic.forEach((t) => t.dispose());
    }
  }

  const kit: ConformanceKit = { backend: () => backend, seed, tolerance, gradTolerance: gradTol, inputs, compare, gradCheck };
  describe(`${name} backend conformance (seed ${seed})`, () => {
    if (opts.builtIn !== false) describeOpGroups(kit, group);
    for (const [title, body] of Object.entries(opts.groups ?? {})) group(title, () => body(kit));
  });
}

export type { InputSpec };
