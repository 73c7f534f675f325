import { describe, expect, it } from 'vitest';
import { getBackend, listBackends, matmul, removeBackend, setBackend, tensor } from '@mamba3/tensor';

// Its own file (its own process): nothing here may touch tfjs before setBackend('tfjs').
describe('importing @mamba3/backend-tfjs', () => {
  it('registers "tfjs" without loading or initialising tfjs', async () => {
    await import('../src/index.js');
    expect(listBackends()).toContain('tfjs');
    expect((globalThis as { _tfengine?: unknown })._tfengine).toBeUndefined();
  });

  it('starts on setBackend: with no tfjs backend registered, the first that loads (wasm here: tfjs-node is absent)', async () => {
    const backend = await setBackend('tfjs');
    expect(backend.name).toBe('tfjs');
    expect(backend.info.device).toMatch(/^TensorFlow\.js 4\.\d+\.\d+ wasm/);
    expect(backend.info.dtypes).toEqual(['float32', 'int32']);
    expect(backend.info.syncRead).toBe(true);
    const y = matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 0, 0, 1], [2, 2]));
    expect(Array.from(await y.data())).toEqual([1, 2, 3, 4]);
    expect(getBackend()).toBe(backend);
    removeBackend('tfjs');
  });
});
