/**
 * The conformance suite's built-in groups: every op of the tensor interface (memory, unary,
 * binary, matmul, reductions, layout, nn) against the naive reference backend, and the gradients
 * against float64 finite differences. `describeConformance` (conformance.ts) registers them
 * with the kit's comparisons.
 */
import { beforeAll, expect, it } from 'vitest';
import type { Backend, BinaryOp, UnaryOp } from '../backend.js';
import { BINARY_OPS, UNARY_OPS } from '../backend.js';
import { engine } from '../engine.js';
import type { Shape } from '../shape.js';
import { tidy } from '../scope.js';
import { tensor } from '../ops/creation.js';
import * as ops from '../index.js';
import type { Tensor } from '../tensor.js';
import type { ConformanceKit, Kind, Tolerance } from './conformance.js';

/** Registers the built-in groups through `group` (which skips the ones the options name). */
export function describeOpGroups(kit: ConformanceKit, group: (title: string, body: () => void) => void): void {
  const { compare, gradCheck } = kit;
  let backend!: Backend;
  beforeAll(() => {
    backend = kit.backend();
  });
  /**
   * A sum of K products in float32 carries rounding error that grows like √K times the terms'
   * size, whatever the order a backend sums them in; an output near cancellation is small while
   * its error is not, so the absolute part of the tolerance grows with √K too.
   */
  const dotTolerance = (K: number): Tolerance => ({ ...kit.tolerance.float32, atol: kit.tolerance.float32.atol * Math.sqrt(K) });

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
}
