import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, HalfStorage, Tensor } from '@mamba3/tensor';
import { dispose, engine, floatToBf16, floatToHalf, halfToFloat, hasKernel, Rng, tensor } from '@mamba3/tensor';
import { createCpuBackend } from '@mamba3/backend-cpu';
import type { WasmBackend } from '@mamba3/backend-wasm';
import { createWasmBackend } from '@mamba3/backend-wasm';
import { mamba1ConvStep, mamba1StepScan, relativeL2 } from '../src/index.js';

/*
 * The Mamba-1 decode step's wasm kernels (mamba1ConvStep; mamba1StepScan: dt_proj, softplus,
 * scan step, D, gate) against their composites on the cpu backend, on random inputs with ragged
 * channel counts (E not a multiple of four: partial lane groups), N and dt_rank off the vector
 * width, weights in float32 and stored in 16 bits (decoded inside the kernels). Two threads
 * with every kernel split however small, then one thread.
 */
type Storage = 'float32' | HalfStorage;

/** Values as a 16-bit store holds them (what the cpu side computes with). */
function rounded(values: Float32Array, storage: Storage): Float32Array {
  if (storage === 'float32') return values;
  return values.map((v) => (storage === 'bfloat16' ? new Float32Array(new Uint32Array([floatToBf16(v) << 16]).buffer)[0] : halfToFloat(floatToHalf(v))));
}

/** A weight on `backend`: 16-bit storage where the backend keeps it (wasm), rounded float32 elsewhere. */
function weight(backend: Backend, values: Float32Array, shape: number[], storage: Storage): Tensor {
  const v = rounded(values, storage);
  if (storage === 'float32' || !backend.uploadHalf) return tensor(v, shape, { backend });
  return engine.makeTensor(backend, backend.uploadHalf(v, shape, storage), shape, 'float32');
}

function normal(rng: Rng, n: number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => scale * rng.normal());
}

/** Inputs built twice from the same values: on wasm and on cpu. */
type Build = (backend: Backend) => Record<string, Tensor>;

function compare(wasm: Backend, cpu: Backend, build: Build, run: (inp: Record<string, Tensor>) => Record<string, Tensor>, ref: (inp: Record<string, Tensor>) => Record<string, Tensor>): void {
  const [wi, ci] = [build(wasm), build(cpu)];
  // Twice: the second call reads what the first kept (mamba1StepScan's A = −exp(A_log)).
  const [got, again, want] = [run(wi), run(wi), ref(ci)];
  for (const k of Object.keys(want)) {
    expect(relativeL2(got[k].dataSync(), want[k].dataSync()), k).toBeLessThan(1e-5);
    expect(again[k].dataSync(), `${k}, second call`).toEqual(got[k].dataSync());
  }
  dispose([wi, ci, got, again, want]);
}

for (const threads of [2, 1]) {
  describe(`Mamba-1 decode-step kernels on wasm, ${threads} thread(s)`, () => {
    let wasm: WasmBackend;
    let cpu: Backend;
    beforeAll(async () => {
      wasm = await createWasmBackend({ name: `wasm-m1step-${threads}`, threads, alwaysParallel: threads > 1 });
      cpu = createCpuBackend({ name: `cpu-m1step-${threads}` });
    });
    afterAll(() => wasm.dispose?.());

    const storages: Storage[] = ['float32', 'bfloat16', 'float16'];
    for (const storage of storages)
      for (const [b, E, K, withBias] of [[2, 37, 4, true], [3, 64, 2, false], [1, 1536, 4, true]] as const) {
        it(`mamba1ConvStep (b ${b}, E ${E}, d_conv ${K}${withBias ? '' : ', no bias'}, ${storage} weights)`, () => {
          expect(hasKernel('mamba1ConvStep', wasm)).toBe(true);
          const rng = new Rng(E * 10 + K);
          const [xz, conv, w, bias] = [normal(rng, b * 2 * E), normal(rng, b * E * K), normal(rng, E * K, 0.5), normal(rng, E)];
          const build: Build = (backend) => ({
            xz: tensor(xz, [b, 2 * E], { backend }),
            conv: tensor(conv, [b, E, K], { backend }),
            convWeight: weight(backend, w, [E, 1, K], storage),
            ...(withBias ? { convBias: weight(backend, bias, [E], storage) } : {}),
          });
          const call = (inp: Record<string, Tensor>) => inp as Parameters<typeof mamba1ConvStep>[0];
          compare(wasm, cpu, build, (inp) => mamba1ConvStep(call(inp), {}), (inp) => mamba1ConvStep.composite(call(inp), {}));
        });
      }

    for (const storage of storages)
      for (const [b, E, N, R] of [[2, 37, 18, 5], [3, 70, 16, 3], [1, 1536, 16, 48]] as const) {
        it(`mamba1StepScan (b ${b}, E ${E}, N ${N}, dt_rank ${R}, ${storage} weights)`, () => {
          expect(hasKernel('mamba1StepScan', wasm)).toBe(true);
          const rng = new Rng(E * 100 + N + R);
          const vals = {
            xz: normal(rng, b * 2 * E),
            x: normal(rng, b * E),
            dbc: normal(rng, b * (R + 2 * N)),
            dtWeight: normal(rng, E * R, 0.3),
            dtBias: normal(rng, E),
            ALog: Float32Array.from({ length: E * N }, () => 2 * rng.uniform() - 1),
            D: normal(rng, E),
            h: normal(rng, b * E * N),
          };
          const build: Build = (backend) => ({
            xz: tensor(vals.xz, [b, 2 * E], { backend }),
            x: tensor(vals.x, [b, E], { backend }),
            dbc: tensor(vals.dbc, [b, R + 2 * N], { backend }),
            dtWeight: weight(backend, vals.dtWeight, [E, R], storage),
            dtBias: weight(backend, vals.dtBias, [E], storage),
            ALog: weight(backend, vals.ALog, [E, N], storage),
            D: weight(backend, vals.D, [E], storage),
            h: tensor(vals.h, [b, E, N], { backend }),
          });
          const call = (inp: Record<string, Tensor>) => inp as Parameters<typeof mamba1StepScan>[0];
          compare(wasm, cpu, build, (inp) => mamba1StepScan(call(inp), {}), (inp) => mamba1StepScan.composite(call(inp), {}));
        });
      }
  });
}
