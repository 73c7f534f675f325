import { describe, expect, it } from 'vitest';
import {
  add,
  BackendError,
  DisposedError,
  DTypeError,
  Engine,
  keep,
  matmul,
  memory,
  reshape,
  ones,
  ShapeError,
  tensor,
  tidy,
  zeros,
  ArgumentError,
} from '../src/index.js';
import { createReferenceBackend } from '../src/testing/reference.js';
import { useReference } from './setup.js';

describe('backend registry', () => {
  it('initialises lazily, once, and switches at run time', async () => {
    const e = new Engine();
    let made = 0;
    e.registerBackend('a', () => {
      made++;
      return createReferenceBackend('a');
    }, 1);
    e.registerBackend('b', async () => createReferenceBackend('b'), 5);
    expect(e.listBackends()).toEqual(['b', 'a']);
    expect(made).toBe(0);
    const [x, y] = await Promise.all([e.setBackend('a'), e.initBackend('a')]);
    expect(x).toBe(y);
    expect(made).toBe(1);
    expect(e.getBackend().name).toBe('a');
    await e.setBackend('b');
    expect(e.getBackend().name).toBe('b');
  });

  it('names the registered backends when asked for an unknown one', async () => {
    const e = new Engine();
    e.registerBackend('cpu', () => createReferenceBackend('cpu'));
    await expect(e.setBackend('webgpu')).rejects.toThrow(BackendError);
    await expect(e.setBackend('webgpu')).rejects.toThrow(/unknown backend "webgpu".*\[cpu\]/);
  });

  it('refuses a duplicate name and reports a missing active backend', () => {
    const e = new Engine();
    e.registerBackend('x', () => createReferenceBackend('x'));
    expect(() => e.registerBackend('x', () => createReferenceBackend('x'))).toThrow(/already registered/);
    expect(() => e.getBackend()).toThrow(/no active backend/);
  });

  it('setBestBackend falls back past a backend that cannot start', async () => {
    const e = new Engine();
    e.registerBackend('gpu', () => {
      throw new Error('no adapter');
    }, 10);
    e.registerBackend('cpu', () => createReferenceBackend('cpu'), 1);
    const b = await e.setBestBackend();
    expect(b.name).toBe('cpu');
    // A failed start can be retried later.
    await expect(e.initBackend('gpu')).rejects.toThrow('no adapter');
  });
});

describe('memory scopes', () => {
  it('tidy disposes intermediates and keeps what it returns (nested in arrays and objects)', () => {
    useReference();
    const before = memory().numTensors;
    const out = tidy(() => {
      const a = ones([2, 2]);
      const b = add(a, a);
      return { sum: add(b, 1), list: [b] };
    });
    expect(memory().numTensors).toBe(before + 2);
    expect(out.sum.dataSync()).toEqual(new Float32Array([3, 3, 3, 3]));
    out.sum.dispose();
    out.list[0].dispose();
    expect(memory().numTensors).toBe(before);
  });

  it('nested tidy hands kept tensors to the outer scope', () => {
    useReference();
    const before = memory().numTensors;
    tidy(() => {
      const inner = tidy(() => add(ones([3]), 1));
      expect(inner.isDisposed).toBe(false);
      return undefined;
    });
    expect(memory().numTensors).toBe(before);
  });

  it('keep exempts a tensor from every scope', () => {
    useReference();
    let kept = zeros([1]);
    tidy(() => {
      kept = keep(add(ones([1]), 1));
    });
    expect(kept.isDisposed).toBe(false);
    kept.dispose();
  });

  it('reshape shares storage: the storage lives until the last view is disposed', () => {
    const backend = useReference();
    let released = 0;
    const orig = backend.release;
    backend.release = (s) => {
      released++;
      orig(s);
    };
    const a = tensor([1, 2, 3, 4], [4]);
    const v = reshape(a, [2, 2]);
    released = 0;
    a.dispose();
    expect(released).toBe(0);
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3, 4]);
    expect(v.shape).toEqual([2, 2]);
    v.dispose();
    expect(released).toBe(1);
    backend.release = orig;
  });

  it('async functions are refused by tidy', () => {
    useReference();
    expect(() => tidy(async () => 1)).toThrow(ArgumentError);
  });
});

describe('typed errors at op boundaries', () => {
  it('mismatched shapes name the op and both shapes', () => {
    useReference();
    tidy(() => {
      expect(() => add(ones([2, 3]), ones([4, 3]))).toThrow(ShapeError);
      expect(() => add(ones([2, 3]), ones([4, 3]))).toThrow(/add: shapes \[2, 3\] and \[4, 3\] do not broadcast/);
      expect(() => matmul(ones([2, 3]), ones([4, 5]))).toThrow(/matmul: inner dims differ.*K=3.*K=4/);
    });
  });

  it('mismatched dtypes say which argument is which', () => {
    useReference();
    tidy(() => {
      expect(() => add(ones([2]), ones([2], { dtype: 'int32' }))).toThrow(DTypeError);
      expect(() => add(ones([2]), ones([2], { dtype: 'int32' }))).toThrow(/"a" is float32 and "b" is int32/);
    });
  });

  it('use after dispose names the op', () => {
    useReference();
    const a = ones([2]);
    a.dispose();
    expect(() => add(a, 1)).toThrow(DisposedError);
    expect(() => add(a, 1)).toThrow(/add \(argument "a"\).*used after dispose/);
    expect(() => a.dataSync()).toThrow(DisposedError);
  });

  it('tensors from two backends cannot meet in one op', () => {
    const other = createReferenceBackend('other');
    useReference();
    tidy(() => {
      const a = ones([2]);
      const b = ones([2], { backend: other });
      expect(() => add(a, b)).toThrow(/"a" is on the reference backend but "b" is on other; move one with toBackend/);
    });
  });

  it('bad tensor() input', () => {
    useReference();
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
  });
});
