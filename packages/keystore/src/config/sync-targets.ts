// Push-sync targets: `$SKS_BASEDIR/sync-targets` (one URL a line, an optional priority after it, `#` comments) and
// SKS's own `mailsync` file (one address a line), whose addresses are mailto: targets too. Each target has one
// canonical spelling (scheme, lower-case host, explicit port), which names its row in the store, so writing
// `hkp://Peer.example` or `hkp://peer.example:11371` does not start a second queue for the same server.
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError } from './sksconf.js';

/** Marks a push (HTTP request or mail) as coming from another keyserver's push sync, as PKS marks its sync mail:
 * what arrives with it is stored as `sync` and not pushed on, so two pushing servers never loop. */
export const SYNC_SENDER_HEADER = 'X-Keyserver-Sent';

export type SyncKind = 'hkp' | 'hkps' | 'vks' | 'mailto';

export interface SyncTarget {
  /** Canonical URL: hkp://host:port, hkps://host:port, vks://host:port, mailto:address. */
  url: string;
  kind: SyncKind;
  /** hkp, hkps, vks. */
  host?: string;
  port?: number;
  /** mailto. */
  address?: string;
  /** Lower goes first (default 100; mailsync addresses come after every listed target). */
  priority: number;
  /** Which file named it (failover targets come from membership). */
  from: 'sync-targets' | 'mailsync' | 'membership';
}

const DEFAULT_PORT: Record<Exclude<SyncKind, 'mailto'>, number> = { hkp: 11371, hkps: 443, vks: 443 };
export const DEFAULT_SYNC_PRIORITY = 100;
const MAILSYNC_PRIORITY = 1000;
const ADDRESS = /^[^\s@<>()",;:]+@[^\s@<>()",;:]+\.[^\s@<>()",;:]+$/;

/** Reads one target URL; undefined with a reason when it is not one. */
export function parseTargetUrl(text: string): { target: Omit<SyncTarget, 'priority' | 'from'> } | { problem: string } {
  const mail = /^mailto:(.+)$/i.exec(text);
  if (mail) {
    const address = mail[1]!.trim();
    if (!ADDRESS.test(address)) return { problem: `"${address}" is not an e-mail address` };
    return { target: { url: `mailto:${address}`, kind: 'mailto', address } };
  }
  const m = /^(hkps?|vks):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d+))?\/?$/.exec(text);
  if (!m) return { problem: `"${text}" is not hkp://host[:port], hkps://host[:port], vks://host[:port] or mailto:address` };
  const kind = m[1]!.toLowerCase() as Exclude<SyncKind, 'mailto'>;
  const host = m[2]!.toLowerCase();
  const port = m[3] !== undefined ? Number(m[3]) : DEFAULT_PORT[kind];
  if (port < 1 || port > 65535) return { problem: `${port} is not a TCP port` };
  return { target: { url: `${kind}://${host}:${port}`, kind, host: host.replace(/^\[|\]$/g, ''), port } };
}

export function parseSyncTargets(text: string, file = 'sync-targets'): SyncTarget[] {
  const out: SyncTarget[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const [url, priority, ...extra] = line.split(/\s+/);
    const parsed = parseTargetUrl(url!);
    if ('problem' in parsed) throw new ConfigError(file, i + 1, 'sync-targets', parsed.problem);
    if (extra.length > 0 || (priority !== undefined && !/^\d+$/.test(priority))) {
      throw new ConfigError(file, i + 1, 'sync-targets', `expected "URL [priority]", got "${line}"`);
    }
    out.push({ ...parsed.target, priority: priority !== undefined ? Number(priority) : DEFAULT_SYNC_PRIORITY, from: 'sync-targets' });
  });
  return out;
}

/** SKS's mailsync: one address a line (SKS allows `#` comments). */
export function parseMailsync(text: string, file = 'mailsync'): SyncTarget[] {
  const out: SyncTarget[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const parsed = parseTargetUrl(`mailto:${line}`);
    if ('problem' in parsed) throw new ConfigError(file, i + 1, 'mailsync', parsed.problem);
    out.push({ ...parsed.target, priority: MAILSYNC_PRIORITY, from: 'mailsync' });
  });
  return out;
}

/** SKS's mailsync file as targets; none when it does not exist. */
export function readMailsync(file: string): SyncTarget[] {
  return existsSync(file) ? parseMailsync(readFileSync(file, 'utf8'), file) : [];
}

/** Every configured target, in push order (priority, then as listed), each URL once. */
export function readSyncTargets(files: { syncTargets: string; mailsync?: string }): SyncTarget[] {
  const listed = existsSync(files.syncTargets) ? parseSyncTargets(readFileSync(files.syncTargets, 'utf8'), files.syncTargets) : [];
  const mailed = files.mailsync ? readMailsync(files.mailsync) : [];
  const seen = new Set<string>();
  return [...listed, ...mailed]
    .map((t, order) => ({ t, order }))
    .sort((a, b) => a.t.priority - b.t.priority || a.order - b.order)
    .map(({ t }) => t)
    .filter((t) => (seen.has(t.url) ? false : (seen.add(t.url), true)));
}
