import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { add, dispose, engine, floatToBf16, keep, randomNormal, reshape, sliceAxis, tensor, tidy } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { Mamba1, Mamba2, relativeL2 } from '../src/index.js';
import type { Mamba1Options, Mamba2Options, MixerCache, MixerState } from '../src/index.js';
import { makeBackend, webgpuUnavailable } from './webgpu.js';

// Whole Mamba-1/2 mixers on WebGPU (chunked prefill scans, fused decode steps) against the cpu
// backend on the same random weights: a prefill from a zero cache, then decode steps; outputs
// and caches.
const VARIANTS: { name: string; make: (p?: Record<string, Tensor>, backend?: Backend) => Mamba1 | Mamba2 }[] = [];
function variant(name: string, kind: 'Mamba1' | 'Mamba2', opts: Mamba1Options | Mamba2Options): void {
  VARIANTS.push({
    name,
    make: (p, backend) => (kind === 'Mamba1' ? (p ? Mamba1.fromWeights(opts as Mamba1Options, p) : Mamba1.create(opts as Mamba1Options, { seed: 7, ...(backend ? { backend } : {}) })) : p ? Mamba2.fromWeights(opts as Mamba2Options, p) : Mamba2.create(opts as Mamba2Options, { seed: 7, ...(backend ? { backend } : {}) })),
  });
}
variant('Mamba1 (d_state 16, the released shape)', 'Mamba1', { dModel: 48 });
variant('Mamba1 d_state 40, dt_rank 5, biases, no conv bias', 'Mamba1', { dModel: 24, dState: 40, dtRank: 5, bias: true, convBias: false });
variant('Mamba2 (norm in out_proj)', 'Mamba2', { dModel: 32, dState: 16, headdim: 16 });
variant('Mamba2 ngroups 2, D per channel, no rmsnorm, dt_limit', 'Mamba2', { dModel: 32, dState: 40, headdim: 8, ngroups: 2, DHasHdim: true, rmsnorm: false, dtLimit: [0.01, 0.5] });
variant('Mamba2 MLP part, norm before gate', 'Mamba2', { dModel: 32, dState: 8, headdim: 8, dSsm: 32, normBeforeGate: true });

const skip = await webgpuUnavailable();
(skip ? describe.skip : describe)(`Mamba-1/2 mixers on WebGPU vs cpu${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let gpu: WebGPUBackend;
  // Every weight kept 16-bit on the device (the kernels read unpacked float32 copies).
  let gpuHalf: WebGPUBackend;
  let cpu: Backend;
  beforeAll(async () => {
    gpu = await makeBackend({ name: 'webgpu-family-mixer' });
    gpuHalf = await makeBackend({ name: 'webgpu-family-mixer-half', halfMinElements: 0 });
    cpu = await createCpuBackend({ name: 'cpu-family-mixer' });
  });
  afterAll(() => {
    gpu?.dispose();
    gpuHalf?.dispose();
    cpu?.dispose?.();
  });

  /** bf16-rounded weights: float32 on cpu, 16-bit storage on gpuHalf. */
  async function halves(p: Record<string, Tensor>): Promise<{ pc: Record<string, Tensor>; pg: Record<string, Tensor> }> {
    const pc: Record<string, Tensor> = {};
    const pg: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(p)) {
      const v = Float32Array.from(await t.data());
      const u = new Uint32Array(v.buffer);
      for (let i = 0; i < v.length; i++) u[i] = floatToBf16(v[i]) << 16;
      pc[k] = tensor(v, t.shape, { backend: cpu, dtype: 'float32' });
      pg[k] = engine.makeTensor(gpuHalf, gpuHalf.uploadHalf!(v, t.shape, 'bfloat16'), t.shape, 'float32');
    }
    return { pc, pg };
  }

  async function to(t: Tensor, backend: Backend): Promise<Tensor> {
    return tensor(await t.data(), t.shape, { backend, dtype: 'float32' });
  }

  async function run(m: Mamba1 | Mamba2, u: Tensor, steps: Tensor[]): Promise<Float32Array[]> {
    const cache = m.allocateInferenceCache(u.shape[0]) as MixerCache<MixerState>;
    const out: Float32Array[] = [Float32Array.from(await tidy(() => m.forward(u, { cache } as never)).data())];
    for (const s of steps) out.push(Float32Array.from(await tidy(() => m.step(s, cache as never)).data()));
    for (const t of Object.values(cache.state())) out.push(Float32Array.from(await t.data()));
    cache.dispose();
    return out;
  }

  // The prefills feed their scans in place (mamba1ChunkCore, mamba2ChunkCore): no copies out of
  // in_proj's or x_proj's output but Mamba-1's dt (for dt_proj), no ops on A_log (before: four
  // copies and two unary ops a layer for Mamba-1, two and two for Mamba-2). Counted per kernel by
  // the profiler (each dispatch timed alone).
  for (const [v, copies] of [[VARIANTS[0], 1], [VARIANTS[2], 0]] as const) {
    it(`${v.name}: the prefill's kernels (${copies} copy, no unary ops)`, async (ctx) => {
      if (!gpu.features.has('timestamp-query')) ctx.skip();
      const m = v.make(undefined, gpu);
      const u = randomNormal([2, 40, m.config.dModel], { seed: 3, backend: gpu });
      const { kernels } = await gpu.profile(() => tidy(() => void m.forward(u)));
      const calls = (k: string): number => kernels.find((x) => x.kernel === k)?.calls ?? 0;
      expect(calls('copy'), kernels.map((k) => `${k.kernel} ×${k.calls}`).join(', ')).toBe(copies);
      expect(calls('unary')).toBe(0);
      dispose(u);
      m.dispose();
    });
  }

  for (const [v, half] of [...VARIANTS.map((x) => [x, false] as const), [VARIANTS[0], true] as const, [VARIANTS[2], true] as const]) {
    it(`${v.name}${half ? ', 16-bit weights on the device' : ''}: prefill of 40 positions (two chunks) then 3 steps, outputs and cache within 1e-5`, async () => {
      const dev = half ? gpuHalf : gpu;
      const base = v.make(undefined, cpu);
      // Perturbed so that A_log, D, biases and norms are not their (regular) initial values.
      const pc: Record<string, Tensor> = {};
      let seed = 100;
      for (const [k, t] of Object.entries(base.params)) pc[k] = keep(tidy(() => add(t, randomNormal(t.shape, { seed: seed++, std: 0.2, backend: cpu }))));
      base.dispose();
      let pg: Record<string, Tensor> = {};
      if (half) {
        const h = await halves(pc);
        dispose(Object.values(pc));
        Object.assign(pc, h.pc);
        pg = h.pg;
      } else for (const [k, t] of Object.entries(pc)) pg[k] = await to(t, gpu);
      const [mc, mg] = [v.make(pc), v.make(pg)];
      const dModel = mc.config.dModel;
      const u = randomNormal([2, 43, dModel], { seed: 1, backend: cpu });
      const prompt = tidy(() => sliceAxis(u, 1, 0, 40));
      const steps = [40, 41, 42].map((t) => tidy(() => reshape(sliceAxis(u, 1, t, t + 1), [2, dModel])));
      const want = await run(mc, prompt, steps);
      const [pGpu, sGpu] = [await to(prompt, dev), await Promise.all(steps.map((s) => to(s, dev)))];
      const got = await run(mg, pGpu, sGpu);
      const names = ['prefill y', 'step 1', 'step 2', 'step 3', 'conv cache', 'ssm cache'];
      want.forEach((w, i) => expect(relativeL2(got[i], w), names[i]).toBeLessThan(1e-5));
      dispose([u, prompt, steps, pGpu, sGpu]);
      mc.dispose();
      mg.dispose();
    });
  }
});

