import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toMarkdown } from '../src/markdown.js';
import { writeSvgPlot } from '../src/svg.js';
import type { SuiteResult } from '../src/suite.js';

const result: SuiteResult = {
  suite: 'model',
  machine: { date: '2026-11-22T00:00:00.000Z', node: 'v20.20.2', platform: 'linux-x64', cpu: 'Test CPU', cores: 2 },
  rows: [
    { backend: 'cpu', context: 512, 'decode tok/s': 100 },
    { backend: 'webgpu', context: 512, 'decode tok/s': 300, extra: true },
  ],
  notes: ['a note'],
};

describe('reports', () => {
  it('markdown: one table with every column, where it ran and the command', () => {
    const md = toMarkdown(result, 'pnpm bench --suite model');
    expect(md).toContain('### model (2026-11-22, Test CPU, 2 cores, Node v20.20.2)');
    expect(md).toContain('Command: `pnpm bench --suite model`');
    expect(md).toContain('| backend | context | decode tok/s | extra |');
    expect(md).toContain('| webgpu | 512 | 300 | true |');
    expect(md).toContain('| cpu | 512 | 100 |  |');
    expect(md).toContain('- a note');
  });

  it('svg: memory and latency panels with a KV-cache reference line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bench-')), 'plot.svg');
    await writeSvgPlot(path, [
      { label: 'SISO (cpu)', points: [{ context: 512, decodePeakMB: 10, cacheMB: 1, kvMB: 2, p50ms: 3 }, { context: 2048, decodePeakMB: 10, cacheMB: 1, kvMB: 8, p50ms: 3.1 }] },
    ]);
    const svg = readFileSync(path, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Memory while decoding');
    expect(svg).toContain('Per-token decode latency');
    expect(svg).toContain('KV-cache Transformer');
    expect((svg.match(/<path /g) ?? []).length).toBe(3);
  });
});
