// Push sync's queue and the recon partners' health, in the shared database.
//
// The queue is the change log itself: a target's cursor is the last change it acknowledged, and what it still
// needs are the pushable `add` changes after it (changes.pushed = 1: not arrived by push sync or mail). So a target
// that is down for days costs one row here, not memory, and a restart resumes at the cursor. recon_peers is written
// by sks-recon after each session it starts, so push sync can fail over to HKP while recon with a partner is down,
// and the stats page can show each partner's state.
import type Database from 'better-sqlite3';
import type { PendingPushes, PushTargetState, ReconPeerState } from '../types.js';
import { LIMIT_PARAM, tableExists } from './statements.js';

type Db = Database.Database;

export const SYNC_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS sync_targets (
  target TEXT PRIMARY KEY NOT NULL,     -- the target's URL as sync-targets names it (hkp://, hkps://, vks://, mailto:)
  cursor INTEGER NOT NULL,              -- changes.seq up to which the target has acknowledged everything
  sent INTEGER NOT NULL DEFAULT 0,      -- keys it acknowledged, all time
  refused INTEGER NOT NULL DEFAULT 0,   -- keys it answered with a refusal (not retried)
  failures INTEGER NOT NULL DEFAULT 0,  -- consecutive failed attempts (0 after a success)
  last_success INTEGER,                 -- unix seconds
  last_error TEXT,
  last_error_at INTEGER,
  retry_at INTEGER NOT NULL DEFAULT 0   -- no attempt before this (back-off)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS recon_peers (
  peer TEXT PRIMARY KEY NOT NULL,       -- host:port as the membership file names it
  last_ok INTEGER,
  last_failure INTEGER,
  failing_since INTEGER,                -- first failure after the last success; NULL while healthy
  last_error TEXT,
  http_port INTEGER                     -- the HKP port the peer announced in its last Config
) WITHOUT ROWID;
`;

interface TargetRow {
  target: string; cursor: number; sent: number; refused: number; failures: number;
  last_success: number | null; last_error: string | null; last_error_at: number | null; retry_at: number;
}

interface PeerRow {
  peer: string; last_ok: number | null; last_failure: number | null; failing_since: number | null;
  last_error: string | null; http_port: number | null;
}

function targetState(r: TargetRow): PushTargetState {
  return {
    target: r.target, cursor: r.cursor, sent: r.sent, refused: r.refused, failures: r.failures, retryAt: r.retry_at,
    ...(r.last_success !== null ? { lastSuccess: r.last_success } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.last_error_at !== null ? { lastErrorAt: r.last_error_at } : {}),
  };
}

function peerState(r: PeerRow): ReconPeerState {
  return {
    peer: r.peer,
    ...(r.last_ok !== null ? { lastOk: r.last_ok } : {}),
    ...(r.last_failure !== null ? { lastFailure: r.last_failure } : {}),
    ...(r.failing_since !== null ? { failingSince: r.failing_since } : {}),
    ...(r.last_error !== null ? { lastError: r.last_error } : {}),
    ...(r.http_port !== null ? { httpPort: r.http_port } : {}),
  };
}

/** Statements on the two tables. A writable store creates them at open; a read-only one (sks-db's stats page) finds
 * them missing in a store no writer of this version has opened yet, and then reads nothing. */
export class SyncState {
  private readonly db: Db;
  private stmts?: ReturnType<SyncState['prepare']>;

  constructor(db: Db, readonly: boolean) {
    this.db = db;
    if (!readonly) db.exec(SYNC_SCHEMA_SQL);
  }

  private get s(): ReturnType<SyncState['prepare']> | undefined {
    if (!this.stmts && tableExists(this.db, 'sync_targets') && tableExists(this.db, 'recon_peers')) this.stmts = this.prepare();
    return this.stmts;
  }

  private prepare() {
    const db = this.db;
    return {
      target: db.prepare('SELECT * FROM sync_targets WHERE target = ?'),
      targets: db.prepare('SELECT * FROM sync_targets ORDER BY target'),
      addTarget: db.prepare('INSERT OR IGNORE INTO sync_targets (target, cursor) VALUES (?, ?)'),
      lastSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck(),
      pending: db.prepare(`SELECT seq, hex(fingerprint) AS fingerprint FROM changes WHERE seq > ? AND op = 1 AND pushed = 1 ORDER BY seq ${LIMIT_PARAM}`),
      countPending: db.prepare(`SELECT count(*) FROM (SELECT 1 FROM changes WHERE seq > ? AND op = 1 AND pushed = 1 ${LIMIT_PARAM})`).pluck(),
      ack: db.prepare(`UPDATE sync_targets SET cursor = max(cursor, ?), sent = sent + ?, refused = refused + ?,
                       failures = 0, last_success = ?, retry_at = 0 WHERE target = ?`),
      fail: db.prepare(`UPDATE sync_targets SET failures = failures + 1, last_error = ?, last_error_at = ?, retry_at = ?
                        WHERE target = ?`),
      setCursor: db.prepare('UPDATE sync_targets SET cursor = ? WHERE target = ?'),
      peer: db.prepare('SELECT * FROM recon_peers WHERE peer = ?'),
      peers: db.prepare('SELECT * FROM recon_peers ORDER BY peer'),
      peerOk: db.prepare(`INSERT INTO recon_peers (peer, last_ok, http_port) VALUES (?, ?, ?)
                          ON CONFLICT (peer) DO UPDATE SET last_ok = excluded.last_ok, failing_since = NULL,
                          http_port = coalesce(excluded.http_port, http_port)`),
      peerFailed: db.prepare(`INSERT INTO recon_peers (peer, last_failure, failing_since, last_error) VALUES (?, ?, ?, ?)
                              ON CONFLICT (peer) DO UPDATE SET last_failure = excluded.last_failure,
                              failing_since = coalesce(failing_since, excluded.failing_since), last_error = excluded.last_error`),
    };
  }

  private need() {
    const s = this.s;
    if (!s) throw new Error('this key store has no push-sync tables yet (open it writable once)');
    return s;
  }

  pushTarget(target: string, startSeq?: number): PushTargetState {
    const s = this.need();
    s.addTarget.run(target, startSeq ?? (s.lastSeq.get() as number));
    return targetState(s.target.get(target) as TargetRow);
  }

  pushTargets(): PushTargetState[] {
    return ((this.s?.targets.all() ?? []) as TargetRow[]).map(targetState);
  }

  pendingPushes(afterSeq: number, limit: number): PendingPushes {
    const s = this.need();
    // One read transaction, so `upTo` is the newest change this read could see: when fewer than `limit` came back,
    // everything up to it has been considered (changes written later get higher seqs).
    return this.db.transaction(() => {
      const items = s.pending.all(afterSeq, limit) as Array<{ seq: number; fingerprint: string }>;
      const upTo = items.length >= limit ? items[items.length - 1]!.seq : Math.max(afterSeq, s.lastSeq.get() as number);
      return { items, upTo };
    }).deferred();
  }

  countPending(afterSeq: number, cap: number): number {
    return (this.s?.countPending.get(afterSeq, cap) as number | undefined) ?? 0;
  }

  ackPushes(target: string, upTo: number, counts: { sent: number; refused: number }, now: number): void {
    this.need().ack.run(upTo, counts.sent, counts.refused, now, target);
  }

  pushFailed(target: string, error: string, retryAt: number, now: number): void {
    this.need().fail.run(error.slice(0, 500), now, retryAt, target);
  }

  setPushCursor(target: string, seq: number): void {
    this.need().setCursor.run(seq, target);
  }

  recordReconSession(peer: string, outcome: { ok: boolean; error?: string; httpPort?: number }, now: number): void {
    const s = this.need();
    if (outcome.ok) s.peerOk.run(peer, now, outcome.httpPort ?? null);
    else s.peerFailed.run(peer, now, now, (outcome.error ?? 'failed').slice(0, 500));
  }

  reconPeers(): ReconPeerState[] {
    return ((this.s?.peers.all() ?? []) as PeerRow[]).map(peerState);
  }
}
