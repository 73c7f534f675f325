/**
 * Prefill of long prompts in slices: each slice runs the chunked forward from the cache the
 * previous one left (the mixer continues from a cache exactly as from a longer sequence), so
 * no tensor outgrows the device's limit, an AbortSignal is honoured between slices, and
 * progress can be reported.
 */
import type { Tensor } from '@mamba3/tensor';
import { ArgumentError } from '@mamba3/tensor';
import { paddedVocabSize } from './config.js';
import type { MambaInferenceCache, MambaLMHeadModel } from './model.js';

export interface PrefillProgress {
  /** Prompt tokens read so far, over every prompt of the call. */
  done: number;
  total: number;
}

export interface PrefillOptions {
  signal?: AbortSignal;
  /** Called after every slice (and once at the start with done 0). */
  onProgress?: (p: PrefillProgress) => void;
  /** Tokens per slice; default `prefillSliceLength` (the device limits, a multiple of the chunk size, at most `MAX_PREFILL_SLICE`). */
  sliceTokens?: number;
  /** Progress already made by earlier prompts of the same call. */
  offset?: number;
  total?: number;
}

// Slices stay at most MAX_PREFILL_SLICE long even without a device limit, so Ctrl-C and progress stay responsive on the CPU.
import { MAX_PREFILL_SLICE } from './blocks.js';
export { MAX_PREFILL_SLICE };

/** Headroom for intermediates the estimate below leaves out. */
const SAFETY = 2;

/**
 * The most tokens one prefill slice of `batch` sequences may hold on the model's backend: the
 * largest per-token tensor of the chunked forward (in_proj's output, the intra-chunk
 * [C·R, C·R] blocks per head, the chunk states, the embedding/residual) times the slice must fit
 * the backend's `maxTensorBytes`; a multiple of the chunk size.
 */
export function prefillSliceLength(model: MambaLMHeadModel, batch = 1): number {
  const bytes = 4;
  const perToken = Math.max(model.config.dModel * 2, ...model.layers.map((l) => l.prefill.floatsPerToken));
  // A slice is a multiple of every layer's chunk size (all SSM layers share one config).
  const chunk = Math.max(...model.layers.map((l) => l.prefill.chunk));
  const limit = model.backend.info.maxTensorBytes;
  const byDevice = limit ? Math.floor(limit / (bytes * perToken * batch * SAFETY)) : Infinity;
  // The head runs on one position per slice, but its [vocab, dModel] weight must fit too.
  if (limit && paddedVocabSize(model.config) * model.config.dModel * bytes > limit) {
    throw new ArgumentError(`prefill: the LM head (${paddedVocabSize(model.config)} x ${model.config.dModel}) is larger than this device's largest tensor (${limit} bytes)`);
  }
  const tokens = Math.min(byDevice, MAX_PREFILL_SLICE);
  return Math.max(chunk, Math.floor(tokens / chunk) * chunk);
}

/**
 * One turn of the event loop (other tasks run: an abort, a UI, a stop message), as cheap as the
 * platform makes it: Node's setImmediate; elsewhere a MessageChannel message, since browsers
 * clamp a nested setTimeout(0) to at least 4 ms (measured 4.4 ms per yield in a Chromium worker:
 * with a yield every 4 ms of decoding, the web demo sat idle half the time); setTimeout last.
 */
export const yieldToEventLoop: () => Promise<void> = (() => {
  const g = globalThis as { setImmediate?: (f: () => void) => void; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    const setImmediate = g.setImmediate;
    return () => new Promise<void>((r) => setImmediate(r));
  }
  if (typeof g.MessageChannel === 'function') {
    const channel = new g.MessageChannel();
    const waiting: (() => void)[] = [];
    channel.port1.onmessage = () => waiting.shift()?.();
    // Where ports keep a process alive (Node, Deno), this one must not.
    (channel.port1 as { unref?: () => void }).unref?.();
    return () =>
      new Promise<void>((r) => {
        waiting.push(r);
        channel.port2.postMessage(null);
      });
  }
  return () => new Promise<void>((r) => setTimeout(r, 0));
})();

/**
 * Prefills `ids` (one sequence per row, one length) into `cache` slice by slice; returns the
 * last position's logits [b, paddedVocab], or null when `signal` aborted it (the cache then
 * holds the slices read so far).
 */
export async function prefillInSlices(model: MambaLMHeadModel, ids: readonly (readonly number[])[], cache: MambaInferenceCache, opts: PrefillOptions = {}): Promise<Tensor | null> {
  const L = ids[0].length;
  const slice = opts.sliceTokens !== undefined ? Math.max(1, Math.floor(opts.sliceTokens)) : prefillSliceLength(model, ids.length);
  const offset = opts.offset ?? 0;
  const total = opts.total ?? L;
  let logits: Tensor | null = null;
  for (let start = 0; start < L; start += slice) {
    // The event loop runs between slices: a SIGINT handler (or a UI) gets to abort.
    await yieldToEventLoop();
    if (opts.signal?.aborted) {
      logits?.dispose();
      return null;
    }
    const end = Math.min(L, start + slice);
    const next = model.prefill(
      ids.map((row) => row.slice(start, end)),
      cache,
    );
    logits?.dispose();
    logits = next;
    opts.onProgress?.({ done: offset + end, total });
  }
  return logits;
}
