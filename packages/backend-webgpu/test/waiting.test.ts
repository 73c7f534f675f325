import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ops from '@mamba3/tensor';
import type { WebGPUBackend } from '../src/index.js';
import { waitGently, wantsGentleWaits } from '../src/waiting.js';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './setup.js';

type SetImmediateLike = (fn: (...args: unknown[]) => void) => unknown;
const g = globalThis as unknown as { setImmediate: SetImmediateLike };
/** A stand-in for dawn.node's poll: a native function with no name, as the binding's is. */
const nativePoll = Function.prototype as unknown as () => void;
const isTimer = (h: unknown) => typeof (h as { refresh?: unknown }).refresh === 'function';

describe('gentle waits (Dawn polls through a timer on a software adapter)', () => {
  it('route only native polls, only during a wait past its first 0.25 ms, and restore setImmediate after overlapping waits', async () => {
    const original = g.setImmediate;
    let resolveA!: () => void;
    let resolveB!: () => void;
    const a = waitGently(new Promise<void>((r) => (resolveA = r)));
    const b = waitGently(new Promise<void>((r) => (resolveB = r)));
    expect(g.setImmediate).not.toBe(original);
    await new Promise((r) => setTimeout(r, 5));
    const poll = g.setImmediate(nativePoll);
    const jsCallback = g.setImmediate(() => {});
    expect(isTimer(poll), 'a native poll waits on a timer').toBe(true);
    expect(isTimer(jsCallback), "a JS caller's callback stays an immediate").toBe(false);
    resolveA();
    await a;
    expect(g.setImmediate, 'still routed while the other wait lasts').not.toBe(original);
    resolveB();
    await b;
    expect(g.setImmediate).toBe(original);
  });

  it("leaves a promise's resolve alone, and the routed function works after the wait for code that kept it", async () => {
    let resolveWait!: () => void;
    const wait = waitGently(new Promise<void>((r) => (resolveWait = r)));
    await new Promise((r) => setTimeout(r, 5));
    const kept = g.setImmediate;
    let resolver!: (v: unknown) => void;
    void new Promise((r) => (resolver = r));
    expect(isTimer(kept(resolver as () => void)), "a promise's resolve stays an immediate").toBe(false);
    resolveWait();
    await wait;
    let ran = false;
    await new Promise<void>((done) => kept(() => ((ran = true), done())));
    expect(ran).toBe(true);
    expect(isTimer(kept(nativePoll)), 'no routing outside a wait').toBe(false);
  });

  it('restores setImmediate when the awaited promise rejects', async () => {
    const original = g.setImmediate;
    await expect(waitGently(Promise.reject(new Error('map failed')))).rejects.toThrow('map failed');
    expect(g.setImmediate).toBe(original);
  });

  it('apply in Node on software adapters only', () => {
    expect(wantsGentleWaits(true)).toBe(true);
    expect(wantsGentleWaits(false)).toBe(false);
  });
});

(SKIP_WEBGPU ? describe.skip : describe)(`gentle waits on this adapter${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let be: WebGPUBackend;
  beforeAll(async () => {
    be = await makeBackend({ name: 'webgpu-waiting' });
  });
  afterAll(() => be?.dispose());

  it('a read on lavapipe (a fallback adapter) waits gently, and the value is right', async () => {
    const original = g.setImmediate;
    const t = ops.tensor([1, 2, 3], [3], { backend: be });
    const read = t.data();
    // CI runs on lavapipe; a hardware adapter would keep the fast poll.
    expect(g.setImmediate !== original).toBe(/llvmpipe|lavapipe|swiftshader/i.test(be.info.device ?? ''));
    expect(Array.from(await read)).toEqual([1, 2, 3]);
    expect(g.setImmediate).toBe(original);
    t.dispose();
  });
});
