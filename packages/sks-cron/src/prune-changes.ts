// The change log (table `changes`) gets a row per key added or removed, forever: a bulk load alone writes one per
// key (6M rows, ~0.5 GB, for the public dump). Its readers only look back so far: the statistics show the last week
// (keystore DAYS_SHOWN), and push sync reads from each target's cursor on. So entries older than changes_keep_days
// that every push target has acknowledged are removed, a bounded number per write transaction, so that recon and
// uploads (waiting for the write lock) are held up for one batch at most.
import { setImmediate as yieldTurn } from 'node:timers/promises';
import { DAYS_SHOWN, type KeyStore } from '@sks/keystore';
import type { CronContext } from './context.js';
import { pushTargets } from './sync/push.js';

/** Change-log rows removed per write transaction. */
export const PRUNE_BATCH_ROWS = 20_000;

export interface PruneResult {
  result: 'off' | 'pruned';
  /** Rows removed. */
  removed: number;
  /** The newest seq removed (everything up to it is gone); absent when nothing was. */
  upTo?: number;
  /** A push target held entries back: its cursor is older than the cut-off (in the job's "job done" log line). */
  heldBackBy?: string;
  keepDays?: number;
}

/** Removes change-log entries older than changes_keep_days (at least the week the statistics show, plus one day)
 * and acknowledged by every push target (configured or failover) that has a cursor. */
export async function pruneChangeLog(ctx: CronContext, store: KeyStore, now = Math.floor(Date.now() / 1000),
  batchRows = PRUNE_BATCH_ROWS): Promise<PruneResult> {
  const configured = ctx.settings.changes_keep_days;
  if (configured <= 0) return { result: 'off', removed: 0 };
  const keepDays = Math.max(configured, DAYS_SHOWN + 1);
  if (keepDays !== configured) ctx.logger.warn('changes_keep_days is below what the statistics show; keeping more', { configured, keepDays });
  let limit = store.seqBefore(now - keepDays * 86400);
  let heldBackBy: string | undefined;
  // A target still needs what follows its cursor; one without a row yet starts at the newest change when first
  // pushed to, and a failover partner at the change its recon last worked.
  const cursors = new Map(store.pushTargets().map((t) => [t.target, t.cursor]));
  for (const { target, startSeq } of pushTargets(ctx, store, now)) {
    const cursor = cursors.get(target.url);
    const needsAfter = Math.min(cursor ?? Infinity, startSeq ?? Infinity);
    if (needsAfter < limit) {
      limit = needsAfter;
      heldBackBy = target.url;
    }
  }
  const first = store.changesSince(0, 1)[0]?.seq;
  let removed = 0;
  let upTo: number | undefined;
  for (let from = first; from !== undefined && from <= limit; from += batchRows) {
    const end = Math.min(limit, from + batchRows - 1);
    removed += store.pruneChanges(end);
    upTo = end;
    await yieldTurn(); // between batches: other jobs' timers, and other writers get the lock
  }
  return { result: 'pruned', removed, keepDays, ...(upTo !== undefined ? { upTo } : {}), ...(heldBackBy ? { heldBackBy } : {}) };
}
