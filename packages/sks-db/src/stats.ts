// op=stats: the statistics page (SKS stats.ml) as HTML, and as JSON for scripts (options=mr or options=json).
// Figures come from the store's change log, read incrementally: each refresh only reads changes since the last one.
import { readMembership } from '@sks/keystore';
import type { DbContext } from './context.js';
import { htmlQuote, page, type SksReply } from './http-util.js';
import type { LookupRequest } from './lookup.js';

export const VERSION = '1.1.6';
export const SOFTWARE = 'sks-ts 0.1.0';

const HOUR = 3600;
const DAY = 86400;
/** How far back the histograms reach (SKS shows about a week of days and a day of hours). */
const DAYS_SHOWN = 7;
const HOURS_SHOWN = 24;
const CHANGE_PAGE = 5000;

export interface Bucket {
  /** Unix seconds of the bucket's start. */
  start: number;
  added: number;
  updated: number;
}

export interface StatsSnapshot {
  takenAt: number;
  totalKeys: number;
  hourly: Bucket[];
  daily: Bucket[];
}

/** Running tally over the change log: per bucket start, how many keys arrived new and how many changed. */
class ChangeTally {
  private lastSeq = 0;
  readonly hours = new Map<number, { added: number; updated: number }>();
  readonly days = new Map<number, { added: number; updated: number }>();

  /** Reads the change log from where the last call stopped. An `add` preceded in the same write by a `remove` of
   * the same fingerprint is an update (the key's digest changed); an `add` alone is a new key. */
  advance(ctx: DbContext): void {
    // Start a week back, not at seq 0: after a bulk load the log holds millions of older entries nobody shows.
    if (this.lastSeq === 0) this.lastSeq = ctx.store.seqBefore(Math.floor(Date.now() / 1000) - (DAYS_SHOWN + 1) * DAY);
    for (;;) {
      const changes = ctx.store.changesSince(this.lastSeq, CHANGE_PAGE);
      if (changes.length === 0) break;
      const removed = new Set<string>();
      for (const c of changes) {
        this.lastSeq = Math.max(this.lastSeq, c.seq);
        if (c.op === 'remove') {
          removed.add(`${c.fingerprint}@${c.at}`);
          continue;
        }
        const updated = removed.has(`${c.fingerprint}@${c.at}`);
        for (const [map, size] of [[this.hours, HOUR], [this.days, DAY]] as const) {
          const start = Math.floor(c.at / size) * size;
          const b = map.get(start) ?? { added: 0, updated: 0 };
          if (updated) b.updated++;
          else b.added++;
          map.set(start, b);
        }
      }
      if (changes.length < CHANGE_PAGE) break;
    }
  }

  /** Forgets buckets older than the histograms show, so a long-running worker's tally stays small. */
  prune(now: number): void {
    for (const [map, size, n] of [[this.hours, HOUR, HOURS_SHOWN], [this.days, DAY, DAYS_SHOWN]] as const) {
      const oldest = Math.floor(now / size) * size - (n - 1) * size;
      for (const start of map.keys()) if (start < oldest) map.delete(start);
    }
  }

  buckets(map: Map<number, { added: number; updated: number }>, size: number, n: number, now: number): Bucket[] {
    const out: Bucket[] = [];
    const last = Math.floor(now / size) * size;
    for (let i = n - 1; i >= 0; i--) {
      const start = last - i * size;
      const b = map.get(start) ?? { added: 0, updated: 0 };
      out.push({ start, ...b });
    }
    return out;
  }
}

const tallies = new WeakMap<DbContext, { tally: ChangeTally; snapshot?: StatsSnapshot; timer?: NodeJS.Timeout }>();

/** Computes the statistics now (reads only the changes since the last computation). */
export function computeStats(ctx: DbContext): StatsSnapshot {
  let entry = tallies.get(ctx);
  if (!entry) {
    entry = { tally: new ChangeTally() };
    tallies.set(ctx, entry);
  }
  entry.tally.advance(ctx);
  const now = Math.floor(Date.now() / 1000);
  entry.tally.prune(now);
  entry.snapshot = {
    takenAt: now,
    totalKeys: ctx.store.count(),
    hourly: entry.tally.buckets(entry.tally.hours, HOUR, HOURS_SHOWN, now),
    daily: entry.tally.buckets(entry.tally.days, DAY, DAYS_SHOWN, now),
  };
  return entry.snapshot;
}

/** Starts the periodic refresh (stat_interval_s), computing at once when initial_stat is set. */
export function startStats(ctx: DbContext): () => void {
  if (ctx.settings.initial_stat) computeStats(ctx);
  const timer = setInterval(() => {
    try {
      computeStats(ctx);
    } catch (err) {
      ctx.logger.warn('statistics refresh failed', { error: (err as Error).message });
    }
  }, Math.max(1, ctx.settings.stat_interval_s) * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

/** The last computed snapshot; computed on first use so the page is never empty. */
export function currentStats(ctx: DbContext): StatsSnapshot {
  return tallies.get(ctx)?.snapshot ?? computeStats(ctx);
}

function peers(ctx: DbContext): string[] {
  try {
    return readMembership(ctx.membershipFile).map((p) => `${p.host} ${p.port}`);
  } catch {
    return [];
  }
}

export function statsJson(ctx: DbContext): object {
  const s = currentStats(ctx);
  return {
    software: SOFTWARE,
    version: VERSION,
    hostname: ctx.settings.hostname,
    nodename: ctx.settings.nodename || ctx.settings.hostname,
    server_contact: ctx.settings.server_contact,
    http_port: ctx.settings.hkp_port,
    recon_port: ctx.settings.recon_port,
    peers: peers(ctx),
    taken_at: s.takenAt,
    total_keys: s.totalKeys,
    daily: s.daily,
    hourly: s.hourly,
  };
}

function table(rows: Bucket[], label: (t: number) => string): string {
  const body = [...rows]
    .reverse()
    .map((b) => `<tr><td>${label(b.start)}</td><td>${b.added}</td><td>${b.updated}</td></tr>\n`)
    .join('');
  return `<table summary="Statistics" border="1">\n<tr><th>Time</th><th>New Keys</th><th>Updated Keys</th></tr>\n${body}</table>\n`;
}

export function statsHtml(ctx: DbContext): string {
  const s = currentStats(ctx);
  const st = ctx.settings;
  const iso = (t: number) => new Date(t * 1000).toISOString();
  const settingsTable =
    '<h2>Settings</h2>\n<table summary="Keyserver Settings">\n' +
    `<tr><td>Hostname:</td><td>${htmlQuote(st.hostname)}</td></tr>\n` +
    `<tr><td>Nodename:</td><td>${htmlQuote(st.nodename || st.hostname)}</td></tr>\n` +
    `<tr><td>Version:</td><td>${VERSION} (${SOFTWARE})</td></tr>\n` +
    `<tr><td>Server contact:</td><td>${htmlQuote(st.server_contact)}</td></tr>\n` +
    `<tr><td>HTTP port:</td><td>${st.hkp_port}</td></tr>\n` +
    `<tr><td>Recon port:</td><td>${st.recon_port}</td></tr>\n` +
    '</table>\r\n';
  const gossip =
    '<h2>Gossip Peers</h2>\n<table summary="Gossip Peers">\n' +
    peers(ctx).map((p) => `<tr><td>${htmlQuote(p)}</td></tr>\n`).join('') +
    '</table>';
  const info =
    `${settingsTable}\n\n<table summary="Keyserver Peers" width="100%">\n<tr valign="top"><td>\n${gossip}\n</td></tr></table>\r\n`;
  const title = `SKS OpenPGP Keyserver statistics<br />Taken at ${iso(s.takenAt)}`;
  const body =
    info +
    '<h2>Statistics</h2>' +
    `<p>Total number of keys: ${s.totalKeys}</p>\n` +
    '<h3>Daily Histogram</h3>\n' +
    table(s.daily, (t) => iso(t).slice(0, 10)) +
    '<h3>Hourly Histogram</h3>\n' +
    table(s.hourly, (t) => iso(t).slice(0, 13).replace('T', ' '));
  return page(title, body);
}

/** The reply to op=stats: JSON for options=mr or json, else SKS's HTML page. */
export function statsReply(ctx: DbContext, r: LookupRequest): SksReply {
  if (r.mr || r.json) return { type: 'application/json; charset=UTF-8', body: JSON.stringify(statsJson(ctx)) };
  return { type: 'text/html; charset=UTF-8', body: statsHtml(ctx) };
}
