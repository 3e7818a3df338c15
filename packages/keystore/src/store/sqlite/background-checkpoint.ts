// Checkpoints off the writer's path. In WAL mode SQLite copies the log back into the database file (a checkpoint)
// inside the commit that takes the log past wal_autocheckpoint pages, so that one writer pays for everybody's
// pages, and with them two fsyncs. A recon batch of 100 new keys dirties ~1000 pages of 16 KiB (every index takes a
// random leaf per key), so nearly every such commit paid for one: 120-160 ms instead of 65-85 ms at 2M keys. A
// long-running writer (sks-recon, sks-db's upload path) instead has a thread of its own run a PASSIVE checkpoint
// every few hundred ms, on its own connection. PASSIVE never waits for readers or writers: it copies what no
// reader still needs and leaves the rest for the next round, and the next writer starts the log from its
// beginning again once it has all been copied.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from '../../log.js';

/** wal_autocheckpoint (pages) of a writer whose checkpoints run in the background: high enough that no ordinary
 * commit (a recon batch, an upload) reaches it, so it only matters when the background thread falls behind or is
 * gone; the log then grows to at most about this much (128 MiB at 16 KiB pages) before the writer copies it itself. */
export const BACKGROUND_WAL_AUTOCHECKPOINT = 8192;

/** SQLite's own default, for a writer without the thread. */
const SQLITE_WAL_AUTOCHECKPOINT = 1000;

/** How long stop() waits for the thread to close its connection. A PASSIVE checkpoint in progress finishes first;
 * past this the store closes anyway (the log then stays until the next open, which reads it: nothing is lost). */
const STOP_WAIT_MS = 5000;

// The thread is a few lines of plain JavaScript, evaluated rather than loaded from a module file: a module would
// need tsx registered in the thread when running from the TypeScript sources (tests), which costs more to start
// than the thread does in all. It takes better-sqlite3 by the path the main thread resolved.
const THREAD_CODE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.sqlite);
let db;
let failing = false;
const report = (e) => {
  if (!failing) parentPort.postMessage(String((e && e.message) || e));
  failing = true;
};
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
} catch (e) {
  report(e);
}
const timer = db && setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (e) {
    report(e);
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db && db.close(); } catch (e) { /* closing: nothing left to report to */ }
  const closed = new Int32Array(workerData.closed);
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  parentPort.close();
});
`;

export interface BackgroundCheckpoint {
  /** Ends the thread and returns once its connection is closed (at most STOP_WAIT_MS). Two connections closing at
   * the same moment each see the other still open, so neither would remove the log: the writer closes after. */
  stop(): void;
}

/** Starts the checkpoint thread for the database of `db` (a writable connection, whose own automatic checkpoint is
 * raised to BACKGROUND_WAL_AUTOCHECKPOINT). A failing checkpoint is logged once per run of failures. */
export function startBackgroundCheckpoint(db: Database.Database, intervalMs: number, logger?: Logger): BackgroundCheckpoint {
  // set to 1 by the thread once its connection is closed; stop() waits on it
  const closed = new SharedArrayBuffer(4);
  const worker = new Worker(THREAD_CODE, {
    eval: true,
    workerData: { file: db.name, intervalMs, closed, sqlite: createRequire(import.meta.url).resolve('better-sqlite3') },
  });
  let exited = false;
  worker.on('message', (m) => logger?.warn('background WAL checkpoint failed', { error: String(m) }));
  let stopped = false;
  worker.on('exit', () => {
    exited = true;
    if (stopped || !db.open) return;
    // the thread is gone while the store is open: the writer checkpoints for itself again, as SQLite does by default
    logger?.warn('background WAL checkpoint thread ended; the writer checkpoints itself from now on');
    db.pragma(`wal_autocheckpoint = ${SQLITE_WAL_AUTOCHECKPOINT}`);
  });
  worker.on('error', (e) => logger?.warn('background WAL checkpoint thread died', { error: e.message }));
  db.pragma(`wal_autocheckpoint = ${BACKGROUND_WAL_AUTOCHECKPOINT}`);
  // A process ends when its work does; an unfinished checkpoint is finished by the next one. (After the listeners:
  // adding a 'message' listener refs the worker again.)
  worker.unref();
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (exited) return;
      worker.postMessage('stop');
      Atomics.wait(new Int32Array(closed), 0, 0, STOP_WAIT_MS);
    },
  };
}
