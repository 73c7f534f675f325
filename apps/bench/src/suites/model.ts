import type { MambaConfigInput } from '@mamba3/model';
import type { WeightDType } from '@mamba3/model';
import { checkWeightDType, loadPretrained, MambaLMHeadModel, uploadWeight } from '@mamba3/model';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Backend, Tensor } from '@mamba3/tensor';
import { argMax, dispose, memory, resetPeakMemory, Rng, setBackend, sliceAxis, tidy } from '@mamba3/tensor';
import type { Suite, SuiteOptions, SuiteResult } from '../suite.js';
import { countSetting, SettingError } from '../suite.js';
import { machineInfo } from '../machine.js';
import { loadBackends, weightDTypeOf } from '../backends.js';
import { writeSvgPlot } from '../svg.js';
import { ProgressBar } from '@mamba3/train';
import { batchedDecode, counters, graphDecode, hostPrefill, percentile, prefillGpuMs, randomIds, serveBatch, stepGreedy, timedPrefill } from './model-timing.js';

/**
 * The 130M-class configurations of the issue (random weights): d_model 768, 24 layers, Mamba-3
 * with d_state 128 and headdim 64, SISO and MIMO r4; and the released Mamba-1 and Mamba-2 130M
 * shapes (official defaults: Mamba-1 d_state 16; Mamba-2 d_state 128, headdim 64). `--set
 * models=A,B` keeps the configurations whose names contain A or B; without it, the two Mamba-3 ones.
 */
export function configs(quick: boolean, settings: Record<string, string>): { name: string; config: MambaConfigInput }[] {
  const sizes = quick ? { dModel: 128, nLayer: 2, vocabSize: 1000 } : { dModel: 768, nLayer: 24, vocabSize: 50280 };
  // --set dModel=.. nLayer=.. vocabSize=.. override the sizes (e.g. a deep narrow model to time host overhead).
  const base = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, settings[k] !== undefined ? Number(settings[k]) : v])) as typeof sizes;
  const dState = quick ? 32 : 128;
  const headdim = quick ? 32 : 64;
  const size = quick ? 'small' : '130M';
  const all = [
    { name: `${size} SISO`, config: { ...base, ssmCfg: { layer: 'Mamba3', dState, headdim, chunkSize: 64 } } },
    { name: `${size} MIMO r4`, config: { ...base, ssmCfg: { layer: 'Mamba3', dState, headdim, isMimo: true, mimoRank: 4, chunkSize: 16 } } },
    { name: `${size} Mamba-1`, config: { ...base, ssmCfg: { layer: 'Mamba1' } } },
    { name: `${size} Mamba-2`, config: { ...base, ssmCfg: { layer: 'Mamba2', dState, headdim } } },
  ] satisfies { name: string; config: MambaConfigInput }[];
  const only = settings.models?.split(',');
  if (!only) return all.slice(0, 2);
  const kept = all.filter(({ name }) => only.some((o) => name.includes(o)));
  if (!kept.length) throw new SettingError(`--set models=${settings.models} names none of the configurations (${all.map((c) => c.name).join(', ')}); give parts of those names, comma-separated`);
  return kept;
}

const MB = 1024 * 1024;
/** The settings of the run in progress (read by measureModel for per-model switches). */
let settingsNow: Record<string, string> = {};

/** `--set temperature=T`: batch rows sample at T on the device (default 0: greedy). */
function temperatureSetting(settings: Readonly<Record<string, string>>): number {
  const raw = settings.temperature;
  if (raw === undefined) return 0;
  const t = Number(raw);
  if (!(t >= 0) || !Number.isFinite(t)) throw new SettingError(`bench: --set temperature=${raw} is not a temperature of 0 or more; pass e.g. --set temperature=1`);
  return t;
}

/** A random-weight model of a config, or a checkpoint folder of any layout loaded through loadPretrained; weights stored as `dtype` on the device. */
type ModelSpec = ({ config: MambaConfigInput } | { checkpoint: string }) & { dtype: WeightDType };

/** A random-weight model with its weights re-stored as `dtype` through the loaders' `uploadWeight` (as a checkpoint loaded with that dtype). */
export async function randomModel(config: MambaConfigInput, backend: Backend, dtype: WeightDType): Promise<MambaLMHeadModel> {
  const model = MambaLMHeadModel.create(config, { seed: 0, backend });
  if (dtype === 'float32') return model;
  const stored = new Map<Tensor, Tensor>(); // the tied head is the embedding: store it once
  const weights: Record<string, Tensor> = {};
  try {
    for (const [name, t] of Object.entries(model.params)) {
      let w = stored.get(t);
      if (!w) {
        w = uploadWeight({ values: (await t.data()) as Float32Array, shape: [...t.shape], dtype: 'float32', stored: 'F32' }, { backend, dtype });
        stored.set(t, w);
      }
      weights[name] = w;
    }
  } finally {
    model.dispose();
  }
  return MambaLMHeadModel.fromWeights(model.config, weights);
}

/** Bytes the backend holds (its own count where it keeps one: 16-bit weights are 2 bytes an element), else the engine's. */
function deviceBytes(backend: Backend): number {
  return backend.memoryBytes?.() ?? memory().bytes[backend.name] ?? 0;
}

async function measureModel(
  backend: Backend,
  name: string,
  spec: ModelSpec,
  lengths: number[],
  decodeSteps: number,
  batches: number[],
  prefillRuns: number,
  rows: SuiteResult['rows'],
  curves: Curve[],
  onRow: (label: string) => void,
): Promise<void> {
  const t0 = performance.now();
  const bytes0 = deviceBytes(backend);
  const model = 'config' in spec ? await randomModel(spec.config, backend, spec.dtype) : (await loadPretrained(spec.checkpoint, { backend, dtype: spec.dtype, tokenizer: false })).model;
  const loadSeconds = (performance.now() - t0) / 1000;
  const config = model.config;
  const rng = new Rng(1);
  const weightsBytes = deviceBytes(backend) - bytes0;
  // --set prefillGraphs=0: every prefill through the ops (no recorded prefill graphs).
  if (settingsNow.prefillGraphs !== undefined) model.prefillGraphs.limit = Number(settingsNow.prefillGraphs);
  console.log(`  ${backend.name} ${name}: ${'checkpoint' in spec ? `loaded in ${loadSeconds.toFixed(2)} s, ` : ''}weights ${(weightsBytes / MB).toFixed(1)} MB on the device (${spec.dtype})`);
  try {
    // Warm-up: compiles pipelines and fills buffer pools.
    {
      const cache = model.allocateInferenceCache(1);
      const l = model.prefill([randomIds(Math.min(64, lengths[0]), config.vocabSize, rng)], cache);
      await l.data();
      l.dispose();
      for (let i = 0; i < 3; i++) await stepGreedy(model, 1, cache);
      cache.dispose();
      await graphDecode(model, randomIds(16, config.vocabSize, rng), 12, 3, 4);
    }
    const curve: Curve = { label: `${name} (${backend.name})`, points: [] };
    for (const L of lengths) {
      const ids = randomIds(L, config.vocabSize, rng);
      // An untimed prefill of this length first: buffers of its sizes are created (and cleared
      // by the implementation) once, as a warm allocator would have them.
      const coldSeconds = await timedPrefill(model, ids);
      const gpuMs = await prefillGpuMs(model, ids);
      // --set prefillRuns=N: N more timed prefills on fresh caches (medians reported beside the one below).
      const extra: Awaited<ReturnType<typeof hostPrefill>>[] = [];
      for (let i = 0; i < prefillRuns; i++) extra.push(await hostPrefill(model, ids));
      const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const cache = model.allocateInferenceCache(1);
      resetPeakMemory();
      const t0 = performance.now();
      const logits = model.prefill([ids], cache);
      const first = tidy(() => argMax(sliceAxis(logits, 1, 0, model.vocabSize), -1));
      let token = (await first.data())[0];
      const prefillSeconds = (performance.now() - t0) / 1000;
      dispose([logits, first]);
      const prefillPeak = memory().peakBytes[backend.name] ?? 0;
      const cacheBytes = cache.tensors().reduce((n, t) => n + t.size * 4, 0);
      resetPeakMemory();
      const latencies: number[] = [];
      const encodes: number[] = [];
      const opTokens = [token];
      for (let i = 0; i < decodeSteps; i++) {
        const s = performance.now();
        const [next, encodeMs] = await stepGreedy(model, token, cache);
        token = next;
        opTokens.push(token);
        latencies.push(performance.now() - s);
        encodes.push(encodeMs);
      }
      encodes.sort((a, b) => a - b);
      const decodePeak = memory().peakBytes[backend.name] ?? 0;
      cache.dispose();
      latencies.sort((a, b) => a - b);
      const meanMs = latencies.reduce((a, b) => a + b, 0) / latencies.length;
      const dModel = config.dModel;
      // A Transformer of the same width and depth keeps K and V for every past token (f32).
      const kvBytes = 2 * config.nLayer * (L + decodeSteps) * dModel * 4;
      const graph = await graphDecode(model, ids, decodeSteps, 3, 8);
      const graph1 = graph ? await graphDecode(model, ids, decodeSteps, 3, 1) : null;
      rows.push({
        backend: backend.name,
        model: name,
        'weights dtype': spec.dtype,
        context: L,
        'prefill tok/s': Math.round(L / prefillSeconds),
        'first prefill tok/s': Math.round(L / coldSeconds),
        'prefill GPU ms': gpuMs === null ? '-' : +gpuMs.toFixed(2),
        ...(extra.length
          ? {
              [`prefill tok/s, median of ${extra.length}`]: Math.round(L / median(extra.map((r) => r.seconds))),
              'prefill host ms (median)': +median(extra.map((r) => r.hostMs)).toFixed(2),
              'prefill dispatches': extra[0].dispatches ?? '-',
              'prefill submits': extra[0].submits ?? '-',
            }
          : {}),
        'decode tok/s': Math.round(1000 / meanMs),
        'p50 ms': +percentile(latencies, 50).toFixed(2),
        'p90 ms': +percentile(latencies, 90).toFixed(2),
        'p99 ms': +percentile(latencies, 99).toFixed(2),
        'encode p50 ms': +percentile(encodes, 50).toFixed(2),
        'graph decode tok/s': graph ? Math.round(1000 / graph.msPerToken) : '-',
        'graph decode tok/s, a read a token': graph1 ? Math.round(1000 / graph1.msPerToken) : '-',
        'graph encode p50 ms': graph ? +graph.encodeP50.toFixed(3) : '-',
        'graph GPU ms/step': graph?.gpuMs != null ? +graph.gpuMs.toFixed(3) : '-',
        'graph tokens = op tokens': graph ? (opTokens.every((t, k) => t === graph.tokens[k]) ? 'yes' : 'NO') : '-',
        'weights MB': +(weightsBytes / MB).toFixed(1),
        'load s': 'checkpoint' in spec ? +loadSeconds.toFixed(2) : '-',
        'cache MB': +(cacheBytes / MB).toFixed(2),
        'prefill peak MB': +(prefillPeak / MB).toFixed(1),
        'decode peak MB': +(decodePeak / MB).toFixed(1),
        'KV-cache transformer MB': +(kvBytes / MB).toFixed(1),
      });
      curve.points.push({ context: L, decodePeakMB: decodePeak / MB, cacheMB: cacheBytes / MB, kvMB: kvBytes / MB, p50ms: percentile(latencies, 50) });
      onRow(`L=${L}`);
      const graphNote = graph ? `, graph decode ${(1000 / graph.msPerToken).toFixed(1)} tok/s` : '';
      console.log(`  ${backend.name} ${name} L=${L}: prefill ${Math.round(L / prefillSeconds)} tok/s, decode ${(1000 / meanMs).toFixed(1)} tok/s (p50 ${percentile(latencies, 50).toFixed(2)} ms)${graphNote}, decode peak ${(decodePeak / MB).toFixed(1)} MB`);
    }
    curves.push(curve);
    const temperature = temperatureSetting(settingsNow);
    for (const batch of batches) {
      const r = await batchedDecode(model, batch, decodeSteps, rng, temperature);
      if (!r) break;
      rows.push({ backend: backend.name, model: name, context: `batch ${batch}${temperature > 0 ? `, T=${temperature}` : ''}`, 'graph decode tok/s': Math.round(r.tokPerS), 'graph GPU ms/step': r.gpuMs === null ? '-' : +r.gpuMs.toFixed(3) });
      console.log(`  ${backend.name} ${name} batch ${batch}: graph decode ${Math.round(r.tokPerS)} tok/s (all sequences)${r.gpuMs === null ? '' : `, GPU ${r.gpuMs.toFixed(3)} ms/step`}`);
    }
    const serve = countSetting(settingsNow, 'serve', 0);
    if (serve > 0) {
      const r = await serveBatch(model, serve, decodeSteps, rng);
      rows.push({ backend: backend.name, model: name, context: `generate ${serve} prompts`, 'generate tok/s': Math.round(r.tokPerS), 'generate decode tok/s': Math.round(r.decodeTokPerS) });
      console.log(`  ${backend.name} ${name} generate, ${serve} prompts of ${r.lengths}: ${r.tokens} new tokens in ${r.seconds.toFixed(2)} s (${Math.round(r.tokPerS)} tok/s with the prefills, ${Math.round(r.decodeTokPerS)} tok/s after the first token)`);
    }
  } finally {
    model.dispose();
  }
}

/**
 * The official figures (`--set reference=A.json,B.json`: the JSON that ../shared/anchors'
 * perf_ref.py and decode_ref.py print, merged): prefill tok/s by dtype and length, CUDA-graph
 * decode ms per token by dtype.
 */
export type Reference = Record<string, number | string | boolean>;

function readReference(files: string | undefined): Reference | null {
  if (!files) return null;
  const ref: Reference = {};
  for (const f of files.split(',')) Object.assign(ref, JSON.parse(readFileSync(f, 'utf8')) as Reference);
  return ref;
}

/**
 * The reference's key prefix for a row's model: none for Mamba-3 SISO (perf_ref.py /
 * decode_ref.py), `Mamba1_` / `Mamba2_` for the families (tools/gpu/family_ref.py); MIMO has none.
 */
function referencePrefix(model: string): string | null {
  if (model.includes('SISO')) return '';
  const family = /Mamba-([12])\b/.exec(model);
  return family ? `Mamba${family[1]}_` : null;
}

/** Ours / official for one row, by the keys of `referencePrefix` (exported for its test). */
export function ratios(ref: Reference | null, row: SuiteResult['rows'][number]): Record<string, number | string> {
  const prefix = referencePrefix(String(row.model));
  if (!ref || prefix === null || typeof row.context !== 'number') return {};
  const num = (k: string) => (typeof ref[k] === 'number' ? (ref[k] as number) : null);
  const ratio = (ours: unknown, theirs: number | null) => (typeof ours === 'number' && theirs ? +(ours / theirs).toFixed(2) : '-');
  const L = row.context;
  // The median of the extra prefills when there are some: a single timed prefill can read half the rate.
  const medianKey = Object.keys(row).find((k) => k.startsWith('prefill tok/s, median of '));
  const ours = medianKey ? row[medianKey] : row['prefill tok/s'];
  const prefill = (dt: string) => num(prefix ? `${prefix}${dt}_prefill_L${L}_tok_s` : `prefill_${dt}_L${L}_tok_s`);
  const decode = (dt: string) => {
    const ms = num(`${prefix}${dt}_cudagraph_ms_per_token`);
    return ms ? 1000 / ms : null;
  };
  return {
    'official fp32 prefill tok/s': prefill('float32') ?? '-',
    'prefill / official fp32': ratio(ours, prefill('float32')),
    'prefill / official bf16': ratio(ours, prefill('bfloat16')),
    'graph decode / official fp32 (CUDA graph)': ratio(row['graph decode tok/s'], decode('float32')),
    'graph decode / official bf16 (CUDA graph)': ratio(row['graph decode tok/s'], decode('bfloat16')),
  };
}

export interface Curve {
  label: string;
  points: { context: number; decodePeakMB: number; cacheMB: number; kvMB: number; p50ms: number }[];
}

export const modelSuite: Suite = {
  name: 'model',
  summary: 'prefill/decode throughput, latency percentiles and memory of a 130M-class LM (random weights; Mamba-3 SISO and MIMO r4, Mamba-1 and Mamba-2 by --set models), per backend',
  async run(opts: SuiteOptions): Promise<SuiteResult> {
    await loadBackends();
    const lengths = (opts.settings.lengths ?? (opts.quick ? '64,256' : '512,2048,8192')).split(',').map(Number);
    const decodeSteps = countSetting(opts.settings, 'decodeSteps', opts.quick ? 8 : 64, 1);
    // --set batches=1,8,32,128: batched greedy decode through a step graph per batch size.
    const batches = opts.settings.batches ? opts.settings.batches.split(',').map(Number) : [];
    const prefillRuns = countSetting(opts.settings, 'prefillRuns', 0);
    // --set serve=B: checked here, read per model (measureModel).
    countSetting(opts.settings, 'serve', 0);
    temperatureSetting(opts.settings);
    settingsNow = opts.settings;
    const rows: SuiteResult['rows'] = [];
    const reference = readReference(opts.settings.reference);
    const curves: Curve[] = [];
    // --set checkpoint=DIR: a real checkpoint (any layout) instead of the random-weight configs.
    // Weights are stored on the device as --set dtype=float32|bfloat16|float16 (default float32);
    // a backend named webgpu-bf16 / webgpu-f16 loads them as bfloat16 / float16 whatever dtype says.
    const ckpt = opts.settings.checkpoint;
    const dtypeSetting = checkWeightDType(opts.settings.dtype);
    const models: { name: string; spec: ({ config: MambaConfigInput } | { checkpoint: string }) }[] = ckpt
      ? [{ name: basename(ckpt), spec: { checkpoint: ckpt } }]
      : configs(opts.quick, opts.settings).map(({ name: m, config }) => ({ name: m, spec: { config } }));
    const bar = new ProgressBar(opts.backends.length * models.length * lengths.length, { label: 'model', everyMs: 0 });
    let measured = 0;
    for (const name of opts.backends) {
      const backend = await setBackend(name);
      for (const { name: m, spec } of models) {
        const dtype = weightDTypeOf(name) ?? dtypeSetting;
        await measureModel(backend, m, { ...spec, dtype }, lengths, decodeSteps, batches, prefillRuns, rows, curves, (done) => bar.update(++measured, { at: `${name} ${m} ${done}` }));
      }
    }
    bar.done();
    if (reference) {
      for (const row of rows) Object.assign(row, ratios(reference, row));
      for (const row of rows) {
        const r = ratios(reference, row);
        if (Object.keys(r).length) console.log(`  ${row.backend} ${row.model} L=${row.context}: ${Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      }
    }
    const svg = opts.settings.svg ?? 'decode-memory.svg';
    await writeSvgPlot(svg, curves);
    return {
      suite: 'model',
      machine: machineInfo(),
      rows,
      notes: [
        `prefill: one chunked forward of the whole prompt (batch 1), timed to the first sampled token, after an untimed prefill of the same length ("first prefill tok/s": that first one, which also creates and clears the buffers of its sizes); prefill GPU ms: the GPU time of one prefill from timestamps; decode: ${decodeSteps} steps, each a full model step with the LM head and a greedy pick on the device (one int read back).`,
        ...(prefillRuns ? [`prefill tok/s, median of ${prefillRuns}: that many more prefills on fresh caches; prefill host ms: the median host time until prefill and the argmax returned (encoding, before the wait); dispatches and submits of one of them (WebGPU counters). A prefill of a fresh cache replays its recorded graph after the first of its length (model.prefillGraphs; --set prefillGraphs=0 runs the ops every time).`] : []),
        'encode p50 ms: host time to encode one decode step (model.step and the argmax, before waiting for the readback).',
        'graph decode: the same greedy decode through a recorded step graph (model.greedyStepGraph, as generate runs it on WebGPU): replayed kernels, three groups of 8 steps in flight, each group\'s ids read back at once, as generate keeps them (and, for comparison, three single steps, each read back: generate before the fifteenth session); tok/s over decodeSteps tokens in the steady state (after an untimed warm-up of 32 tokens and at least 0.5 s), host time per queued step, GPU time of one step (timestamp queries, median of 7), and whether its tokens equal the op-by-op ones.',
        'weights MB: what the backend holds after loading the weights (its own count where it keeps one: WebGPU buffers, pool size classes included, 16-bit weights at 2 bytes an element); weights dtype: how they are stored (math is float32).',
        'KV-cache transformer MB: 2 · nLayer · (context + steps) · d_model · 4 bytes, what a Transformer of the same width and depth would hold; the Mamba-3 cache is constant.',
        `memory plot: ${svg}`,
        ...(settingsNow.serve ? ['generate rows: `generate` serving that many prompts of different lengths (16-256 tokens) at once, greedy, decodeSteps new tokens each, after an untimed run of the same shapes; tok/s counts new tokens of all sequences, over the whole call and after its first token.'] : []),
        ...(batches.length ? ['batch rows ("batch B" in the context column): B sequences prefilled with 16 random tokens each, then greedy decode (with ", T=t": temperature sampling on the device, --set temperature=t) through one step graph for that batch size, three runs in flight; tok/s counts all B sequences.'] : []),
        ...(reference ? [`ratios: ours / the official mamba_ssm figures of ${opts.settings.reference} (same GPU, same run; Mamba-3 SISO against perf_ref.py and decode_ref.py, Mamba-1 and Mamba-2 against tools/gpu/family_ref.py; MIMO rows have none; decode against the CUDA-graph step; prefill from the median of the extra prefills when prefillRuns is set, else from the one timed prefill).`] : []),
      ],
    };
  },
};

