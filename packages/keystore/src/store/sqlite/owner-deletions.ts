// Keys removed at their owner's signed request (openpgp/owner-request.ts checks the request; sks-db's /pks/delete
// takes it). One row per request carried out, kept for the operator's audit (sks-admin deletions) and so that the
// same request is never carried out twice: after an operator lifts the block, a replay of an old request does
// nothing.
import type Database from 'better-sqlite3';
import type { OwnerDeletion } from '../types.js';
import { tableExists } from './statements.js';

export const OWNER_DELETIONS_SQL = `
CREATE TABLE IF NOT EXISTS owner_deletions (
  fingerprint BLOB NOT NULL,
  issued INTEGER NOT NULL,              -- the request's issue time (signed): with the key, what makes it one request
  expires INTEGER NOT NULL,
  signer TEXT NOT NULL,                 -- fingerprint of the (sub)key that signed it
  received INTEGER NOT NULL,
  request TEXT NOT NULL,                -- the signed request as received
  PRIMARY KEY (fingerprint, issued)
) WITHOUT ROWID;
`;

interface Row { fingerprint: string; issued: number; expires: number; signer: string; received: number; request: string }

export class OwnerDeletions {
  private stmts?: ReturnType<OwnerDeletions['prepare']>;

  constructor(private readonly db: Database.Database, readonly: boolean) {
    if (!readonly) db.exec(OWNER_DELETIONS_SQL);
  }

  private prepare() {
    return {
      used: this.db.prepare('SELECT 1 FROM owner_deletions WHERE fingerprint = ? AND issued = ?').pluck(),
      add: this.db.prepare('INSERT INTO owner_deletions (fingerprint, issued, expires, signer, received, request) VALUES (?, ?, ?, ?, ?, ?)'),
      all: this.db.prepare('SELECT hex(fingerprint) AS fingerprint, issued, expires, signer, received, request FROM owner_deletions ORDER BY received'),
    };
  }

  private get s() {
    if (!this.stmts && tableExists(this.db, 'owner_deletions')) this.stmts = this.prepare();
    return this.stmts;
  }

  /** Records the request unless it was carried out before; false for a replay. Call inside the write transaction. */
  record(fpr: Buffer, d: Omit<OwnerDeletion, 'fingerprint' | 'received'>, now: number): boolean {
    const s = this.s;
    if (!s) throw new Error('this key store has no owner_deletions table yet (open it writable once)');
    if (s.used.get(fpr, d.issued) !== undefined) return false;
    s.add.run(fpr, d.issued, d.expires, d.signer, now, d.request);
    return true;
  }

  list(): OwnerDeletion[] {
    return ((this.s?.all.all() ?? []) as Row[]).map((r) => ({ ...r }));
  }
}
