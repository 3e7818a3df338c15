// Progress on stderr for long jobs: one redrawn line on a terminal, a plain line every few seconds otherwise.
export interface ProgressState {
  /** Units done (keys) and bytes done. */
  keys: number;
  bytes: number;
  /** Total bytes when known (for ETA and the bar). */
  totalBytes?: number;
  note?: string;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

export class Progress {
  private readonly t0 = Date.now();
  private last = 0;
  private readonly tty: boolean;
  private readonly intervalMs: number;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly out: NodeJS.WriteStream = process.stderr,
    opts: { intervalMs?: number; quiet?: boolean } = {},
  ) {
    this.tty = Boolean(out.isTTY);
    this.intervalMs = opts.quiet ? Infinity : (opts.intervalMs ?? (this.tty ? 200 : 5000));
  }

  line(s: ProgressState): string {
    const secs = Math.max(0.001, (Date.now() - this.t0) / 1000);
    const kps = s.keys / secs;
    const mbps = s.bytes / 1048576 / secs;
    let text = `${this.label}: ${s.keys} keys, ${kps.toFixed(0)} keys/s, ${mbps.toFixed(1)} MB/s`;
    if (s.totalBytes && s.totalBytes > 0) {
      const frac = Math.min(1, s.bytes / s.totalBytes);
      const eta = frac > 0 ? secs / frac - secs : NaN;
      const width = 24;
      const bar = this.tty ? ` [${'#'.repeat(Math.round(frac * width)).padEnd(width, '.')}]` : '';
      text += `${bar} ${(frac * 100).toFixed(1)}% ETA ${fmtDuration(eta)}`;
    }
    if (s.note) text += ` ${s.note}`;
    return text;
  }

  update(s: ProgressState, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < this.intervalMs) return;
    this.last = now;
    if (this.intervalMs === Infinity && !force) return;
    if (this.tty) {
      this.out.write(`\r\x1b[K${this.line(s)}`);
      this.drawn = true;
    } else {
      this.out.write(`${this.line(s)}\n`);
    }
  }

  done(s: ProgressState): void {
    if (this.tty) {
      this.out.write(`\r\x1b[K${this.line(s)}\n`);
    } else if (this.intervalMs !== Infinity || this.drawn) {
      this.out.write(`${this.line(s)}\n`);
    }
  }
}
