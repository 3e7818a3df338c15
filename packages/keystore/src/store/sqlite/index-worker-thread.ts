// Worker thread of the index build at the end of a bulk load (index-worker.ts): runs CREATE INDEX statements in one
// transaction on a connection of its own, then reports through the shared state word (1 done, 2 failed).
import { workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import Database from 'better-sqlite3';

interface IndexJob {
  file: string;
  sql: string[];
  cacheSize: number;
  threads: number;
  state: Int32Array;
  port: MessagePort;
}

const job = workerData as IndexJob;
let db: Database.Database | undefined;
try {
  db = new Database(job.file);
  db.pragma('busy_timeout = 60000');
  db.pragma('synchronous = OFF');
  db.pragma('temp_store = FILE');
  db.pragma(`cache_size = ${job.cacheSize}`);
  db.pragma(`threads = ${job.threads}`);
  db.exec('BEGIN IMMEDIATE');
  for (const s of job.sql) db.exec(s);
  db.exec('COMMIT');
  Atomics.store(job.state, 0, 1);
} catch (e) {
  job.port.postMessage(String((e as Error)?.message ?? e));
  Atomics.store(job.state, 0, 2);
} finally {
  try {
    db?.close();
  } catch {
    // closing after a failure: nothing left to report
  }
  Atomics.notify(job.state, 0);
  job.port.close();
}
