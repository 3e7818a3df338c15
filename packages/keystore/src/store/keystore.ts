// The shared SQLite key store: every read and write of keys by any process goes through this class.
// OWNER: keystore-store helper. Contract below is fixed; bodies to be written.
//
// Writes (addKeys, deleteKey, block) run in one IMMEDIATE transaction that also updates the prefix tree
// (ptree/) and the change log, so the tree can never drift from the stored keys.
import type Database from 'better-sqlite3';
import type { KeyInfo, Packet } from '../openpgp/types.js';
import type { PrefixTree } from '../ptree/prefix-tree.js';
import type { Policy, PolicyCut, RefusalReason } from '../policy.js';
import type { Logger } from '../log.js';

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
}

// --- bulk loading (sks-admin load) ------------------------------------------------------------------------------

/** One key made ready for storing without the database: canonical, policy applied, digested, described.
 * prepareKey() computes it; it is plain data, so loader worker threads can compute it and post it to the thread
 * that owns the store (Buffers arriving as Uint8Array after postMessage are accepted). */
export interface PreparedKey {
  /** Upper-case hex fingerprint of the primary key. */
  fingerprint: string;
  /** 16-byte SKS digest of `data`. */
  digest: Uint8Array;
  /** The canonical key after policy, as written by writePackets. */
  data: Uint8Array;
  info: KeyInfo;
  cuts: PolicyCut[];
  /** The packets of `data`, when the caller has them anyway (saves a re-parse when merging with a stored copy). */
  packets?: Packet[];
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

/** Canonicalizes one key, applies policy, computes digest, data and description. Pure (no database), so it can
 * run in worker threads. The blocklist is not checked here: the store does that in addKeyBlocks. */
export function prepareKey(packets: Packet[], policy: Policy): PreparedBlock {
  throw new Error('not implemented');
}

export class KeyStore {
  readonly db!: Database.Database;

  /** Opens (creating and migrating when writable) the database at `file`, WAL mode, busy timeout set. */
  static open(file: string, options: OpenOptions = {}): KeyStore {
    throw new Error('not implemented');
  }

  close(): void {
    throw new Error('not implemented');
  }

  /** Parses `input` (binary or armored, any number of keys), applies policy and blocklist, merges each key with
   * its stored copy, and stores the result; all in one transaction. One outcome per key found in the input. */
  addKeys(input: Buffer | string, source: WriteSource): WriteOutcome[] {
    throw new Error('not implemented');
  }

  /** Bulk write for the loader: stores a batch of keys (raw packet groups as splitKeys returns them, or blocks
   * prepared by prepareKey) in ONE transaction, merging with stored copies and with earlier keys of the same batch,
   * checking the blocklist, updating the prefix tree and change log; and, when `progress` is given, records the
   * file's load progress in that same transaction, so after a crash loadProgress() tells exactly where to resume
   * and nothing is loaded twice. One outcome per element of `keys`, in order. */
  addKeyBlocks(keys: Array<Packet[] | PreparedBlock>, source: WriteSource, progress?: BatchProgress): WriteOutcome[] {
    throw new Error('not implemented');
  }

  /** Progress recorded for this file, or undefined if never loaded or if its size/mtime changed since. */
  loadProgress(file: FileIdentity): LoadProgress | undefined {
    throw new Error('not implemented');
  }

  /** The prefix tree of the stored digests (same connection; updated in every write transaction). */
  get tree(): PrefixTree {
    throw new Error('not implemented');
  }

  /** Removes a key by fingerprint (records the removal in the change log). */
  deleteKey(fingerprint: string, reason: string): boolean {
    throw new Error('not implemented');
  }

  /** Adds a primary fingerprint to the blocklist and removes its stored copy. Returns true if a key was removed. */
  block(fingerprint: string, reason: string): boolean {
    throw new Error('not implemented');
  }

  unblock(fingerprint: string): boolean {
    throw new Error('not implemented');
  }

  isBlocked(fingerprint: string): boolean {
    throw new Error('not implemented');
  }

  blocklist(): Array<{ fingerprint: string; reason: string; added: number }> {
    throw new Error('not implemented');
  }

  getByFingerprint(fingerprint: string): StoredKey | undefined {
    throw new Error('not implemented');
  }

  /** Digest as 32 hex digits (any case). */
  getByDigest(digest: string): StoredKey | undefined {
    throw new Error('not implemented');
  }

  /** Keys whose primary key or a subkey has this key ID (8 or 16 hex) or fingerprint (32, 40 or 64 hex). */
  findByKeyId(hex: string, limit?: number): StoredKey[] {
    throw new Error('not implemented');
  }

  /** Keys with a user ID containing every word of `query` (case-insensitive), or exactly the e-mail address if
   * query is one. `exact` requires a user ID equal to the query. Returns at most `limit` keys; `total` counts all. */
  searchText(query: string, limit: number, exact?: boolean): { keys: StoredKey[]; total: number } {
    throw new Error('not implemented');
  }

  count(): number {
    throw new Error('not implemented');
  }

  /** Every stored digest (16-byte Buffers), in byte order. */
  digests(): IterableIterator<Buffer> {
    throw new Error('not implemented');
  }

  changesSince(seq: number, limit: number): Change[] {
    throw new Error('not implemented');
  }
}
