// The bulk load's lifecycle in the SQLite backend: drop the big indexes, append batches, sort the indexes back and
// build the prefix tree once at the end (see beginBulkLoad).
import { BULK_INDEXES, missingIndexes } from '../schema.js';
import { FingerprintTable } from './fingerprint-table.js';
import { DIGEST_BYTES, computeRows, sortDigests } from '../../ptree/shape.js';
import { PTREE_STALE, type SqliteCore } from './core.js';
import { PAGES_STALE, makeAllPages } from './signer-names.js';
import { INDEX_SORT_CACHE_KIB, sortThreads, startIndexWorker } from './index-worker.js';

/** WAL pages between automatic checkpoints during a bulk load (SQLite's default is 1000): about 160 MB of WAL. */
const BULK_WAL_AUTOCHECKPOINT = 10000;

/** Starts a bulk load (sks-admin load of a keydump, before the store serves anyone): drops the indexes of
 * fingerprints, digests, key IDs and e-mail addresses (schema.ts BULK_INDEXES), so each batch appends to those
 * tables instead of inserting at random places in indexes larger than any cache (stored copies of keys are found
 * through a FingerprintTable in memory meanwhile); endBulkLoad() builds them again by sorting, and
 * builds the prefix tree once from the sorted digests (each batch only marks it stale, meta 'ptree_stale').
 * Keys, words, change log and blocklist work as always. Meanwhile lookups by digest, key ID and address scan whole
 * tables (slow, still correct) and the tree lags behind. With `synchronousOff` (default; setting
 * load_synchronous_off) commits do not wait for the disk and go through a rollback journal instead of the WAL
 * while no other connection is open (see below): a killed process loses nothing committed, an OS crash or power
 * loss may damage the file. If the load dies, the next writable open (without bulkLoad) builds the
 * indexes and the tree, so nothing stays broken. */
export function beginBulkLoad(core: SqliteCore, options: { synchronousOff?: boolean } = {}): void {
  void core.ws; // throws when read-only
  core.db.transaction(() => {
    for (const i of BULK_INDEXES) core.db.exec(`DROP INDEX IF EXISTS ${i.name}`);
  }).immediate();
  core.bulk = true;
  if (options.synchronousOff ?? true) {
    // No fsync per batch: a crash of the process loses nothing committed (the WAL is written before each commit
    // returns), but an OS crash or power loss during the load may leave a damaged file; load again from scratch.
    core.db.pragma('synchronous = OFF');
    // A rollback journal instead of the WAL while the load appends: pages added at the end of the file (most of
    // what a load writes) go to the database once, where the WAL wrote each twice (WAL, then checkpoint) and read it
    // back once. Pages that existed before a batch are copied to the journal first, so a killed loader still
    // leaves the last committed batch (the next open rolls the journal back). Only possible while no other
    // connection has the database open; otherwise the load stays in WAL mode. endBulkLoad (or the next writable
    // open) switches back to WAL. 1M generated keys: 6 instead of 12 s of commits.
    core.bulkJournal = trySetJournal(core, 'TRUNCATE', 0);
  }
  // Checkpoint every ~160 MB of WAL instead of every 16 MB: pages rewritten by several batches are copied once.
  core.db.pragma(`wal_autocheckpoint = ${BULK_WAL_AUTOCHECKPOINT}`);
  core.db.transaction(() => {
    // The stored copies of keys, found without keys_fingerprint (none for a first load; a resumed one reads the
    // fingerprints of the rows it has). After the journal switch, which counts as a change of the file.
    const n = core.db.prepare('SELECT count(*) FROM keys').pluck().get() as number;
    core.fprTable = new FingerprintTable(Math.max(n * 2, 1 << 16));
    for (const row of core.db.prepare('SELECT id, fingerprint FROM keys').raw().iterate() as Iterable<[number, Buffer]>) {
      core.fprTable.add(row[1], row[0]);
    }
    core.lastDataVersion = core.dataVersion();
  }).immediate();
  core.logger?.info('bulk load: indexes dropped', { indexes: BULK_INDEXES.map((i) => i.name) });
}

/** Ends a bulk load: builds the indexes beginBulkLoad() dropped (one sort each) and the prefix tree of the
 * stored digests (one sorted pass), if the load changed any. Returns the names of what it built ('ptree' for the
 * tree). Also what the next writable open does after a load that died. */
export function endBulkLoad(core: SqliteCore): string[] {
  void core.ws; // throws when read-only
  core.bulk = false;
  core.fprTable = undefined;
  // WAL again before the indexes are built: the tree is read while another connection builds indexes. Readers
  // that opened meanwhile may hold it up; if they do for longer than the busy timeout, the indexes are built in
  // rollback mode and the next writable open switches.
  if (core.bulkJournal) {
    if (trySetJournal(core, 'WAL')) core.bulkJournal = false;
    else core.logger?.warn('bulk load: readers kept the database from switching back to WAL; the next writable open will');
  }
  const built = finishBulkWork(core);
  core.db.pragma('synchronous = NORMAL');
  core.db.pragma('wal_autocheckpoint = 1000');
  // Everything the load wrote goes to the database file and to disk now (synchronous again).
  core.db.pragma('wal_checkpoint(TRUNCATE)');
  return built;
}

/** Sets the journal mode if SQLite can (a switch needs the database to itself), waiting at most `waitMs` (default:
 * the busy timeout) for other connections; true when the mode is set. */
function trySetJournal(core: SqliteCore, mode: 'TRUNCATE' | 'WAL', waitMs?: number): boolean {
  const timeout = core.db.pragma('busy_timeout', { simple: true }) as number;
  core.db.pragma(`busy_timeout = ${waitMs ?? timeout}`);
  try {
    return (core.db.pragma(`journal_mode = ${mode}`, { simple: true }) as string).toLowerCase() === mode.toLowerCase();
  } catch (e) {
    if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
    throw e;
  } finally {
    core.db.pragma(`busy_timeout = ${timeout}`);
  }
}

/** Builds what a bulk load left to its end (dropped indexes, a stale prefix tree), if anything. */
export function finishBulkWork(core: SqliteCore): string[] {
  const ws = core.ws;
  const stale = () => ws.getMeta.get(PTREE_STALE) !== undefined;
  const pagesStale = () => ws.getMeta.get(PAGES_STALE) !== undefined;
  if (missingIndexes(core.db).length === 0 && !stale() && !pagesStale()) return [];
  const t0 = Date.now();
  // Index builds sort every row: on disk, not in memory (temp_store = MEMORY would hold the whole sort in RAM),
  // in small runs on SQLite's helper threads (INDEX_SORT_CACHE_KIB).
  const cacheSize = core.db.pragma('cache_size', { simple: true }) as number;
  core.db.pragma('temp_store = FILE');
  core.db.pragma(`threads = ${sortThreads()}`);
  core.db.pragma(`cache_size = -${INDEX_SORT_CACHE_KIB}`);
  let built: string[];
  try {
    const early = finishInParallel(core, stale);
    built = core.db.transaction(() => {
      // checked again under the write lock: another process may have finished meanwhile
      const missing = missingIndexes(core.db);
      for (const i of BULK_INDEXES) if (missing.includes(i.name)) core.db.exec(i.sql);
      if (stale()) {
        core.tree.clear();
        ws.copyDigestsToTree.run();
        core.tree.rebuildNodes();
        ws.deleteMeta.run(PTREE_STALE);
        missing.push('ptree');
      }
      // after the indexes, by which the pages' signer names are looked up
      if (pagesStale()) {
        const n = makeAllPages(core.db, ws);
        ws.deleteMeta.run(PAGES_STALE);
        core.logger?.info('vindex listings: pages made', { listings: n });
        missing.push('listing pages');
      }
      return [...early, ...missing];
    }).immediate();
  } finally {
    core.db.pragma('temp_store = MEMORY');
    core.db.pragma('threads = 0');
    core.db.pragma(`cache_size = ${cacheSize}`);
  }
  if (built.length > 0) core.db.pragma('optimize');
  core.logger?.info('bulk load: indexes built', { indexes: built, ms: Date.now() - t0 });
  return built;
}

/** finishBulkWork on two threads, when the tree is stale and the database a file in WAL mode:  a worker thread
 * with a connection of its own builds the indexes while this one reads the digests (a table scan), sorts them and
 * computes the tree's nodes, and writes them once the worker has committed (if, under the write lock, no key was
 * written meanwhile). Returns what it built; what
 * it leaves (e.g. a worker that failed) is built by the caller, one thing after another. */
function finishInParallel(core: SqliteCore, stale: () => boolean): string[] {
  const file = core.db.name;
  if (core.db.memory || !file || !stale()) return [];
  if ((core.db.pragma('journal_mode', { simple: true }) as string).toLowerCase() !== 'wal') return [];
  const missing = BULK_INDEXES.filter((i) => missingIndexes(core.db).includes(i.name));
  // Every write of a key logs a change in its transaction: an unchanged AUTOINCREMENT counter means unchanged keys.
  const changeCounter = core.db.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), -1)").pluck();
  const before = changeCounter.get() as number;
  const job = missing.length > 0
    ? startIndexWorker(file, missing.map((i) => i.sql))
    : undefined;
  const built: string[] = [];
  let rows: ReturnType<typeof computeRows> | undefined;
  try {
    const digests = readKeyDigestsUnordered(core);
    rows = computeRows(digests.buf, digests.n);
  } catch (e) {
    // e.g. duplicate digests: the ordinary build below reports it (and the worker's unique index fails too)
    core.logger?.warn('bulk load: computing the prefix tree beside the index builds failed', { error: (e as Error).message });
  } finally {
    const err = job?.wait();
    if (err) core.logger?.warn('bulk load: index build on a second connection failed, building here', { error: err });
    else built.push(...missing.map((i) => i.name));
  }
  if (!rows) return built;
  core.db.transaction(() => {
    if (!stale()) return;
    if (changeCounter.get() !== before) {
      // another process wrote keys meanwhile: left to the ordinary build
      return;
    }
    core.tree.clear();
    core.ws.copyDigestsToTree.run();
    core.tree.writeRows(rows!);
    core.ws.deleteMeta.run(PTREE_STALE);
    built.push('ptree');
  }).immediate();
  return built;
}


/** The stored digests read in rowid order (a table scan: no index needed, so it can run while the indexes are
 * built), then sorted; checked 16 bytes each and distinct. Read in chunks of hex text (one string per 65 536
 * digests) rather than one Buffer per row: 1M digests take a fifth of the time. */
function readKeyDigestsUnordered(core: SqliteCore): { buf: Buffer; n: number } {
  const n = core.db.prepare('SELECT count(*) FROM keys').pluck().get() as number;
  const raw = Buffer.alloc(n * DIGEST_BYTES);
  const chunk = core.db.prepare("SELECT max(rowid) AS last, group_concat(h, '') AS hex FROM (SELECT rowid, hex(digest) AS h " +
    'FROM keys WHERE rowid > ? ORDER BY rowid LIMIT 65536)');
  let r = 0;
  let last = -1;
  while (r < n) {
    const c = chunk.get(last) as { last: number | null; hex: string | null };
    if (c.last === null || !c.hex) break;
    if (c.hex.length % (DIGEST_BYTES * 2) !== 0) throw new TypeError(`keys.digest holds values that are not ${DIGEST_BYTES}-byte digests`);
    const got = c.hex.length / (DIGEST_BYTES * 2);
    if (r + got > n) throw new Error('more digests than counted (changed while read)');
    raw.write(c.hex, r * DIGEST_BYTES, 'hex');
    r += got;
    last = c.last;
  }
  if (r !== n) throw new Error(`counted ${n} digests, read ${r}`);
  return { buf: sortDigests(raw, n), n };
}
