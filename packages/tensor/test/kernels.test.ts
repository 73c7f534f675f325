import { describe, expect, it, vi } from 'vitest';
import type { KernelFunc, Tensor, TypedArray } from '../src/index.js';
import {
  add,
  argMax,
  defineFusedOp,
  explainKernels,
  grads,
  hasKernel,
  kernelRegistry,
  mul,
  registerKernel,
  ShapeError,
  formatShape,
  sum,
  tensor,
  tidy,
  unregisterKernel,
} from '../src/index.js';
import { useReference } from './setup.js';

const backend = useReference();

/*
 * The whole recipe for a new fused op: a contract (inputs, attrs, outputs), a check that gives
 * the output shapes, a composite on primitive ops, and one kernel per backend that has one.
 */
type AxpyInputs = { x: Tensor; y: Tensor; scale?: Tensor };
type AxpyAttrs = { alpha: number };
type AxpyOutputs = { out: Tensor };

const axpy = defineFusedOp<AxpyInputs, AxpyAttrs, AxpyOutputs>({
  name: 'testAxpy',
  inputNames: ['x', 'y', 'scale'],
  outputNames: ['out'],
  check: ({ x, y }) => {
    if (formatShape(x.shape) !== formatShape(y.shape)) throw new ShapeError(`testAxpy: x ${formatShape(x.shape)} and y ${formatShape(y.shape)} differ`);
    return { out: x.shape };
  },
  composite: ({ x, y, scale }, { alpha }) => ({ out: add(mul(scale ? mul(x, scale) : x, alpha), y) }),
});

// The reference backend's storage is a typed array: the kernel is a loop.
let calls = 0;
const cpuAxpy: KernelFunc<AxpyInputs, AxpyAttrs, AxpyOutputs> = ({ inputs, attrs }) => {
  calls++;
  const x = inputs.x.storage as Float32Array;
  const y = inputs.y.storage as Float32Array;
  const s = inputs.scale?.storage as TypedArray | undefined;
  return { out: x.map((v, i) => v * (s ? s[i] : 1) * attrs.alpha + y[i]) };
};

describe('kernel registry', () => {
  it('runs the composite where no kernel is registered, and says so', async () => {
    const x = tensor([1, 2, 3]);
    const y = tensor([10, 20, 30]);
    expect(await axpy({ x, y }, { alpha: 2 }).out.data()).toEqual(new Float32Array([12, 24, 36]));
    expect(hasKernel('testAxpy', backend)).toBe(false);
    expect(explainKernels(backend).find((e) => e.op === 'testAxpy')).toEqual({
      op: 'testAxpy',
      backend: 'reference',
      runs: 'composite',
      reason: 'no kernel registered for reference',
    });
  });

  it('runs a registered kernel with the same values, and differentiates it through the composite', async () => {
    registerKernel({ kernelName: 'testAxpy', backendName: 'reference', kernelFunc: cpuAxpy });
    try {
      expect(hasKernel('testAxpy', backend)).toBe(true);
      expect(hasKernel('testAxpy', 'reference')).toBe(true);
      const x = tensor([1, 2, 3]);
      const y = tensor([10, 20, 30]);
      const scale = tensor([1, 0.5, -1]);
      calls = 0;
      const fused = await axpy({ x, y, scale }, { alpha: 2 }).out.data();
      expect(calls).toBe(1);
      expect(fused).toEqual(await axpy.composite({ x, y, scale }, { alpha: 2 }).out.data());
      expect(calls).toBe(1);
      const [gx, gy, gs] = grads((a, b, c) => sum(axpy({ x: a, y: b, scale: c }, { alpha: 2 }).out))([x, y, scale]);
      expect(calls).toBe(2);
      expect(await gx.data()).toEqual(new Float32Array([2, 1, -2]));
      expect(await gy.data()).toEqual(new Float32Array([1, 1, 1]));
      expect(await gs.data()).toEqual(new Float32Array([2, 4, 6]));
      expect(() => registerKernel({ kernelName: 'testAxpy', backendName: 'reference', kernelFunc: cpuAxpy })).toThrow(/already registered/);
    } finally {
      unregisterKernel('testAxpy', 'reference');
    }
  });

  it('falls back to the composite, with one notice, when the kernel declines the device', async () => {
    const notice = vi.fn();
    kernelRegistry.notice = notice;
    registerKernel({ kernelName: 'testAxpy', backendName: 'reference', kernelFunc: cpuAxpy, supports: () => 'needs 99 storage buffers, the device has 8' });
    try {
      calls = 0;
      const x = tensor([1, 2]);
      const y = tensor([3, 4]);
      expect(await axpy({ x, y }, { alpha: 1 }).out.data()).toEqual(new Float32Array([4, 6]));
      axpy({ x, y }, { alpha: 1 });
      expect(calls).toBe(0);
      expect(notice).toHaveBeenCalledTimes(1);
      expect(notice.mock.calls[0][0]).toMatch(/testAxpy runs its reference composite on reference.*needs 99 storage buffers/);
      expect(hasKernel('testAxpy', backend)).toBe(false);
      expect(explainKernels(backend).find((e) => e.op === 'testAxpy')?.reason).toBe('needs 99 storage buffers, the device has 8');
    } finally {
      unregisterKernel('testAxpy', 'reference');
      kernelRegistry.notice = (m) => console.warn(m);
    }
  });

  it('runs the composite when the kernel returns null for these inputs', async () => {
    registerKernel<AxpyInputs, AxpyAttrs, AxpyOutputs>({ kernelName: 'testAxpy', backendName: 'reference', kernelFunc: () => null });
    try {
      const out = tidy(() => axpy({ x: tensor([1]), y: tensor([1]) }, { alpha: 3 }).out);
      expect(await out.data()).toEqual(new Float32Array([4]));
    } finally {
      unregisterKernel('testAxpy', 'reference');
    }
  });

  it('uses a custom gradient when the op defines one', async () => {
    const square = defineFusedOp<{ x: Tensor }, Record<string, never>, { y: Tensor }>({
      name: 'testSquare',
      inputNames: ['x'],
      outputNames: ['y'],
      check: ({ x }) => ({ y: x.shape }),
      composite: ({ x }) => ({ y: mul(x, x) }),
      grad: ({ dys, inputs }) => ({ x: mul(mul(dys.y, inputs.x), 2) }),
    });
    registerKernel<{ x: Tensor }, Record<string, never>, { y: Tensor }>({ kernelName: 'testSquare', backendName: 'reference', kernelFunc: ({ inputs }) => ({ y: (inputs.x.storage as Float32Array).map((v) => v * v) }) });
    try {
      const [g] = grads((x) => sum(square({ x }, {}).y))([tensor([1, -2, 3])]);
      expect(await g.data()).toEqual(new Float32Array([2, -4, 6]));
    } finally {
      unregisterKernel('testSquare', 'reference');
    }
  });

  it('validates before running anything and refuses a second op of one name', () => {
    expect(() => axpy({ x: tensor([1, 2]), y: tensor([1]) }, { alpha: 1 })).toThrow(ShapeError);
    expect(() => defineFusedOp({ name: 'testAxpy', inputNames: [], outputNames: [], check: () => ({}), composite: () => ({}) })).toThrow(/already defined/);
  });
  it('gives an output the dtype its op names (outputDTypes), kernel and composite alike', async () => {
    // The index of each row's largest entry: int32 ids from float32 inputs.
    const rowArgMax = defineFusedOp<{ x: Tensor }, Record<string, never>, { ids: Tensor }>({
      name: 'testRowArgMax',
      inputNames: ['x'],
      outputNames: ['ids'],
      outputDTypes: { ids: 'int32' },
      check: ({ x }) => ({ ids: x.shape.slice(0, -1) }),
      composite: ({ x }) => ({ ids: argMax(x, -1) }),
    });
    const x = tensor([1, 5, 2, 7, 0, 3], [2, 3]);
    const viaComposite = rowArgMax({ x }, {}).ids;
    registerKernel<{ x: Tensor }, Record<string, never>, { ids: Tensor }>({
      kernelName: 'testRowArgMax',
      backendName: 'reference',
      kernelFunc: ({ inputs }) => {
        const v = inputs.x.storage as Float32Array;
        return { ids: Int32Array.from([0, 1], (r) => [0, 1, 2].reduce((b, i) => (v[r * 3 + i] > v[r * 3 + b] ? i : b), 0)) };
      },
    });
    const viaKernel = rowArgMax({ x }, {}).ids;
    for (const ids of [viaComposite, viaKernel]) {
      expect(ids.dtype).toBe('int32');
      expect(Array.from(await ids.data())).toEqual([1, 0]);
    }
    unregisterKernel('testRowArgMax', 'reference');
  });
});
