// Where a steady decode step of the default model goes on wasm, by kernel: each kernel run of
// tokens 400-1200 of a demo-like generation is timed (the pool's private runTask, wrapped here;
// a diagnostic, not an API): `node tools/bench/wasm-kernel-times.mjs [threads]` after `pnpm build`.
import { KERNEL_NAMES, ThreadPool } from '../../packages/backend-wasm/dist/pool.js';
import { createWasmBackend } from '../../packages/backend-wasm/dist/index.js';
import { loadDefaultModel } from '../../packages/default-model/dist/index.js';

const stats = new Map();
let on = false;
const runTask = ThreadPool.prototype.runTask;
ThreadPool.prototype.runTask = function (task, args, parallel) {
  if (!on) return runTask.call(this, task, args, parallel);
  const t = performance.now();
  runTask.call(this, task, args, parallel);
  const key = `${KERNEL_NAMES[task]}${parallel ? ' (threads)' : ''}`;
  const s = stats.get(key) ?? { n: 0, ms: 0 };
  s.n++;
  s.ms += performance.now() - t;
  stats.set(key, s);
};
const threads = process.argv[2] ? Number(process.argv[2]) : undefined;
const backend = await createWasmBackend(threads ? { threads } : {});
const model = await loadDefaultModel({ backend });
const steady = 800;
let n = 0;
let t0 = 0;
await model.generateText('ROMEO:\n', {
  maxNewTokens: 400 + steady,
  temperature: 0.8,
  topP: 0.95,
  seed: 1,
  onChunk: () => {
    if (++n === 400) {
      on = true;
      t0 = performance.now();
    }
  },
});
const wall = performance.now() - t0;
let total = 0;
console.log(`wasm ${backend.info.device}, load ${(await import('node:os')).loadavg()[0].toFixed(2)}, tokens 400-${400 + steady}:`);
for (const [k, s] of [...stats].sort((a, b) => b[1].ms - a[1].ms)) {
  total += s.ms;
  console.log(`${((s.ms / steady) * 1000).toFixed(1).padStart(7)} µs/token  ${(s.n / steady).toFixed(1).padStart(4)} runs/token  ${k}`);
}
console.log(`kernels ${((total / steady) * 1000).toFixed(0)} µs of ${((wall / steady) * 1000).toFixed(0)} µs per token (wall)`);
model.dispose();
process.exit(0);
