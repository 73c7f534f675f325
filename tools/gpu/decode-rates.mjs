// The decode probes' shared timing loops (read-groups.mjs, sample-ahead.mjs, generate-rate.mjs):
// tok/s of a step graph read back a group at a time, and of a build's `generate` (passed in:
// generate-rate.mjs bundles another build's under the same name).

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
