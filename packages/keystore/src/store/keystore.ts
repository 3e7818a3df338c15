// The shared SQLite key store: every read and write of keys by any process goes through this class.
// OWNER: keystore-store helper. Contract below is fixed; bodies to be written.
//
// Writes (addKeys, deleteKey, block) run in one IMMEDIATE transaction that also updates the prefix tree
// (ptree/) and the change log, so the tree can never drift from the stored keys.
import type Database from 'better-sqlite3';
import type { KeyInfo } from '../openpgp/types.js';
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
