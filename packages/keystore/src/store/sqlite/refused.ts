// Memory of digests we fetched from a peer but did not end up holding as such (our policy refused the key, cut
// it to another digest, or the peer did not send it). Without it, such a digest stays a difference forever and we
// would fetch it again every round (Hockeypuck issue #108). A remembered digest is not fetched again before
// refused_backoff_s, and is not counted as missing meanwhile. Stored in the shared database so restarts keep it.
import type Database from 'better-sqlite3';
import type { RefusedDigestMemory } from '../contract.js';

type Db = Database.Database;

export const REFUSED_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS recon_refused (
  digest BLOB PRIMARY KEY NOT NULL,   -- 16-byte SKS digest the peer offered
  reason TEXT NOT NULL,
  peer TEXT NOT NULL,                 -- host:port of the peer that offered it
  at INTEGER NOT NULL                 -- unix seconds of the refusal
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS recon_refused_at ON recon_refused (at);
`;

export class RefusedDigests implements RefusedDigestMemory {
  private readonly stmts;

  constructor(private readonly db: Db, private readonly backoffS: number) {
    db.exec(REFUSED_SCHEMA_SQL);
    this.stmts = {
      get: db.prepare('SELECT at FROM recon_refused WHERE digest = ?').pluck(),
      put: db.prepare('INSERT OR REPLACE INTO recon_refused (digest, reason, peer, at) VALUES (?, ?, ?, ?)'),
      prune: db.prepare('DELETE FROM recon_refused WHERE at < ?'),
      count: db.prepare('SELECT count(*) FROM recon_refused').pluck(),
      list: db.prepare('SELECT lower(hex(digest)) AS digest, reason, peer, at FROM recon_refused ORDER BY at'),
    };
  }

  /** True while a refusal of this digest is younger than the backoff period. */
  isBackedOff(digest: Buffer, now = Math.floor(Date.now() / 1000)): boolean {
    const at = this.stmts.get.get(digest) as number | undefined;
    return at !== undefined && now - at < this.backoffS;
  }

  /** Splits digests into those to fetch and those still backed off. */
  partition(digests: Buffer[], now = Math.floor(Date.now() / 1000)): { fetch: Buffer[]; skipped: number } {
    const fetch: Buffer[] = [];
    let skipped = 0;
    for (const d of digests) {
      if (this.isBackedOff(d, now)) skipped++;
      else fetch.push(d);
    }
    return { fetch, skipped };
  }

  record(digests: Array<{ digest: Buffer; reason: string }>, peer: string, now = Math.floor(Date.now() / 1000)): void {
    if (digests.length === 0) return;
    this.db.transaction(() => {
      for (const { digest, reason } of digests) this.stmts.put.run(digest, reason, peer, now);
    })();
  }

  /** Forgets refusals older than the backoff period, so the table stays bounded by what peers offer per period. */
  prune(now = Math.floor(Date.now() / 1000)): number {
    return this.stmts.prune.run(now - this.backoffS).changes;
  }

  count(): number {
    return this.stmts.count.get() as number;
  }

  list(): Array<{ digest: string; reason: string; peer: string; at: number }> {
    return this.stmts.list.all() as Array<{ digest: string; reason: string; peer: string; at: number }>;
  }
}
