// The store's data types: what goes in (prepared keys, load progress), what comes out (stored keys, outcomes,
// changes) and the two errors every caller must tell apart. Plain data, shared by the interfaces (contract.ts), the
// backend-independent write logic (upsert.ts) and the SQLite backend (sqlite/).
import type { KeyInfo, Packet } from '../openpgp/types.js';
import type { Policy, PolicyCut, RefusalReason } from '../policy.js';
import type { Logger } from '../log.js';
import type { KeyFacts, StoredPage } from './listing.js';

/** Where a write came from. `sync`: pushed to us by another server or mailed (push sync, mail-in); such keys are
 * stored and reconciled as any other but not pushed on to our own sync targets. */
export type WriteSource = 'load' | 'add' | 'recon' | 'admin' | 'sync';

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
  /** Its mr index lines and name as stored with it (summary.ts), when the store has them for this form of the
   * key (not when it serves another profile's form): readers use them instead of parsing `info`. */
  mrLines?: string;
  name?: string | null;
  /** CRC-24 of `data` (the armor's checksum), stored with it likewise. */
  crc?: number;
}

/** A key's stored vindex listing (listing.ts) with what filling it in needs from the key itself. */
export interface StoredListing {
  /** SKS digest, 32 lower-case hex (a listing's hash= line). */
  digest: string;
  facts: KeyFacts;
  /** The signers it names (KeyListing.signers). */
  signers: string;
  /** Its page (listingPage) as stored: its signers' names in it; null while not made (after a bulk load, until its
   * end): the caller fills `vindex`, looking the names up. */
  page: StoredPage | null;
  /** The listing template (listingPage), read only when there is no page. */
  vindex?: string;
}

/** A key's packets as clients get them, with their CRC-24 when the store keeps it: all an op=get answer needs. */
export interface KeyPackets {
  data: Buffer;
  crc?: number;
}

/** What an mr index answer says of a key, read from its stored summary without its packets (issue 17). */
export interface IndexEntry {
  /** Upper-case hex fingerprint of the primary key. */
  fingerprint: string;
  version: number;
  /** The primary key's creation time, unix seconds: multi-key answers list newest first. */
  created: number;
  /** Its mr index lines, each ending in '\n' (summary.ts). */
  mrLines: string;
}

/** What one upsert did with one key of its input. `digest` is what the store holds afterwards; `offeredDigest` the
 * SKS digest of the key as it was offered (before canonical form and policy), when the input was packets: the
 * digest a recon peer holds it by. */
export interface WriteOutcome {
  status: 'inserted' | 'updated' | 'unchanged' | 'rejected';
  fingerprint?: string;
  offeredDigest?: string;
  /** New digest (inserted/updated/unchanged). */
  digest?: string;
  /** Digest this write replaced (updated). */
  oldDigest?: string;
  reason?: RefusalReason;
  detail?: string;
  cuts?: PolicyCut[];
  /** The key's digest in each other recon profile's set the store keeps (e.g. `hockeypuck`), when it holds the key
   * there; a profile missing from it refused the key (not inserted, updated or unchanged). */
  profileDigests?: Record<string, string>;
}

export interface Change {
  seq: number;
  op: 'add' | 'remove';
  digest: string;
  fingerprint: string;
  at: number;
}

/** One push-sync target's place in the change log and its health (table sync_targets). */
export interface PushTargetState {
  /** The target as sync-targets names it: hkp://host:port, hkps://..., vks://..., mailto:address. */
  target: string;
  /** The change-log seq up to which the target acknowledged everything. */
  cursor: number;
  sent: number;
  refused: number;
  /** Consecutive failed attempts. */
  failures: number;
  lastSuccess?: number;
  lastError?: string;
  lastErrorAt?: number;
  /** Unix seconds before which the next attempt waits (back-off); 0: now. */
  retryAt: number;
}

/** Keys to push after a cursor, oldest change first; `upTo`: everything up to this seq has been looked at. */
export interface PendingPushes {
  items: Array<{ seq: number; fingerprint: string }>;
  upTo: number;
}

/** A recon partner's health as sks-recon last saw it (table recon_peers). */
export interface ReconPeerState {
  /** host:port as the membership file names it. */
  peer: string;
  lastOk?: number;
  lastFailure?: number;
  /** First failure since the last success; absent while healthy. */
  failingSince?: number;
  lastError?: string;
  /** The HKP port it announced in its last Config. */
  httpPort?: number;
}

/** A key removed at its owner's signed request (table owner_deletions). */
export interface OwnerDeletion {
  fingerprint: string;
  /** Unix seconds, as the signed request says. */
  issued: number;
  expires: number;
  /** Fingerprint of the (sub)key that signed the request. */
  signer: string;
  received: number;
  /** The signed request as received. */
  request: string;
}

export interface OpenOptions {
  readonly?: boolean;
  policy?: Partial<Policy>;
  logger?: Logger;
  /** How long a write waits for another process's write lock (default: setting db_busy_timeout_ms). */
  busyTimeoutMs?: number;
  /** SQLite page cache of this connection in MiB (default 64 writable, 16 read-only). The loader may raise it. */
  cacheMiB?: number;
  /** Read this much of the file through a memory map (SQLite's mmap_size, capped by its build: 1 TiB with our patch,
   * 2047 MiB without; a lower cap is logged); default 0. sks-db's readers set it (setting db_reader_mmap_mib). */
  mmapMiB?: number;
  /** Read-only opens: keep the keys' row ids by fingerprint in memory, in at most this many MiB (setting
   * db_reader_fingerprint_table_mib; sqlite/reader-fingerprints.ts), filled in the background after the open.
   * 0 or absent: none. */
  fingerprintTableMiB?: number;
  /** Open for a bulk load: see beginBulkLoad(); the indexes it drops are not rebuilt on opening. */
  bulkLoad?: boolean;
  /** Writable opens of long-running writers: run WAL checkpoints every this many ms on a thread of their own
   * instead of inside this connection's commits (sqlite/background-checkpoint.ts). 0 or absent: SQLite's default. */
  checkpointEveryMs?: number;
  /** Writable opens: threads that read a batch's index pages ahead of upsertPrefetched()'s write (setting
   * db_prefetch_threads; sqlite/prefetch.ts). 0 or absent: none, upsertPrefetched() is upsert(). */
  prefetchThreads?: number;
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
  /** The key in each other active recon profile (policy.reconProfiles minus `sks`), computed with the key. */
  profiles?: ProfileForm[];
}

/** What one recon profile makes of a stored key: the packets of `data` it keeps (given as the indexes of those it
 * drops) and its digest over them; or its refusal. Plain data (worker threads compute it). */
export interface ProfileForm {
  profile: string;
  /** 16 bytes; null when the profile refuses the key (it is then not in that profile's set). */
  digest: Uint8Array | null;
  /** Indexes of the packets of `data` this profile drops, as 32-bit big-endian integers; null when none. */
  dropped: Uint8Array | null;
  /** Why it refuses the key, when it does. */
  refusal?: string;
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
  /** The key's ready summary (summary.ts): its mr index lines, its name, its creation time, its armor checksum. */
  mrLines: string;
  name: string | null;
  firstUid: string | null;
  created: number;
  crc: number;
  /** Its vindex listing and card facts as key_listings keeps them (summary.ts storedListing), or null. */
  listing: { facts: string; vindex: string; signers: string } | null;
}

/** Result of preparing one key block: ready to store, or refused with a reason (stored by upsert as a
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

/** What upsert and loadKeyBlocks record with a batch, in the batch's own transaction. */
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


/** Input the store cannot read at all (bad armor, CRC mismatch, truncated packet stream): nothing was written.
 * HTTP callers answer 400. A readable key that is refused gives a 'rejected' outcome instead. */
export class KeyInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyInputError';
  }
}


/** The store could not do its work (database locked past the busy timeout, disk full, I/O error, read-only file):
 * nothing of the call was written, and the input was NOT at fault. Callers retry later (recon fetches the same
 * digests at the next session; HTTP answers 503); they must never record it as a refusal of the key. */
export class StoreUnavailableError extends Error {
  readonly code?: string;

  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, { cause: options?.cause });
    this.name = 'StoreUnavailableError';
    this.code = options?.code;
  }
}

/** Whether Maintenance.integrityCheck's answer says the store is sound (SQLite answers exactly ['ok']). */
export function integrityOk(problems: readonly string[]): boolean {
  return problems.length === 1 && problems[0] === 'ok';
}
