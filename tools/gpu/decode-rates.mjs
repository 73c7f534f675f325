// The decode probes' shared pieces (read-groups.mjs, sample-ahead.mjs, generate-rate.mjs,
// head-pick.mjs, graph-copies.mjs): their arguments, group size and depth, their model, the adapter line, tok/s of a step graph read back a group at a
// time and of a build's `generate` (passed in: generate-rate.mjs bundles another build's under the
// same name), and GPU µs a step from timestamps.

/** Steps read back at once and groups in flight, as `generate` keeps them. */
export const GROUP = 8;
export const DEPTH = 3;

/** The probes' `[rounds] [tokens]` arguments (tokens timed a variant a round, 384 by default). */
export function roundsAndTokens(argv, rounds = 8) {
  return [Number(argv[2] ?? rounds), Number(argv[3] ?? 384)];
}

/**
 * The probes' model: the 130M SISO shapes, or with `--small` among the arguments a 24-layer
 * d_model 128 model that fits a software adapter's 128 MB bindings (a check on lavapipe).
 */
export function probeConfig(argv, vocabSize = argv.includes('--small') ? 1000 : 50280) {
  return argv.includes('--small')
    ? { dModel: 128, nLayer: 24, vocabSize, ssmCfg: { layer: 'Mamba3', dState: 32, headdim: 32, chunkSize: 64 } }
    : { dModel: 768, nLayer: 24, vocabSize, ssmCfg: { layer: 'Mamba3', dState: 128, headdim: 64, chunkSize: 64 } };
}

/** The adapter, as the probes' first line names it. */
export function adapterName(backend) {
  const info = backend.device.adapterInfo ?? {};
  return [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unknown';
}

/**
 * GPU µs a step of `graph` (collecting output 0): `group` runs timed together from timestamps,
 * the median of 9, the log read before each (as generate's reads keep it from filling) and after.
 */
export async function gpuUsPerStep(backend, graph, group) {
  const times = [];
  for (let i = 0; i < 9; i++) {
    await graph.readCollected(0);
    times.push(await backend.timeGpu(() => { for (let r = 0; r < group; r++) graph.run(); }));
  }
  await graph.readCollected(0);
  return (1000 * median(times)) / group;
}

/**
 * tok/s of `tokens` tokens through `group(graphs)`, which queues one group of runs and returns a
 * promise of its ids; `depth` groups stay in flight.
 */
export async function groupRate(graphs, group, tokens, depth) {
  const inflight = [];
  let seen = 0;
  const t0 = performance.now();
  while (seen < tokens) {
    while (inflight.length < depth) inflight.push(group(graphs));
    seen += (await inflight.shift()).length;
  }
  const ms = performance.now() - t0;
  await Promise.all(inflight);
  return (1000 * seen) / ms;
}

/** tok/s of `generate` (batch 1, a 16-token prompt; greedy at temperature 0) over its `tokens` tokens after the first 16. */
export async function generateRate(generate, model, { tokens, temperature, vocabSize, seed }) {
  let n = 0;
  let t0 = 0;
  const prompt = [Array.from({ length: 16 }, (_, i) => (i * 7919) % vocabSize)];
  for await (const _ of generate(model, prompt, { maxNewTokens: tokens + 16, temperature, seed })) {
    if (++n === 16) t0 = performance.now();
  }
  return (1000 * (n - 16)) / (performance.now() - t0);
}

/** The median (the upper middle value of an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
