// Push sync (CKS / PKS / Hockeypuck "PKS" style): every key added or changed here by /pks/add, recon or a load is
// sent to each sync target; keys that came in by push sync or mail are not sent on (no loops).
//
// The queue is the store's change log read from each target's cursor (store PushQueue), so nothing is held in
// memory between runs, a target that is down for days costs one row, and a restart resumes where the last
// acknowledged request left off. Targets are served in priority order, one request at a time; the cursor moves in
// the same step as the target's answer, so a target that acknowledged a request never gets it again. A target that
// fails waits (sync_retry_base_s, doubling up to sync_retry_max_s) and keeps its place.
import {
  armor, memberProfile, readMembership, readSyncTargets, type ChangeLog, type KeyReader, type Logger, type PushQueue,
  type ReconPeerLog, type Settings, type SyncTarget,
} from '@sks/keystore';
import type { CronContext } from '../context.js';
import { TargetDown, send, type SendContext } from './transports.js';

export type PushStore = PushQueue & ReconPeerLog & ChangeLog & Pick<KeyReader, 'getByFingerprint'>;

export interface TargetRun {
  target: string;
  sent: number;
  refused: number;
  /** Requests (or mails) made. */
  requests: number;
  /** Set when the target failed this run (it keeps its place and waits). */
  error?: string;
  /** Set when the target was not tried: still in back-off. */
  waiting?: true;
  /** Changes still queued for it after this run (counted up to PENDING_COUNT_CAP). */
  pending: number;
}

/** Pending counts above this are shown as "at least" (counting a days-long backlog exactly costs a scan). */
export const PENDING_COUNT_CAP = 1_000_000;

/** The configured targets in push order, then the recon partners to fail over to (membership `failover` whose
 * recon has failed for sync_failover_after_s), each with the change it starts from. */
export function pushTargets(ctx: CronContext, store: PushStore, now = Math.floor(Date.now() / 1000)): Array<{ target: SyncTarget; startSeq?: number }> {
  const s = ctx.settings;
  const listed = readSyncTargets({
    syncTargets: ctx.base.path(s.sync_targets_file),
    ...(s.disable_mailsync ? {} : { mailsync: ctx.base.path(s.mailsync_file) }),
  }).map((target) => ({ target }));
  return [...listed, ...failoverTargets(ctx, store, now)];
}

function failoverTargets(ctx: CronContext, store: PushStore, now: number): Array<{ target: SyncTarget; startSeq: number }> {
  const members = readMembership(ctx.base.path('membership')).filter((m) => m.failover);
  if (members.length === 0) return [];
  const health = new Map(store.reconPeers().map((p) => [p.peer, p]));
  const out: Array<{ target: SyncTarget; startSeq: number }> = [];
  for (const m of members) {
    const h = health.get(`${m.host}:${m.port}`);
    if (h?.failingSince === undefined || now - h.failingSince < ctx.settings.sync_failover_after_s) continue;
    const port = h.httpPort ?? 11371;
    out.push({
      target: { url: `hkp://${m.host.toLowerCase()}:${port}`, kind: 'hkp', host: m.host, port, priority: 0, from: 'membership' },
      // everything changed since recon last worked with it (or since it started failing, if it never worked)
      startSeq: store.seqBefore(h.lastOk ?? h.failingSince),
    });
    ctx.logger.debug('push sync fails over to HKP', { peer: `${m.host}:${m.port}`, profile: memberProfile(m, ctx.settings.recon_profiles), failingSince: h.failingSince });
  }
  return out;
}

/** Back-off after the n-th consecutive failure. */
export function retryDelayS(settings: Settings, failures: number): number {
  return Math.min(settings.sync_retry_max_s, settings.sync_retry_base_s * 2 ** Math.max(0, Math.min(30, failures - 1)));
}

interface Item { upTo: number; fingerprint: string; data: Buffer }

/** Groups consecutive queue items into requests: at most sync_keys_per_request keys and sync_request_max_bytes of
 * key data each (a larger key goes alone); vks:// takes one key per request. */
function requestsOf(items: Item[], target: SyncTarget, s: Settings): Item[][] {
  const perRequest = target.kind === 'vks' ? 1 : Math.max(1, s.sync_keys_per_request);
  const out: Item[][] = [];
  let cur: Item[] = [];
  let bytes = 0;
  for (const it of items) {
    if (cur.length > 0 && (cur.length >= perRequest || bytes + it.data.length > s.sync_request_max_bytes)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(it);
    bytes += it.data.length;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/** Sends what one target still needs, in queue order, until it is done, fails, or reached sync_run_max_keys. */
export async function pushToTarget(target: SyncTarget, store: PushStore, sendCtx: SendContext, log: Logger,
  startSeq?: number, now = Math.floor(Date.now() / 1000)): Promise<TargetRun> {
  const s = sendCtx.settings;
  let state = store.pushTarget(target.url, startSeq);
  if (startSeq !== undefined && state.cursor < startSeq) {
    // a failover that starts again: what changed before recon last worked has been reconciled since
    store.setPushCursor(target.url, startSeq);
    state = store.pushTarget(target.url);
  }
  const run: TargetRun = { target: target.url, sent: 0, refused: 0, requests: 0, pending: 0 };
  if (state.retryAt > now) {
    run.waiting = true;
    run.pending = store.countPending(state.cursor, PENDING_COUNT_CAP);
    return run;
  }
  let cursor = state.cursor;
  const ack = (upTo: number, sent: number, refused: number) => {
    store.ackPushes(target.url, upTo, { sent, refused });
    cursor = Math.max(cursor, upTo);
    run.sent += sent;
    run.refused += refused;
  };
  try {
    while (run.sent + run.refused < s.sync_run_max_keys) {
      const page = store.pendingPushes(cursor, Math.max(1, s.sync_batch_keys));
      // The newest change of a key in this page stands for all of them: the key is read as it is now.
      const last = new Map<string, number>();
      for (const p of page.items) last.set(p.fingerprint, p.seq);
      const items: Item[] = [];
      for (const p of page.items) {
        if (last.get(p.fingerprint) !== p.seq) continue;
        const key = store.getByFingerprint(p.fingerprint);
        if (key) items.push({ upTo: p.seq, fingerprint: p.fingerprint, data: key.data }); // gone (blocked, deleted): skipped
      }
      for (const req of requestsOf(items, target, s)) {
        const armored = armor(Buffer.concat(req.map((i) => i.data)));
        run.requests++;
        const answer = await send(target, armored, sendCtx);
        if (answer.status === 'ok') {
          ack(req[req.length - 1]!.upTo, req.length, 0);
          continue;
        }
        if (req.length === 1) {
          log.warn('push target refused a key', { target: target.url, fingerprint: req[0]!.fingerprint, detail: answer.detail });
          ack(req[0]!.upTo, 0, 1);
          continue;
        }
        // One key of the request may be what the target refuses: try them one by one, so the others get through.
        for (const one of req) {
          run.requests++;
          const single = await send(target, armor(one.data), sendCtx);
          if (single.status === 'refused') {
            log.warn('push target refused a key', { target: target.url, fingerprint: one.fingerprint, detail: single.detail });
          }
          ack(one.upTo, single.status === 'ok' ? 1 : 0, single.status === 'ok' ? 0 : 1);
        }
      }
      // Changes not to push (arrived by sync, removals) and keys gone since: nothing to send, move past them.
      if (page.upTo > cursor) ack(page.upTo, 0, 0);
      if (page.items.length < Math.max(1, s.sync_batch_keys)) break;
    }
  } catch (e) {
    if (!(e instanceof TargetDown)) throw e;
    const failures = store.pushTarget(target.url).failures + 1;
    const wait = retryDelayS(s, failures);
    store.pushFailed(target.url, e.message, Math.floor(Date.now() / 1000) + wait);
    run.error = e.message;
    log.warn('push target failed; it keeps its place in the queue', { target: target.url, error: e.message, failures, retryInS: wait });
  }
  run.pending = store.countPending(cursor, PENDING_COUNT_CAP);
  return run;
}

/** One run of the push job over every target. A failing target does not hold up the others. */
export async function runPushSync(ctx: CronContext, store: PushStore): Promise<TargetRun[]> {
  const sendCtx: SendContext = { settings: ctx.settings, sender: ctx.settings.sync_from || ctx.settings.hostname };
  const runs: TargetRun[] = [];
  for (const { target, startSeq } of pushTargets(ctx, store)) {
    runs.push(await pushToTarget(target, store, sendCtx, ctx.logger, startSeq));
  }
  return runs;
}
