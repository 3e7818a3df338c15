// The storage seam: what the processes may ask of a key store, split by role. Process packages depend on these
// interfaces (and on the data types in types.ts), never on a database handle; the SQLite backend (sqlite/)
// implements them all, and test/store-contract.test.ts is the conformance suite any second backend must pass.
//
// Contracts every implementation keeps:
// - A write is one transaction: the keys, their index rows, the change log, the key counter and the recon set
//   change together or not at all.
// - Input that cannot be read throws KeyInputError (nothing written); a readable key the store will not hold gives
//   a 'rejected' outcome; a store that cannot work throws StoreUnavailableError (nothing written). Never the one
//   for the other.
// - Policy decisions (merge, cuts, blocklist) do not depend on the backend: they are made in upsert.ts.
import type { Packet } from '../openpgp/types.js';
import type { Policy } from '../policy.js';
import type { ReconView } from '../ptree/shape.js';
import type {
  BatchProgress, Change, FileIdentity, IndexEntry, KeyPackets, LoadProgress, OwnerDeletion, PendingPushes, PreparedBlock, PushTargetState, ReconPeerState,
  StoredKey, StoredListing, WriteOutcome, WriteSource,
} from './types.js';

export interface KeyReader {
  /** The key with this primary fingerprint (32, 40 or 64 hex). `summary: false` leaves out its stored summary
   * (mrLines, name): one table read fewer, for readers that need only the packets (op=get). */
  getByFingerprint(fingerprint: string, opts?: { summary?: boolean }): StoredKey | undefined;
  /** Only the packets (as clients get them) and their stored CRC-24 of the key with this primary fingerprint: what
   * an op=get answer armors, without building a StoredKey (on 1M random keys that object was a third of the work). */
  packetsByFingerprint(fingerprint: string): KeyPackets | undefined;
  /** The stored vindex listing of the key with this primary fingerprint; undefined when it has none (a key of few
   * signatures, or clients are served another form of the keys): the caller makes it from the key's description. */
  /** `template`: with its template even when it has a page (which a page without it needs not read). */
  listingByFingerprint(fingerprint: string, opts?: { template?: boolean }): StoredListing | undefined;
  /** The key whose digest in any active recon profile's set is this one (32 hex digits, any case). */
  getByDigest(digest: string): StoredKey | undefined;
  /** The key's bytes in the form whose digest this is (what /pks/hashquery serves a recon peer of that profile). */
  keyForPeer(digest: string): Buffer | undefined;
  /** Keys whose primary key or a subkey has this key ID (8 or 16 hex) or fingerprint (32, 40 or 64 hex). */
  findByKeyId(hex: string, limit?: number): StoredKey[];
  /** Word or e-mail search; `total` counts up to `countLimit` (all when negative). */
  searchText(query: string, limit: number, exact?: boolean, countLimit?: number): { keys: StoredKey[]; total: number };
  /** The mr index entries of the keys findByKeyId() finds, from the stored summaries alone (no packets read); and
   * of searchText() (not exact). Undefined when clients are served another form of the keys than the stored one
   * (a profile that verifies signatures), whose lines differ: ask findByKeyId() or searchText() then. */
  indexEntriesByKeyId(hex: string, limit?: number): IndexEntry[] | undefined;
  indexEntriesByText(query: string, limit: number, countLimit?: number): { entries: IndexEntry[]; total: number } | undefined;
  /** The name vindex gives a signature by this long key ID (16 hex), as SKS's index.ml get_uid finds it: the primary
   * user ID of the key whose primary key has the ID, the first user ID when one of its subkeys has it; no name when
   * no stored key has it or the key has no user ID. From the stored summaries, or, when clients are served another
   * form of the keys, from the key in that form. Undefined for an ID that is not 16 hex digits. */
  signerName(keyId: string): { name?: string } | undefined;
  /** signerName() of many IDs at once (one statement: a vindex asks for every signer of a key): each valid ID's
   * name, undefined where it has none; IDs that are not 16 hex digits are left out. */
  signerNames(keyIds: readonly string[]): Map<string, string | undefined>;
  /** Every stored address at this domain (WKD: the lookup is by hash of the local part). */
  addressesAtDomain(domain: string): string[];
  count(): number;
  /** A number that changes whenever any process commits a write (answer caches compare it). */
  dataVersion(): number;
  /** Until release(), reads share one snapshot (read-only stores; a no-op otherwise): cheaper per read. */
  holdSnapshot(): () => void;
}

export interface KeyWriter {
  readonly policy: Policy;
  /** Stores a batch of keys (packet groups as splitKeys returns them, or blocks prepared by prepareKey) in ONE
   * transaction, merging each with its stored copy; one outcome per element of `keys`, in order. With `progress`,
   * records a dump file's load progress in the same transaction. */
  upsert(keys: Iterable<Packet[] | PreparedBlock>, source: WriteSource, progress?: BatchProgress): WriteOutcome[];
  /** upsert() of a batch that first reads, from threads of its own, the index pages the writes will touch (on a
   * store larger than memory they are random reads the write would make one at a time; OpenOptions.prefetchThreads).
   * Same outcomes and transaction as upsert(). */
  upsertPrefetched(keys: Iterable<Packet[] | PreparedBlock>, source: WriteSource): Promise<WriteOutcome[]>;
  /** upsert() of armored or binary key material: throws KeyInputError when it cannot be read at all. */
  upsertMaterial(input: Buffer | string, source: WriteSource): WriteOutcome[];
  /** Removes a key by fingerprint (logged in the change log). */
  deleteKey(fingerprint: string, reason: string): boolean;
}

/** Loading a keydump into a store nobody serves yet (sks-admin load). */
export interface BulkLoader {
  beginBulkLoad(options?: { synchronousOff?: boolean }): void;
  /** Counts outcomes only (no object per key); same transaction rules as upsert. */
  loadKeyBlocks(keys: Iterable<Packet[] | PreparedBlock>, progress?: BatchProgress): Record<string, number>;
  endBulkLoad(): string[];
  loadProgress(file: FileIdentity): LoadProgress | undefined;
}

export interface ChangeLog {
  changesSince(seq: number, limit: number): Change[];
  /** The seq to pass to changesSince() to read changes at or after `unixSeconds`. */
  seqBefore(unixSeconds: number): number;
  /** The newest seq (0 when the log is empty). */
  lastSeq(): number;
  pruneChanges(seq: number): number;
}

/** Push sync's queue: the change log read per target from its cursor (sks-cron's push job, the stats page). */
export interface PushQueue {
  /** A target's state; a target seen for the first time starts after the newest change (or after `startSeq`). */
  pushTarget(target: string, startSeq?: number): PushTargetState;
  /** Every target the store has a row for (including ones no longer configured). */
  pushTargets(): PushTargetState[];
  /** Up to `limit` keys added or changed after `afterSeq` by anything but push sync or mail, oldest first. */
  pendingPushes(afterSeq: number, limit: number): PendingPushes;
  /** How many such changes wait after `afterSeq`, counting at most `cap`. */
  countPending(afterSeq: number, cap: number): number;
  /** The target acknowledged every change up to `upTo` (the cursor never moves back); clears its failures. */
  ackPushes(target: string, upTo: number, counts: { sent: number; refused: number }): void;
  pushFailed(target: string, error: string, retryAt: number): void;
  /** Moves a target's cursor (failover: back to where recon with the partner stopped working). */
  setPushCursor(target: string, seq: number): void;
}

/** What sks-recon learnt of each partner it reconciles with (failover, the stats page). */
export interface ReconPeerLog {
  recordReconSession(peer: string, outcome: { ok: boolean; error?: string; httpPort?: number }): void;
  reconPeers(): ReconPeerState[];
}

export interface Blocklist {
  /** Adds a primary fingerprint to the blocklist and removes its stored copy; true if a key was removed. */
  block(fingerprint: string, reason: string): boolean;
  /** Carries out an owner's checked deletion request in one transaction: records it, blocks the key with the reason
   * and removes it. 'replayed' when this request (key and issue time) was carried out before: nothing changes. */
  deleteByOwner(d: Omit<OwnerDeletion, 'received'>, reason: string): 'removed' | 'replayed';
  /** Every owner deletion carried out, oldest first (the operator's audit). */
  ownerDeletions(): OwnerDeletion[];
  unblock(fingerprint: string): boolean;
  isBlocked(fingerprint: string): boolean;
  blocklist(): Array<{ fingerprint: string; reason: string; added: number }>;
}

/** One consistent view of the recon set for one session: writes committed meanwhile are not seen. */
export interface ReconSnapshot extends ReconView {
  close(): void;
}

/** Digests a recon peer offered that we fetched and did not end up holding, with why (Hockeypuck issue #108). */
export interface RefusedDigestMemory {
  isBackedOff(digest: Buffer, now?: number): boolean;
  partition(digests: Buffer[], now?: number): { fetch: Buffer[]; skipped: number };
  record(digests: Array<{ digest: Buffer; reason: string }>, peer: string, now?: number): void;
  prune(now?: number): number;
  count(): number;
  list(): Array<{ digest: string; reason: string; peer: string; at: number }>;
}

/** One digest set per active recon profile (setting recon_profiles): `sks` always, others as configured. Methods
 * taking a profile default to `sks`, and throw for a profile whose set the store does not keep. */
export interface ReconSet {
  /** A profile's set as of now, pinned until close(). */
  openSnapshot(profile?: string): ReconSnapshot;
  /** The live `sks` set (every write updates every set in the same transaction). */
  readonly reconView: ReconView;
  reconViewOf(profile: string): ReconView;
  /** The profiles whose sets the store keeps, with their sizes; `building` while buildProfileSets has work. */
  reconSets(): Array<{ profile: string; size: number; building: boolean }>;
  refusedDigests(backoffS: number): RefusedDigestMemory;
  /** Every digest of a profile's set, in byte order, within one snapshot. */
  digests(profile?: string): IterableIterator<Buffer>;
  /** Rebuilds every set's tree from its stored digests (admin repair); returns problems found afterwards. */
  rebuildReconSet(): { size: number; problems: string[] };
  /** Fills the sets of profiles made active after keys were stored; resumable; returns the keys covered. */
  buildProfileSets(onProgress?: (p: { profile: string; done: number; lastId: number }) => void): number;
}

export interface KeyDumpSource {
  /** Every stored key's bytes in digest order, read within one snapshot. */
  keysInDigestOrder(): IterableIterator<Buffer>;
}

export interface Maintenance {
  checkpoint(): { busy: number; walFrames: number; checkpointedFrames: number };
  optimize(analysisLimit: number): { analyzedBefore: boolean };
  vacuum(opts: { stepPages: number; minFreePercent: number; fullMaxBytes: number }): {
    mode: 'incremental' | 'full' | 'skipped'; reason?: string; pagesBefore: number; pagesAfter: number;
    freeBefore: number; freeAfter: number; steps: number;
  };
  /** SQLite's integrity check (quick: without checking index contents against their tables). */
  integrityCheck(maxErrors: number, quick?: boolean): string[];
  /** A consistent copy of the whole store in `file` (must not exist yet), taken while others keep writing. */
  backupTo(file: string): void;
  /** Makes the per-domain address indexes match `domains` (WKD). */
  ensureDomainIndexes(domains: readonly string[]): { created: string[]; dropped: string[] };
}

/** Everything a store does; a process asks for the roles it needs. */
export interface KeyStoreApi
  extends KeyReader, KeyWriter, BulkLoader, ChangeLog, PushQueue, ReconPeerLog, Blocklist, ReconSet, KeyDumpSource,
    Maintenance {
  readonly readonly: boolean;
  close(): void;
}
