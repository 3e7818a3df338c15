// op=stats: the statistics page (SKS stats.ml) as HTML, and as JSON for scripts (options=mr or options=json).
// Figures come from the store's change log, read incrementally: each refresh only reads changes since the last one.
import { ChangeTally, type StatsSnapshot } from '@sks/keystore';
import {
  SOFTWARE, VERSION, peerState, statsDocument, statsPeers, statsSyncTargets, STATS_PENDING_CAP, type LookupRequest,
  type StatsPeer, type StatsSyncTarget,
} from '@sks/hkp';
import { readMailsync } from '@sks/keystore';
import { isAbsolute, join } from 'node:path';
import type { DbContext } from './context.js';
import { htmlQuote, page, type SksReply } from './http-util.js';
import { dailyAdditionsChart } from './stats-chart.js';

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
  return statsSyncTargets({ path: (rel: string) => basePath(ctx, rel) }, ctx.settings, ctx.store);
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

const basePath = (ctx: DbContext, rel: string) => (isAbsolute(rel) ? rel : join(ctx.basedir, rel));

/** Addresses of SKS's `mailsync` file: the page lists them as SKS does (an unreadable file lists none). */
function mailsyncPeers(ctx: DbContext): string[] {
  try {
    return readMailsync(basePath(ctx, ctx.settings.mailsync_file)).map((t) => t.address!);
  } catch {
    return [];
  }
}

/** What every section of the stats page reads: the figures, the settings, the peers. */
export interface StatsView {
  ctx: DbContext;
  stats: StatsSnapshot;
  peers: StatsPeer[];
  targets: StatsSyncTarget[];
}

const row = (name: string, value: string) => `     <tr><td>${name}</td><td>${value}</td></tr>\n`;

/** The key count, peers and recent additions in a few words, above SKS's tables. */
function overviewSection(v: StatsView): string {
  const week = v.stats.daily.reduce((n, d) => n + d.added, 0);
  return (
    '<ul class="overview">\n' +
    `<li><strong>${v.stats.totalKeys}</strong> keys</li>\n` +
    `<li><strong>${v.peers.length}</strong> gossip peer${v.peers.length === 1 ? '' : 's'}</li>\n` +
    `<li><strong>${week}</strong> keys added in the last ${v.stats.daily.length} days</li>\n` +
    '</ul>\n'
  );
}

/** SKS's settings table, its rows in SKS's order (ours after them). */
function settingsSection(v: StatsView): string {
  const st = v.ctx.settings;
  return (
    '<h2>Settings</h2>\n     <table summary="Keyserver Settings">\n' +
    row('Hostname:', htmlQuote(st.hostname)) +
    row('Nodename:', htmlQuote(st.nodename || st.hostname)) +
    row('Version:', `${VERSION} (${SOFTWARE})`) +
    row('Server contact:', htmlQuote(st.server_contact)) +
    row('HTTP port:', String(st.hkp_port)) +
    row('Recon port:', String(st.recon_port)) +
    row('Debug level:', htmlQuote(st.log_level)) +
    row('Recon profiles:', htmlQuote(st.recon_profiles.join(', '))) +
    '</table>\n'
  );
}

/** SKS's two peer tables side by side: the gossip (recon) peers with their recon profile, the mailsync peers. */
function peersSection(v: StatsView): string {
  const gossip =
    '<h2>Gossip Peers</h2>\n<table summary="Gossip Peers">\n' +
    v.peers.map((p) => `<tr><td>${htmlQuote(`${p.host} ${p.port}`)}</td><td>${htmlQuote(p.profile)}</td><td>${peerStateText(p)}</td></tr>\n`).join('') +
    '</table>';
  const mailsync =
    '<h2>Outgoing Mailsync Peers</h2>\n<table summary="Mailsync Peers">\n' +
    mailsyncPeers(v.ctx).map((a) => `<tr><td>${htmlQuote(a)}</td></tr>\n`).join('') +
    '</table>';
  return `\n\n<table summary="Keyserver Peers" width="100%">\n<tr valign="top"><td>\n${gossip}\n</td><td>\n${mailsync}\n</td></tr></table>\n`;
}

/** A partner's recon state as sks-recon last saw it, in words. */
function peerStateText(p: StatsPeer): string {
  const state = peerState(p);
  const since = (t: number | undefined) => (t === undefined ? '' : ` since ${sksTime(t)}`);
  const text = state === 'ok' ? `ok, last ${sksTime(p.health!.lastOk!)}`
    : state === 'failing' ? `failing${since(p.health!.failingSince)}: ${p.health!.lastError ?? ''}` : 'no session yet';
  return htmlQuote(p.failover ? `${text} (push failover)` : text);
}

/** Push sync (sync-targets, mailsync): each target's queue and health. Absent when no target is configured. */
function syncTargetsSection(v: StatsView): string {
  if (v.targets.length === 0) return '';
  const when = (t: number | undefined) => (t === undefined ? 'never' : sksTime(t));
  const rows = v.targets.map((t) => {
    const pending = t.pending >= STATS_PENDING_CAP ? `${STATS_PENDING_CAP}+` : String(t.pending);
    const state = t.failures > 0 ? `failing (${t.failures}): ${htmlQuote(t.lastError ?? '')}` : 'ok';
    return `<tr><td>${htmlQuote(t.target)}</td><td>${t.priority}</td><td>${pending}</td><td>${t.sent}</td><td>${t.refused}</td>`
      + `<td>${when(t.lastSuccess)}</td><td>${state}</td></tr>\n`;
  }).join('');
  return '<h2>Push Sync Targets</h2>\n<div class="table-scroll"><table summary="Push Sync Targets">\n'
    + '<tr><th scope="col">Target</th><th scope="col">Priority</th><th scope="col">Queued</th><th scope="col">Sent</th>'
    + '<th scope="col">Refused</th><th scope="col">Last success</th><th scope="col">State</th></tr>\n'
    + `${rows}</table></div>\n`;
}

/** The key count, the chart of daily additions, SKS's daily and hourly histograms. */
function statisticsSection(v: StatsView): string {
  const s = v.stats;
  return (
    '<h2>Statistics</h2>' +
    `<p>Total number of keys: ${s.totalKeys}</p>\n` +
    dailyAdditionsChart(s.daily) +
    '<h3>Daily Histogram</h3>\n' +
    table(s.daily, (t) => new Date(t * 1000).toISOString().slice(0, 10)) +
    '<h3>Hourly Histogram</h3>\n' +
    table(s.hourly, (t) => new Date(t * 1000).toISOString().slice(0, 13).replace('T', ' '))
  );
}

/** The sections of the page, in order: a new one is a function of the view added here. */
export const STATS_SECTIONS: ReadonlyArray<(v: StatsView) => string> = [
  overviewSection, settingsSection, peersSection, syncTargetsSection, statisticsSection,
];

export function statsHtml(ctx: DbContext): string {
  const stats = currentStats(ctx);
  const view: StatsView = { ctx, stats, peers: statsPeers(ctx.membershipFile, ctx.settings, ctx.store), targets: syncTargets(ctx) };
  const title = `SKS OpenPGP Keyserver statistics<br />Taken at ${sksTime(stats.takenAt)}`;
  return page(title, STATS_SECTIONS.map((section) => section(view)).join(''));
}

/** The reply to op=stats: JSON for options=mr or json, else SKS's HTML page. */
export function statsReply(ctx: DbContext, r: LookupRequest): SksReply {
  if (r.mr || r.json) return { type: 'application/json; charset=UTF-8', body: JSON.stringify(statsJson(ctx)) };
  return { type: 'text/html; charset=UTF-8', body: statsHtml(ctx) };
}
