/**
 * Kernel traces: a step graph's replay one level lower (capture.ts replays backend entry points).
 *
 * Once a step graph has replayed each of its two variants through the entry points, it keeps
 * the kernel runs that replay made (export, arguments, threads) and runs those from then on:
 * no op wrappers, no allocation script, no arguments rebuilt per run. On a small model that
 * JavaScript is a fifth of a decode step, and most of what the engine spends warming up.
 *
 * Such a trace is the step only when the kernels' arguments are all it depends on, so one is
 * kept only if its recording:
 *   - made no view of the memory from the host (`WasmHeap.hostViews`): an op computed on the
 *     cpu backend, an upload or a read inside the step is host work a trace would skip;
 *   - unpacked no 16-bit tensor per op (that copy is freed after the op);
 * and it keeps what its pointers point at: every scratch block it used stays allocated while
 * the trace lives (`WasmContext.pin`), and a kernel's parameter block is the call's own
 * (`WasmContext.paramBlock`). Tensor blocks are the graph's already (its allocation script).
 * Otherwise the variant keeps replaying through the entry points.
 */
import type { WasmContext, WasmStorage } from './context.js';
import type { KernelCall } from './pool.js';

/** What a trace being recorded needs kept, and whether it can be kept. */
export class TraceRecording {
  /** Scratch blocks the trace's kernels use (pinned as they are handed out). */
  readonly pinned = new Set<WasmStorage>();
  /** Blocks that belong to the trace alone (parameter blocks). */
  readonly owned: WasmStorage[] = [];
  /** Set when the step unpacked a 16-bit tensor per op (host views are counted by the heap). */
  unpackedHalf = false;
}

/** A variant's kernel runs and the blocks it keeps. */
export interface KernelTrace {
  readonly calls: readonly KernelCall[];
  readonly recording: TraceRecording;
}

/** Runs `step` (an entry-point replay) and returns its kernel trace, or null where a trace would not be the step. */
export function recordTrace(ctx: WasmContext, step: () => void): KernelTrace | null {
  const recording = new TraceRecording();
  const views = ctx.heap.hostViews;
  const calls: KernelCall[] = [];
  ctx.tracing = recording;
  ctx.pool.trace = calls;
  try {
    step();
  } catch (err) {
    releaseTrace(ctx, recording);
    throw err;
  } finally {
    ctx.tracing = null;
    ctx.pool.trace = null;
  }
  if (recording.unpackedHalf || ctx.heap.hostViews !== views) {
    releaseTrace(ctx, recording);
    return null;
  }
  return { calls, recording };
}

/** Gives back what a trace kept. */
export function releaseTrace(ctx: WasmContext, recording: TraceRecording): void {
  for (const s of recording.pinned) ctx.unpin(s);
  for (const s of recording.owned) ctx.heap.release(s, false);
  recording.pinned.clear();
  recording.owned.length = 0;
}
