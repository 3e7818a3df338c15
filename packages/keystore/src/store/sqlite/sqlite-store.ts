// The SQLite backend of the key store: one file in WAL mode, shared by every process (many readers, one writer at
// a time). Implements every role of contract.ts; the connection never leaves this folder.
import Database from 'better-sqlite3';
import type { Packet } from '../../openpgp/types.js';
import { readPackets } from '../../openpgp/packet.js';
import { toBinary } from '../../openpgp/armor.js';
import { splitKeys } from '../../openpgp/key.js';
import type { ReconView } from '../../ptree/shape.js';
import { PrefixTree, treeTables } from './prefix-tree.js';
import { extraProfiles, profileForms } from '../profile-forms.js';
import { policyFromSettings, type Policy } from '../../policy.js';
import { defaultSettings } from '../../config/settings.js';
import type { KeyStoreApi, RefusedDigestMemory, ReconSnapshot } from '../contract.js';
import {
  KeyInputError, type BatchProgress, type FileIdentity, type LoadProgress, type OpenOptions, type PreparedBlock,
  type OwnerDeletion, type PendingPushes, type PushTargetState, type ReconPeerState, type WriteOutcome, type WriteSource,
} from '../types.js';
import { countOutcome, prepareInput, tallyOutcomes, upsertOne, type UpsertInput } from '../upsert.js';
import { SCHEMA_VERSION, checkVersion, migrate } from '../schema.js';
import { SqliteCore, asUnavailable } from './core.js';
import { buildCursorName } from './profile-sets.js';
import { beginBulkLoad, endBulkLoad, finishBulkWork } from './bulk-load.js';
import { SqliteTxn, runWrite } from './write-tx.js';
import { SqliteReads } from './reads.js';
import { LIMIT_PARAM, fprBlob, type ProgressRow } from './statements.js';
import { RefusedDigests } from './refused.js';
import { SyncState } from './sync-state.js';
import { OwnerDeletions } from './owner-deletions.js';
import { domainIndexUsed, ensureDomainIndexes } from './domain-index.js';
import { backupInto, checkpoint, integrityCheck, optimize, vacuum } from './maintenance.js';
import { startBackgroundCheckpoint, type BackgroundCheckpoint } from './background-checkpoint.js';
import { PagePrefetcher, probesOf } from './prefetch.js';
import { ReaderFingerprintRows } from './reader-fingerprints.js';

/** Page size of a new store. Keys are stored whole in their rows (a public-keydump key averages 2 KB), and SQLite
 * writes, reads and balances a page at a time: with 16 KiB instead of SQLite's 4 KiB, loading 1M keys shaped like
 * the public keydump (2 GB) took 44.6 instead of 50.3 s and 13.5 instead of 21 s of system time, and the file is 10%
 * smaller. */
const PAGE_SIZE = 16384;

export class SqliteKeyStore extends SqliteReads implements KeyStoreApi {
  /** The schema version this open migrated the file from, if it did. */
  migratedFrom?: number;
  private readonly core: SqliteCore;
  private refused?: RefusedDigests;
  private readonly sync: SyncState;
  private readonly owners: OwnerDeletions;
  private backgroundCheckpoint?: BackgroundCheckpoint;
  private prefetcher?: PagePrefetcher;

  private constructor(db: Database.Database, readonly: boolean, policy: Policy, logger?: OpenOptions['logger']) {
    const core = new SqliteCore(db, readonly, policy, logger);
    const verifying = new Set(extraProfiles(policy).filter((p) => p.verifiesSignatures).map((p) => p.name));
    super(db, core.r, core.signerNames, core.profiles, core.profiles.find((p) => verifying.has(p.name)));
    this.core = core;
    this.sync = new SyncState(db, readonly);
    this.owners = new OwnerDeletions(db, readonly);
  }

  get readonly(): boolean {
    return this.core.readonly;
  }

  get policy(): Policy {
    return this.core.policy;
  }

  /** Opens (creating and migrating when writable) the database at `file`, WAL mode, busy timeout set. */
  static open(file: string, options: OpenOptions = {}): SqliteKeyStore {
    try {
      return SqliteKeyStore.openOnce(file, options);
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
    return SqliteKeyStore.openOnce(file, options);
  }

  private static openOnce(file: string, options: OpenOptions): SqliteKeyStore {
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
      if (options.mmapMiB) {
        const asked = Math.max(0, Math.floor(options.mmapMiB)) * 1048576;
        const mapped = (db.pragma(`mmap_size = ${asked}`, { simple: true }) as number | undefined) ?? 0;
        // SQLite caps the map at its build's SQLITE_MAX_MMAP_SIZE: 2047 MiB unless better-sqlite3 was built with our
        // patch (patches/), e.g. a prebuilt binding. Pages past the map are copied as each is read, which is slower.
        if (mapped < asked) {
          options.logger?.warn('SQLite maps less of the database than asked: its build\'s limit (2047 MiB without our patch in patches/)', {
            file, askedMiB: Math.floor(asked / 1048576), mappedMiB: Math.floor(mapped / 1048576),
          });
        }
      }
      const policy = { ...policyFromSettings(settings), ...options.policy };
      const store = new SqliteKeyStore(db, readonly, policy, options.logger);
      store.migratedFrom = migratedFrom;
      if (readonly && (options.fingerprintTableMiB ?? 0) > 0) {
        store.fingerprintRows = new ReaderFingerprintRows(db, store.count(), options.fingerprintTableMiB! * 1048576, options.logger);
        store.fingerprintRows.start();
      }
      if (options.bulkLoad && !readonly) beginBulkLoad(store.core);
      else if (!readonly) finishBulkWork(store.core);
      if (!readonly && !options.bulkLoad && (options.prefetchThreads ?? 0) > 0) {
        store.prefetcher = new PagePrefetcher(file, Math.floor(options.prefetchThreads!), options.logger);
      }
      if (!readonly && !options.bulkLoad && (options.checkpointEveryMs ?? 0) > 0) {
        store.backgroundCheckpoint = startBackgroundCheckpoint(db, options.checkpointEveryMs!, options.logger);
      }
      return store;
    } catch (e) {
      db.close();
      throw asUnavailable(e);
    }
  }

  close(): void {
    this.fingerprintRows?.stop();
    this.prefetcher?.close();
    this.backgroundCheckpoint?.stop();
    if (this.db.open) this.db.close();
  }

  dataVersion(): number {
    return this.core.dataVersion();
  }

  /** Read-only stores: the reads until the returned release() share one read transaction, so one snapshot. SQLite
   * otherwise begins and ends a read transaction per statement, each taking and dropping its file locks: 5 to 10 µs
   * of system calls, as much as the lookup itself (issue 17). Hold it briefly (sks-db: one turn of the event loop),
   * as a snapshot held keeps checkpoints from recycling the WAL. Does nothing when a transaction is open already. */
  holdSnapshot(): () => void {
    if (!this.readonly || this.db.inTransaction) return () => {};
    this.db.exec('BEGIN');
    return () => {
      if (this.db.open && this.db.inTransaction) this.db.exec('COMMIT');
    };
  }

  // --- writes -------------------------------------------------------------------------------------------------

  upsert(keys: Iterable<Packet[] | PreparedBlock>, source: WriteSource, progress?: BatchProgress): WriteOutcome[] {
    // Prepared before the transaction: only the merge with stored copies and the writes hold the lock.
    const inputs = [...keys].map((k) => prepareInput(k, this.core.policy, false));
    return this.writeInputs(inputs, source, progress);
  }

  private writeInputs(inputs: UpsertInput[], source: WriteSource, progress?: BatchProgress): WriteOutcome[] {
    const outcomes = runWrite(this.core, (tx) => {
      if (source === 'sync') tx.pushed = 0;
      const txn = new SqliteTxn(this.core, tx);
      const out: WriteOutcome[] = [];
      for (const input of inputs) out.push(upsertOne(input, txn, this.core.policy));
      if (progress) txn.recordProgress(progress, tallyOutcomes(out));
      return out;
    });
    const log = this.core.logger;
    if (log?.isLevelEnabled('debug')) log.debug('keys written', { source, ...tallyOutcomes(outcomes) });
    return outcomes;
  }

  async upsertPrefetched(keys: Iterable<Packet[] | PreparedBlock>, source: WriteSource): Promise<WriteOutcome[]> {
    const inputs = [...keys].map((k) => prepareInput(k, this.core.policy, false));
    if (this.prefetcher) await this.prefetcher.warm(probesOf(inputs));
    return this.writeInputs(inputs, source);
  }

  upsertMaterial(input: Buffer | string, source: WriteSource): WriteOutcome[] {
    let packets: Packet[];
    try {
      packets = readPackets(toBinary(input));
    } catch (e) {
      throw new KeyInputError((e as Error).message);
    }
    return this.upsert(splitKeys(packets), source);
  }

  deleteKey(fingerprint: string, reason: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) throw new Error(`not a fingerprint (32, 40 or 64 hex digits): ${fingerprint}`);
    const removed = runWrite(this.core, (tx) => new SqliteTxn(this.core, tx).remove(fpr));
    if (removed) this.core.logger?.info('key deleted', { fingerprint: fingerprint.toUpperCase(), reason });
    return removed;
  }

  // --- bulk load ------------------------------------------------------------------------------------------------

  /** See bulk-load.ts: drops the big indexes until endBulkLoad() sorts them back and builds the prefix tree. */
  beginBulkLoad(options: { synchronousOff?: boolean } = {}): void {
    beginBulkLoad(this.core, options);
  }

  endBulkLoad(): string[] {
    return endBulkLoad(this.core);
  }

  loadKeyBlocks(keys: Iterable<Packet[] | PreparedBlock>, progress?: BatchProgress): Record<string, number> {
    const inputs = [...keys].map((k) => prepareInput(k, this.core.policy, true));
    const tally = runWrite(this.core, (tx) => {
      const txn = new SqliteTxn(this.core, tx);
      const counts: Record<string, number> = {};
      for (const input of inputs) countOutcome(counts, upsertOne(input, txn, this.core.policy));
      if (progress) txn.recordProgress(progress, counts);
      return counts;
    }, true);
    const log = this.core.logger;
    if (log?.isLevelEnabled('debug')) log.debug('keys written', { source: 'load', ...tally });
    return tally;
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

  // --- blocklist and change log -----------------------------------------------------------------------------------

  block(fingerprint: string, reason: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) throw new Error(`not a fingerprint (32, 40 or 64 hex digits): ${fingerprint}`);
    const removed = runWrite(this.core, (tx) => {
      this.core.ws.block.run(fpr, reason, tx.now);
      return new SqliteTxn(this.core, tx).remove(fpr);
    });
    this.core.logger?.info('key blocked', { fingerprint: fingerprint.toUpperCase(), reason, removed });
    return removed;
  }

  deleteByOwner(d: Omit<OwnerDeletion, 'received'>, reason: string): 'removed' | 'replayed' {
    const fpr = fprBlob(d.fingerprint);
    if (!fpr) throw new Error(`not a fingerprint (40 or 64 hex digits): ${d.fingerprint}`);
    const outcome = runWrite(this.core, (tx) => {
      if (!this.owners.record(fpr, d, tx.now)) return 'replayed' as const;
      this.core.ws.block.run(fpr, reason, tx.now);
      new SqliteTxn(this.core, tx).remove(fpr);
      return 'removed' as const;
    });
    this.core.logger?.info('key removed at its owner\'s request', { fingerprint: d.fingerprint.toUpperCase(), outcome });
    return outcome;
  }

  ownerDeletions(): OwnerDeletion[] {
    return this.guard(() => this.owners.list());
  }

  unblock(fingerprint: string): boolean {
    const fpr = fprBlob(fingerprint);
    if (!fpr) return false;
    return runWrite(this.core, () => this.core.ws.unblock.run(fpr).changes > 0);
  }

  /** Forgets change-log entries up to and including `seq` (for sks-cron, once every consumer is past them). */
  pruneChanges(seq: number): number {
    return runWrite(this.core, () => this.core.ws.pruneChanges.run(seq).changes);
  }

  // --- push sync and recon partners (sync-state.ts) -------------------------------------------------------------

  pushTarget(target: string, startSeq?: number): PushTargetState {
    return this.guard(() => this.sync.pushTarget(target, startSeq));
  }

  pushTargets(): PushTargetState[] {
    return this.guard(() => this.sync.pushTargets());
  }

  pendingPushes(afterSeq: number, limit: number): PendingPushes {
    return this.guard(() => this.sync.pendingPushes(afterSeq, limit));
  }

  countPending(afterSeq: number, cap: number): number {
    return this.guard(() => this.sync.countPending(afterSeq, cap));
  }

  ackPushes(target: string, upTo: number, counts: { sent: number; refused: number }): void {
    this.guard(() => this.sync.ackPushes(target, upTo, counts, Math.floor(Date.now() / 1000)));
  }

  pushFailed(target: string, error: string, retryAt: number): void {
    this.guard(() => this.sync.pushFailed(target, error, retryAt, Math.floor(Date.now() / 1000)));
  }

  setPushCursor(target: string, seq: number): void {
    this.guard(() => this.sync.setPushCursor(target, seq));
  }

  recordReconSession(peer: string, outcome: { ok: boolean; error?: string; httpPort?: number }): void {
    this.guard(() => this.sync.recordReconSession(peer, outcome, Math.floor(Date.now() / 1000)));
  }

  reconPeers(): ReconPeerState[] {
    return this.guard(() => this.sync.reconPeers());
  }

  /** SQLite's own failures (locked past the busy timeout, disk full) leave as StoreUnavailableError. */
  private guard<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw asUnavailable(e);
    }
  }

  // --- recon set ----------------------------------------------------------------------------------------------------

  get reconView(): ReconView {
    return this.core.tree;
  }

  reconViewOf(profile: string): ReconView {
    return profile === 'sks' ? this.core.tree : this.profileSet(profile).tree;
  }

  /** The recon profiles whose sets this store keeps (`sks` always), with their sizes; `building`: the set does
   * not cover the keys stored before its profile was made active yet (buildProfileSets). */
  reconSets(): Array<{ profile: string; size: number; building: boolean }> {
    return [
      { profile: 'sks', size: this.core.tree.size(), building: false },
      ...this.core.profiles.map((p) => ({ profile: p.name, size: p.tree.size(), building: p.buildCursor() !== undefined })),
      // named in recon_profiles, but no writer has opened the store since: not even created
      ...this.core.missingProfiles.map((profile) => ({ profile, size: 0, building: true })),
    ];
  }

  private profileSet(profile: string) {
    const set = this.core.profileSet(profile);
    if (!set) throw new Error(`recon profile "${profile}" has no digest set in this store (is it in recon_profiles?)`);
    return set;
  }

  /** A read transaction on a connection of its own, so a whole recon session sees one version of the tree while
   * other processes (and this one, between sessions) write. */
  openSnapshot(profile = 'sks'): ReconSnapshot {
    const set = profile === 'sks' ? undefined : this.profileSet(profile);
    const file = this.db.name;
    const conn = this.db.memory || !file ? undefined : new Database(file, { readonly: true, fileMustExist: true });
    const db = conn ?? this.db;
    const tree = conn ? new PrefixTree(conn, treeTables(profile)) : (set?.tree ?? this.core.tree);
    try {
      if (conn) conn.pragma(`busy_timeout = ${this.db.pragma('busy_timeout', { simple: true }) as number}`);
      db.exec('BEGIN');
      tree.size(); // the first read pins the snapshot
    } catch (e) {
      if (db.inTransaction) db.exec('ROLLBACK');
      conn?.close();
      throw asUnavailable(e);
    }
    let open = true;
    return {
      nodeValues: (prefix) => tree.nodeValues(prefix),
      elements: (prefix) => tree.elements(prefix),
      has: (digest) => tree.has(digest),
      size: () => tree.size(),
      node: (prefix) => tree.node(prefix),
      verify: () => tree.verify(),
      close: () => {
        if (!open) return;
        open = false;
        if (db.open && db.inTransaction) db.exec('COMMIT');
        conn?.close();
      },
    };
  }

  /** The memory of refused recon digests, in this database (table recon_refused, created on first use). */
  refusedDigests(backoffS: number): RefusedDigestMemory {
    if (!this.refused) this.refused = new RefusedDigests(this.db, backoffS);
    return this.refused;
  }

  /** Every digest of a profile's set (16-byte Buffers), in byte order. The connection is busy until the iteration
   * ends. */
  *digests(profile = 'sks'): IterableIterator<Buffer> {
    if (profile === 'sks') yield* this.r.digests.iterate() as IterableIterator<Buffer>;
    else yield* this.profileSet(profile).digests();
  }

  /** Rebuilds every recon set's tree from its stored digests; problems are prefixed with the profile for sets
   * other than `sks`. */
  rebuildReconSet(): { size: number; problems: string[] } {
    void this.core.ws; // throws when read-only
    try {
      this.db.transaction(() => {
        this.core.tree.rebuild(this.digests());
        for (const set of this.core.profiles) set.tree.rebuild(set.digests());
      }).immediate();
    } catch (e) {
      throw asUnavailable(e);
    }
    const problems = [...this.core.tree.verify()];
    for (const set of this.core.profiles) problems.push(...set.tree.verify().map((p) => `${set.name}: ${p}`));
    return { size: this.core.tree.size(), problems };
  }

  /** Fills the sets of profiles made active on a store that already held keys: each key's form is computed outside
   * the write lock, a batch at a time, and written with the cursor in one transaction (a restart resumes; a key
   * another writer changed meanwhile already has its rows and is skipped). Returns the keys covered. */
  buildProfileSets(onProgress?: (p: { profile: string; done: number; lastId: number }) => void, batchSize = 256): number {
    const pending = this.core.profiles.filter((p) => p.buildCursor() !== undefined);
    if (pending.length === 0) return 0;
    const ws = this.core.ws;
    const policy = { ...this.core.policy, reconProfiles: pending.map((p) => p.name) };
    const page = this.db.prepare(`SELECT id, digest, data FROM keys WHERE id > ? ORDER BY id ${LIMIT_PARAM}`);
    let done = 0;
    let cursor = Math.min(...pending.map((p) => p.buildCursor()!));
    for (;;) {
      const rows = page.all(cursor, batchSize) as Array<{ id: number; digest: Buffer; data: Buffer }>;
      const work = rows.map((r) => ({ ...r, forms: profileForms(readPackets(r.data), policy) ?? [] }));
      const last = rows.length > 0 ? rows[rows.length - 1]!.id : cursor;
      runWrite(this.core, (tx) => {
        const txn = new SqliteTxn(this.core, tx);
        // each set's cursor as committed, read once per batch
        const cursors = pending.map((set) => ({ set, at: set.buildCursor()! }));
        for (const w of work) {
          const now = ws.digestById.get(w.id) as Buffer | undefined;
          if (!now || !now.equals(w.digest)) continue; // deleted or rewritten (with its rows) since it was read
          for (const c of cursors) if (w.id > c.at) txn.setProfileForms(w.id, w.forms, c.set.name);
        }
        for (const c of cursors) {
          if (rows.length === 0) ws.deleteMeta.run(buildCursorName(c.set.name));
          else if (last > c.at) ws.setMeta.run(buildCursorName(c.set.name), last);
        }
      });
      done += rows.length;
      cursor = last;
      if (rows.length === 0) break;
      for (const set of pending) onProgress?.({ profile: set.name, done, lastId: last });
    }
    return done;
  }

  // --- dumps and maintenance ----------------------------------------------------------------------------------------

  /** Every key's bytes in digest order, in one read transaction (a dump is one version of the store). */
  *keysInDigestOrder(): IterableIterator<Buffer> {
    const own = !this.db.inTransaction;
    if (own) this.db.exec('BEGIN');
    try {
      yield* this.r.keysInDigestOrder.iterate() as IterableIterator<Buffer>;
    } finally {
      if (own && this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  checkpoint(): ReturnType<typeof checkpoint> {
    return checkpoint(this.db);
  }

  optimize(analysisLimit: number): ReturnType<typeof optimize> {
    return optimize(this.db, analysisLimit);
  }

  vacuum(opts: Parameters<typeof vacuum>[1]): ReturnType<typeof vacuum> {
    return vacuum(this.db, opts);
  }

  integrityCheck(maxErrors: number, quick = false): string[] {
    return integrityCheck(this.db, maxErrors, quick);
  }

  backupTo(file: string): void {
    try {
      backupInto(this.db, file);
    } catch (e) {
      throw asUnavailable(e);
    }
  }

  ensureDomainIndexes(domains: readonly string[]): { created: string[]; dropped: string[] } {
    return ensureDomainIndexes(this.db, domains);
  }

  /** Whether the partial index of `domain` exists and is used for WKD lookups (operators' check, tests). */
  domainIndexUsed(domain: string): boolean {
    return domainIndexUsed(this.db, domain);
  }
}
