/**
 * The backend conformance suite. A backend's test file calls
 *
 *   describeConformance('webgpu', { backend: () => createWebGPUBackend() });
 *
 * and every op runs on fresh random inputs of varied shapes (size-1 dims, dims that are not
 * multiples of 4 or of any tile size), compared with the naive reference backend; every
 * gradient is compared with central finite differences in float64. The seed is random per run
 * (set CONFORMANCE_SEED to replay one) and is printed in every failure message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
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

type Kind = 'normal' | 'positive' | 'unit' | 'int' | 'small-int' | 'distinct';

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

  /**
   * A sum of K products in float32 carries rounding error that grows like √K times the terms'
   * size, whatever the order a backend sums them in; an output near cancellation is small while
   * its error is not, so the absolute part of the tolerance grows with √K too.
   */
  const dotTolerance = (K: number): Tolerance => ({ ...tolerance.float32, atol: tolerance.float32.atol * Math.sqrt(K) });

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

  const builtInGroups = (): void => {
    it('reports its info', () => {
      expect(backend.info.name).toBe(backend.name);
      expect(backend.info.dtypes).toContain('float32');
      expect(backend.info.dtypes).toContain('int32');
    });

    group('memory', () => {
      it('uploads, fills and reads back every dtype', async () => {
        for (const dtype of backend.info.dtypes) {
          const values = dtype === 'int32' ? [3, -7, 2147483647, -2147483648, 0] : [1.5, -2.25, 1e-30, 3.4e38, 0];
          const t = tensor(values, [5], { dtype, backend });
          expect(Array.from(await t.data()), dtype).toEqual(values.map((v) => (dtype === 'float32' ? Math.fround(v) : v)));
          t.dispose();
          const filled = ops.full([2, 3], 7, { dtype, backend });
          expect(Array.from(await filled.data())).toEqual([7, 7, 7, 7, 7, 7]);
          filled.dispose();
        }
        const empty = ops.zeros([0, 3], { backend });
        expect((await empty.data()).length).toBe(0);
        empty.dispose();
      });
      it('reads synchronously when it says it can', () => {
        const t = tensor([1, 2, 3], [3], { backend });
        if (backend.info.syncRead) expect(Array.from(t.dataSync())).toEqual([1, 2, 3]);
        else expect(() => t.dataSync()).toThrow(/asynchronously/);
        t.dispose();
      });
      it('frees storage: a loop of ops inside tidy leaks nothing', async () => {
        const before = engine.memory();
        const bytesBefore = backend.memoryBytes?.();
        for (let i = 0; i < 20; i++) {
          tidy(() => {
            const a = ops.randomNormal([17, 9], { seed: i, backend });
            const b = ops.matmul(a, a, { transposeB: true });
            return ops.sum(ops.exp(ops.softmax(b)));
          }).dispose();
        }
        await backend.sync?.();
        const after = engine.memory();
        expect(after.numTensors).toBe(before.numTensors);
        expect(after.numStorages).toBe(before.numStorages);
        if (bytesBefore !== undefined) expect(backend.memoryBytes?.()).toBe(bytesBefore);
      });
    });

    group('unary', () => {
      const domain: Partial<Record<UnaryOp, Kind>> = { log: 'positive', sqrt: 'positive', rsqrt: 'positive', reciprocal: 'positive', log1p: 'positive' };
      for (const op of UNARY_OPS) {
        it(op, async () => {
          for (const shape of [[], [1], [7], [3, 5], [2, 1, 9]] as Shape[]) {
            await compare(`${op} ${JSON.stringify(shape)}`, [{ shape, kind: domain[op] }], (x) => (ops as unknown as Record<string, (t: Tensor) => Tensor>)[op](x));
          }
        });
      }
      it('int32 neg, abs, sign, square, relu', async () => {
        for (const op of ['neg', 'abs', 'sign', 'square', 'relu'] as const) {
          await compare(`int32 ${op}`, [{ shape: [4, 5], dtype: 'int32', kind: 'int' }], (x) => ops[op](x));
        }
      });
      it('large magnitudes stay finite where they should', async () => {
        const outs = tidy(() => {
          const t = tensor([-100, -30, 0, 30, 100], [5], { backend });
          return [ops.softplus(t), ops.sigmoid(t), ops.silu(t)];
        });
        const [sp, sg, si] = await Promise.all(outs.map((o) => o.data()));
        ops.dispose(outs);
        for (const v of [...sp, ...sg, ...si]) expect(Number.isFinite(v)).toBe(true);
        expect(sp[4]).toBeCloseTo(100, 3);
        expect(sg[0]).toBeCloseTo(0, 6);
        expect(si[0]).toBeCloseTo(0, 6);
      });
    });

    group('binary', () => {
      const pairs: [Shape, Shape][] = [
        [[2, 3], [2, 3]],
        [[2, 3], [3]],
        [[4, 1, 5], [3, 1]],
        [[], [2, 2]],
        [[1], [7]],
        [[2, 1, 3], [1, 4, 1]],
        [[5, 6], []],
      ];
      for (const op of BINARY_OPS) {
        it(op, async () => {
          for (const [sa, sb] of pairs) {
            const kind: Kind = op === 'pow' ? 'positive' : op === 'div' ? 'positive' : ['equal', 'notEqual', 'lessEqual', 'greaterEqual'].includes(op) ? 'small-int' : 'normal';
            await compare(`${op} ${JSON.stringify(sa)} ${JSON.stringify(sb)}`, [{ shape: sa, kind }, { shape: sb, kind }], (a, b) => (ops as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[op](a, b));
          }
        });
      }
      it('int32 arithmetic and comparisons', async () => {
        for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'equal', 'less', 'greaterEqual'] as BinaryOp[]) {
          await compare(`int32 ${op}`, [{ shape: [3, 4], dtype: 'int32', kind: 'int' }, { shape: [4], dtype: 'int32', kind: 'small-int' }], (a, b) =>
            op === 'div' ? ops.div(a, ops.add(ops.abs(b), 1)) : (ops as unknown as Record<string, (a: Tensor, b: Tensor) => Tensor>)[op](a, b),
          );
        }
      });
      it('where and cast', async () => {
        await compare('where', [{ shape: [3, 1], kind: 'small-int' }, { shape: [3, 4] }, { shape: [4] }], (c, a, b) => ops.where(c, a, b));
        await compare('cast float32 -> int32', [{ shape: [10] }], (x) => ops.cast(ops.mul(x, 10), 'int32'));
        await compare('cast int32 -> float32', [{ shape: [10], dtype: 'int32', kind: 'int' }], (x) => ops.cast(x, 'float32'));
      });
    });

    group('matmul', () => {
      it('shapes, transposes and batch broadcasting', async () => {
        const cases: [Shape, Shape, boolean, boolean][] = [
          [[1, 1], [1, 1], false, false],
          [[5, 3], [3, 7], false, false],
          [[17, 33], [33, 9], false, false],
          [[3, 5], [3, 7], true, false],
          [[5, 3], [7, 3], false, true],
          [[3, 5], [7, 3], true, true],
          [[2, 6, 4], [4, 5], false, false],
          [[6, 4], [3, 4, 5], false, false],
          [[2, 1, 3, 4], [1, 5, 4, 2], false, false],
          [[1, 70], [70, 130], false, false],
          [[70, 1], [1, 66], false, false],
          [[2, 65, 31], [2, 31, 67], false, false],
          [[4, 40], [50, 40], false, true],
        ];
        for (const [sa, sb, ta, tb] of cases) {
          const K = ta ? sa[sa.length - 2] : sa[sa.length - 1];
          await compare(`matmul ${JSON.stringify(sa)}${ta ? 'ᵀ' : ''} @ ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`, [{ shape: sa }, { shape: sb }], (a, b) =>
            ops.matmul(a, b, { transposeA: ta, transposeB: tb }),
            dotTolerance(K),
          );
        }
      });
    });

    group('reductions', () => {
      it('sum, mean, max, min, prod over axes', async () => {
        const cases: [Shape, number | number[] | undefined][] = [
          [[7], undefined],
          [[3, 4], 0],
          [[3, 4], 1],
          [[2, 3, 5], [0, 2]],
          [[2, 3, 5], -1],
          [[4, 1, 3], 1],
          [[1, 9], [0, 1]],
        ];
        for (const op of ['sum', 'mean', 'max', 'min', 'prod'] as const) {
          for (const [shape, axis] of cases) {
            await compare(`${op} ${JSON.stringify(shape)} axis ${JSON.stringify(axis)}`, [{ shape, kind: op === 'prod' ? 'positive' : 'normal' }], (x) => ops[op](x, axis));
            await compare(`${op} keepDims`, [{ shape }], (x) => ops[op](x, axis, { keepDims: true }));
          }
        }
        await compare('int32 sum', [{ shape: [3, 5], dtype: 'int32', kind: 'int' }], (x) => ops.sum(x, 1));
      });
      it('argMax, argMin', async () => {
        // Short rows, rows a workgroup scans, and rows long enough for a backend to split (a vocabulary).
        for (const [shape, axis] of [[[9], 0], [[3, 5], 1], [[3, 5], 0], [[2, 4, 3], 1], [[2, 300], 1], [[3, 20000], 1], [[2, 9000, 2], 1]] as [Shape, number][]) {
          await compare(`argMax ${JSON.stringify(shape)} ${axis}`, [{ shape, kind: 'distinct' }], (x) => ops.argMax(x, axis));
          await compare(`argMin ${JSON.stringify(shape)} ${axis}`, [{ shape, kind: 'distinct' }], (x) => ops.argMin(x, axis));
        }
        // Ties everywhere: the first index of the extreme value wins.
        for (const shape of [[2, 300], [2, 9000]] as Shape[]) {
          await compare(`argMax ties ${JSON.stringify(shape)}`, [{ shape, kind: 'small-int' }], (x) => ops.argMax(x, 1));
          await compare(`argMin ties ${JSON.stringify(shape)}`, [{ shape, kind: 'small-int' }], (x) => ops.argMin(x, 1));
        }
      });
      it('cumsum (inclusive, exclusive, reverse)', async () => {
        for (const [shape, axis] of [[[9], 0], [[3, 5], 1], [[3, 5], 0], [[2, 70, 3], 1]] as [Shape, number][]) {
          for (const exclusive of [false, true]) {
            for (const reverse of [false, true]) {
              await compare(`cumsum ${JSON.stringify(shape)} axis ${axis} ex ${exclusive} rev ${reverse}`, [{ shape }], (x) => ops.cumsum(x, axis, { exclusive, reverse }));
            }
          }
        }
      });
    });

    group('layout', () => {
      it('transpose', async () => {
        for (const [shape, perm] of [[[3, 4], [1, 0]], [[2, 3, 4], [2, 0, 1]], [[2, 3, 4, 5], [0, 2, 1, 3]], [[1, 5, 1, 3], [3, 2, 1, 0]]] as [Shape, number[]][]) {
          await compare(`transpose ${JSON.stringify(shape)} ${JSON.stringify(perm)}`, [{ shape }], (x) => ops.transpose(x, perm));
        }
        await compare('transpose int32', [{ shape: [3, 5], dtype: 'int32', kind: 'int' }], (x) => ops.transpose(x));
      });
      it('slice, concat, pad', async () => {
        await compare('slice', [{ shape: [5, 6, 7] }], (x) => ops.slice(x, [1, 0, 2], [3, -1, 4]));
        await compare('slice negative begin', [{ shape: [9] }], (x) => ops.slice(x, [-4]));
        await compare('concat axis 0', [{ shape: [2, 3] }, { shape: [4, 3] }, { shape: [1, 3] }], (a, b, c) => ops.concat([a, b, c], 0));
        await compare('concat axis 1', [{ shape: [2, 3, 2] }, { shape: [2, 5, 2] }], (a, b) => ops.concat([a, b], 1));
        await compare('concat int32', [{ shape: [3], dtype: 'int32', kind: 'int' }, { shape: [2], dtype: 'int32', kind: 'int' }], (a, b) => ops.concat([a, b]));
        await compare('pad', [{ shape: [3, 4] }], (x) => ops.pad(x, [[1, 2], [0, 3]], 0.5));
        await compare('pad 3d', [{ shape: [2, 3, 4] }], (x) => ops.pad(x, [[0, 0], [2, 0], [1, 1]]));
      });
      it('gather, scatterAdd, oneHot', async () => {
        await compare('gather axis 0', [{ shape: [10, 4] }, { shape: [6], dtype: 'int32', kind: 'int', max: 10 }], (x, i) => ops.gather(x, i, 0));
        await compare('gather axis 1, 2-d indices', [{ shape: [3, 8, 2] }, { shape: [2, 5], dtype: 'int32', kind: 'int', max: 8 }], (x, i) => ops.gather(x, i, 1));
        await compare('scatterAdd with repeats', [{ shape: [7, 3] }, { shape: [7], dtype: 'int32', kind: 'int', max: 4 }], (u, i) => ops.scatterAdd(u, i, 0, [4, 3]));
        await compare('oneHot', [{ shape: [5], dtype: 'int32', kind: 'int', max: 6 }], (i) => ops.oneHot(i, 6));
      });
    });

    group('nn', () => {
      it('softmax, logSoftmax', async () => {
        // The last shape is a vocabulary-long row, which a backend may split over workgroups.
        for (const [shape, axis] of [[[7], -1], [[3, 130], -1], [[4, 5], 0], [[2, 3, 1], -1], [[2, 20000], -1]] as [Shape, number][]) {
          await compare(`softmax ${JSON.stringify(shape)} ${axis}`, [{ shape }], (x) => ops.softmax(ops.mul(x, 3), axis));
          await compare(`logSoftmax ${JSON.stringify(shape)} ${axis}`, [{ shape }], (x) => ops.logSoftmax(ops.mul(x, 3), axis));
        }
      });
      it('rmsNorm and gatedRmsNorm', async () => {
        await compare('rmsNorm', [{ shape: [5, 33] }, { shape: [33] }], (x, w) => ops.rmsNorm(x, w, 1e-5));
        await compare('rmsNorm no weight', [{ shape: [2, 3, 8] }], (x) => ops.rmsNorm(x, null, 1e-6));
        for (const normBeforeGate of [true, false]) {
          await compare(`gatedRmsNorm groups before=${normBeforeGate}`, [{ shape: [3, 24] }, { shape: [3, 24] }, { shape: [24] }], (x, z, w) =>
            ops.gatedRmsNorm(x, z, w, { groupSize: 8, normBeforeGate }),
          );
        }
        await compare('gatedRmsNorm whole row', [{ shape: [4, 10] }, { shape: [4, 10] }], (x, z) => ops.gatedRmsNorm(x, z, null));
      });
      it('fusedLinear (norm prologue, residual epilogue; decode rows and wider)', async () => {
        // Up to 10 rows: decode sizes. 40 and 36 rows with K 200: batched decode, where a GPU may
        // split K and add the residual in the split's sum.
        for (const [rows, K] of [[[1], 40], [[3], 40], [[2, 5], 40], [[40], 200], [[3, 12], 200]] as const) {
          const x = { shape: [...rows, K] };
          const w = { shape: [37, K] };
          const r = { shape: [...rows, 37] };
          await compare(`fusedLinear norm+residual ${JSON.stringify(rows)}`, [x, w, { shape: [K] }, r], (a, wt, g, res) => ops.fusedLinear(a, wt, { norm: { weight: g, eps: 1e-5 }, residual: res }), dotTolerance(K));
          await compare(`fusedLinear norm ${JSON.stringify(rows)}`, [x, w, { shape: [K] }], (a, wt, g) => ops.fusedLinear(a, wt, { norm: { weight: g } }), dotTolerance(K));
          await compare(`fusedLinear residual ${JSON.stringify(rows)}`, [x, w, r], (a, wt, res) => ops.fusedLinear(a, wt, { residual: res }), dotTolerance(K));
        }
      });
    });

    group('gradients', () => {
      it('elementwise', async () => {
        for (const op of ['neg', 'abs', 'exp', 'expm1', 'log', 'log1p', 'sqrt', 'rsqrt', 'square', 'reciprocal', 'sigmoid', 'softplus', 'silu', 'tanh', 'relu', 'sin', 'cos'] as const) {
          const kind: Kind = ['log', 'log1p', 'sqrt', 'rsqrt', 'reciprocal'].includes(op) ? 'positive' : 'distinct';
          await gradCheck(op, [{ shape: [2, 3], kind }], (x) => ops[op](ops.sub(x, kind === 'distinct' ? 0.9 : 0)));
        }
        for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const) {
          const kind: Kind = op === 'div' || op === 'pow' ? 'positive' : 'distinct';
          await gradCheck(op, [{ shape: [3, 4], kind }, { shape: [4], kind: op === 'pow' ? 'positive' : kind }], (a, b) => ops[op](a, op === 'maximum' || op === 'minimum' ? ops.add(b, 0.11) : b));
        }
        await gradCheck('where', [{ shape: [3, 1], kind: 'small-int' }, { shape: [3, 4] }, { shape: [4] }], (c, a, b) => ops.where(c, a, b), [1, 2]);
      });
      it('matmul (all transposes, broadcast batch)', async () => {
        for (const [sa, sb, ta, tb] of [[[3, 4], [4, 2], false, false], [[4, 3], [4, 2], true, false], [[3, 4], [2, 4], false, true], [[4, 3], [2, 4], true, true], [[2, 3, 4], [4, 2], false, false]] as [Shape, Shape, boolean, boolean][]) {
          await gradCheck(`matmul ${ta} ${tb}`, [{ shape: sa }, { shape: sb }], (a, b) => ops.matmul(a, b, { transposeA: ta, transposeB: tb }));
        }
      });
      it('reductions and cumsum', async () => {
        for (const op of ['sum', 'mean', 'max', 'min', 'prod'] as const) {
          await gradCheck(op, [{ shape: [3, 4], kind: op === 'prod' ? 'positive' : 'distinct' }], (x) => ops[op](x, 1));
        }
        await gradCheck('logSumExp', [{ shape: [3, 5] }], (x) => ops.logSumExp(x, -1));
        await gradCheck('cumsum reverse exclusive', [{ shape: [2, 5] }], (x) => ops.cumsum(x, 1, { exclusive: true, reverse: true }));
      });
      it('layout ops', async () => {
        await gradCheck('reshape+transpose', [{ shape: [2, 3, 4] }], (x) => ops.transpose(ops.reshape(x, [6, 4]), [1, 0]));
        await gradCheck('slice', [{ shape: [4, 5] }], (x) => ops.slice(x, [1, 2], [2, 3]));
        await gradCheck('concat', [{ shape: [2, 3] }, { shape: [2, 2] }], (a, b) => ops.concat([a, b], 1));
        await gradCheck('pad', [{ shape: [2, 3] }], (x) => ops.pad(x, [[1, 0], [2, 1]]));
        await gradCheck('gather', [{ shape: [5, 3] }, { shape: [7], dtype: 'int32', kind: 'int', max: 5 }], (x, i) => ops.gather(x, i, 0), [0]);
        await gradCheck('broadcastTo', [{ shape: [3, 1] }], (x) => ops.broadcastTo(x, [2, 3, 4]));
        await gradCheck('repeatInterleave', [{ shape: [2, 3] }], (x) => ops.repeatInterleave(x, 2, 1));
      });
      it('nn ops', async () => {
        await gradCheck('softmax', [{ shape: [3, 5] }], (x) => ops.softmax(x));
        await gradCheck('logSoftmax', [{ shape: [3, 5] }], (x) => ops.logSoftmax(x, 0));
        await gradCheck('rmsNorm', [{ shape: [3, 6] }, { shape: [6] }], (x, w) => ops.rmsNorm(x, w));
        await gradCheck('fusedLinear', [{ shape: [2, 6] }, { shape: [5, 6] }, { shape: [6] }, { shape: [2, 5] }], (x, w, g, r) => ops.fusedLinear(x, w, { norm: { weight: g }, residual: r }));
        await gradCheck('gatedRmsNorm', [{ shape: [2, 8] }, { shape: [2, 8] }, { shape: [8] }], (x, z, w) => ops.gatedRmsNorm(x, z, w, { groupSize: 4 }));
        await gradCheck('gatedRmsNorm gate first', [{ shape: [2, 8] }, { shape: [2, 8] }, { shape: [8] }], (x, z, w) => ops.gatedRmsNorm(x, z, w, { normBeforeGate: false }));
      });
    });
  };

  const kit: ConformanceKit = { backend: () => backend, seed, tolerance, gradTolerance: gradTol, inputs, compare, gradCheck };
  describe(`${name} backend conformance (seed ${seed})`, () => {
    if (opts.builtIn !== false) builtInGroups();
    for (const [title, body] of Object.entries(opts.groups ?? {})) group(title, () => body(kit));
  });
}

export type { InputSpec };
