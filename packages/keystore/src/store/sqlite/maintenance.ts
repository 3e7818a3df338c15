// SQLite upkeep of the shared store, safe beside the running services: every step is either a read or a short
// write transaction that SQLite serialises with the services' writers (they wait on their busy timeout; nothing
// is copied aside and swapped in, which would lose the writes made meanwhile — hence no VACUUM INTO).
import type Database from 'better-sqlite3';
import { tableExists } from './statements.js';

type Db = Database.Database;

export interface CheckpointResult {
  /** 1 if a reader or writer kept the checkpoint from finishing (it is retried at the next run). */
  busy: number;
  walFrames: number;
  checkpointedFrames: number;
}

/** Copies the WAL into the database and truncates the WAL file to zero bytes. */
export function checkpoint(db: Db): CheckpointResult {
  const row = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
  const r = row[0] ?? { busy: 0, log: 0, checkpointed: 0 };
  return { busy: r.busy, walFrames: r.log, checkpointedFrames: r.checkpointed };
}

/** Refreshes the query planner's statistics where they are stale (PRAGMA optimize, ANALYZE with a row limit). */
export function optimize(db: Db, analysisLimit: number): { analyzedBefore: boolean } {
  const analyzedBefore = tableExists(db, 'sqlite_stat1');
  db.pragma(`analysis_limit = ${Math.max(0, Math.floor(analysisLimit))}`);
  // The first time, gather statistics for every table; afterwards only where they have drifted.
  if (!analyzedBefore) db.exec('ANALYZE');
  db.pragma('optimize = 0x10002');
  dropValueSamples(db);
  return { analyzedBefore };
}

/**
 * Keeps the row counts (sqlite_stat1) and drops the value samples (sqlite_stat4), which ANALYZE writes when
 * analysis_limit is 0. With samples, SQLite plans an indexed `column = ?` by the bound value, so every new binding
 * re-prepares the statement: each lookup by e-mail, key ID or word is parsed and planned again (measured: an e-mail
 * probe 0.8 µs without samples, 4.1 µs with). Our lookups are equality probes that row counts plan just as well.
 */
function dropValueSamples(db: Db): void {
  if (!tableExists(db, 'sqlite_stat4')) return;
  if ((db.prepare('SELECT count(*) FROM sqlite_stat4').pluck().get() as number) === 0) return;
  db.exec('DELETE FROM sqlite_stat4');
  db.exec('ANALYZE sqlite_schema'); // reload the statistics: connections re-read them with the schema
}

export interface VacuumResult {
  mode: 'incremental' | 'full' | 'skipped';
  /** Why nothing was done (mode skipped). */
  reason?: string;
  pagesBefore: number;
  pagesAfter: number;
  freeBefore: number;
  freeAfter: number;
  steps: number;
}

function pageCounts(db: Db): { pages: number; free: number } {
  return {
    pages: db.pragma('page_count', { simple: true }) as number,
    free: db.pragma('freelist_count', { simple: true }) as number,
  };
}

/** Returns free pages to the file system. A database in incremental auto-vacuum mode gives them back in steps of
 * `stepPages`, each its own short transaction. Any other database is rebuilt once with VACUUM (switching it to
 * incremental mode) when at least `minFreePercent` of it is free; VACUUM holds the write lock while it runs. */
export function vacuum(db: Db, opts: { stepPages: number; minFreePercent: number; fullMaxBytes: number }): VacuumResult {
  const before = pageCounts(db);
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  let reason: string | undefined;
  const autoVacuum = db.pragma('auto_vacuum', { simple: true }) as number;
  const step = Math.max(1, Math.floor(opts.stepPages));
  let steps = 0;
  let mode: VacuumResult['mode'] = 'skipped';
  if (autoVacuum === 2) {
    mode = 'incremental';
    for (let free = before.free; free > 0; ) {
      db.pragma(`incremental_vacuum(${step})`);
      steps++;
      const now = db.pragma('freelist_count', { simple: true }) as number;
      if (now >= free) break; // another writer freed pages as fast as we returned them
      free = now;
    }
  } else if (before.pages === 0 || (before.free * 100) / before.pages < opts.minFreePercent) {
    reason = `less than vacuum_min_free_percent (${opts.minFreePercent}%) of the database is free`;
  } else if (before.pages * pageSize > opts.fullMaxBytes) {
    reason = `the one-time rebuild to incremental auto-vacuum of ${before.pages * pageSize} bytes exceeds vacuum_full_max_bytes `
      + `(${opts.fullMaxBytes}); run it while the services are stopped with that setting raised`;
  } else {
    mode = 'full';
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
    steps = 1;
  }
  const after = pageCounts(db);
  return { mode, reason, pagesBefore: before.pages, pagesAfter: after.pages, freeBefore: before.free, freeAfter: after.free, steps };
}

/** PRAGMA integrity_check (or the faster quick_check, which skips matching indexes to their tables): ['ok'] or up
 * to `maxErrors` descriptions of what is wrong. */
export function integrityCheck(db: Db, maxErrors: number, quick = false): string[] {
  const pragma = quick ? 'quick_check' : 'integrity_check';
  const rows = db.pragma(`${pragma}(${Math.max(1, Math.floor(maxErrors))})`) as Array<Record<string, string>>;
  return rows.map((r) => r[pragma]!);
}

/** A consistent copy of the database in `file` (which must not exist), taken in one read transaction: writers go on
 * meanwhile (WAL) and nothing they commit after the copy began is in it. VACUUM INTO writes a compact file. */
export function backupInto(db: Db, file: string): void {
  db.prepare('VACUUM INTO ?').run(file);
}
