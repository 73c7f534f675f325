import { afterEach, expect, it, vi } from 'vitest';

/**
 * Where there is no setImmediate (browsers, workers), yieldToEventLoop posts a MessageChannel
 * message: a turn of the event loop (the microtasks queued meanwhile all run first), without
 * the 4 ms clamp a nested setTimeout(0) gets in browsers.
 */
afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

it('yields through a MessageChannel where setImmediate is missing, after every pending microtask', async () => {
  vi.stubGlobal('setImmediate', undefined);
  const posted = vi.spyOn(MessagePort.prototype, 'postMessage');
  vi.resetModules();
  const { yieldToEventLoop } = await import('../src/prefill.js');
  const order: string[] = [];
  const chain = (n: number): void => queueMicrotask(() => (n === 0 ? order.push('microtasks done') : chain(n - 1)));
  const yields = Promise.all([yieldToEventLoop().then(() => order.push('yield 1')), yieldToEventLoop().then(() => order.push('yield 2'))]);
  chain(50);
  await yields;
  expect(order).toEqual(['microtasks done', 'yield 1', 'yield 2']);
  expect(posted).toHaveBeenCalledTimes(2);
  posted.mockRestore();
});
