import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '@mamba3/tensor';
import { dispose, engine, hasKernel, neg, randomNormal, randomUniform, tensor, tidy } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WebGPUBackend } from '@mamba3/backend-webgpu';
import { causalConv1dSilu, causalConv1dSiluXBC, mamba1ConvStep, mamba1InProjConv, mamba1SelectiveScan, mamba1SelectiveScanStep, mamba1ChunkCore, mamba1StepScan, mamba2ChunkCore, mamba2SsdChunked, mamba2SsdStep, mamba2StepCore, relativeL2 } from '../src/index.js';
import { makeBackend, webgpuUnavailable } from './webgpu.js';

// The Mamba-1 and Mamba-2 scan and decode-step kernels against their reference composites on WebGPU.
const skip = await webgpuUnavailable();
(skip ? describe.skip : describe)(`Mamba-1/2 step kernels on WebGPU${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let backend: WebGPUBackend;
  let cpu: Backend;
  beforeAll(async () => {
    backend = await makeBackend({ name: 'webgpu-family-steps' });
    cpu = await createCpuBackend({ name: 'cpu-family-steps' });
  });
  afterAll(() => {
    backend?.dispose();
    cpu?.dispose?.();
  });

  /** The same tensors on the cpu backend. */
  async function toCpu<T extends Record<string, Tensor>>(inp: T): Promise<T> {
    return Object.fromEntries(await Promise.all(Object.entries(inp).map(async ([k, t]) => [k, tensor(await t.data(), t.shape, { backend: cpu })] as const))) as T;
  }

  async function same(run: () => Record<string, Tensor>, ref: () => Record<string, Tensor>): Promise<void> {
    const [a, b] = [run(), ref()];
    for (const k of Object.keys(b)) expect(relativeL2(await a[k].data(), await b[k].data()), k).toBeLessThan(1e-5);
    dispose([a, b]);
  }

  it('mamba1SelectiveScanStep (E 40, N 36: more than one lane pass)', async () => {
    expect(hasKernel('mamba1SelectiveScanStep', backend)).toBe(true);
    const [b, E, N] = [3, 40, 36];
    const o = { backend };
    const inp = tidy(() => ({
      u: randomNormal([b, E], { ...o, seed: 1 }),
      delta: randomNormal([b, E], { ...o, seed: 2 }),
      A: neg(randomUniform([E, N], { ...o, seed: 3, min: 0.5, max: 3 })),
      B: randomNormal([b, N], { ...o, seed: 4 }),
      C: randomNormal([b, N], { ...o, seed: 5 }),
      D: randomNormal([E], { ...o, seed: 6 }),
      z: randomNormal([b, E], { ...o, seed: 7 }),
      deltaBias: randomNormal([E], { ...o, seed: 8 }),
      h: randomNormal([b, E, N], { ...o, seed: 9 }),
    }));
    await same(() => mamba1SelectiveScanStep(inp, {}), () => mamba1SelectiveScanStep.composite(inp, {}));
    dispose(inp);
  });

  for (const [name, G, DHasHdim, dtLimit] of [['one group, D per head', 1, false, [0, Infinity]], ['two groups, D per channel, dt_limit', 2, true, [0.05, 0.4]]] as const) {
    it(`mamba2SsdStep (${name})`, async () => {
      expect(hasKernel('mamba2SsdStep', backend)).toBe(true);
      const [b, H, P, N] = [2, 4, 12, 40];
      const o = { backend };
      const inp = tidy(() => ({
        x: randomNormal([b, H, P], { ...o, seed: 11 }),
        dt: randomNormal([b, H], { ...o, seed: 12 }),
        A: neg(randomUniform([H], { ...o, seed: 13, min: 0.5, max: 3 })),
        B: randomNormal([b, G, N], { ...o, seed: 14 }),
        C: randomNormal([b, G, N], { ...o, seed: 15 }),
        D: randomNormal([DHasHdim ? H * P : H], { ...o, seed: 16 }),
        dtBias: randomNormal([H], { ...o, seed: 17 }),
        h: randomNormal([b, H, P, N], { ...o, seed: 18 }),
      }));
      await same(() => mamba2SsdStep(inp, { dtLimit }), () => mamba2SsdStep.composite(inp, { dtLimit }));
      dispose(inp);
    });
  }

  // Chunks of 32 positions; L 37, 100 and 150 end on a partial chunk, L 549 takes 18 (more than
  // the state hand-off's group of 16). The staged kernels (a chunk's shared inputs in workgroup
  // memory): chunk states for N 16 and 32 (E 20 spans two of their workgroups at N 16), chunk
  // outputs up to N 64. N 40 takes the scalar chunk states, N 72 both scalar kernels, whose output
  // pass holds register blocks of 16 state elements (five, the last partial). E 140 spans two of
  // the staged chunk outputs' workgroups (OUTPUT_CHANNELS, 128), the second partial.
  for (const [withState, L, N, E] of [[false, 37, 40, 20], [true, 37, 40, 20], [true, 100, 16, 20], [false, 150, 32, 20], [true, 37, 72, 20], [true, 549, 16, 20], [true, 37, 16, 140]] as const) {
    it(`mamba1SelectiveScan (L ${L}, N ${N}, E ${E}${withState ? ', from a state' : ''})`, async () => {
      expect(hasKernel('mamba1SelectiveScan', backend)).toBe(true);
      const b = 2;
      const o = { backend };
      const inp = tidy(() => ({
        u: randomNormal([b, L, E], { ...o, seed: 21 }),
        delta: randomNormal([b, L, E], { ...o, seed: 22 }),
        A: neg(randomUniform([E, N], { ...o, seed: 23, min: 0.5, max: 3 })),
        B: randomNormal([b, L, N], { ...o, seed: 24 }),
        C: randomNormal([b, L, N], { ...o, seed: 25 }),
        D: randomNormal([E], { ...o, seed: 26 }),
        z: randomNormal([b, L, E], { ...o, seed: 27 }),
        deltaBias: randomNormal([E], { ...o, seed: 28 }),
        ...(withState ? { h0: randomNormal([b, E, N], { ...o, seed: 29 }) } : {}),
      }));
      await same(() => mamba1SelectiveScan(inp, { chunkSize: 16 }), () => mamba1SelectiveScan.composite(inp, { chunkSize: 16 }));
      dispose(inp);
    });
  }

  // Mamba-1's prefill core: B and C read in place from x_proj's rows (dt rank 3 puts them off
  // vec4 alignment), z from in_proj's, A from A_log; the staged kernels (N 16), the scalar chunk
  // states (N 40) and both scalar passes (N 72): three dispatches, against the cpu backend.
  for (const [withState, L, N] of [[true, 100, 16], [false, 37, 40], [true, 37, 72]] as const) {
    it(`mamba1ChunkCore (L ${L}, N ${N}${withState ? ', from a state' : ''})`, async () => {
      expect(hasKernel('mamba1ChunkCore', backend)).toBe(true);
      const [b, E, R] = [2, 20, 3];
      const o = { backend };
      const inp = tidy(() => ({
        xz: randomNormal([b, L, 2 * E], { ...o, seed: 51 }),
        x: randomNormal([b, L, E], { ...o, seed: 52 }),
        dbc: randomNormal([b, L, R + 2 * N], { ...o, seed: 53 }),
        delta: randomNormal([b, L, E], { ...o, seed: 54 }),
        ALog: randomUniform([E, N], { ...o, seed: 55, min: -0.5, max: 1 }),
        D: randomNormal([E], { ...o, seed: 56 }),
        deltaBias: randomNormal([E], { ...o, seed: 57 }),
        ...(withState ? { h0: randomNormal([b, E, N], { ...o, seed: 58 }) } : {}),
      }));
      const attrs = { dtRank: R, chunkSize: 16 };
      const before = backend.stats().dispatches;
      const fused = mamba1ChunkCore(inp, attrs);
      expect(backend.stats().dispatches - before).toBe(3);
      const onCpu = await toCpu(inp);
      await same(() => fused, () => mamba1ChunkCore(onCpu, attrs));
      dispose([inp, onCpu]);
    });
  }

  // Mamba-2 runs Mamba-3's vec4 chunk kernels (chunks of 64 positions) when P and N are multiples
  // of 4 (P 12; L 150 takes three chunks) and the scalar ones above otherwise (P 10, N 18).
  for (const [withState, L, N, P] of [[false, 37, 40, 12], [true, 100, 16, 12], [true, 150, 40, 12], [true, 100, 18, 10]] as const) {
    const perHead = L === 150;
    it(`mamba2SsdChunked (L ${L}, N ${N}, P ${P}, two groups, D per ${perHead ? 'head' : 'channel'}${withState ? ', from a state' : ''})`, async () => {
      expect(hasKernel('mamba2SsdChunked', backend)).toBe(true);
      const [b, H, G] = [2, 4, 2];
      const o = { backend };
      const inp = tidy(() => ({
        x: randomNormal([b, L, H, P], { ...o, seed: 31 }),
        dt: randomNormal([b, L, H], { ...o, seed: 32 }),
        A: neg(randomUniform([H], { ...o, seed: 33, min: 0.5, max: 3 })),
        B: randomNormal([b, L, G, N], { ...o, seed: 34 }),
        C: randomNormal([b, L, G, N], { ...o, seed: 35 }),
        D: randomNormal(perHead ? [H] : [H * P], { ...o, seed: 36 }),
        dtBias: randomNormal([H], { ...o, seed: 37 }),
        ...(withState ? { h0: randomNormal([b, H, P, N], { ...o, seed: 38 }) } : {}),
      }));
      const attrs = { chunkSize: 16, dtLimit: L === 100 ? ([0.05, 0.4] as const) : ([0, Infinity] as const) };
      await same(() => mamba2SsdChunked(inp, attrs), () => mamba2SsdChunked.composite(inp, attrs));
      dispose(inp);
    });
  }

  // Mamba-2's prefill core: dt and z read in place from in_proj's rows, A from A_log, D and the
  // gate in the chunk outputs' writes: four dispatches (dt, chunk states, state pass, chunk
  // outputs), five from 32 chunks over the batch on (L 2,100: each group's C·Bᵀ formed once for
  // its two heads).
  // dMlp 3 puts z and dt off vec4 alignment (scalar reads); P 10 has no vec4 kernels, so the
  // composite runs.
  for (const [dMlp, gate, perHead, P, withState, L] of [[0, true, false, 12, true, 2100], [3, true, true, 12, false, 150], [0, false, true, 12, true, 150], [0, true, false, 10, false, 150]] as const) {
    it(`mamba2ChunkCore (L ${L}, dMlp ${dMlp}, P ${P}, ${gate ? 'gated' : 'no gate'}, D per ${perHead ? 'head' : 'channel'}${withState ? ', from a state' : ''})`, async () => {
      expect(hasKernel('mamba2ChunkCore', backend)).toBe(true);
      const [b, H, G, N] = [2, 4, 2, 16];
      const o = { backend };
      const inp = tidy(() => ({
        zxbcdt: randomNormal([b, L, 2 * dMlp + 2 * H * P + 2 * G * N + H], { ...o, seed: 41 }),
        x: randomNormal([b, L, H * P], { ...o, seed: 42 }),
        B: randomNormal([b, L, G * N], { ...o, seed: 43 }),
        C: randomNormal([b, L, G * N], { ...o, seed: 44 }),
        dtBias: randomNormal([H], { ...o, seed: 45 }),
        ALog: randomUniform([H], { ...o, seed: 46, min: -0.5, max: 1 }),
        D: randomNormal(perHead ? [H] : [H * P], { ...o, seed: 47 }),
        ...(withState ? { h0: randomNormal([b, H, P, N], { ...o, seed: 48 }) } : {}),
      }));
      const attrs = { dMlp, ngroups: G, chunkSize: 16, gate, dtLimit: withState ? ([0.05, 0.4] as const) : ([0, Infinity] as const) };
      const before = backend.stats().dispatches;
      const fused = mamba2ChunkCore(inp, attrs);
      if (P % 4 === 0) expect(backend.stats().dispatches - before).toBe(b * Math.ceil(L / 64) >= 32 ? 5 : 4);
      // The reference on the cpu backend: the composite there runs no WebGPU kernel.
      const onCpu = await toCpu(inp);
      await same(() => fused, () => mamba2ChunkCore(onCpu, attrs));
      dispose([inp, onCpu]);
    });
  }

  // The prefill conv reading its channels in place: with and without a cache, a bias, and a
  // sequence shorter than the window (the new cache then keeps part of the old one).
  for (const [L, withState, withBias, offset] of [[37, false, true, 0], [2, true, false, 5], [50, true, true, 3]] as const) {
    it(`causalConv1dSilu (L ${L}, channels from ${offset}${withState ? ', from a cache' : ''}${withBias ? ', bias' : ''})`, async () => {
      expect(hasKernel('causalConv1dSilu', backend)).toBe(true);
      const [b, C, K] = [2, 300, 4];
      const o = { backend };
      const inp = tidy(() => ({
        xz: randomNormal([b, L, offset + C + 7], { ...o, seed: 71 }),
        weight: randomNormal([C, 1, K], { ...o, seed: 72 }),
        ...(withBias ? { bias: randomNormal([C], { ...o, seed: 73 }) } : {}),
        ...(withState ? { state: randomNormal([b, C, K], { ...o, seed: 74 }) } : {}),
      }));
      await same(() => causalConv1dSilu(inp, { offset }), () => causalConv1dSilu.composite(inp, { offset }));
      // Mamba-2's form: the same conv written as x, B and C (300 = 100 + 2·100 channels, a
      // workgroup's 256 channels spanning all three), one dispatch.
      expect(hasKernel('causalConv1dSiluXBC', backend)).toBe(true);
      const before = backend.stats().dispatches;
      const parts = tidy(() => causalConv1dSiluXBC(inp, { offset, x: 100, bc: 100 }));
      expect(backend.stats().dispatches - before).toBe(1);
      dispose(parts);
      await same(() => causalConv1dSiluXBC(inp, { offset, x: 100, bc: 100 }), () => causalConv1dSiluXBC.composite(inp, { offset, x: 100, bc: 100 }));
      dispose(inp);
    });
  }

  // The fused decode steps (conv step; dt_proj + scan + gate; Mamba-2's conv + SSD step + gate).
  for (const withBias of [true, false]) {
    it(`mamba1ConvStep (E 300: two workgroups${withBias ? '' : ', no conv bias'})`, async () => {
      expect(hasKernel('mamba1ConvStep', backend)).toBe(true);
      const [b, E, K] = [2, 300, 4];
      const o = { backend };
      const inp = tidy(() => ({
        xz: randomNormal([b, 2 * E], { ...o, seed: 41 }),
        conv: randomNormal([b, E, K], { ...o, seed: 42 }),
        convWeight: randomNormal([E, 1, K], { ...o, seed: 43 }),
        ...(withBias ? { convBias: randomNormal([E], { ...o, seed: 44 }) } : {}),
      }));
      await same(() => mamba1ConvStep(inp, {}), () => mamba1ConvStep.composite(inp, {}));
      dispose(inp);
    });
  }

  // in_proj's decode GEMV with the conv step as its epilogue: with the block norm or without, a conv
  // bias or none, d_conv 4 and 3. Where fusedLinear would not take that GEMV the composite runs: d_model
  // 30 is no whole number of vec4 loads; 32 rows are more than the GEMV's 16 (the tiled product's).
  for (const [name, b, d, E, K, withNorm, withBias, fused] of [
    ['norm, bias', 2, 64, 40, 4, true, true, true],
    ['no norm, no bias, d_conv 3', 2, 48, 70, 3, false, false, true],
    ['d_model 30: the composite', 2, 30, 20, 4, true, true, false],
    ['batch 32: the composite', 32, 64, 40, 4, true, true, false],
  ] as const) {
    it(`mamba1InProjConv (${name})`, async () => {
      expect(hasKernel('mamba1InProjConv', backend)).toBe(true);
      const o = { backend };
      const inp = tidy(() => ({
        u: randomNormal([b, d], { ...o, seed: 41 }),
        weight: randomNormal([2 * E, d], { ...o, seed: 42 }),
        ...(withNorm ? { normWeight: randomNormal([d], { ...o, seed: 43 }) } : {}),
        conv: randomNormal([b, E, K], { ...o, seed: 44 }),
        convWeight: randomNormal([E, 1, K], { ...o, seed: 45 }),
        ...(withBias ? { convBias: randomNormal([E], { ...o, seed: 46 }) } : {}),
      }));
      const before = backend.stats().dispatches;
      const r = mamba1InProjConv(inp, { eps: 1e-5 });
      const dispatches = backend.stats().dispatches - before;
      if (fused) expect(dispatches).toBe(1);
      else expect(dispatches).toBeGreaterThan(1);
      dispose(Object.values(r));
      await same(() => mamba1InProjConv(inp, { eps: 1e-5 }), () => mamba1InProjConv.composite(inp, { eps: 1e-5 }));
      dispose(inp);
    });
  }

  // dt_proj's dot product is split over a row's lanes: dt_rank 48 (the released 130M's) takes three
  // terms a lane at N 16, 5 fewer lanes than there are; N 36 takes 32 lanes, two elements each.
  const STEP_SCAN_CASES = [[40, 36, 5], [70, 16, 3], [300, 16, 48]] as const;

  async function stepScan([E, N, R]: (typeof STEP_SCAN_CASES)[number], be: WebGPUBackend): Promise<void> {
    expect(hasKernel('mamba1StepScan', be)).toBe(true);
    const b = 2;
    const o = { backend: be };
    const inp = tidy(() => ({
      xz: randomNormal([b, 2 * E], { ...o, seed: 51 }),
      x: randomNormal([b, E], { ...o, seed: 52 }),
      dbc: randomNormal([b, R + 2 * N], { ...o, seed: 53 }),
      dtWeight: randomNormal([E, R], { ...o, seed: 54 }),
      dtBias: randomNormal([E], { ...o, seed: 55 }),
      ALog: randomUniform([E, N], { ...o, seed: 56, min: -1, max: 1 }),
      D: randomNormal([E], { ...o, seed: 57 }),
      h: randomNormal([b, E, N], { ...o, seed: 58 }),
    }));
    await same(() => mamba1StepScan(inp, {}), () => mamba1StepScan.composite(inp, {}));
    dispose(inp);
  }

  for (const c of STEP_SCAN_CASES) it(`mamba1StepScan (E ${c[0]}, N ${c[1]}, dt_rank ${c[2]})`, () => stepScan(c, backend));

  // 16-bit dt_proj and A_log weights are read packed: the step is one dispatch (no float32 copies
  // unpacked for the op), and it matches the composite, which reads those copies.
  it('mamba1StepScan with bfloat16 and float16 dt_proj and A_log weights', async () => {
    const half = await makeBackend({ name: 'webgpu-family-half', halfMinElements: 0 });
    try {
      const [b, E, N, R] = [2, 300, 16, 48];
      const o = { backend: half };
      for (const storage of ['bfloat16', 'float16'] as const) {
        const values = Float32Array.from({ length: E * R }, (_, i) => Math.sin(i) / 8);
        const dtWeight = engine.makeTensor(half, half.uploadHalf!(values, [E, R], storage), [E, R], 'float32');
        const inp = tidy(() => ({
          xz: randomNormal([b, 2 * E], { ...o, seed: 51 }),
          x: randomNormal([b, E], { ...o, seed: 52 }),
          dbc: randomNormal([b, R + 2 * N], { ...o, seed: 53 }),
          dtWeight,
          dtBias: randomNormal([E], { ...o, seed: 55 }),
          ALog: engine.makeTensor(half, half.uploadHalf!(Float32Array.from({ length: E * N }, (_, i) => Math.cos(i)), [E, N], storage), [E, N], 'float32'),
          D: randomNormal([E], { ...o, seed: 57 }),
          h: randomNormal([b, E, N], { ...o, seed: 58 }),
        }));
        const before = half.stats().dispatches;
        const r = mamba1StepScan(inp, {});
        expect(half.stats().dispatches - before, storage).toBe(1);
        dispose(Object.values(r));
        await same(() => mamba1StepScan(inp, {}), () => mamba1StepScan.composite(inp, {}));
        dispose(inp);
      }
    } finally {
      half.dispose();
    }
  });

  // P 64 takes four slices of rows a head, P 32 two; N 18 reads the state as scalars, N 600 too much
  // of it a lane for registers (read in place).
  const STEP_CORE_CASES = [
    ['one group, gate, D per head', 1, 0, 16, true, false, [0, Infinity], true, 12, 4],
    ['two groups, MLP part, no gate, D per channel, dt_limit, no conv bias', 2, 6, 40, false, true, [0.05, 0.4], false, 12, 4],
    ['P 64 in four slices, N 18, d_conv 3', 1, 0, 18, true, false, [0, Infinity], true, 64, 3],
    ['P 32 in two slices, N 600, two groups', 2, 0, 600, true, true, [0, Infinity], true, 32, 4],
  ] as const;

  async function stepCore(c: (typeof STEP_CORE_CASES)[number], be: WebGPUBackend): Promise<void> {
    const [, G, dMlp, N, gate, perChannel, dtLimit, withBias, P, K] = c;
    expect(hasKernel('mamba2StepCore', be)).toBe(true);
    const [b, H] = [2, 4];
    const convDim = H * P + 2 * G * N;
    const o = { backend: be };
    const inp = tidy(() => ({
      zxbcdt: randomNormal([b, 2 * dMlp + H * P + convDim + H], { ...o, seed: 61 }),
      conv: randomNormal([b, convDim, K], { ...o, seed: 62 }),
      convWeight: randomNormal([convDim, 1, K], { ...o, seed: 63 }),
      ...(withBias ? { convBias: randomNormal([convDim], { ...o, seed: 64 }) } : {}),
      dtBias: randomNormal([H], { ...o, seed: 65 }),
      ALog: randomUniform([H], { ...o, seed: 66, min: -1, max: 1 }),
      D: randomNormal([perChannel ? H * P : H], { ...o, seed: 67 }),
      h: randomNormal([b, H, P, N], { ...o, seed: 68 }),
    }));
    const attrs = { dMlp, ngroups: G, dtLimit, gate };
    await same(() => mamba2StepCore(inp, attrs), () => mamba2StepCore.composite(inp, attrs));
    dispose(inp);
  }

  for (const c of STEP_CORE_CASES) it(`mamba2StepCore (${c[0]})`, () => stepCore(c, backend));

  // The lanes of a state row sum within subgroups where the runtime has them (lavapipe: 4 lanes
  // under `npm test`, 8 with AVX2's 256-bit vectors); a device without them takes workgroup
  // memory alone.
  it('mamba1StepScan and mamba2StepCore without subgroups (every case above)', async () => {
    const plain = await makeBackend({ name: 'webgpu-family-steps-plain', noSubgroups: true });
    try {
      for (const c of STEP_SCAN_CASES) await stepScan(c, plain);
      for (const c of STEP_CORE_CASES) await stepCore(c, plain);
    } finally {
      plain.dispose();
    }
  });
});
