import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import type { Mamba3MixerParams, Mamba3MixerState } from '../src/index.js';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { makeBackend, SKIP_REASON, SKIP_WEBGPU } from './webgpu.js';
import { build, compare, CONFIGS, IN_PLACE, LARGE, ops, outputs, SLICED, values } from './mixer-cases.js';

/*
 * The fused mixer kernels against the tensor package's composites run on the CPU backend
 * (float32 both sides; tolerance in mixer-cases.ts): the step, the chunked op on the model
 * shapes and from a cache, and the gradients. The vec4 scan kernels' x̃, B̃, C̃ paths are in
 * webgpu-mixer-fused-scan.test.ts.
 */

(SKIP_WEBGPU ? describe.skip : describe)(`fused Mamba-3 mixer kernels${SKIP_WEBGPU ? ` (${SKIP_REASON})` : ''}`, () => {
  let gpu: WebGPUBackend;
  const cpu = createCpuBackend({ name: 'cpu-mixer-ref' });
  beforeAll(async () => {
    gpu = await makeBackend({ name: 'webgpu-mixer' });
  });
  afterAll(() => gpu?.dispose());

  for (const c of LARGE) {
    it(`chunked (L=20, from a cache): ${c.name}`, async () => {
      const ref = build(cpu, c.attrs, 1, 4);
      const dev = build(gpu, c.attrs, 1, 4);
      const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(20, 3), ref.params, c.attrs, ref.state);
      const got = ops.mamba3MixerChunked(dev.zxbcdt(20, 3), dev.params, c.attrs, dev.state);
      for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=20 ${name}`, g, w);
    });
  }

  for (const c of [CONFIGS[0], CONFIGS[2]]) {
    it(`chunked over several angle and scan chunks (L=150, from a cache): ${c.name}`, async () => {
      const ref = build(cpu, c.attrs, 1, 3);
      const dev = build(gpu, c.attrs, 1, 3);
      const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(150, 2), ref.params, c.attrs, ref.state);
      const got = ops.mamba3MixerChunked(dev.zxbcdt(150, 2), dev.params, c.attrs, dev.state);
      for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} L=150 ${name}`, g, w);
    });
  }

  /** One step of `b` rows on the CPU and on `on` (the file's WebGPU backend by default), compared. */
  async function step(c: (typeof SLICED)[number], b: number, on: WebGPUBackend = gpu): Promise<void> {
    const ref = build(cpu, c.attrs, b, 1);
    const dev = build(on, c.attrs, b, 1);
    const want = ops.mamba3MixerComposites.step(ref.zxbcdt(null, 0), ref.params, c.attrs, ref.state);
    const before = on.stats().dispatches;
    const got = ops.mamba3MixerStep(dev.zxbcdt(null, 0), dev.params, c.attrs, dev.state);
    expect(on.stats().dispatches - before, 'one dispatch per step (after the one-time parameter packing)').toBeLessThanOrEqual(1);
    for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} b=${b} ${name}`, g, w);
  }

  // 24 heads: 4 slices a head at batch 2, 2 at batches 6 to 32, 1 from 33 (the grid's size decides).
  it(`step at batches 6 and 34 (fewer slices for more rows): ${SLICED[0].name}`, async () => {
    for (const b of [6, 34]) await step(SLICED[0], b);
  });

  // The step sums within subgroups wherever the runtime has them (lavapipe: 4 lanes under `npm
  // test`, 8 with AVX2's 256-bit vectors), so every case above takes that path; a device without
  // them takes the workgroup trees.
  it(`step without subgroups (the workgroup trees): 130M SISO and MIMO r4, rows in two passes, a gated norm`, async () => {
    const tree = await makeBackend({ name: 'webgpu-mixer-tree', noSubgroups: true });
    try {
      const byName = (name: string) => [...LARGE, ...SLICED, ...CONFIGS].find((c) => c.name === name)!;
      const cases = [['130M SISO', 2], ['130M MIMO r4', 2], [SLICED[0].name, 34], [CONFIGS[0].name, 2]] as const;
      for (const [name, b] of cases) await step(byName(name), b, tree);
    } finally {
      tree.dispose();
    }
  });

  for (const c of [...CONFIGS, ...LARGE, ...SLICED, IN_PLACE]) {
    it(`step: ${c.name}`, () => step(c, 2));
    if (c === CONFIGS[0]) {
      it(`a step graph captured before the parameters were packed replays no packing: ${c.name}`, async () => {
        // Fresh parameter tensors: the first mixer call on them (inside the capture) packs them.
        const dev = build(gpu, c.attrs, 2, 3);
        const zx = dev.zxbcdt(null, 0);
        const keys = ['angle', 'ssm', 'k', 'v'] as const;
        const graph = ops.captureStep([zx, ...keys.map((k) => dev.state[k])], (z, ...st) => {
          const r = ops.mamba3MixerStep(z, dev.params, c.attrs, Object.fromEntries(keys.map((k, i) => [k, st[i]])) as unknown as Mamba3MixerState);
          return [r.y, ...keys.map((k) => r.state[k])];
        }, { feedback: keys.map((_, i) => [1 + i, 1 + i] as const) });
        const s0 = gpu.stats();
        graph.run();
        const s1 = gpu.stats();
        expect(s1.dispatches - s0.dispatches, 'one dispatch a run').toBe(1);
        expect(s1.copies - s0.copies, 'no parameter copies replayed').toBe(0);
        await graph.read(0);
        graph.dispose();
        ops.dispose([zx, ...Object.values(dev.params)]);
      });
    }
    if (SLICED.includes(c) || c === IN_PLACE) continue;
    for (const withState of [false, true]) {
      it(`chunked (L=11${withState ? ', from a cache' : ''}): ${c.name}`, async () => {
        const b = 2;
        const ref = build(cpu, c.attrs, b, 2);
        const dev = build(gpu, c.attrs, b, 2);
        const want = ops.mamba3MixerComposites.chunked(ref.zxbcdt(11, 1), ref.params, c.attrs, withState ? ref.state : undefined);
        const before = gpu.stats().dispatches;
        const got = ops.mamba3MixerChunked(dev.zxbcdt(11, 1), dev.params, c.attrs, withState ? dev.state : undefined);
        expect(gpu.stats().dispatches - before, 'a handful of dispatches, not the composite\'s dozens').toBeLessThanOrEqual(9);
        for (const [[name, g], [, w]] of outputs(got).map((o, i) => [o, outputs(want)[i]] as const)) await compare(`${c.name} ${name}`, g, w);
      });
    }
  }

  // The fused ops' gradients on the GPU (the recomputed composites' backward, run on WebGPU
  // kernels) against the CPU backend's, for the input, every parameter and the carried cache.
  for (const c of [CONFIGS[0], CONFIGS[2], CONFIGS[3]]) {
    // (MIMO rank 4's chunked backward takes ~30 s on lavapipe; its step and rank 2's chunked cover the paths.)
    for (const mode of c === CONFIGS[3] ? (['step'] as const) : (['chunked', 'step'] as const)) {
      it(`gradients (${mode}) match the CPU's: ${c.name}`, async () => {
        const grads = async (backend: Backend): Promise<Float32Array[]> => {
          const m = build(backend, c.attrs, 2, 9);
          const keys = Object.keys(m.params) as (keyof Mamba3MixerParams)[];
          const stateKeys = ops.MIXER_STATE_KEYS;
          const zx = m.zxbcdt(mode === 'chunked' ? 7 : null, 4);
          const probe = (t: Tensor, s: number) => ops.tensor(values(t.size, 500 + s, 1), t.shape, { backend });
          const loss = (x: Tensor, ...rest: Tensor[]): Tensor => {
            const params = Object.fromEntries(keys.map((k, i) => [k, rest[i]])) as unknown as Mamba3MixerParams;
            const state = Object.fromEntries(stateKeys.map((k, i) => [k, rest[keys.length + i]])) as unknown as Mamba3MixerState;
            const r = mode === 'chunked' ? ops.mamba3MixerChunked(x, params, c.attrs, state) : ops.mamba3MixerStep(x, params, c.attrs, state);
            const outs = [r.y, ...stateKeys.map((k) => r.state[k])];
            return outs.map((o, i) => ops.sum(ops.mul(o, probe(o, i)))).reduce((a, b) => ops.add(a, b));
          };
          const inputs = [zx, ...keys.map((k) => m.params[k] as Tensor), ...stateKeys.map((k) => m.state[k])];
          const { grads: g } = ops.tidy(() => ops.valueAndGrads(loss)(inputs));
          return Promise.all(g.map(async (t) => (await t.data()) as Float32Array));
        };
        const [want, got] = [await grads(cpu), await grads(gpu)];
        expect(got.length).toBe(want.length);
        got.forEach((g, i) => {
          let num = 0;
          let den = 0;
          for (let k = 0; k < g.length; k++) {
            num += (g[k] - want[i][k]) ** 2;
            den += want[i][k] ** 2;
          }
          // float32 on both sides, different summation orders: relative L2 well under 1e-4.
          expect(Math.sqrt(num / Math.max(den, 1e-30)), `gradient ${i}`).toBeLessThan(1e-4);
        });
      });
    }
  }
});
