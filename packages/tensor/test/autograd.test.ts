import { describe, expect, it } from 'vitest';
import {
  add,
  exp,
  grad,
  grads,
  memory,
  mul,
  recordCompositeGrad,
  sin,
  softmax,
  sum,
  tensor,
  tidy,
  valueAndGrads,
  vjp,
  DTypeError,
  ShapeError,
} from '../src/index.js';
import { useReference } from './setup.js';

describe('autograd', () => {
  it('differentiates a composite function', () => {
    useReference();
    tidy(() => {
      const x = tensor([0.5, -1, 2], [3], { dtype: 'float64' });
      // d/dx sum(sin(x)·x) = cos(x)·x + sin(x)
      const g = grad((t) => sum(mul(sin(t), t)))(x).dataSync();
      [0.5, -1, 2].forEach((v, i) => expect(g[i]).toBeCloseTo(Math.cos(v) * v + Math.sin(v), 12));
    });
  });

  it('accumulates gradients of a tensor used twice and returns the value', () => {
    useReference();
    tidy(() => {
      const a = tensor([1, 2], [2]);
      const b = tensor([3, 4], [2]);
      const { value, grads: [ga, gb] } = valueAndGrads((x, y) => sum(add(mul(x, y), mul(x, x))))([a, b]);
      expect(value.dataSync()[0]).toBe(3 + 8 + 1 + 4);
      expect(Array.from(ga.dataSync())).toEqual([3 + 2, 4 + 4]);
      expect(Array.from(gb.dataSync())).toEqual([1, 2]);
    });
  });

  it('gives zeros for an input the output does not depend on', () => {
    useReference();
    tidy(() => {
      const [ga, gb] = grads((x, _y) => sum(exp(x)))([tensor([0], [1]), tensor([5, 6], [2])]);
      expect(Array.from(ga.dataSync())).toEqual([1]);
      expect(Array.from(gb.dataSync())).toEqual([0, 0]);
    });
  });

  it('leaks nothing: intermediates, saved tensors and tapes are freed', () => {
    useReference();
    const x = tensor([1, 2, 3], [3]);
    const before = memory().numTensors;
    const g = grad((t) => sum(softmax(mul(t, t))))(x);
    expect(memory().numTensors).toBe(before + 1);
    g.dispose();
    x.dispose();
  });

  it('vjp with an explicit cotangent, and the errors for bad cotangents', () => {
    useReference();
    tidy(() => {
      const x = tensor([1, 2], [2]);
      const { grads: [g] } = vjp((t) => mul(t, 3), [x], [tensor([1, 10], [2])]);
      expect(Array.from(g.dataSync())).toEqual([3, 30]);
      expect(() => grad((t) => mul(t, 2))(x)).toThrow(ShapeError);
      expect(() => grad((t) => t)(tensor([1], [1], { dtype: 'int32' }))).toThrow(DTypeError);
    });
  });

  it('a fused op taped with recordCompositeGrad gets the composite gradient', () => {
    const backend = useReference();
    tidy(() => {
      const composite = (t: ReturnType<typeof tensor>) => mul(t, t);
      const fusedSquare = (t: ReturnType<typeof tensor>) => {
        const y = tensor(Array.from(t.dataSync(), (v) => v * v), t.shape, { backend });
        recordCompositeGrad('square', [t], [y], (a) => [composite(a)]);
        return y;
      };
      const g = grad((t) => sum(fusedSquare(t)))(tensor([1, -2, 3], [3])).dataSync();
      expect(Array.from(g)).toEqual([2, -4, 6]);
    });
  });
});
