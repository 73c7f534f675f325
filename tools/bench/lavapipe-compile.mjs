#!/usr/bin/env node
// What lavapipe's shader compiles cost the test suite (BENCHMARKS, "The test suite's time"): the
// first dispatch of four decode-GEMV kernels the GEMV tests build (plain and with the fused norm
// and residual, at [M, K, N] = [2, 4104, 33] and [32, 136, 33]), which is where lavapipe compiles
// them with LLVM. Run it with an empty Mesa cache and vary the driver's settings, e.g.:
//   MESA_SHADER_CACHE_DISABLE=true node tools/bench/lavapipe-compile.mjs
//   MESA_SHADER_CACHE_DISABLE=true LP_NATIVE_VECTOR_WIDTH=128 node tools/bench/lavapipe-compile.mjs
//   MESA_SHADER_CACHE_DISABLE=true GALLIVM_PERF=nopt node tools/bench/lavapipe-compile.mjs
// After `pnpm build`; prints ms per first dispatch (the compile and a tiny product) and the sum.
import * as ops from '../../packages/tensor/dist/index.js';
import { createWebGPUBackend } from '../../packages/backend-webgpu/dist/index.js';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const be = await createWebGPUBackend({ name: 'lavapipe-compile', gemvMaxRows: 128 });
const rng = new ops.Rng(1);
const draw = (n) => Array.from({ length: n }, () => rng.normal());
let total = 0;
for (const [M, K, N] of [[2, 4104, 33], [32, 136, 33]]) {
  const w = ops.keep(ops.tensor(draw(N * K), [N, K], { backend: be }));
  const g = ops.keep(ops.tensor(draw(K), [K], { backend: be }));
  for (const fused of [false, true]) {
    const t0 = performance.now();
    const y = ops.tidy(() => {
      const a = ops.tensor(draw(M * K), [M, K], { backend: be });
      const r = ops.tensor(draw(M * N), [M, N], { backend: be });
      return fused ? ops.fusedLinear(a, w, { norm: { weight: g, eps: 1e-5 }, residual: r }) : ops.linear(a, w);
    });
    await y.data();
    const ms = performance.now() - t0;
    total += ms;
    console.log(`[${M}, ${K}, ${N}] ${fused ? 'fused norm + residual' : 'plain'}: ${ms.toFixed(0)} ms`);
    y.dispose();
  }
  ops.dispose([w, g]);
}
console.log(`sum ${(total / 1000).toFixed(1)} s`);
be.dispose();
