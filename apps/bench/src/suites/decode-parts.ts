/**
 * Where a decode step's GPU time goes: each kind of kernel of the step (the in_proj GEMVs of all
 * layers, their mixer kernels, their out_proj GEMVs, the head; Mamba-3, Mamba-1 and Mamba-2
 * models by `--set models=`) recorded as a step graph of its own
 * and replayed `runs` times between two GPU timestamps. webgpu-profile times every dispatch in a
 * pass of its own, which adds a pass boundary to each; these run in one stream, as in a step. The
 * layers' dispatches of one part do not depend on each other (each reads the part's one input),
 * where a step's do, so a part's figure is a lower bound of its share of a step; the model suite
 * times whole steps. Also the host time to queue one run of each graph. `--set batch=B` times the
 * parts of a step of B sequences.
 */
import { lmHeadArgmax, lmHeadArgmaxEmbed, organise, resolveMambaConfig, sampleByInverseCdf, sampleByInverseCdfComposite, sampleByInverseCdfEmbed } from '@mamba3/model';
import type { Backend, Tensor } from '@mamba3/tensor';
import { argMax, captureStep, dispose, fusedLinear, gather, keep, matmul, randomNormal, setBackend, tensor } from '@mamba3/tensor';
import type { Suite, SuiteResult } from '../suite.js';
import { countSetting } from '../suite.js';
import { machineInfo } from '../machine.js';
import { loadBackends, weightDTypeOf } from '../backends.js';
import type { Part, PartContext } from './decode-parts-layers.js';
import { layerParts, partContext } from './decode-parts-layers.js';
import { configs, randomModel } from './model.js';
import { backendGpuTimer, counters } from './model-timing.js';

type Row = SuiteResult['rows'][number];

/** The step's parts: each layer kind of the model's family (decode-parts-layers.ts), then the head. */
function parts(ctx: PartContext): Part[] {
  const { w, config } = ctx;
  const eps = config.normEpsilon;
  const head = (x: Tensor) => fusedLinear(x, w.lmHead, { norm: { weight: w.normF.weight, eps } });
  return [
    ...layerParts(ctx),
    { name: 'LM head with norm_f, argmax', make: () => captureStep([ctx.rand(config.dModel)], (x) => [argMax(head(x), -1)], { own: [0] }) },
    {
      name: 'LM head with norm_f and the argmax in one fused op (lmHeadArgmax)',
      make: () => captureStep([ctx.rand(config.dModel)], (x) => [lmHeadArgmax(x, w.lmHead, { weight: w.normF.weight, eps }, config.vocabSize)], { own: [0] }),
    },
    {
      name: 'LM head with norm_f, the argmax and the next rows of the embedding in one fused op (lmHeadArgmaxEmbed, as greedy graphs run)',
      make: () =>
        captureStep([ctx.rand(config.dModel)], (x) => {
          const r = lmHeadArgmaxEmbed(x, w.lmHead, { weight: w.normF.weight, eps }, config.vocabSize, w.embedding);
          return [r.ids, r.next];
        }, { own: [0] }),
    },
    {
      name: 'the embedding gather (a step graph\'s first dispatch before lmHeadArgmaxEmbed)',
      make: () => captureStep([keep(tensor(Array.from({ length: ctx.batch }, (_, i) => (7919 * (i + 1)) % config.vocabSize), [ctx.batch], { dtype: 'int32', backend: ctx.model.backend }))], (ids) => [gather(w.embedding, ids, 0)], { own: [0] }),
    },
    ...([
      ['LM head with norm_f, sampling (fused inverse CDF)', (l: Tensor, u: Tensor) => [sampleByInverseCdf(l, 1, u)]],
      ['LM head with norm_f, sampling with the next rows (sampleByInverseCdfEmbed, as sampled graphs run)', (l: Tensor, u: Tensor) => Object.values(sampleByInverseCdfEmbed(l, 1, u, config.vocabSize, w.embedding))],
      ['LM head with norm_f, sampling (composite: softmax, running sum, inverse CDF)', (l: Tensor, u: Tensor) => [sampleByInverseCdfComposite(l, 1, u)]],
    ] as const).map(([name, sample]) => ({
      name,
      make: () => {
        const u = keep(tensor(new Array<number>(ctx.batch).fill(0.5), [ctx.batch, 1], { backend: ctx.model.backend }));
        return captureStep([ctx.rand(config.dModel), u], (x, ui) => sample(head(x), ui), { own: [0, 1] });
      },
    })),
  ];
}

export const decodePartsSuite: Suite = {
  name: 'decode-parts',
  summary: 'GPU µs of each part of a 130M-class decode step (in_proj, mixer kernels, out_proj, head; Mamba-1 and Mamba-2 by --set models), each replayed as a step graph in one stream',
  async run(opts) {
    await loadBackends();
    const runs = countSetting(opts.settings, 'runs', opts.quick ? 4 : 16, 1);
    // --set batch=B: the parts of a step of B sequences (default 1).
    const batch = countSetting(opts.settings, 'batch', 1, 1);
    const rows: Row[] = [];
    // The WebGPU backends named with --backend; a run over every backend (no --backend) times `webgpu` alone.
    const named = opts.backends.every((b) => b.startsWith('webgpu')) ? opts.backends : ['webgpu'];
    if (named !== opts.backends) console.log('  decode-parts: timing webgpu (the suite needs GPU timestamps; name WebGPU backends with --backend for others)');
    for (const bname of named) {
      const backend: Backend = await setBackend(bname);
      const timeGpu = backendGpuTimer(backend);
      if (!timeGpu) {
        console.log(`  decode-parts: ${bname} skipped (it has no GPU timestamps: a WebGPU adapter with timestamp-query)`);
        continue;
      }
      for (const { name, config } of configs(opts.quick, opts.settings)) {
        const model = await randomModel(config, backend, weightDTypeOf(bname) ?? 'float32');
        const resolved = resolveMambaConfig(config);
        const ctx = partContext(model, organise(model.params, resolved), resolved, batch);
        const side = opts.quick ? 128 : 4096;
        const heater = [0, 1].map((seed) => keep(randomNormal([side, side], { backend, seed })));
        const heat = (count: number) => {
          for (let i = 0; i < count; i++) matmul(heater[0], heater[1]).dispose();
        };
        // A second of GPU work first: after the weights' upload the GPU has idled and clocked down,
        // and the first part timed ran at a fraction of the speed of the later ones (call 4).
        for (const t0 = performance.now(); performance.now() - t0 < 1000; ) {
          heat(4);
          await backend.sync?.();
        }
        const productMs = await timeGpu(() => heat(1));
        // --set parts=in_proj,mixer: only the parts whose names contain one of these.
        const pick = opts.settings.parts?.split(',');
        for (const part of parts(ctx).filter((p) => !pick || pick.some((k) => p.name.includes(k)))) {
          const graph = part.make();
          try {
            const c0 = counters(backend);
            graph.run();
            const c1 = counters(backend);
            const dispatches = c0 && c1 ? c1.dispatches - c0.dispatches : null;
            const w0 = performance.now();
            for (let i = 0; i < 8; i++) graph.run(); // warm-up
            const hostPerRun = (performance.now() - w0) / 8;
            await backend.sync?.();
            // The timed runs are submitted once encoded; the GPU would idle (and clock down) while
            // the host encodes them, so products of 1.5x that host time in GPU work run first.
            // The host's pace varies between reps on a shared host, so each rep heats for the slowest
            // encode seen so far.
            let slowest = hostPerRun;
            const gpu: number[] = [];
            const host: number[] = [];
            for (let rep = 0; rep < 5; rep++) {
              heat(Math.max(2, Math.ceil((1.5 * runs * slowest) / productMs)));
              let hostMs = 0;
              gpu.push(
                await timeGpu(() => {
                  const t0 = performance.now();
                  for (let i = 0; i < runs; i++) graph.run();
                  hostMs = performance.now() - t0;
                }),
              );
              host.push(hostMs);
              slowest = Math.max(slowest, hostMs / runs);
            }
            gpu.sort((a, b) => a - b);
            host.sort((a, b) => a - b);
            const row: Row = { backend: bname, model: name, batch, part: part.name, dispatches, 'GPU µs per run': +((1000 * gpu[2]) / runs).toFixed(2), 'host µs per run': +((1000 * host[2]) / runs).toFixed(1), 'GPU µs per dispatch': dispatches ? +((1000 * gpu[2]) / runs / dispatches).toFixed(2) : null };
            rows.push(row);
            console.log(`  ${bname} ${name} ${part.name}: ${row['GPU µs per run']} GPU µs, ${row['host µs per run']} host µs per run`);
          } finally {
            graph.dispose();
          }
        }
        model.dispose();
        dispose(heater);
      }
    }
    return {
      suite: 'decode-parts',
      machine: machineInfo(),
      rows,
      notes: [
        `Each part is a step graph replayed ${runs} times between two GPU timestamps, in one submission (median of 5), right after 4096² products that keep the GPU busy (and its clocks up) while the host encodes the runs (1.5x the slowest encode of the runs so far); host µs: the time to queue those runs, per run. The parts' inputs are random; the kernels and shapes are the step's.`,
      ],
    };
  },
};
