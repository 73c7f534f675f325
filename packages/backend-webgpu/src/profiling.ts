import { UnsupportedError, BackendError } from '@mamba3/tensor';
import type { CommandStream } from './encoding.js';
import { USAGE_COPY_DST, USAGE_COPY_SRC, USAGE_MAP_READ, USAGE_QUERY_RESOLVE } from './pool.js';

/** Timestamp queries of one profile (WebGPU allows 4096 per query set): 2048 dispatches. */
const PROFILE_QUERIES = 4096;

export interface KernelProfile {
  kernels: { kernel: string; calls: number; ms: number }[];
  skipped: number;
}

/** GPU timing from timestamp queries: the span of some work, or each dispatch alone. */
export class GpuTimer {
  private active: { set: GPUQuerySet; kernels: string[]; skipped: number } | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly stream: CommandStream,
    /** How to await the readback (the runtime's `waitFor`). */
    private readonly wait: <T>(pending: Promise<T>) => Promise<T>,
  ) {}

  /** Whether GPU timestamps can be taken (the `timestamp-query` feature). */
  get available(): boolean {
    return this.device.features.has('timestamp-query');
  }

  get profiling(): boolean {
    return this.active !== null;
  }

  /**
   * GPU time in ms of the work `fn` encodes, from timestamps written around it (one submit
   * before and after). Needs `timestamp-query`.
   */
  async time(fn: () => void): Promise<number> {
    if (!this.available) throw new UnsupportedError('webgpu timeGpu: the device lacks the timestamp-query feature');
    this.stream.flush();
    const set = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    // An empty pass marks the start; the work follows in its own passes; another marks the end.
    this.stream.beginPass({ timestampWrites: { querySet: set, beginningOfPassWriteIndex: 0 } });
    this.stream.endPass();
    fn();
    this.stream.endPass().beginComputePass({ timestampWrites: { querySet: set, endOfPassWriteIndex: 1 } }).end();
    const t = await this.readTimestamps(set, 2);
    return Number(t[1] - t[0]) / 1e6;
  }

  /** While profiling: the next dispatch gets a pass of its own with timestamps around it. */
  beforeDispatch(key: string): void {
    const prof = this.active!;
    this.stream.endPass();
    const k = prof.kernels.length;
    if (2 * k + 2 > PROFILE_QUERIES) {
      prof.skipped++;
      return;
    }
    prof.kernels.push(key.split('/')[0]);
    this.stream.beginPass({ timestampWrites: { querySet: prof.set, beginningOfPassWriteIndex: 2 * k, endOfPassWriteIndex: 2 * k + 1 } });
  }

  /**
   * GPU time per kernel of the work `fn` encodes (ops, not step-graph replays): each dispatch runs
   * in its own timed pass, so the total includes a pass boundary per dispatch. Needs
   * `timestamp-query`; at most 2048 dispatches are timed (`skipped` counts the rest).
   */
  async profile(fn: () => void, throwDeviceErrors: () => void): Promise<KernelProfile> {
    if (!this.available) throw new UnsupportedError('webgpu profile: the device lacks the timestamp-query feature');
    if (this.active) throw new BackendError('webgpu profile: already profiling');
    this.stream.flush();
    const set = this.device.createQuerySet({ type: 'timestamp', count: PROFILE_QUERIES });
    const prof = { set, kernels: [] as string[], skipped: 0 };
    this.active = prof;
    try {
      fn();
    } finally {
      this.active = null;
    }
    const t = await this.readTimestamps(set, 2 * prof.kernels.length);
    throwDeviceErrors();
    const byKernel = new Map<string, { calls: number; ms: number }>();
    prof.kernels.forEach((kernel, k) => {
      const e = byKernel.get(kernel) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += Number(t[2 * k + 1] - t[2 * k]) / 1e6;
      byKernel.set(kernel, e);
    });
    const kernels = [...byKernel].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
    return { kernels, skipped: prof.skipped };
  }

  /** Resolves the first `count` timestamps of `set` after the queued work, reads them back, and destroys the set. */
  private async readTimestamps(set: GPUQuerySet, count: number): Promise<BigUint64Array> {
    const bytes = Math.max(16, count * 8);
    const resolve = this.device.createBuffer({ size: bytes, usage: USAGE_QUERY_RESOLVE | USAGE_COPY_SRC });
    const out = this.device.createBuffer({ size: bytes, usage: USAGE_MAP_READ | USAGE_COPY_DST });
    const enc = this.stream.endPass();
    if (count > 0) {
      enc.resolveQuerySet(set, 0, count, resolve, 0);
      enc.copyBufferToBuffer(resolve, 0, out, 0, bytes);
    }
    this.stream.flush();
    await this.wait(out.mapAsync(0x0001));
    const t = new BigUint64Array(out.getMappedRange().slice(0));
    out.unmap();
    out.destroy();
    resolve.destroy();
    set.destroy();
    return t;
  }
}
