// One winston setup for every process: structured JSON lines to `<log_dir>/<service>.log` and to stderr.
// Log files are reopened when sks-cron rotates them (see `reopenLogs`), so no line is lost and nobody restarts.
import winston from 'winston';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  /** Folder for `<service>.log`; omitted = stderr only. */
  dir?: string;
  level?: string;
  /** Also write to stderr (default true unless in tests with SKS_QUIET=1). */
  console?: boolean;
}

export function createLogger(opts: LoggerOptions): Logger {
  const transports: winston.transport[] = [];
  if (opts.console ?? process.env.SKS_QUIET !== '1') {
    transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug'] }));
  }
  if (opts.dir) {
    mkdirSync(opts.dir, { recursive: true });
    transports.push(new winston.transports.File({ filename: join(opts.dir, `${opts.service}.log`) }));
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({
    level: opts.level ?? 'info',
    defaultMeta: { service: opts.service, pid: process.pid },
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: true }), winston.format.json()),
    transports,
  });
}
