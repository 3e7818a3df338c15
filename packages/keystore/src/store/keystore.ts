// The shared SQLite key store: every read and write of keys by any process goes through this class.
// OWNER: keystore-store helper. Schema: schema.ts. Pure key preparation (worker threads): prepare.ts.
//
// Writes (addKeys, deleteKey, block) run in one IMMEDIATE transaction that also updates the prefix tree
// (ptree/) and the change log, so the tree can never drift from the stored keys.
import Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { MessageChannel, Worker, receiveMessageOnPort } from 'node:worker_threads';
import type { KeyInfo, Packet } from '../openpgp/types.js';
import { PrefixTree } from '../ptree/prefix-tree.js';
import { applyPolicy, policyFromSettings, type Policy, type PolicyCut, type RefusalReason } from '../policy.js';
import type { Logger } from '../log.js';
import { defaultSettings } from '../config/settings.js';
import { readPacketAt, readPackets, writePackets } from '../openpgp/packet.js';
import { toBinary } from '../openpgp/armor.js';
import { describeKey, keyIdOf, splitKeys } from '../openpgp/key.js';
import { mergeKeys } from '../openpgp/merge.js';
import { sksDigest } from '../openpgp/digest.js';
import { BULK_INDEXES, SCHEMA_VERSION, checkVersion, migrate, missingIndexes } from './schema.js';
import { FingerprintTable } from './fingerprint-table.js';
import { emailsOf, keyIdsOf, prepareKey, primaryFingerprint, shortOf, storedForm, uidText, unpackKeyIds } from './prepare.js';

export type WriteSource = 'load' | 'add' | 'recon' | 'admin';

export interface StoredKey {
  /** Upper-case hex fingerprint of the primary key. */
  fingerprint: string;
  /** Long key ID, 16 upper-case hex. */
  keyId: string;
  version: number;
  /** SKS digest of the stored key, 32 lower-case hex. */
  digest: string;
  /** The key as binary packets, exactly the bytes SKS would serve for it. */
  data: Buffer;
  /** Its description, parsed from data on first use (op=get never needs it). */
  info: KeyInfo;
  /** Unix seconds of first store and of last change. */
  firstSeen: number;
  updated: number;
  /** What policy removed from this key, if anything. */
  cuts: PolicyCut[];
}

export interface WriteOutcome {
  status: 'inserted' | 'updated' | 'unchanged' | 'rejected';
  fingerprint?: string;
  /** New digest (inserted/updated/unchanged). */
  digest?: string;
  /** Digest this write replaced (updated). */
  oldDigest?: string;
  reason?: RefusalReason;
  detail?: string;
  cuts?: PolicyCut[];
}

export interface Change {
  seq: number;
  op: 'add' | 'remove';
  digest: string;
  fingerprint: string;
  at: number;
}

export interface OpenOptions {
  readonly?: boolean;
  policy?: Partial<Policy>;
  logger?: Logger;
  /** How long a write waits for another process's write lock (default: setting db_busy_timeout_ms). */
  busyTimeoutMs?: number;
  /** SQLite page cache of this connection in MiB (default 64 writable, 16 read-only). The loader may raise it. */
  cacheMiB?: number;
  /** Open for a bulk load: see beginBulkLoad(); the indexes it drops are not rebuilt on opening. */
  bulkLoad?: boolean;
}

// --- bulk loading (sks-admin load) ------------------------------------------------------------------------------

/** One key made ready for storing without the database: canonical, policy applied, digested, described.
 * prepareKey() computes it; it is plain data, so loader worker threads can compute it and post it to the thread
 * that owns the store (Buffers arriving as Uint8Array after postMessage are accepted). */
export interface PreparedKey {
  /** Upper-case hex fingerprint of the primary key. */
  fingerprint: string;
  /** The same fingerprint as bytes, when the caller has them. */
  fprBytes?: Uint8Array;
  /** 16-byte SKS digest of `data`. */
  digest: Uint8Array;
  /** The canonical key after policy, as written by writePackets. */
  data: Uint8Array;
  /** Its description. May be left out when `stored` is given (the loader's workers send only that). */
  info?: KeyInfo;
  cuts: PolicyCut[];
  /** What the store writes for a new key, derived from `info` (storedForm()): computed by the loader's worker
   * threads so the thread that owns the store only binds parameters. Computed from `info` when absent. */
  stored?: StoredForm;
  /** The packets of `data`, when the caller has them anyway (saves a re-parse when merging with a stored copy). */
  packets?: Packet[];
}

/** The rows the store derives from a key's description (KeyInfo) when it inserts the key. Plain data. */
export interface StoredForm {
  version: number;
  /** key_ids rows packed: per row a 32-bit big-endian short ID, the fingerprint length (1 byte), the fingerprint,
   * and the 8-byte long ID. */
  keyIds: Uint8Array;
  /** key_emails rows: lower-case addresses, each once. */
  emails: string[];
  /** The user IDs' text for the word index, '' when none; or its UTF-8 bytes. */
  words: string | Uint8Array;
}

/** Result of preparing one key block: ready to store, or refused with a reason (stored by addKeyBlocks as a
 * 'rejected' outcome and counted in the load progress). */
export type PreparedBlock =
  | { ok: true; key: PreparedKey }
  | { ok: false; reason: RefusalReason; detail: string; fingerprint?: string };

/** A dump file as the loader saw it: a changed size or mtime means another file (its progress starts over). */
export interface FileIdentity {
  path: string;
  size: number;
  /** fs.Stats.mtimeMs (stored as whole milliseconds). */
  mtimeMs: number;
}

/** What addKeyBlocks records with a batch, in the batch's own transaction. */
export interface BatchProgress {
  file: FileIdentity;
  /** Byte offset in the file just after the last key of this batch: where a restart resumes reading. */
  offset: number;
  /** Extra counters of the caller to add to the file's totals (e.g. { read: 1000 }); the store adds its own
   * per outcome: inserted, updated, unchanged, rejected, and 'rejected:<reason>'. */
  counters?: Record<string, number>;
}

export interface LoadProgress {
  file: FileIdentity;
  /** Offset after the last committed batch. */
  offset: number;
  /** Totals over every committed batch of this file. */
  counters: Record<string, number>;
  /** Unix seconds of the last committed batch. */
  updated: number;
}

export { prepareKey, storedForm, emailsOf };
export { packPreparedBlocks, PackedBlockReader, PackedWriter } from './packed.js';

/** Input the store cannot read at all (bad armor, CRC mismatch, truncated packet stream): nothing was written.
 * HTTP callers answer 400. A readable key that is refused gives a 'rejected' outcome instead. */
export class KeyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyInputError';
  }
}

/** meta row present while the prefix tree lags behind the stored digests (a bulk load defers it to its end). */
const PTREE_STALE = 'ptree_stale';
/** Page size of a new store. Keys are stored whole in their rows (a public-keydump key averages 2 KB), and SQLite
 * writes, reads and balances a page at a time: with 16 KiB instead of SQLite's 4 KiB, loading 1M keys shaped like
 * the public keydump (2 GB) took 44.6 instead of 50.3 s and 13.5 instead of 21 s of system time, and the file is 10%
 * smaller. */
const PAGE_SIZE = 16384;
/** WAL pages between automatic checkpoints during a bulk load (SQLite's default is 1000): about 160 MB of WAL. */
const BULK_WAL_AUTOCHECKPOINT = 10000;

const HEX_FPR = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;
const EMAIL = /^[^\s<>@]+@[^\s<>@]+$/;

interface KeyRow {
  id: number;
  fingerprint: Buffer;
  digest: Buffer;
  version: number;
  data: Buffer;
  cuts: string | null;
  first_seen: number;
  updated: number;
}

const requireHere = createRequire(import.meta.url);

const KEY_COLUMNS = 'id, fingerprint, digest, version, data, cuts, first_seen, updated';

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Helper threads for SQLite's sorter while indexes are built. */
function sortThreads(): number {
  return Math.min(4, availableParallelism());
}

function fprBlob(hex: string): Buffer | undefined {
  return HEX_FPR.test(hex) ? Buffer.from(hex, 'hex') : undefined;
}

/** Page cache (KiB) of a connection while it builds indexes, which is also the memory of SQLite's sorter: it sorts
 * runs of this size (on helper threads, PRAGMA threads) and merges them. Small runs sort in the CPU's caches; one run
 * of 128 MiB (the loader's page cache) sorted 2-3 times slower. Measured on the indexes of 1M generated keys, one at a
 * time: 11.5 s with 128 MiB and no helper threads, 5.3 s with 4 MiB, 4.3 s with 2 MiB and two threads. */
const INDEX_SORT_CACHE_KIB = 2048;

/** Runs CREATE INDEX statements in one transaction on a connection of a worker thread of its own (plain JavaScript
 * with better-sqlite3: nothing to compile), so this thread can compute meanwhile. wait() blocks until the worker has
 * committed or failed and returns its error message, if any. */
function startIndexWorker(file: string, sql: string[]): { wait(): string | undefined } {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const code = `
    const { workerData } = require('node:worker_threads');
    const { state, port } = workerData;
    let db;
    try {
      db = new (require(workerData.sqlite))(workerData.file);
      db.pragma('busy_timeout = 60000');
      db.pragma('synchronous = OFF');
      db.pragma('temp_store = FILE');
      db.pragma('cache_size = ' + workerData.cacheSize);
      db.pragma('threads = ' + workerData.threads);
      db.exec('BEGIN IMMEDIATE');
      for (const s of workerData.sql) db.exec(s);
      db.exec('COMMIT');
      Atomics.store(state, 0, 1);
    } catch (e) {
      port.postMessage(String(e && e.message || e));
      Atomics.store(state, 0, 2);
    } finally {
      try { if (db) db.close(); } catch {}
      Atomics.notify(state, 0);
      port.close();
    }`;
  let worker: Worker;
  try {
    worker = new Worker(code, {
      eval: true, workerData: { file, sql, cacheSize: -INDEX_SORT_CACHE_KIB, threads: sortThreads(), state, port: port2, sqlite: requireHere.resolve('better-sqlite3') }, transferList: [port2],
    });
  } catch (e) {
    return { wait: () => String((e as Error).message) };
  }
  worker.unref();
  worker.on('error', () => undefined); // reported through `state`; an error before the try still ends the wait below
  worker.on('exit', () => {
    if (Atomics.load(state, 0) === 0) {
      Atomics.store(state, 0, 2);
      Atomics.notify(state, 0);
    }
  });
  return {
    wait: () => {
      while (Atomics.load(state, 0) === 0) Atomics.wait(state, 0, 0, 200);
      const m = Atomics.load(state, 0) === 1 ? undefined : (receiveMessageOnPort(port1)?.message ?? 'the index worker died');
      port1.close();
      return m === undefined ? undefined : String(m);
    },
  };
}

/** Counts an outcome as the load progress does: by status, and refusals also by reason. */
function countOutcome(counts: Record<string, number>, o: WriteOutcome): void {
  counts[o.status] = (counts[o.status] ?? 0) + 1;
  if (o.status === 'rejected') {
    const k = `rejected:${o.reason ?? 'unknown'}`;
    counts[k] = (counts[k] ?? 0) + 1;
  }
}

function tallyOutcomes(outcomes: WriteOutcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) countOutcome(counts, o);
  return counts;
}

/** Adds cut records of the same rule together. */
function combineCuts(...lists: PolicyCut[][]): PolicyCut[] {
  const byRule = new Map<string, PolicyCut>();
  for (const list of lists) {
    for (const c of list) {
      const had = byRule.get(c.rule);
      if (had) byRule.set(c.rule, { rule: c.rule, packets: had.packets + c.packets, detail: `${had.detail}; ${c.detail}` });
      else byRule.set(c.rule, { ...c });
    }
  }
  return [...byRule.values()];
}

/** Digests added and removed within one transaction, netted so an add then remove of the same digest is nothing. */
class TreeDelta {
  readonly added = new Map<string, Buffer>();
  readonly removed = new Map<string, Buffer>();
  /** Bulk load: only remember that the tree changed (it is built at the end). */
  touched = false;

  constructor(private readonly onlyTouch: boolean) {}

  add(d: Buffer): void {
    this.touched = true;
    if (this.onlyTouch) return;
    const k = d.toString('hex');
    if (this.removed.has(k)) this.removed.delete(k);
    else this.added.set(k, d);
  }

  remove(d: Buffer): void {
    this.touched = true;
    if (this.onlyTouch) return;
    const k = d.toString('hex');
    if (this.added.has(k)) this.added.delete(k);
    else this.removed.set(k, d);
  }
}

/** State of one write transaction. */
interface TxState {
  now: number;
  /** Whether the blocklist has any entry (read once per transaction: it is empty on most servers). */
  anyBlocked: boolean;
  tree: TreeDelta;
  countDelta: number;
  /** Word-index changes, applied at the end of the transaction in rowid order: FTS5 flushes its pending index on
   * every delete and every insert below the last rowid written, so doing them as they come would flush per key. */
  words: Map<number, { inIndex: boolean; text: string | Uint8Array }>;
  /** Key-ID and address rows to insert at the end of the transaction, sorted, so the inserts walk each index in
   * order (one visit per page) instead of jumping around it once per key. Keyed by key row id and by
   * `${email}\n${id}`; a delete in the same transaction drops pending rows. */
  ids: Map<number, Array<[number, number, Buffer, Buffer]>>;
  mails: Map<string, [string, number]>;
  /** Bulk load: rows of new keys for the key_ids, key_emails, changes and word-index tables, in the order they come
   * (flat parameter lists), written BULK_ROWS rows per statement (see RowBuffer). New keys get ascending row ids, so
   * their words go to the word index in rowid order at once; a merge's words still wait in `words`. */
  rows?: { ids: RowBuffer; mails: RowBuffer; changes: RowBuffer; words: RowBuffer };
  /** The caller counts outcomes only (loadKeyBlocks): an inserted key returns the shared INSERTED outcome. */
  countsOnly: boolean;
}

/** The outcome of every inserted key when only counts are wanted (no per-key object or strings in a bulk load). */
const INSERTED: WriteOutcome = Object.freeze({ status: 'inserted' });

/** Rows per multi-row INSERT of a bulk load: one statement call instead of one per row. */
const BULK_ROWS = 64;

/** Parameters of rows waiting to be inserted into one table, in order, BULK_ROWS at a time with `many` (a statement
 * of BULK_ROWS rows); flush() writes what is left with `one`. Order is kept, so the rows (and their rowids) are the
 * same as inserted one by one. */
class RowBuffer {
  private readonly params: unknown[] = [];

  constructor(private readonly cols: number, private readonly one: Database.Statement, private readonly many: Database.Statement) {}

  push(...values: unknown[]): void {
    for (const v of values) this.params.push(v);
    if (this.params.length >= BULK_ROWS * this.cols) {
      this.many.run(this.params);
      this.params.length = 0;
    }
  }

  flush(): void {
    const p = this.params;
    for (let i = 0; i < p.length; i += this.cols) this.one.run(p.slice(i, i + this.cols));
    p.length = 0;
  }
}

function multiRow(db: Database.Database, head: string, cols: number, row = `(${Array.from({ length: cols }, () => '?').join(', ')})`): Database.Statement {
  return db.prepare(`${head} VALUES ${Array.from({ length: BULK_ROWS }, () => row).join(', ')}`);
}

/** Writes the bulk rows still waiting: before anything reads or deletes rows of those tables, and at the end. */
function flushRows(tx: TxState): void {
  if (!tx.rows) return;
  tx.rows.ids.flush();
  tx.rows.mails.flush();
  tx.rows.changes.flush();
  tx.rows.words.flush();
}

function addKeyId(tx: TxState, short: number, id: number, fpr: Buffer, long: Buffer): void {
  const rows = tx.ids.get(id);
  if (rows) rows.push([short, id, fpr, long]);
  else tx.ids.set(id, [[short, id, fpr, long]]);
}

/** Records that key `id` should end the transaction with `text` in the word index ('' = not indexed). `inIndex`
 * says whether it is in the index now (only the first record of an id in a transaction counts). */
function setWords(tx: TxState, id: number, inIndex: boolean, text: string | Uint8Array): void {
  const had = tx.words.get(id);
  if (had) had.text = text;
  else tx.words.set(id, { inIndex, text });
}

function readStatements(db: Database.Database) {
  return {
    byFpr: db.prepare(`SELECT ${KEY_COLUMNS} FROM keys WHERE fingerprint = ?`),
    byDigest: db.prepare(`SELECT ${KEY_COLUMNS} FROM keys WHERE digest = ?`),
    byId: db.prepare(`SELECT ${KEY_COLUMNS} FROM keys WHERE id = ?`),
    idsByLong: db.prepare('SELECT DISTINCT key FROM key_ids WHERE short_id = ? AND long_id = ? ORDER BY key LIMIT ?').pluck(),
    idsByShort: db.prepare('SELECT DISTINCT key FROM key_ids WHERE short_id = ? ORDER BY key LIMIT ?').pluck(),
    idsByFpr: db.prepare('SELECT DISTINCT key FROM key_ids WHERE short_id = ? AND fingerprint = ? ORDER BY key LIMIT ?').pluck(),
    idsByV3Fpr: db.prepare(
      'SELECT DISTINCT key FROM key_ids WHERE length(fingerprint) = 16 AND fingerprint = ? ORDER BY key LIMIT ?').pluck(),
    idsByEmail: db.prepare('SELECT key FROM key_emails WHERE email = ? ORDER BY key LIMIT ?').pluck(),
    idsByWords: db.prepare('SELECT rowid FROM uid_words WHERE uid_words MATCH ? ORDER BY rowid LIMIT ?').pluck(),
    countByWords: db.prepare('SELECT count(*) FROM (SELECT rowid FROM uid_words WHERE uid_words MATCH ? LIMIT ?)').pluck(),
    isBlocked: db.prepare('SELECT 1 FROM blocklist WHERE fingerprint = ?').pluck(),
    blocklist: db.prepare('SELECT fingerprint, reason, added FROM blocklist ORDER BY added, fingerprint'),
    count: db.prepare("SELECT value FROM meta WHERE name = 'key_count'").pluck(),
    digests: db.prepare('SELECT digest FROM keys ORDER BY digest').pluck(),
    changes: db.prepare('SELECT seq, op, digest, fingerprint, at FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
    seqBounds: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM changes'),
    atOrAfter: db.prepare('SELECT seq, at FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1'),
    progress: db.prepare('SELECT path, size, mtime_ms, offset, counters, updated FROM load_progress WHERE path = ?'),
  };
}

function writeStatements(db: Database.Database) {
  return {
    digestById: db.prepare('SELECT digest FROM keys WHERE id = ?').pluck(),
    headByFpr: db.prepare('SELECT id, digest FROM keys WHERE fingerprint = ?'),
    /** A bulk load's check of a row the fingerprint table points at (FingerprintTable.find). */
    headById: db.prepare('SELECT id, digest, fingerprint FROM keys WHERE id = ?'),
    dataById: db.prepare('SELECT data, cuts FROM keys WHERE id = ?'),
    insertKey: db.prepare(
      'INSERT INTO keys (fingerprint, digest, version, data, cuts, first_seen, updated) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    anyBlocked: db.prepare('SELECT EXISTS (SELECT 1 FROM blocklist)').pluck(),
    getMeta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    deleteMeta: db.prepare('DELETE FROM meta WHERE name = ?'),
    updateKey: db.prepare('UPDATE keys SET digest = ?, version = ?, data = ?, cuts = ?, updated = ? WHERE id = ?'),
    deleteKey: db.prepare('DELETE FROM keys WHERE id = ?'),
    insertKeyId: db.prepare('INSERT INTO key_ids (short_id, key, fingerprint, long_id) VALUES (?, ?, ?, ?)'),
    deleteKeyIds: db.prepare('DELETE FROM key_ids WHERE short_id = ? AND key = ?'),
    insertEmail: db.prepare('INSERT INTO key_emails (email, key) VALUES (?, ?)'),
    insertKeyIdMany: multiRow(db, 'INSERT INTO key_ids (short_id, key, fingerprint, long_id)', 4),
    insertEmailMany: multiRow(db, 'INSERT INTO key_emails (email, key)', 2),
    logChangeMany: multiRow(db, 'INSERT INTO changes (op, digest, fingerprint, at)', 4),
    deleteEmail: db.prepare('DELETE FROM key_emails WHERE email = ? AND key = ?'),
    // words may be bound as UTF-8 bytes (StoredForm): CAST indexes them as text either way
    insertWords: db.prepare('INSERT INTO uid_words (rowid, uids) VALUES (?, CAST(? AS TEXT))'),
    insertWordsMany: multiRow(db, 'INSERT INTO uid_words (rowid, uids)', 2, '(?, CAST(? AS TEXT))'),
    deleteWords: db.prepare('DELETE FROM uid_words WHERE rowid = ?'),
    logChange: db.prepare('INSERT INTO changes (op, digest, fingerprint, at) VALUES (?, ?, ?, ?)'),
    addCount: db.prepare("UPDATE meta SET value = value + ? WHERE name = 'key_count'"),
    block: db.prepare('INSERT OR REPLACE INTO blocklist (fingerprint, reason, added) VALUES (?, ?, ?)'),
    unblock: db.prepare('DELETE FROM blocklist WHERE fingerprint = ?'),
    pruneChanges: db.prepare('DELETE FROM changes WHERE seq <= ?'),
    putProgress: db.prepare(
      'INSERT OR REPLACE INTO load_progress (path, size, mtime_ms, offset, counters, updated) VALUES (?, ?, ?, ?, ?, ?)'),
  };
}

export class KeyStore {
  readonly db!: Database.Database;
  readonly readonly: boolean;
  /** The schema version this open migrated the file from, if it did. */
  migratedFrom?: number;
  readonly policy: Policy;
  private readonly logger?: Logger;
  private readonly r: ReturnType<typeof readStatements>;
  private w?: ReturnType<typeof writeStatements>;
  private readonly prefixTree: PrefixTree;
  /** In a bulk load (beginBulkLoad .. endBulkLoad): the prefix tree waits for the end. */
  private bulk = false;
  /** The bulk load switched the database to a rollback journal (back to WAL at its end). */
  private bulkJournal = false;
  /** In a bulk load, while keys_fingerprint is dropped: where each stored key's row is (see FingerprintTable). */
  private fprTable?: FingerprintTable;
  /** PRAGMA data_version when this connection last wrote: another value means another connection wrote since. */
  private dataVersion?: Database.Statement;
  private lastDataVersion = -1;

  private constructor(db: Database.Database, readonly: boolean, policy: Policy, logger?: Logger) {
    this.db = db;
    this.readonly = readonly;
    this.policy = policy;
    this.logger = logger;
    this.r = readStatements(db);
    this.prefixTree = new PrefixTree(db);
  }

  /** Opens (creating and migrating when writable) the database at `file`, WAL mode, busy timeout set. */
  static open(file: string, options: OpenOptions = {}): KeyStore {
    try {
      return KeyStore.openOnce(file, options);
    } catch (e) {
      if (!options.readonly || (e as { code?: string }).code !== 'SQLITE_READONLY_ROLLBACK') throw e;
    }
    // A bulk load killed mid-batch left its rollback journal (beginBulkLoad): a read-only connection cannot roll it
    // back. Reading through a writable connection does (it changes nothing the load had committed); then open again.
    const w = new Database(file, { fileMustExist: true });
    try {
      w.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? defaultSettings().db_busy_timeout_ms))}`);
      w.pragma('user_version');
    } finally {
      w.close();
    }
    return KeyStore.openOnce(file, options);
  }

  private static openOnce(file: string, options: OpenOptions): KeyStore {
    const settings = defaultSettings();
    const readonly = options.readonly ?? false;
    let migratedFrom: number | undefined;
    const db = new Database(file, readonly ? { readonly: true, fileMustExist: true } : {});
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? settings.db_busy_timeout_ms))}`);
      if (readonly) {
        checkVersion(db, file);
      } else {
        // Takes effect only when this open creates the file (an existing store keeps its page size).
        db.pragma(`page_size = ${PAGE_SIZE}`);
        if ((db.pragma('journal_mode = WAL', { simple: true }) as string).toLowerCase() !== 'wal') {
          throw new Error(`${file}: could not switch the database to WAL mode`);
        }
        db.pragma('synchronous = NORMAL');
        const had = migrate(db, options.bulkLoad ?? false);
        if (had !== 0 && had !== SCHEMA_VERSION) {
          options.logger?.info('key store migrated', { file, from: had, to: SCHEMA_VERSION });
          migratedFrom = had;
        }
      }
      db.pragma('temp_store = MEMORY');
      db.pragma(`cache_size = -${Math.max(1, Math.floor(options.cacheMiB ?? (readonly ? 16 : 64))) * 1024}`);
      const policy = { ...policyFromSettings(settings), ...options.policy };
      const store = new KeyStore(db, readonly, policy, options.logger);
      store.migratedFrom = migratedFrom;
      if (options.bulkLoad && !readonly) store.beginBulkLoad();
      else if (!readonly) store.finishBulkWork();
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

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
  beginBulkLoad(options: { synchronousOff?: boolean } = {}): void {
    void this.ws; // throws when read-only
    this.db.transaction(() => {
      for (const i of BULK_INDEXES) this.db.exec(`DROP INDEX IF EXISTS ${i.name}`);
    }).immediate();
    this.bulk = true;
    if (options.synchronousOff ?? true) {
      // No fsync per batch: a crash of the process loses nothing committed (the WAL is written before each commit
      // returns), but an OS crash or power loss during the load may leave a damaged file; load again from scratch.
      this.db.pragma('synchronous = OFF');
      // A rollback journal instead of the WAL while the load appends: pages added at the end of the file (most of
      // what a load writes) go to the database once, where the WAL wrote each twice (WAL, then checkpoint) and read it
      // back once. Pages that existed before a batch are copied to the journal first, so a killed loader still
      // leaves the last committed batch (the next open rolls the journal back). Only possible while no other
      // connection has the database open; otherwise the load stays in WAL mode. endBulkLoad (or the next writable
      // open) switches back to WAL. 1M generated keys: 6 instead of 12 s of commits.
      this.bulkJournal = this.trySetJournal('TRUNCATE', 0);
    }
    // Checkpoint every ~160 MB of WAL instead of every 16 MB: pages rewritten by several batches are copied once.
    this.db.pragma(`wal_autocheckpoint = ${BULK_WAL_AUTOCHECKPOINT}`);
    this.db.transaction(() => {
      // The stored copies of keys, found without keys_fingerprint (none for a first load; a resumed one reads the
      // fingerprints of the rows it has). After the journal switch, which counts as a change of the file.
      const n = this.db.prepare('SELECT count(*) FROM keys').pluck().get() as number;
      this.fprTable = new FingerprintTable(Math.max(n * 2, 1 << 16));
      for (const row of this.db.prepare('SELECT id, fingerprint FROM keys').raw().iterate() as Iterable<[number, Buffer]>) {
        this.fprTable.add(row[1], row[0]);
      }
      this.lastDataVersion = this.readDataVersion();
    }).immediate();
    this.logger?.info('bulk load: indexes dropped', { indexes: BULK_INDEXES.map((i) => i.name) });
  }

  /** Ends a bulk load: builds the indexes beginBulkLoad() dropped (one sort each) and the prefix tree of the
   * stored digests (one sorted pass), if the load changed any. Returns the names of what it built ('ptree' for the
   * tree). Also what the next writable open does after a load that died. */
  endBulkLoad(): string[] {
    void this.ws; // throws when read-only
    this.bulk = false;
    this.fprTable = undefined;
    // WAL again before the indexes are built: the tree is read while another connection builds indexes. Readers
    // that opened meanwhile may hold it up; if they do for longer than the busy timeout, the indexes are built in
    // rollback mode and the next writable open switches.
    if (this.bulkJournal) {
      if (this.trySetJournal('WAL')) this.bulkJournal = false;
      else this.logger?.warn('bulk load: readers kept the database from switching back to WAL; the next writable open will');
    }
    const built = this.finishBulkWork();
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('wal_autocheckpoint = 1000');
    // Everything the load wrote goes to the database file and to disk now (synchronous again).
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    return built;
  }

  /** Sets the journal mode if SQLite can (a switch needs the database to itself), waiting at most `waitMs` (default:
   * the busy timeout) for other connections; true when the mode is set. */
  private trySetJournal(mode: 'TRUNCATE' | 'WAL', waitMs?: number): boolean {
    const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${waitMs ?? timeout}`);
    try {
      return (this.db.pragma(`journal_mode = ${mode}`, { simple: true }) as string).toLowerCase() === mode.toLowerCase();
    } catch (e) {
      if ((e as { code?: string }).code?.startsWith('SQLITE_BUSY')) return false;
      throw e;
    } finally {
      this.db.pragma(`busy_timeout = ${timeout}`);
    }
  }

  /** Builds what a bulk load left to its end (dropped indexes, a stale prefix tree), if anything. */
  private finishBulkWork(): string[] {
    const ws = this.ws;
    const stale = () => ws.getMeta.get(PTREE_STALE) !== undefined;
    if (missingIndexes(this.db).length === 0 && !stale()) return [];
    const t0 = Date.now();
    // Index builds sort every row: on disk, not in memory (temp_store = MEMORY would hold the whole sort in RAM),
    // in small runs on SQLite's helper threads (INDEX_SORT_CACHE_KIB).
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('temp_store = FILE');
    this.db.pragma(`threads = ${sortThreads()}`);
    this.db.pragma(`cache_size = -${INDEX_SORT_CACHE_KIB}`);
    let built: string[];
    try {
      const early = this.finishInParallel(stale);
      built = this.db.transaction(() => {
        // checked again under the write lock: another process may have finished meanwhile
        const missing = missingIndexes(this.db);
        for (const i of BULK_INDEXES) if (missing.includes(i.name)) this.db.exec(i.sql);
        if (stale()) {
          this.prefixTree.rebuildFromQuery('SELECT digest FROM keys');
          ws.deleteMeta.run(PTREE_STALE);
          missing.push('ptree');
        }
        return [...early, ...missing];
      }).immediate();
    } finally {
      this.db.pragma('temp_store = MEMORY');
      this.db.pragma('threads = 0');
      this.db.pragma(`cache_size = ${cacheSize}`);
    }
    if (built.length > 0) this.db.pragma('optimize');
    this.logger?.info('bulk load: indexes built', { indexes: built, ms: Date.now() - t0 });
    return built;
  }

  /** finishBulkWork on two threads, when the tree is stale and the database a file in WAL mode:  a worker thread
   * with a connection of its own builds the indexes while this one reads the digests (a table scan), sorts them and
   * computes the tree's nodes, and writes them once the worker has committed (if, under the write lock, no key was
   * written meanwhile). Returns what it built; what
   * it leaves (e.g. a worker that failed) is built by the caller, one thing after another. */
  private finishInParallel(stale: () => boolean): string[] {
    const file = this.db.name;
    if (this.db.memory || !file || !stale()) return [];
    if ((this.db.pragma('journal_mode', { simple: true }) as string).toLowerCase() !== 'wal') return [];
    const missing = BULK_INDEXES.filter((i) => missingIndexes(this.db).includes(i.name));
    // Every write of a key logs a change in its transaction: an unchanged AUTOINCREMENT counter means unchanged keys.
    const changeCounter = this.db.prepare("SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'changes'), -1)").pluck();
    const before = changeCounter.get() as number;
    const job = missing.length > 0
      ? startIndexWorker(file, missing.map((i) => i.sql))
      : undefined;
    const built: string[] = [];
    let rows: ReturnType<PrefixTree['computeRows']> | undefined;
    try {
      const digests = this.prefixTree.readDigestsUnordered('keys', 'digest');
      rows = this.prefixTree.computeRows(digests.buf, digests.n);
    } catch (e) {
      // e.g. duplicate digests: the ordinary build below reports it (and the worker's unique index fails too)
      this.logger?.warn('bulk load: computing the prefix tree beside the index builds failed', { error: (e as Error).message });
    } finally {
      const err = job?.wait();
      if (err) this.logger?.warn('bulk load: index build on a second connection failed, building here', { error: err });
      else built.push(...missing.map((i) => i.name));
    }
    if (!rows) return built;
    this.db.transaction(() => {
      if (!stale()) return;
      if (changeCounter.get() !== before) {
        // another process wrote keys meanwhile: left to the ordinary build
        return;
      }
      this.prefixTree.writeBuilt('SELECT digest FROM keys', rows!);
      this.ws.deleteMeta.run(PTREE_STALE);
      built.push('ptree');
    }).immediate();
    return built;
  }

  /** The prefix tree of the stored digests (same connection; updated in every write transaction). */
  get tree(): PrefixTree {
    return this.prefixTree;
  }

  // --- writes -------------------------------------------------------------------------------------------------

  private get ws(): ReturnType<typeof writeStatements> {
    if (this.readonly) throw new Error('the key store is open read-only');
    return (this.w ??= writeStatements(this.db));
  }

  /** Runs `fn` in one IMMEDIATE transaction, then applies the netted tree changes and the key counter in it. */
  private write<T>(fn: (tx: TxState) => T, countsOnly = false): T {
    const ws = this.ws;
    return this.db.transaction(() => {
      if (this.fprTable) this.checkForeignWrites();
      const tx: TxState = {
        now: Math.floor(Date.now() / 1000), anyBlocked: ws.anyBlocked.get() === 1, tree: new TreeDelta(this.bulk), countDelta: 0,
        words: new Map(), ids: new Map(), mails: new Map(), countsOnly,
      };
      if (this.bulk) {
        tx.rows = {
          ids: new RowBuffer(4, ws.insertKeyId, ws.insertKeyIdMany),
          mails: new RowBuffer(2, ws.insertEmail, ws.insertEmailMany),
          changes: new RowBuffer(4, ws.logChange, ws.logChangeMany),
          words: new RowBuffer(2, ws.insertWords, ws.insertWordsMany),
        };
      }
      const result = fn(tx);
      flushRows(tx);
      if (tx.ids.size > 0) {
        const rows = [...tx.ids.values()].flat();
        rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        for (const [short, id, fpr, long] of rows) ws.insertKeyId.run(short, id, fpr, long);
      }
      if (tx.mails.size > 0) {
        const rows = [...tx.mails.values()];
        rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
        for (const [email, id] of rows) ws.insertEmail.run(email, id);
      }
      if (tx.words.size > 0) {
        const ids = [...tx.words.keys()].sort((a, b) => a - b);
        for (const id of ids) if (tx.words.get(id)!.inIndex) ws.deleteWords.run(id);
        for (const id of ids) {
          const text = tx.words.get(id)!.text;
          if (text.length > 0) ws.insertWords.run(id, typeof text === 'string' ? text : toBuffer(text));
        }
      }
      if (this.bulk) {
        // Bulk load: the tree is built once from the stored digests when the load ends (endBulkLoad), or by the next
        // writable open if the load dies. Marked in the same transaction, so no commit leaves a stale tree unmarked.
        if (tx.tree.touched) ws.setMeta.run(PTREE_STALE, 1);
      } else {
        // In byte order, so element inserts and node updates walk the tree in order.
        if (tx.tree.removed.size > 0) this.prefixTree.removeMany([...tx.tree.removed.values()].sort(Buffer.compare));
        if (tx.tree.added.size > 0) this.prefixTree.insertMany([...tx.tree.added.values()].sort(Buffer.compare));
      }
      if (tx.countDelta !== 0) ws.addCount.run(tx.countDelta);
      if (this.fprTable) this.lastDataVersion = this.readDataVersion();
      return result;
    }).immediate();
  }

  private readDataVersion(): number {
    return (this.dataVersion ??= this.db.prepare('PRAGMA data_version').pluck()).get() as number;
  }

  /** In a bulk load: if another connection committed since our last write (its keys are not in the fingerprint
   * table, and the rows may even have moved), give up the table and build keys_fingerprint now, inside this
   * transaction; the rest of the load finds stored copies by the index. Bulk loads are meant for a store nobody
   * else writes to yet, so this is the exception. */
  private checkForeignWrites(): void {
    if (this.readDataVersion() === this.lastDataVersion) return;
    this.fprTable = undefined;
    const t0 = Date.now();
    this.db.exec(BULK_INDEXES.find((i) => i.name === 'keys_fingerprint')!.sql);
    this.logger?.warn('bulk load: another connection wrote to the store; stored copies are found by keys_fingerprint from now on',
      { ms: Date.now() - t0 });
  }

  /** Parses `input` (binary or armored, any number of keys), applies policy and blocklist, merges each key with
   * its stored copy, and stores the result; all in one transaction. One outcome per key found in the input.
   * Throws KeyInputError (nothing written) when the input cannot be read as armor or as a packet stream; a key
   * that reads but is refused gets a 'rejected' outcome. */
  addKeys(input: Buffer | string, source: WriteSource): WriteOutcome[] {
    let packets: Packet[];
    try {
      packets = readPackets(toBinary(input));
    } catch (e) {
      throw new KeyInputError((e as Error).message);
    }
    return this.addKeyBlocks(splitKeys(packets), source);
  }

  /** Bulk write for the loader: stores a batch of keys (raw packet groups as splitKeys returns them, or blocks
   * prepared by prepareKey) in ONE transaction, merging with stored copies and with earlier keys of the same batch,
   * checking the blocklist, updating the prefix tree and change log; and, when `progress` is given, records the
   * file's load progress in that same transaction, so after a crash loadProgress() tells exactly where to resume
   * and nothing is loaded twice. One outcome per element of `keys`, in order.
   * Batch size matters: each commit rewrites every index page the batch touched, so large batches write far less
   * per key (measured at 90k keys: 2.6 pages written per key with batches of 1000 keys, 0.86 with 5000, 0.51 with
   * 20000). For a keydump use 10000-20000 keys per batch, cacheMiB of a few hundred, and bulkLoad. */
  addKeyBlocks(keys: Iterable<Packet[] | PreparedBlock>, source: WriteSource, progress?: BatchProgress): WriteOutcome[] {
    const outcomes = this.write((tx) => {
      const out: WriteOutcome[] = [];
      for (const k of keys) out.push(this.storeOne(k, tx));
      if (progress) this.recordProgress(progress, tallyOutcomes(out), tx.now);
      return out;
    });
    if (this.logger?.isLevelEnabled('debug')) this.logger.debug('keys written', { source, ...tallyOutcomes(outcomes) });
    return outcomes;
  }

  /** addKeyBlocks for the loader, which only counts: returns how many keys ended 'inserted', 'updated',
   * 'unchanged', 'rejected' and 'rejected:<reason>', without an outcome object per key. */
  loadKeyBlocks(keys: Iterable<Packet[] | PreparedBlock>, progress?: BatchProgress): Record<string, number> {
    const tally = this.write((tx) => {
      const counts: Record<string, number> = {};
      for (const k of keys) countOutcome(counts, this.storeOne(k, tx));
      if (progress) this.recordProgress(progress, counts, tx.now);
      return counts;
    }, true);
    if (this.logger?.isLevelEnabled('debug')) this.logger.debug('keys written', { source: 'load', ...tally });
    return tally;
  }

  private recordProgress(p: BatchProgress, tally: Record<string, number>, now: number): void {
    const mtime = Math.trunc(p.file.mtimeMs);
    const row = this.r.progress.get(p.file.path) as ProgressRow | undefined;
    const counters: Record<string, number> =
      row && row.size === p.file.size && row.mtime_ms === mtime ? (JSON.parse(row.counters) as Record<string, number>) : {};
    const bump = (name: string, n: number) => (counters[name] = (counters[name] ?? 0) + n);
    for (const [name, n] of Object.entries(tally)) bump(name, n);
    for (const [name, n] of Object.entries(p.counters ?? {})) bump(name, n);
    this.ws.putProgress.run(p.file.path, p.file.size, mtime, p.offset, JSON.stringify(counters), now);
  }

  /** Stores one key inside the current transaction. Everything that can fail for a reason of the key itself is
   * computed before the first write for it; a failure after that aborts the whole transaction. */
  private storeOne(input: Packet[] | PreparedBlock, tx: TxState): WriteOutcome {
    const ws = this.ws;
    let block: PreparedBlock;
    if (Array.isArray(input)) {
      const fp = primaryFingerprint(input);
      if (fp !== undefined && tx.anyBlocked && this.isBlockedBlob(Buffer.from(fp, 'hex'))) {
        return { status: 'rejected', fingerprint: fp, reason: 'blocklisted', detail: 'the key is on this server\'s blocklist' };
      }
      block = prepareKey(input, this.policy);
    } else {
      block = input;
    }
    if (!block.ok) return { status: 'rejected', fingerprint: block.fingerprint, reason: block.reason, detail: block.detail };
    const key = block.key;
    const fpr = key.fprBytes ? toBuffer(key.fprBytes) : Buffer.from(key.fingerprint, 'hex');
    if (tx.anyBlocked && this.isBlockedBlob(fpr)) {
      return { status: 'rejected', fingerprint: key.fingerprint.toUpperCase(), reason: 'blocklisted', detail: 'the key is on this server\'s blocklist' };
    }
    const digest = toBuffer(key.digest);
    let head = this.headOf(fpr);

    if (!head) {
      if (!key.stored && !key.info) throw new TypeError('a prepared key needs info or stored');
      const form = key.stored ?? storedForm(key.info!);
      const cuts = key.cuts.length > 0 ? key.cuts : undefined;
      let id: number;
      try {
        const r = ws.insertKey.run(fpr, digest, form.version, toBuffer(key.data), cuts ? JSON.stringify(cuts) : null, tx.now, tx.now);
        id = Number(r.lastInsertRowid);
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
        // Only the statement failed; the transaction goes on without this key.
        return { status: 'rejected', fingerprint: key.fingerprint.toUpperCase(), reason: 'malformed', detail: 'another stored key has the same digest' };
      }
      this.fprTable?.add(fpr, id);
      this.indexStored(id, form, tx);
      if (tx.rows) tx.rows.changes.push(1, digest, fpr, tx.now);
      else ws.logChange.run(1, digest, fpr, tx.now);
      tx.tree.add(digest);
      tx.countDelta++;
      if (tx.countsOnly) return INSERTED;
      return { status: 'inserted', fingerprint: key.fingerprint.toUpperCase(), digest: digest.toString('hex'), cuts };
    }
    // a merge may delete key-ID and address rows and logs changes: the rows of earlier keys go first
    flushRows(tx);
    const fingerprint = key.fingerprint.toUpperCase();

    const oldDigest = head.digest.toString('hex');
    if (head.digest.equals(digest)) return { status: 'unchanged', fingerprint, digest: oldDigest };

    // Merge with the stored copy, then apply policy again to the merged key (deterministic, so peers agree).
    let merged: { packets: Packet[]; info: KeyInfo; digest: Buffer; cuts: PolicyCut[] };
    const stored = ws.dataById.get(head.id) as { data: Buffer; cuts: string | null };
    let oldInfo: KeyInfo;
    try {
      const incoming = key.packets?.map((p) => ({ tag: p.tag, body: toBuffer(p.body) })) ?? readPackets(toBuffer(key.data));
      const storedPackets = readPackets(stored.data);
      oldInfo = describeKey(storedPackets);
      const outcome = applyPolicy(mergeKeys(storedPackets, incoming), this.policy);
      if (!outcome.ok) return { status: 'rejected', fingerprint, reason: outcome.reason, detail: `merged with the stored copy: ${outcome.detail}` };
      merged = { packets: outcome.key, info: describeKey(outcome.key), digest: sksDigest(outcome.key), cuts: outcome.cuts };
    } catch (e) {
      return { status: 'rejected', fingerprint, reason: 'malformed', detail: `merging with the stored copy failed: ${(e as Error).message}` };
    }
    if (merged.digest.equals(head.digest)) return { status: 'unchanged', fingerprint, digest: oldDigest };

    const oldCuts = stored.cuts ? (JSON.parse(stored.cuts) as PolicyCut[]) : [];
    const cuts = combineCuts(oldCuts, key.cuts, merged.cuts);
    try {
      ws.updateKey.run(merged.digest, merged.info.version, writePackets(merged.packets),
        cuts.length > 0 ? JSON.stringify(cuts) : null, tx.now, head.id);
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw e;
      return { status: 'rejected', fingerprint, reason: 'malformed', detail: 'another stored key has the same digest' };
    }
    this.reindexKey(head.id, oldInfo, merged.info, tx);
    ws.logChange.run(0, head.digest, fpr, tx.now);
    ws.logChange.run(1, merged.digest, fpr, tx.now);
    tx.tree.remove(head.digest);
    tx.tree.add(merged.digest);
    const newCuts = combineCuts(key.cuts, merged.cuts);
    return {
      status: 'updated', fingerprint, digest: merged.digest.toString('hex'), oldDigest,
      cuts: newCuts.length > 0 ? newCuts : undefined,
    };
  }

  /** The stored row of this primary fingerprint: by the keys_fingerprint index, or in a bulk load (index dropped)
   * through the fingerprint table, whose every "maybe" is checked against the row. */
  private headOf(fpr: Buffer): { id: number; digest: Buffer } | undefined {
    const ws = this.ws;
    if (!this.fprTable) return ws.headByFpr.get(fpr) as { id: number; digest: Buffer } | undefined;
    let head: { id: number; digest: Buffer } | undefined;
    this.fprTable.find(fpr, (id) => {
      const row = ws.headById.get(id) as { id: number; digest: Buffer; fingerprint: Buffer } | undefined;
      if (!row || !row.fingerprint.equals(fpr)) return false; // a hash collision, or a row deleted since
      head = { id: row.id, digest: row.digest };
      return true;
    });
    return head;
  }

  private indexStored(id: number, form: StoredForm, tx: TxState): void {
    if (this.bulk) {
      // No index on these tables during a bulk load: rows append in any order, so they need not wait and be sorted.
      const ws = this.ws;
      const rows = tx.rows!;
      for (const [short, fpr, long] of unpackKeyIds(form.keyIds)) rows.ids.push(short, id, fpr, long);
      for (const email of form.emails) rows.mails.push(email, id);
      if (form.words.length > 0) rows.words.push(id, typeof form.words === 'string' ? form.words : toBuffer(form.words));
      return;
    }
    for (const [short, fpr, long] of unpackKeyIds(form.keyIds)) addKeyId(tx, short, id, fpr, long);
    for (const email of form.emails) tx.mails.set(`${email}\n${id}`, [email, id]);
    setWords(tx, id, false, form.words);
  }

  /** Brings a key's IDs, addresses and words from `before` to `after`, touching only what changed: most updates
   * only add signatures, and an FTS5 delete is costly (it flushes the pending index of the whole transaction). */
  private reindexKey(id: number, before: KeyInfo, after: KeyInfo, tx: TxState): void {
    const ws = this.ws;
    const idTag = (x: [number, Buffer, Buffer]) => `${x[0]}:${x[1].toString('hex')}`;
    const oldIds = keyIdsOf(before);
    const newIds = keyIdsOf(after);
    const newTags = new Set(newIds.map(idTag));
    const oldTags = new Set(oldIds.map(idTag));
    if (oldIds.some((x) => !newTags.has(idTag(x)))) {
      // A key ID went away (rare): rewrite them all, since rows are deleted per short ID.
      for (const [short] of oldIds) this.deleteKeyIds(tx, short, id);
      for (const [short, fpr, long] of newIds) addKeyId(tx, short, id, fpr, long);
    } else {
      for (const x of newIds) if (!oldTags.has(idTag(x))) addKeyId(tx, x[0], id, x[1], x[2]);
    }
    const oldMails = new Set(emailsOf(before));
    const newMails = new Set(emailsOf(after));
    for (const m of oldMails) if (!newMails.has(m)) this.deleteEmail(tx, m, id);
    for (const m of newMails) if (!oldMails.has(m)) tx.mails.set(`${m}\n${id}`, [m, id]);
    const oldText = uidText(before);
    const newText = uidText(after);
    if (oldText !== newText || tx.words.has(id)) setWords(tx, id, oldText !== '', newText);
  }

  private deleteKeyIds(tx: TxState, short: number, id: number): void {
    const rows = tx.ids.get(id);
    if (rows) tx.ids.set(id, rows.filter((r) => r[0] !== short));
    this.ws.deleteKeyIds.run(short, id);
  }

  private deleteEmail(tx: TxState, email: string, id: number): void {
    tx.mails.delete(`${email}\n${id}`);
    this.ws.deleteEmail.run(email, id);
  }

  private unindexKey(id: number, info: KeyInfo, tx: TxState): void {
    const ws = this.ws;
    for (const [short] of keyIdsOf(info)) this.deleteKeyIds(tx, short, id);
    for (const email of emailsOf(info)) this.deleteEmail(tx, email, id);
    setWords(tx, id, uidText(info) !== '', '');
  }

  /** Removes the stored key with this fingerprint inside the current transaction. */
  private removeStored(fpr: Buffer, tx: TxState): boolean {
    flushRows(tx);
    const ws = this.ws;
    const head = this.headOf(fpr);
    if (!head) return false;
    const info = describeKey(readPackets((ws.dataById.get(head.id) as { data: Buffer }).data));
    this.unindexKey(head.id, info, tx);
    ws.deleteKey.run(head.id);
    ws.logChange.run(0, head.digest, fpr, tx.now);
    tx.tree.remove(head.digest);
    tx.countDelta--;
    return true;
  }

  /** Removes a key by fingerprint (records the removal in the change log). */
  deleteKey(fingerprint: string, reason: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) throw new Error(`not a fingerprint (32, 40 or 64 hex digits): ${fingerprint}`);
    const removed = this.write((tx) => this.removeStored(fpr, tx));
    if (removed) this.logger?.info('key deleted', { fingerprint: fingerprint.toUpperCase(), reason });
    return removed;
  }

  /** Adds a primary fingerprint to the blocklist and removes its stored copy. Returns true if a key was removed. */
  block(fingerprint: string, reason: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) throw new Error(`not a fingerprint (32, 40 or 64 hex digits): ${fingerprint}`);
    const removed = this.write((tx) => {
      this.ws.block.run(fpr, reason, tx.now);
      return this.removeStored(fpr, tx);
    });
    this.logger?.info('key blocked', { fingerprint: fingerprint.toUpperCase(), reason, removed });
    return removed;
  }

  unblock(fingerprint: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) return false;
    return this.write(() => this.ws.unblock.run(fpr).changes > 0);
  }

  isBlocked(fingerprint: string): boolean {
    const fpr = fprBlob(fingerprint);
    return fpr !== undefined && this.isBlockedBlob(fpr);
  }

  private isBlockedBlob(fpr: Buffer): boolean {
    return this.r.isBlocked.get(fpr) !== undefined;
  }

  blocklist(): Array<{ fingerprint: string; reason: string; added: number }> {
    return (this.r.blocklist.all() as Array<{ fingerprint: Buffer; reason: string; added: number }>).map((r) => ({
      fingerprint: r.fingerprint.toString('hex').toUpperCase(), reason: r.reason, added: r.added,
    }));
  }

  /** Progress recorded for this file, or undefined if never loaded or if its size/mtime changed since. */
  loadProgress(file: FileIdentity): LoadProgress | undefined {
    const row = this.r.progress.get(file.path) as ProgressRow | undefined;
    if (!row || row.size !== file.size || row.mtime_ms !== Math.trunc(file.mtimeMs)) return undefined;
    return {
      file: { path: row.path, size: row.size, mtimeMs: row.mtime_ms },
      offset: row.offset,
      counters: JSON.parse(row.counters) as Record<string, number>,
      updated: row.updated,
    };
  }

  // --- reads --------------------------------------------------------------------------------------------------

  getByFingerprint(fingerprint: string): StoredKey | undefined {
    const fpr = fprBlob(fingerprint);
    return fpr ? toStored(this.r.byFpr.get(fpr) as KeyRow | undefined) : undefined;
  }

  /** Digest as 32 hex digits (any case). */
  getByDigest(digest: string): StoredKey | undefined {
    if (!/^[0-9a-fA-F]{32}$/.test(digest)) return undefined;
    return toStored(this.r.byDigest.get(Buffer.from(digest, 'hex')) as KeyRow | undefined);
  }

  /** Keys whose primary key or a subkey has this key ID (8 or 16 hex) or fingerprint (32, 40 or 64 hex). */
  findByKeyId(hex: string, limit = -1): StoredKey[] {
    const h = hex.replace(/^0x/i, '');
    if (!/^[0-9a-fA-F]+$/.test(h)) return [];
    let ids: number[];
    switch (h.length) {
      case 8:
        ids = this.r.idsByShort.all(parseInt(h, 16), limit) as number[];
        break;
      case 16:
        ids = this.r.idsByLong.all(shortOf(h), Buffer.from(h, 'hex'), limit) as number[];
        break;
      case 40: // v4: the key ID is the low 64 bits of the fingerprint
        ids = this.r.idsByFpr.all(shortOf(h.slice(24)), Buffer.from(h, 'hex'), limit) as number[];
        break;
      case 64: // v6: the key ID is the high 64 bits of the fingerprint
        ids = this.r.idsByFpr.all(shortOf(h.slice(0, 16)), Buffer.from(h, 'hex'), limit) as number[];
        break;
      case 32: // v3: MD5 fingerprint, unrelated to the key ID
        ids = this.r.idsByV3Fpr.all(Buffer.from(h, 'hex'), limit) as number[];
        break;
      default:
        return [];
    }
    return this.keysById(ids);
  }

  private keysById(ids: number[]): StoredKey[] {
    const out: StoredKey[] = [];
    for (const id of ids) {
      const k = toStored(this.r.byId.get(id) as KeyRow | undefined);
      if (k) out.push(k);
    }
    return out;
  }

  /** Keys with a user ID containing every word of `query` (case-insensitive), or exactly the e-mail address if
   * query is one. `exact` requires a user ID equal to the query. Returns at most `limit` keys; `total` counts all,
   * or stops counting at `countLimit` when given (a word in millions of keys costs seconds to count in full; pass
   * the most results you would serve plus one to learn only whether there are more). */
  searchText(query: string, limit: number, exact = false, countLimit = -1): { keys: StoredKey[]; total: number } {
    let q = query.trim();
    const bracketed = /^<([^<>\s]+@[^<>\s]+)>$/.exec(q);
    if (bracketed) q = bracketed[1]!;
    const lim = Math.max(0, Math.floor(limit));
    const countCap = countLimit < 0 ? -1 : Math.max(lim, Math.floor(countLimit));
    if (EMAIL.test(q)) {
      const email = q.toLowerCase();
      const ids = this.r.idsByEmail.all(email, countCap) as number[];
      return { keys: this.keysById(ids.slice(0, lim)), total: ids.length };
    }
    if (!exact) {
      const match = ftsQuery(q);
      if (match === undefined) return { keys: [], total: 0 };
      const total = this.r.countByWords.get(match, countCap) as number;
      return { keys: this.keysById(this.r.idsByWords.all(match, lim) as number[]), total };
    }
    // Exact: some user ID equals the query (case-insensitive). The word index finds the keys with all of the
    // query's words, the stored description decides.
    const match = ftsQuery(q);
    if (match === undefined) return { keys: [], total: 0 };
    const want = q.toLowerCase();
    const keys: StoredKey[] = [];
    let total = 0;
    for (const id of this.r.idsByWords.iterate(match, -1) as Iterable<number>) {
      const k = toStored(this.r.byId.get(id) as KeyRow | undefined);
      if (!k || !k.info.userIds.some((u) => u.kind === 'uid' && u.text.trim().toLowerCase() === want)) continue;
      total++;
      if (keys.length < lim) keys.push(k);
      if (total === countCap) break;
    }
    return { keys, total };
  }

  count(): number {
    return this.r.count.get() as number;
  }

  /** Every stored digest (16-byte Buffers), in byte order. The connection is busy until the iteration ends. */
  *digests(): IterableIterator<Buffer> {
    yield* this.r.digests.iterate() as IterableIterator<Buffer>;
  }

  /** The sequence number to pass to changesSince() to read the changes made at or after `unixSeconds` (e.g. the
   * last week for the stats page) without reading the whole log. Binary search on seq: change times follow seq
   * order, except across a step back of the system clock. */
  seqBefore(unixSeconds: number): number {
    const b = this.r.seqBounds.get() as { lo: number | null; hi: number | null };
    if (b.lo === null || b.hi === null) return 0;
    let lo = b.lo;
    let hi = b.hi + 1; // first seq whose change is at or after the time lies in [lo, hi]
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.r.atOrAfter.get(mid) as { seq: number; at: number } | undefined;
      if (!row || row.at >= unixSeconds) hi = mid;
      else lo = row.seq + 1;
    }
    return lo - 1;
  }

  /** Forgets change-log entries up to and including `seq` (for sks-cron, once every consumer is past them). */
  pruneChanges(seq: number): number {
    return this.write(() => this.ws.pruneChanges.run(seq).changes);
  }

  changesSince(seq: number, limit: number): Change[] {
    const rows = this.r.changes.all(seq, limit) as Array<{ seq: number; op: number; digest: Buffer; fingerprint: Buffer; at: number }>;
    return rows.map((r) => ({
      seq: r.seq,
      op: r.op === 1 ? 'add' : 'remove',
      digest: r.digest.toString('hex'),
      fingerprint: r.fingerprint.toString('hex').toUpperCase(),
      at: r.at,
    }));
  }
}

interface ProgressRow {
  path: string;
  size: number;
  mtime_ms: number;
  offset: number;
  counters: string;
  updated: number;
}

/** FTS5 query: every word of the query (AND), each quoted so no word is read as query syntax. Words are split where
 * the index's tokenizer (unicode61) splits them, at everything but letters, digits and private-use characters: the
 * index keeps no positions, so "o'brien" asks for a user ID with both "o" and "brien" (as SKS does). */
function ftsQuery(q: string): string | undefined {
  const words = q.split(/[^\p{L}\p{N}\p{Co}]+/u).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w}"`).join(' ');
}

function toStored(row: KeyRow | undefined): StoredKey | undefined {
  if (!row) return undefined;
  const fingerprint = row.fingerprint.toString('hex').toUpperCase();
  const primary = readPacketAt(row.data, 0);
  if (!primary) throw new Error(`stored key ${fingerprint} has no primary key packet`);
  const key = {
    fingerprint,
    keyId: keyIdOf(primary.packet.body, fingerprint),
    version: row.version,
    digest: row.digest.toString('hex'),
    data: row.data,
    firstSeen: row.first_seen,
    updated: row.updated,
    cuts: row.cuts ? (JSON.parse(row.cuts) as PolicyCut[]) : [],
  } as StoredKey;
  // The description is parsed from the stored packets on first use, then kept (an own, enumerable property, so
  // spreading or cloning the key carries it).
  Object.defineProperty(key, 'info', {
    enumerable: true,
    configurable: true,
    get() {
      const info = describeKey(readPackets(row.data));
      Object.defineProperty(key, 'info', { value: info, enumerable: true, configurable: true, writable: true });
      return info;
    },
    set(info: KeyInfo) {
      Object.defineProperty(key, 'info', { value: info, enumerable: true, configurable: true, writable: true });
    },
  });
  return key;
}
