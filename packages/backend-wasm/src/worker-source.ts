/**
 * The worker's program, as source text so it runs from a Blob URL (browser) or `eval` (Node)
 * without a separate file to locate. A worker instantiates the kernel module on the shared
 * memory, then loops: wait for the generation counter to move, run its share of the task
 * (`fns[task](tid, nt, ...args)`), count itself done. Layout of the control block: see pool.ts.
 */
export const WORKER_SOURCE = `
const SPIN = 2000;
function boot(msg, ready) {
  const { module, memory, ctrl, names, tid, ranOffset, maxArgs } = msg;
  const inst = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel abort'); } } });
  const fns = names.map((n) => inst.exports[n]);
  let buffer = memory.buffer;
  let i32 = new Int32Array(buffer, ctrl, 16);
  let f64 = new Float64Array(buffer, ctrl + 64, maxArgs);
  let ran = new Int32Array(buffer, ctrl + ranOffset, tid + 1);
  // Read the generation before saying ready: a task posted right after would be missed otherwise.
  let gen = Atomics.load(i32, 0);
  ready();
  for (;;) {
    let spins = 0;
    while (Atomics.load(i32, 0) === gen && spins < SPIN) spins++;
    // Wait until the generation has moved: a wait may return with it unchanged, and running
    // the old task again would count this thread done for the next one before it starts it.
    while (Atomics.load(i32, 0) === gen) Atomics.wait(i32, 0, gen);
    gen = Atomics.load(i32, 0);
    if (memory.buffer !== buffer) {
      // The memory grew: views of the old buffer may be detached.
      buffer = memory.buffer;
      i32 = new Int32Array(buffer, ctrl, 16);
      f64 = new Float64Array(buffer, ctrl + 64, maxArgs);
      ran = new Int32Array(buffer, ctrl + ranOffset, tid + 1);
    }
    if (i32[4] !== 0) return;
    const nt = i32[3];
    if (tid < nt) {
      const n = i32[5];
      const args = new Array(n);
      for (let i = 0; i < n; i++) args[i] = f64[i];
      try { fns[i32[2]](tid, nt, ...args); } catch (e) { Atomics.store(i32, 6, 1); }
    }
    // The generation this thread ran (the pool checks it), then done.
    Atomics.store(ran, tid, gen);
    Atomics.add(i32, 1, 1);
    Atomics.notify(i32, 1);
  }
}
if (typeof require === 'function') {
  const { parentPort } = require('node:worker_threads');
  parentPort.once('message', (m) => boot(m, () => parentPort.postMessage('ready')));
} else {
  self.onmessage = (e) => boot(e.data, () => self.postMessage('ready'));
}
`;
