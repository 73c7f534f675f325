import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_SHARED_BASE64 } from '../src/generated/kernels-wasm.js';
import { controlBytes, ThreadPool } from '../src/pool.js';

/*
 * The thread pool's hand-off under a wake-up that moved nothing: Atomics.wait may return with
 * the generation unchanged (seen under vitest's workers: a worker re-ran its last task and
 * counted itself done for the next one before running it, so results were silently wrong).
 */
const NEG = 0; // assembly/elementwise.ts's unary op code
const CTRL = 4096;
const X = CTRL + 4096;
const n = 1 << 12;

describe('wasm thread pool', () => {
  let memory: WebAssembly.Memory;
  let pool: ThreadPool;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    const module = await WebAssembly.compile(Buffer.from(KERNELS_SHARED_BASE64, 'base64'));
    memory = new WebAssembly.Memory({ initial: 16, maximum: 64, shared: true });
    expect(CTRL + controlBytes(2)).toBeLessThanOrEqual(X);
    pool = await ThreadPool.create(module, memory, CTRL, 2);
  });
  afterAll(() => pool?.dispose());

  it('runs a task once per generation, even when a worker is woken for nothing', async () => {
    const x = new Float32Array(memory.buffer, X, n);
    for (let i = 0; i < n; i++) x[i] = i + 1;
    // In place, so running a share twice undoes it.
    pool.run('unary', [NEG, X, X, n], true);
    await sleep(30); // the worker is blocked in Atomics.wait by now
    Atomics.notify(new Int32Array(memory.buffer, CTRL, 16), 0);
    await sleep(30);
    const after = new Float32Array(memory.buffer, X, n);
    let wrong = 0;
    for (let i = 0; i < n; i++) if (after[i] !== -(i + 1)) wrong++;
    expect(wrong).toBe(0);
    // And the next task still gets both shares.
    pool.run('unary', [NEG, X, X, n], true);
    for (let i = 0; i < n; i++) if (after[i] !== i + 1) wrong++;
    expect(wrong).toBe(0);
  });
});
