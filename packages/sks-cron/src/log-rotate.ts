// Log rotation for every service writing into log_dir (sks-db, sks-recon, sks-cron, ...), safe while they run.
//
// 1. Rename each non-empty `<service>.log` to `<service>.log.<UTC stamp>`. The services' log transport
//    (keystore/log.ts) checks the path before every line, so their next line goes to a new `<service>.log`.
// 2. Wait log_rotate_grace_ms, so a line that raced the rename is written into the renamed file.
// 3. Compress the renamed file to `.gz` (via a temporary file), again if it grew meanwhile, then delete it.
// 4. Keep the newest log_keep compressed files per service.
// No copy-and-truncate (which loses what is written between copy and truncate) and no restart.
import { createReadStream, createWriteStream, existsSync, readdirSync, renameSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RotateOptions {
  dir: string;
  keep: number;
  graceMs: number;
}

export interface RotateResult {
  rotated: string[];
  compressed: string[];
  removed: string[];
}

const ROTATED = /^(.+\.log)\.(\d{8}T\d{6}\d{3}Z)(?:-(\d+))?$/;
const COMPRESSED = /^(.+\.log)\.(\d{8}T\d{6}\d{3}Z)(?:-(\d+))?\.gz$/;
/** Compression attempts before giving up on a file that keeps growing (a service that did not switch files). */
const MAX_COMPRESS_ATTEMPTS = 5;

/** UTC time to the millisecond, e.g. 20261125T120000123Z (sorts by time as text). */
function stamp(now: Date): string {
  return now.toISOString().replace(/[-:.]/g, '');
}

/** Sort key of a compressed rotation: its stamp, then its collision number (none = 1). */
function age(m: RegExpExecArray): string {
  return `${m[2]}${String(Number(m[3] ?? 1)).padStart(6, '0')}`;
}

/** A free rotated name for `file` at `now`. */
function rotatedName(file: string, now: Date): string {
  const base = `${file}.${stamp(now)}`;
  let name = base;
  for (let i = 2; existsSync(name) || existsSync(`${name}.gz`); i++) name = `${base}-${i}`;
  return name;
}

/** Compresses `file` to `file.gz` and deletes it; repeats while the file still grows (a late line). */
async function compress(file: string, graceMs: number): Promise<void> {
  const tmp = `${file}.gz.tmp`;
  for (let attempt = 1; ; attempt++) {
    const before = statSync(file).size;
    await pipeline(createReadStream(file), createGzip(), createWriteStream(tmp));
    const after = statSync(file).size;
    if (after === before) break;
    if (attempt >= MAX_COMPRESS_ATTEMPTS) {
      unlinkSync(tmp);
      throw new Error(`${file} is still being written after ${attempt} attempts; left uncompressed`);
    }
    await sleep(graceMs);
  }
  renameSync(tmp, `${file}.gz`);
  unlinkSync(file);
}

export async function rotateLogs(opts: RotateOptions): Promise<RotateResult> {
  const result: RotateResult = { rotated: [], compressed: [], removed: [] };
  if (!existsSync(opts.dir)) return result;
  const now = new Date();
  for (const name of readdirSync(opts.dir).sort()) {
    if (!name.endsWith('.log')) continue;
    const file = join(opts.dir, name);
    const st = statSync(file, { throwIfNoEntry: false });
    if (!st?.isFile() || st.size === 0) continue;
    const target = rotatedName(file, now);
    renameSync(file, target);
    result.rotated.push(target);
  }
  // Renamed files, including any an interrupted earlier run left uncompressed.
  const pending = readdirSync(opts.dir).filter((n) => ROTATED.test(n)).map((n) => join(opts.dir, n));
  if (pending.length > 0) await sleep(opts.graceMs);
  for (const file of pending) {
    await compress(file, opts.graceMs);
    result.compressed.push(`${file}.gz`);
  }
  // Keep the newest `keep` per service (the stamp sorts by time).
  const byService = new Map<string, Array<{ name: string; key: string }>>();
  for (const name of readdirSync(opts.dir)) {
    const m = COMPRESSED.exec(name);
    if (!m) continue;
    byService.set(m[1]!, [...(byService.get(m[1]!) ?? []), { name, key: age(m) }]);
  }
  for (const files of byService.values()) {
    files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const { name: n } of files.slice(0, Math.max(0, files.length - opts.keep))) {
      unlinkSync(join(opts.dir, n));
      result.removed.push(join(opts.dir, n));
    }
  }
  return result;
}
