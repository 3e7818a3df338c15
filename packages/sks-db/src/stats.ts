// op=stats: the statistics page (SKS stats.ml) as HTML, and as JSON for scripts (options=mr or options=json).
// Figures come from the store's change log, read incrementally: each refresh only reads changes since the last one.
import { ChangeTally, type StatsSnapshot } from '@sks/keystore';
import { SOFTWARE, VERSION, statsDocument, statsPeers, type LookupRequest } from '@sks/hkp';
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
  return statsDocument(ctx.settings, statsPeers(ctx.membershipFile, ctx.settings), currentStats(ctx));
}

function table(rows: StatsSnapshot['hourly'], label: (t: number) => string): string {
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
    `<tr><td>Recon profiles:</td><td>${htmlQuote(st.recon_profiles.join(', '))}</td></tr>\n` +
    '</table>\r\n';
  const gossip =
    '<h2>Gossip Peers</h2>\n<table summary="Gossip Peers">\n' +
    statsPeers(ctx.membershipFile, st)
      .map((p) => `<tr><td>${htmlQuote(`${p.host} ${p.port}`)}</td><td>${htmlQuote(p.profile)}</td></tr>\n`).join('') +
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
