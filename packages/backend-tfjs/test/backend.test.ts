import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import * as ops from '@mamba3/tensor';
import { BackendUnavailableError, DTypeError, tidy } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import { createTfjsBackend } from '../src/index.js';

let cpu: Backend;
let wasm: Backend;

beforeAll(async () => {
  cpu = await createTfjsBackend({ tfjsBackend: 'cpu', name: 'tfjs-cpu' });
  wasm = await createTfjsBackend({ tfjsBackend: 'wasm', name: 'tfjs-wasm' });
});
afterAll(() => {
  cpu.dispose?.();
  wasm.dispose?.();
});

/** A bit of everything: projections, norms, a running sum and batched products with their gradients, gathers. */
function workload(backend: Backend, seed: number): Tensor {
  const x = ops.randomNormal([2, 6, 8], { seed, backend });
  const w = ops.randomNormal([8, 8], { seed: seed + 1, backend });
  const f = (xx: Tensor, ww: Tensor): Tensor => {
    const h = ops.rmsNorm(ops.matmul(xx, ww), null);
    const C = ops.reshape(ops.sliceAxis(h, 2, 0, 4), [2, 6, 1, 1, 4]);
    const B = ops.reshape(ops.sliceAxis(h, 2, 4, 8), [2, 6, 1, 1, 4]);
    const xs = ops.reshape(ops.silu(h), [2, 6, 1, 1, 8]);
    const a = ops.neg(ops.softplus(ops.sliceAxis(h, 2, 0, 1)));
    const dt = ops.sigmoid(ops.sliceAxis(h, 2, 1, 2));
    const decay = ops.exp(ops.cumsum(ops.mul(a, dt), 1)); // [2, 6, 1]
    const scores = ops.matmul(ops.reshape(C, [2, 6, 4]), ops.reshape(B, [2, 6, 4]), { transposeB: true });
    const y = ops.matmul(ops.mul(scores, decay), ops.reshape(xs, [2, 6, 8]));
    return ops.sum(ops.square(y));
  };
  const g = ops.grads(f)([x, w]);
  const ids = ops.argMax(ops.gather(x, ops.tensor([1, 0, 1], [3], { dtype: 'int32', backend }), 0), -1);
  return ops.add(ops.sum(ops.add(g[0], ops.sum(g[1]))), ops.cast(ops.sum(ids), 'float32'));
}

describe('memory', () => {
  it('tidy loops leave tf.memory().numTensors and our byte tally unchanged', async () => {
    for (const backend of [cpu, wasm]) {
      const before = tf.memory().numTensors;
      const bytes = backend.memoryBytes?.();
      for (let i = 0; i < 5; i++) tidy(() => workload(backend, i)).dispose();
      expect(tf.memory().numTensors, backend.name).toBe(before);
      expect(backend.memoryBytes?.(), backend.name).toBe(bytes);
    }
  });

  it('counts live bytes and frees them on dispose', () => {
    const before = cpu.memoryBytes?.() ?? 0;
    const t = ops.zeros([10, 10], { backend: cpu });
    expect(cpu.memoryBytes?.()).toBe(before + 400);
    t.dispose();
    expect(cpu.memoryBytes?.()).toBe(before);
  });

  it('results outlive a tf.tidy of the caller', async () => {
    let y: Tensor | undefined;
    tf.tidy(() => {
      y = ops.add(ops.tensor([1, 2], [2], { backend: cpu }), 1);
    });
    expect(Array.from(await y!.data())).toEqual([2, 3]);
    y!.dispose();
  });

  it('uploads copy their input and reads return copies', async () => {
    const values = new Float32Array([1, 2, 3]);
    const t = ops.tensor(values, [3], { backend: cpu });
    values[0] = 99;
    const read = await t.data();
    read[1] = 99;
    expect(Array.from(await t.data())).toEqual([1, 2, 3]);
    t.dispose();
  });
});

describe('several instances', () => {
  it('keep their own tfjs backend when used in turns', async () => {
    const a = ops.randomNormal([5, 7], { seed: 3, backend: cpu });
    const b = ops.randomNormal([5, 7], { seed: 3, backend: wasm });
    for (let i = 0; i < 3; i++) {
      const ya = tidy(() => ops.softmax(ops.matmul(a, a, { transposeB: true })));
      expect(tf.getBackend()).toBe('cpu');
      const yb = tidy(() => ops.softmax(ops.matmul(b, b, { transposeB: true })));
      expect(tf.getBackend()).toBe('wasm');
      const [va, vb] = [await ya.data(), await yb.data()];
      va.forEach((v, k) => expect(vb[k]).toBeCloseTo(v, 5));
      ops.dispose([ya, yb]);
    }
    ops.dispose([a, b]);
  });

  it('run on the tfjs namespace they are given', async () => {
    const given = await createTfjsBackend({ tf, tfjsBackend: 'cpu', name: 'tfjs-given' });
    const y = ops.sum(ops.tensor([1, 2, 3], [3], { backend: given }));
    expect((await y.data())[0]).toBe(6);
    y.dispose();
    given.dispose?.();
  });

  it('without tfjsBackend, take the tfjs backend tfjs itself has active', async () => {
    await tf.setBackend('wasm');
    const picked = await createTfjsBackend({ name: 'tfjs-default' });
    expect(picked.info.device).toMatch(/ wasm$/);
    picked.dispose?.();
  });

  it('say which tfjs backend they run on', () => {
    expect(cpu.info.device).toMatch(/TensorFlow\.js 4\.22\.0 cpu/);
    expect(wasm.info.device).toMatch(/wasm/);
    expect(cpu.info.syncRead && wasm.info.syncRead).toBe(true);
  });
});

describe('errors', () => {
  it('a missing optional peer (tfjs-node) says what to install', async () => {
    const err = await createTfjsBackend({ tfjsBackend: 'tensorflow' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect(String((err as Error).message)).toMatch(/@tensorflow\/tfjs-node-gpu is not installed; @tensorflow\/tfjs-node is not installed.*npm i @tensorflow\/tfjs-node/s);
  });

  it('an unknown tfjs backend name is refused with the known names', async () => {
    await expect(createTfjsBackend({ tfjsBackend: 'nope' })).rejects.toThrow(/"nope" is not registered.*cpu, wasm, webgpu, webgl, tensorflow/);
  });

  it('float64 is refused by name', () => {
    expect(() => ops.tensor([1], [1], { dtype: 'float64', backend: cpu })).toThrow(DTypeError);
  });
});

describe('training through our autograd', () => {
  it('SGD on a small regression follows the CPU backend step for step', async () => {
    const run = async (backend: Backend): Promise<number[]> => {
      const x = ops.randomNormal([16, 6], { seed: 11, backend });
      const target = ops.randomNormal([16, 3], { seed: 12, backend });
      let w = ops.keep(ops.mul(ops.randomNormal([6, 3], { seed: 13, backend }), 0.1));
      const losses: number[] = [];
      const loss = (ww: Tensor): Tensor => ops.mean(ops.square(ops.sub(ops.tanh(ops.matmul(x, ww)), target)));
      for (let step = 0; step < 10; step++) {
        const { value, grad } = ops.valueAndGrad(loss)(w);
        losses.push((await value.data())[0]);
        const next = ops.keep(tidy(() => ops.sub(w, ops.mul(grad, 0.5))));
        ops.dispose([value, grad, w]);
        w = next;
      }
      ops.dispose([x, target, w]);
      return losses;
    };
    const want = await run(createCpuBackend({ name: 'cpu-ref' }));
    for (const backend of [cpu, wasm]) {
      const got = await run(backend);
      got.forEach((v, i) => expect(Math.abs(v - want[i]) / want[i], `${backend.name} step ${i}`).toBeLessThan(1e-5));
    }
    expect(want[9]).toBeLessThan(want[0]);
  });
});
