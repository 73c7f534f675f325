import { writeFile } from 'node:fs/promises';
import type { Curve } from './suites/model.js';

const W = 780;
const H = 300;
const PAD = { left: 64, right: 180, top: 28, bottom: 44 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

interface Series {
  label: string;
  color: string;
  dashed?: boolean;
  points: [number, number][];
}

function panel(title: string, yLabel: string, series: Series[], x0: number): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const [xmin, xmax] = [Math.min(...xs), Math.max(...xs)];
  const ymax = Math.max(...ys, 1e-9) * 1.1;
  // Context lengths grow geometrically: a log x axis spaces them evenly.
  const lx = (x: number): number => (xmax === xmin ? 0.5 : (Math.log(x) - Math.log(xmin)) / (Math.log(xmax) - Math.log(xmin)));
  const px = (x: number): number => x0 + PAD.left + lx(x) * (W - PAD.left - PAD.right);
  const py = (y: number): number => PAD.top + (1 - y / ymax) * (H - PAD.top - PAD.bottom);
  const out: string[] = [`<text x="${x0 + PAD.left}" y="18" font-size="13" font-weight="bold">${title}</text>`];
  out.push(`<line x1="${px(xmin)}" y1="${py(0)}" x2="${px(xmax)}" y2="${py(0)}" stroke="#444"/>`, `<line x1="${px(xmin)}" y1="${py(0)}" x2="${px(xmin)}" y2="${PAD.top}" stroke="#444"/>`);
  for (const x of [...new Set(xs)]) out.push(`<text x="${px(x)}" y="${H - PAD.bottom + 16}" font-size="10" text-anchor="middle">${x}</text>`);
  for (let k = 0; k <= 4; k++) {
    const y = (ymax / 1.1) * (k / 4);
    out.push(`<text x="${px(xmin) - 6}" y="${py(y) + 3}" font-size="10" text-anchor="end">${y >= 100 ? y.toFixed(0) : y.toPrecision(3)}</text>`);
  }
  out.push(`<text x="${x0 + PAD.left + (W - PAD.left - PAD.right) / 2}" y="${H - 8}" font-size="11" text-anchor="middle">context length (tokens)</text>`);
  out.push(`<text transform="translate(${x0 + 14},${H / 2}) rotate(-90)" font-size="11" text-anchor="middle">${yLabel}</text>`);
  series.forEach((s, i) => {
    const d = s.points.map((p, k) => `${k ? 'L' : 'M'}${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5,4"' : ''}/>`);
    for (const p of s.points) out.push(`<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    out.push(`<text x="${x0 + W - PAD.right + 8}" y="${PAD.top + 14 * i + 10}" font-size="10" fill="${s.color}">${s.label}</text>`);
  });
  return out.join('\n');
}

/** Two panels: decode memory against context (ours flat, a KV cache's growth) and decode latency. */
export async function writeSvgPlot(path: string, curves: Curve[]): Promise<void> {
  if (curves.length === 0) return;
  const mem: Series[] = [];
  const lat: Series[] = [];
  curves.forEach((c, i) => {
    const color = COLORS[i % COLORS.length];
    mem.push({ label: `${c.label}: decode peak`, color, points: c.points.map((p) => [p.context, p.decodePeakMB]) });
    lat.push({ label: `${c.label}: p50`, color, points: c.points.map((p) => [p.context, p.p50ms]) });
  });
  const first = curves[0];
  mem.push({ label: 'KV-cache Transformer (same size)', color: '#555', dashed: true, points: first.points.map((p) => [p.context, p.decodePeakMB - p.cacheMB + p.kvMB]) });
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${2 * H}" font-family="sans-serif">`,
    '<rect width="100%" height="100%" fill="white"/>',
    panel('Memory while decoding', 'MB', mem, 0),
    `<g transform="translate(0,${H})">${panel('Per-token decode latency', 'ms', lat, 0)}</g>`,
    '</svg>',
  ].join('\n');
  await writeFile(path, svg);
}
