/**
 * The model suite's measurements: prefill timed to the first token (wall, host and GPU), greedy
 * decode op by op and through step graphs, batched decode and `generate` serving a batch.
 */
import type { MambaLMHeadModel } from '@mamba3/model';
import { generate } from '@mamba3/model';
import type { Backend, Rng } from '@mamba3/tensor';
import { argMax, dispose, sliceAxis, tidy } from '@mamba3/tensor';

/** The p-th percentile of sorted values. */
export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/**
 * Greedy next token on the device: the only readback of a decode step is one int per sequence.
 * Also returns the milliseconds spent encoding the step (host work before the readback waits).
 */
export async function stepGreedy(model: MambaLMHeadModel, token: number, cache: ReturnType<MambaLMHeadModel['allocateInferenceCache']>): Promise<[number, number]> {
  const t0 = performance.now();
  const logits = model.step([token], cache);
  const next = tidy(() => argMax(sliceAxis(logits, 1, 0, model.vocabSize), -1));
  const encodeMs = performance.now() - t0;
  const id = (await next.data())[0];
  dispose([logits, next]);
  return [id, encodeMs];
}

/** Steps a batched decode reads back at once, as `generate` does once its groups have grown. */
const GROUP = 8;

/** Untimed decoding before the graph decode's timed steps (see graphDecode). */
const WARM_MS = 500;

/**
 * Greedy decode through a recorded step graph (`greedyStepGraph`), `depth` groups of `group`
 * steps in flight, each group's picked ids read back at once (`collect`; `generate` keeps three
 * groups of up to 8): milliseconds per token in the steady state, host time per queued step, and
 * the tokens. Only on backends that record (WebGPU); null elsewhere.
 */
export async function graphDecode(model: MambaLMHeadModel, ids: number[], steps: number, depth: number, group: number): Promise<{ msPerToken: number; encodeP50: number; gpuMs: number | null; tokens: number[] } | null> {
  if (!model.backend.beginCapture) return null;
  const cache = model.allocateInferenceCache(1);
  const logits = model.prefill([ids], cache);
  const first = tidy(() => argMax(sliceAxis(logits, 1, 0, model.vocabSize), -1));
  const token = (await first.data())[0];
  dispose([logits, first]);
  const graph = model.greedyStepGraph([token], cache, { vocab: model.vocabSize });
  try {
    const tokens = [token, (await graph.read(0))[0]];
    const inflight: Promise<ArrayLike<number>>[] = [];
    const encodes: number[] = [];
    // Untimed warm-up: 32 tokens and at least WARM_MS of decoding (JIT, staging buffers, and the
    // GPU's clocks, which drop while the op-by-op decode before this leaves it mostly idle).
    const started = performance.now();
    let t0 = 0;
    let timed = -1;
    if (group > 1) graph.collect(0, group);
    while (timed < steps) {
      while (inflight.length < depth) {
        const e = performance.now();
        for (let r = 0; r < group; r++) graph.run();
        inflight.push(group > 1 ? graph.readCollected(0) : graph.read(0));
        encodes.push((performance.now() - e) / group);
      }
      tokens.push(...Array.from(await inflight.shift()!));
      if (timed >= 0) timed += group;
      else if (tokens.length >= 34 && performance.now() - started >= WARM_MS) {
        timed = 0;
        t0 = performance.now();
      }
    }
    const msPerToken = (performance.now() - t0) / timed;
    await Promise.all(inflight);
    encodes.sort((a, b) => a - b);
    // GPU time of one replayed step from timestamps, median of 7 (with its copy into the log
    // when collecting, as generate's steps have; the log read before each, so it never fills).
    const gpuMs = await medianGpuMs(model.backend, 7, () => graph.run(), group > 1 ? () => graph.readCollected(0) : undefined);
    return { msPerToken, encodeP50: percentile(encodes, 50), gpuMs, tokens };
  } finally {
    graph.dispose();
  }
}

/**
 * Batched decode through one step graph per batch size: `batch` sequences prefilled with 16
 * random tokens each ([batch, 16] in one prefill), then at least `steps` graph runs, as
 * `generate` runs them: three groups of GROUP in flight, each group's ids read back at once.
 * Greedy (`greedyStepGraph`), or with `temperature` > 0 drawn on the device as `generate` does
 * (`samplingStepGraph`, each group's uniforms written ahead at once). Tokens/s counts every sequence.
 */
export async function batchedDecode(model: MambaLMHeadModel, batch: number, steps: number, rng: Rng, temperature: number): Promise<{ tokPerS: number; gpuMs: number | null } | null> {
  if (!model.backend.beginCapture) return null;
  const cache = model.allocateInferenceCache(batch);
  const prompts = Array.from({ length: batch }, () => randomIds(16, model.vocabSize, rng));
  const logits = model.prefill(prompts, cache);
  const first = tidy(() => argMax(sliceAxis(logits, 1, 0, model.vocabSize), -1));
  const start = Array.from(await first.data());
  dispose([logits, first]);
  const uniforms = () => Array.from({ length: batch }, () => rng.uniform());
  const graph =
    temperature > 0
      ? model.samplingStepGraph(start, cache, { vocab: model.vocabSize, temperature, uniforms: uniforms() })
      : model.greedyStepGraph(start, cache, { vocab: model.vocabSize });
  try {
    // As generate decodes: three groups of GROUP runs in flight, each group's ids read at once.
    graph.collect(0, GROUP);
    const inflight: Promise<ArrayLike<number>>[] = [];
    let done = -16; // untimed warm-up runs
    let t0 = 0;
    while (done < steps) {
      while (inflight.length < 3) {
        if (temperature > 0) graph.writeAhead(1, Array.from({ length: GROUP }, uniforms).flat(), GROUP);
        for (let r = 0; r < GROUP; r++) graph.run();
        inflight.push(graph.readCollected(0));
      }
      await inflight.shift()!;
      done += GROUP;
      if (done === 0) t0 = performance.now();
    }
    const seconds = (performance.now() - t0) / 1000;
    await Promise.all(inflight);
    const gpuMs = await medianGpuMs(model.backend, 5, () => graph.run(), () => graph.readCollected(0));
    return { tokPerS: (batch * done) / seconds, gpuMs };
  } finally {
    graph.dispose();
    cache.dispose();
  }
}

/** Seconds of one prefill (to the first greedy token read back), on a fresh cache. */
export async function timedPrefill(model: MambaLMHeadModel, ids: number[]): Promise<number> {
  return (await hostPrefill(model, ids)).seconds;
}

/** Submit and dispatch counters of backends that keep them (WebGPU). */
export function counters(backend: Backend): { submits: number; dispatches: number } | null {
  const stats = (backend as unknown as { stats?: () => { submits: number; dispatches: number } }).stats;
  return stats ? stats() : null;
}

/**
 * One prefill on a fresh cache: seconds to the first greedy token read back, host ms until
 * `prefill` and the argmax returned (encoding, before waiting), and its submits and dispatches.
 */
export async function hostPrefill(model: MambaLMHeadModel, ids: number[]): Promise<{ seconds: number; hostMs: number; submits: number | null; dispatches: number | null }> {
  const cache = model.allocateInferenceCache(1);
  const c0 = counters(model.backend);
  const t0 = performance.now();
  const first = tidy(() => argMax(sliceAxis(model.prefill([ids], cache), 1, 0, model.vocabSize), -1));
  const hostMs = performance.now() - t0;
  await first.data();
  const seconds = (performance.now() - t0) / 1000;
  const c1 = counters(model.backend);
  first.dispose();
  cache.dispose();
  return { seconds, hostMs, submits: c0 && c1 ? c1.submits - c0.submits : null, dispatches: c0 && c1 ? c1.dispatches - c0.dispatches : null };
}

/** GPU ms of `fn` from timestamps (WebGPU with timestamp-query), the median of `runs` (odd); null without a GPU timer. */
async function medianGpuMs(backend: Backend, runs: number, fn: () => void, before?: () => Promise<unknown>): Promise<number | null> {
  const timeGpu = backendGpuTimer(backend);
  if (!timeGpu) return null;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    await before?.();
    times.push(await timeGpu(fn));
  }
  times.sort((a, b) => a - b);
  return times[runs >> 1];
}

/** The backend's GPU timer (WebGPU with timestamp-query), or null. */
export function backendGpuTimer(backend: Backend): ((fn: () => void) => Promise<number>) | null {
  const b = backend as unknown as { timeGpu?: (fn: () => void) => Promise<number>; features?: ReadonlySet<string> };
  return b.timeGpu && b.features?.has('timestamp-query') ? (fn) => b.timeGpu!(fn) : null;
}

/** GPU milliseconds of one prefill from timestamps (WebGPU with timestamp-query), else null. */
export async function prefillGpuMs(model: MambaLMHeadModel, ids: number[]): Promise<number | null> {
  const timeGpu = backendGpuTimer(model.backend);
  if (!timeGpu) return null;
  const cache = model.allocateInferenceCache(1);
  const ms = await timeGpu(() => tidy(() => void model.prefill([ids], cache)));
  cache.dispose();
  return ms;
}

/** n random token ids below `vocab`. */
export function randomIds(n: number, vocab: number, rng: Rng): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

/**
 * `--set serve=B`: `generate` serving B prompts of different lengths at once (each prefilled on
 * its own, then decoded as one batch; greedy, decodeSteps new tokens each), timed end to end
 * after an untimed run of the same shapes.
 */
export async function serveBatch(model: MambaLMHeadModel, B: number, steps: number, rng: Rng): Promise<{ tokens: number; seconds: number; tokPerS: number; decodeTokPerS: number; lengths: string }> {
  const lens = Array.from({ length: B }, (_, i) => 16 + ((i * 37) % 241));
  const prompts = lens.map((n) => randomIds(n, model.config.vocabSize, rng));
  const run = async () => {
    const t0 = performance.now();
    let first = 0;
    let tokens = 0;
    for await (const _chunk of generate(model, prompts, { maxNewTokens: steps, temperature: 0 })) {
      if (tokens === 0) first = performance.now();
      tokens++;
    }
    const end = performance.now();
    return { tokens, seconds: (end - t0) / 1000, decodeSeconds: (end - first) / 1000 };
  };
  await run();
  const r = await run();
  return { tokens: r.tokens, seconds: r.seconds, tokPerS: r.tokens / r.seconds, decodeTokPerS: (r.tokens - 1) / r.decodeSeconds, lengths: `${Math.min(...lens)}-${Math.max(...lens)} tokens` };
}
