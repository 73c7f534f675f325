import { describe, expect, it, vi } from 'vitest';
import { batchedWriter } from '../src/stream-writer.js';

describe('batchedWriter', () => {
  it('writes every piece once, in order, in fewer writes than pieces', () => {
    let clock = 0;
    const writes: string[] = [];
    const out = batchedWriter((t) => writes.push(t), 10, () => clock);
    const pieces = Array.from({ length: 100 }, (_, i) => `${i},`);
    for (const p of pieces) {
      out.write(p);
      clock += 1; // a token per millisecond
    }
    out.flush();
    expect(writes.join('')).toBe(pieces.join(''));
    // Writes at 10, 20, ..., 90 ms, then the final flush.
    expect(writes.length).toBe(10);
    out.flush();
    expect(writes.length).toBe(10); // nothing pending: no empty write
  });

  it('writes text left waiting by a pause in generation once the interval has passed', async () => {
    vi.useFakeTimers();
    try {
      const writes: string[] = [];
      const out = batchedWriter((t) => writes.push(t), 16);
      out.write('a');
      out.write('b');
      expect(writes).toEqual([]);
      await vi.advanceTimersByTimeAsync(16);
      expect(writes).toEqual(['ab']);
      out.write('c');
      out.flush();
      expect(writes).toEqual(['ab', 'c']);
      await vi.advanceTimersByTimeAsync(100);
      expect(writes).toEqual(['ab', 'c']); // the flush cancelled the timer
    } finally {
      vi.useRealTimers();
    }
  });
});
