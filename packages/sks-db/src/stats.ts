// op=stats: the statistics page (SKS stats.ml) as HTML, and as JSON for scripts (options=mr or options=json).
// Figures come from the store's change log, read incrementally: each refresh only reads changes since the last one.
import { ChangeTally, type StatsSnapshot } from '@sks/keystore';
import { SOFTWARE, VERSION, statsDocument, statsPeers, statsSyncTargets, type LookupRequest } from '@sks/hkp';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { DbContext } from './context.js';
import { htmlQuote, page, type SksReply } from './http-util.js';

export { VERSION, SOFTWARE };

const tallies = new WeakMap<DbContext, { tally: ChangeTally; snapshot?: StatsSnapshot }>();

/** Computes the statistics now (reads only the changes since the last computation). */
export function computeStats(ctx: DbContext): StatsSnapshot {
  let entry = tallies.get(ctx);
  if (!entry) {
    entry = { tally: new ChangeTally(ctx.store) };
    tallies.set(ctx, entry);
  }
  entry.snapshot = entry.tally.snapshot();
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

/** The last computed snapshot (computed on first use so the page is never empty), with the key count read now: it
 * is one row, and a count that lags behind uploads and recon by stat_interval_s misleads operators and spiders. */
export function currentStats(ctx: DbContext): StatsSnapshot {
  const s = tallies.get(ctx)?.snapshot ?? computeStats(ctx);
  return { ...s, totalKeys: ctx.store.count() };
}

export function statsJson(ctx: DbContext): object {
  return statsDocument(ctx.settings, statsPeers(ctx.membershipFile, ctx.settings, ctx.store), currentStats(ctx), syncTargets(ctx));
}

/** The push-sync targets with their queue state (sync-targets and mailsync in the base directory). */
export function syncTargets(ctx: DbContext) {
  return statsSyncTargets({ path: (rel) => (isAbsolute(rel) ? rel : join(ctx.basedir, rel)) }, ctx.settings, ctx.store);
}

/** A histogram as SKS prints it: the periods that saw keys, newest first, header in plain cells. */
function table(rows: StatsSnapshot['hourly'], label: (t: number) => string): string {
  const body = [...rows]
    .filter((b) => b.added > 0 || b.updated > 0)
    .reverse()
    .map((b) => `<tr><td>${label(b.start)}</td><td>${b.added}</td><td>${b.updated}</td></tr>\n`)
    .join('');
  return `<table summary="Statistics" border="1">\n<tr><td>Time</td><td>New Keys</td><td>Updated Keys</td></tr>\n${body}</table>\n`;
}

/** "2026-12-04 05:22:14 UTC", as SKS writes times on the page. */
function sksTime(t: number): string {
  return `${new Date(t * 1000).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Addresses of SKS's `mailsync` file (one per line, # comments): the page lists them as SKS does. */
function mailsyncPeers(ctx: DbContext): string[] {
  try {
    return readFileSync(join(ctx.basedir, 'mailsync'), 'utf8').split(/\r?\n/)
      .map((l) => l.replace(/#.*/, '').trim()).filter((l) => l !== '');
  } catch {
    return [];
  }
}

export function statsHtml(ctx: DbContext): string {
  const s = currentStats(ctx);
  const st = ctx.settings;
  const row = (name: string, value: string) => `     <tr><td>${name}</td><td>${value}</td></tr>\n`;
  const settingsTable =
    '<h2>Settings</h2>\n     <table summary="Keyserver Settings">\n' +
    row('Hostname:', htmlQuote(st.hostname)) +
    row('Nodename:', htmlQuote(st.nodename || st.hostname)) +
    row('Version:', `${VERSION} (${SOFTWARE})`) +
    row('Server contact:', htmlQuote(st.server_contact)) +
    row('HTTP port:', String(st.hkp_port)) +
    row('Recon port:', String(st.recon_port)) +
    row('Debug level:', htmlQuote(st.log_level)) +
    row('Recon profiles:', htmlQuote(st.recon_profiles.join(', '))) +
    '</table>\n';
  const gossip =
    '<h2>Gossip Peers</h2>\n<table summary="Gossip Peers">\n' +
    statsPeers(ctx.membershipFile, st)
      .map((p) => `<tr><td>${htmlQuote(`${p.host} ${p.port}`)}</td><td>${htmlQuote(p.profile)}</td></tr>\n`).join('') +
    '</table>';
  const mailsync =
    '<h2>Outgoing Mailsync Peers</h2>\n<table summary="Mailsync Peers">\n' +
    mailsyncPeers(ctx).map((a) => `<tr><td>${htmlQuote(a)}</td></tr>\n`).join('') +
    '</table>';
  const info =
    `${settingsTable}\n\n<table summary="Keyserver Peers" width="100%">\n<tr valign="top"><td>\n${gossip}\n</td><td>\n${mailsync}\n</td></tr></table>\n`;
  const title = `SKS OpenPGP Keyserver statistics<br />Taken at ${sksTime(s.takenAt)}`;
  const body =
    info +
    '<h2>Statistics</h2>' +
    `<p>Total number of keys: ${s.totalKeys}</p>\n` +
    '<h3>Daily Histogram</h3>\n' +
    table(s.daily, (t) => new Date(t * 1000).toISOString().slice(0, 10)) +
    '<h3>Hourly Histogram</h3>\n' +
    table(s.hourly, (t) => new Date(t * 1000).toISOString().slice(0, 13).replace('T', ' '));
  return page(title, body);
}

/** The reply to op=stats: JSON for options=mr or json, else SKS's HTML page. */
export function statsReply(ctx: DbContext, r: LookupRequest): SksReply {
  if (r.mr || r.json) return { type: 'application/json; charset=UTF-8', body: JSON.stringify(statsJson(ctx)) };
  return { type: 'text/html; charset=UTF-8', body: statsHtml(ctx) };
}
