/** A one-line terminal progress bar (step, loss, tokens/s, ETA); plain lines when not a TTY. */
export class ProgressBar {
  private readonly started = performance.now();
  private lastPrint = 0;
  private readonly tty: boolean;
  private readonly write: (s: string) => void;

  constructor(
    private readonly total: number,
    opts?: { stream?: { isTTY?: boolean; write(s: string): unknown }; label?: string; everyMs?: number },
  ) {
    const stream = opts?.stream ?? (typeof process !== 'undefined' ? process.stderr : undefined);
    this.tty = Boolean(stream?.isTTY);
    this.write = stream ? (s) => void stream.write(s) : () => {};
    this.label = opts?.label ?? 'train';
    this.everyMs = opts?.everyMs ?? (this.tty ? 200 : 10_000);
  }

  private readonly label: string;
  private readonly everyMs: number;

  /** `tokens` (seen so far) adds a tokens/s figure. */
  update(step: number, fields: Record<string, string | number>, tokens?: number, force = false): void {
    const now = performance.now();
    if (!force && now - this.lastPrint < this.everyMs && step < this.total) return;
    this.lastPrint = now;
    const elapsed = (now - this.started) / 1000;
    const eta = step > 0 ? (elapsed / step) * (this.total - step) : 0;
    const width = 24;
    const filled = Math.round((width * step) / this.total);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(4) : v}`)
      .join('  ');
    const rate = tokens === undefined ? '' : `  ${formatRate(tokens / Math.max(elapsed, 1e-9))} tok/s`;
    const line = `${this.label} ${bar} ${step}/${this.total}  ${extra}${rate}  ETA ${formatTime(eta)}`;
    this.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }

  /** Prints a line above the bar (e.g. an evaluation result). */
  log(message: string): void {
    this.write(this.tty ? `\r\x1b[2K${message}\n` : `${message}\n`);
  }

  done(): void {
    if (this.tty) this.write('\n');
  }
}

function formatRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)}M` : r >= 1e3 ? `${(r / 1e3).toFixed(1)}k` : r.toFixed(0);
}

export function formatTime(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(s % 60).padStart(2, '0')}s`;
}
