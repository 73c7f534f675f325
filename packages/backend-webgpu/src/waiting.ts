/**
 * How the backend waits for the GPU in Node on a software adapter.
 *
 * dawn.node (the `webgpu` package) settles `mapAsync` and `onSubmittedWorkDone` by polling:
 * while any of them is pending it queues its next poll through the global `setImmediate`, which
 * it looks up on every poll. That spins a core and allocates a callback per poll. On a GPU that
 * sees a short wait end soonest. On a software adapter (Mesa's lavapipe: the adapter reports
 * `isFallbackAdapter`) the "GPU" is the CPU. Its shader compiles and dispatches run on the
 * same cores the poll spins on. The spinning then slows the work being waited for.
 *
 * Measured on a 2-core machine, `core`'s `webgpu-mixer-fused-scan` tests on a cold shader cache:
 * 238 s of CPU and 123 s wall without this, 118 s of CPU and 112 s wall with it. The core it frees
 * serves the test file that runs beside it.
 *
 * So on such an adapter the backend's own waits poll gently: after `SPIN_MS` of a wait, Dawn's
 * polls go through a 1 ms timer. Only Dawn's polls (native functions) are delayed. A JS
 * caller's `setImmediate` is untouched, and so is every wait on a hardware adapter.
 */

/** Polls at full speed for this long first: short reads finish as fast as before. */
const SPIN_MS = 0.25;
/** The timer between Dawn's polls after that. */
const POLL_MS = 1;

type SetImmediate = (callback: (...args: unknown[]) => void, ...args: unknown[]) => unknown;

let waits = 0;
let waitStart = 0;
/** Node's own setImmediate, kept from the first wait on: code that took the routed one keeps working after it. */
let original: SetImmediate | null = null;

const fnToString = Function.prototype.toString;

/**
 * Dawn's poll: a native function of no name and no parameters. A JS caller's callback is not
 * native (unless bound: then it is named "bound ..."), and a promise's resolve function, the
 * other native callback a caller may pass, takes one parameter.
 */
function isNativePoll(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && fn.length === 0 && fnToString.call(fn).endsWith('{ [native code] }');
}

function gentleSetImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]): unknown {
  if (waits > 0 && isNativePoll(callback) && performance.now() - waitStart >= SPIN_MS) return setTimeout(callback, POLL_MS, ...args);
  return original!(callback, ...args);
}

/** Whether gentle waits apply: Node (a global `setImmediate` to route Dawn's polls through) and a software adapter. */
export function wantsGentleWaits(softwareAdapter: boolean): boolean {
  return softwareAdapter && typeof (globalThis as { setImmediate?: unknown }).setImmediate === 'function';
}

/**
 * Awaits `pending` with Dawn's polls routed through a timer after the first `SPIN_MS` (see the
 * file comment). Waits may overlap (several backends in one process): the first installs the
 * routing, the last removes it.
 */
export async function waitGently<T>(pending: Promise<T>): Promise<T> {
  const g = globalThis as unknown as { setImmediate: SetImmediate };
  if (waits++ === 0) {
    waitStart = performance.now();
    if (g.setImmediate !== gentleSetImmediate) original = g.setImmediate;
    g.setImmediate = gentleSetImmediate;
  }
  try {
    return await pending;
  } finally {
    if (--waits === 0) g.setImmediate = original!;
  }
}
