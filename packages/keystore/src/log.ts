// One winston setup for every process: structured JSON lines to `<log_dir>/<service>.log` and to stderr.
//
// Log rotation without restarts or lost lines (sks-cron's log-rotate job, in any container sharing the volume):
// the file transport writes each line with one append-mode write(2) after checking that the path still names the
// file it has open. When sks-cron renames `<service>.log` away, the very next line goes to a fresh `<service>.log`;
// a line that raced the rename lands in the renamed file, which sks-cron compresses only after a grace period and
// only once its size stops changing. Several processes (the sks-db cluster workers) may share one file: each line
// is a single O_APPEND write, so lines never interleave.
import winston from 'winston';
import Transport from 'winston-transport';
import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  /** Folder for `<service>.log`; omitted = stderr only. */
  dir?: string;
  level?: string;
  /** Also write to stderr (default true unless in tests with SKS_QUIET=1). */
  console?: boolean;
}

const MESSAGE = Symbol.for('message');

/** A winston transport appending to a file that follows renames: it reopens the path when it names another file
 * (rotated away) or none (deleted), checked before every line. */
export class ReopeningFileTransport extends Transport {
  private fd: number | undefined;
  private ino = -1;
  private dev = -1;

  constructor(readonly filename: string, opts: Transport.TransportStreamOptions = {}) {
    super(opts);
  }

  private open(): number {
    mkdirSync(dirname(this.filename), { recursive: true });
    const fd = openSync(this.filename, 'a', 0o640);
    const st = fstatSync(fd);
    this.fd = fd;
    this.ino = st.ino;
    this.dev = st.dev;
    return fd;
  }

  /** The open descriptor if the path still names its file, else a descriptor of the file now at the path. */
  private current(): number {
    if (this.fd !== undefined) {
      const st = statSync(this.filename, { throwIfNoEntry: false });
      if (st && st.ino === this.ino && st.dev === this.dev) return this.fd;
      this.reopen();
    }
    return this.open();
  }

  /** Closes the file; the next line opens whatever file is at the path then. */
  reopen(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
  }

  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const line = `${String(info[MESSAGE] ?? JSON.stringify(info))}\n`;
    try {
      const buf = Buffer.from(line);
      const fd = this.current();
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      // A full disk or a vanished folder must not take the service down; say so on stderr once per failure.
      process.stderr.write(`log file ${this.filename}: ${(err as Error).message}\n`);
      this.reopen();
    }
    this.emit('logged', info);
    next();
  }

  override close(): void {
    this.reopen();
  }
}

/** Every file transport created in this process, so `reopenLogs` can reach them. */
const fileTransports = new Set<ReopeningFileTransport>();

/** Makes every log file of this process be reopened at its next line (e.g. on SIGHUP after a manual rotation).
 * Not needed for sks-cron's rotation: transports notice a renamed file themselves. */
export function reopenLogs(): void {
  for (const t of fileTransports) t.reopen();
}

export function createLogger(opts: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console ?? process.env.SKS_QUIET !== '1') {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug'] }));
  }
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    const t = new ReopeningFileTransport(join(opts.dir, `${opts.service}.log`));
    fileTransports.add(t);
    t.once('close', () => fileTransports.delete(t));
    transports.push(t);
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { service: opts.service, pid: process.pid },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports,
  });
}
