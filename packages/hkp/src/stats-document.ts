// The statistics document (op=stats&options=mr, sks-cron's stats file): one shape, built in one place.
import {
  isoSeconds, memberProfile, readMembership, readSyncTargets, type Peer, type PushQueue, type PushTargetState, type ReconPeerLog, type ReconPeerState,
  type Settings, type StatsSnapshot,
} from '@sks/keystore';

/** The SKS version we speak (recon Config, stats page). */
export const VERSION = '1.1.6';
export const SOFTWARE = 'sks-ts 0.1.0';

/** A member of the recon mesh as the stats page shows it. */
export interface StatsPeer {
  host: string;
  port: number;
  /** Its recon profile (membership's third field, else the first of recon_profiles). */
  profile: string;
  /** Push sync fails over to HKP while recon with it fails (membership `failover`). */
  failover?: boolean;
  /** What sks-recon last saw of it (absent before the first session we started with it). */
  health?: ReconPeerState;
}

/** A push-sync target as the stats page shows it: its row in the store, its priority and what waits for it. */
export type StatsSyncTarget = Omit<PushTargetState, 'cursor' | 'retryAt'> & { priority: number; pending: number };

/** Pending counts on the page stop at this (an exact count of a days-long backlog costs a scan per page view). */
export const STATS_PENDING_CAP = 100_000;

/** The configured push targets (sync-targets, mailsync) with their queue state; none when unreadable. */
export function statsSyncTargets(base: { path(rel: string): string }, settings: Settings, store: Pick<PushQueue, 'pushTargets' | 'countPending'>): StatsSyncTarget[] {
  let targets;
  try {
    targets = readSyncTargets({
      syncTargets: base.path(settings.sync_targets_file),
      ...(settings.disable_mailsync ? {} : { mailsync: base.path(settings.mailsync_file) }),
    });
  } catch {
    return [];
  }
  const rows = new Map(store.pushTargets().map((r) => [r.target, r]));
  return targets.map((t) => {
    const r = rows.get(t.url);
    return {
      target: t.url, priority: t.priority, pending: r ? store.countPending(r.cursor, STATS_PENDING_CAP) : 0,
      sent: r?.sent ?? 0, refused: r?.refused ?? 0, failures: r?.failures ?? 0,
      ...(r?.lastSuccess !== undefined ? { lastSuccess: r.lastSuccess } : {}),
      ...(r?.lastError !== undefined ? { lastError: r.lastError, lastErrorAt: r.lastErrorAt } : {}),
    };
  });
}

/** A peer's recon state in one word: ok, failing (since failingSince), or unknown (no session started yet). */
export function peerState(p: StatsPeer): 'ok' | 'failing' | 'unknown' {
  if (!p.health) return 'unknown';
  return p.health.failingSince !== undefined ? 'failing' : p.health.lastOk !== undefined ? 'ok' : 'unknown';
}

/** The membership file's peers with their profiles; none when it cannot be read (the page still renders). */
export function statsPeers(membershipFile: string, settings: Settings, store?: Pick<ReconPeerLog, 'reconPeers'>): StatsPeer[] {
  let members: Peer[];
  try {
    members = readMembership(membershipFile);
  } catch {
    return [];
  }
  const health = new Map((store?.reconPeers() ?? []).map((h) => [h.peer, h]));
  return members.map((p) => {
    const h = health.get(`${p.host}:${p.port}`);
    return {
      host: p.host, port: p.port, profile: memberProfile(p, settings.recon_profiles),
      ...(p.failover ? { failover: true } : {}), ...(h ? { health: h } : {}),
    };
  });
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Our fields (snake_case, as before) and, beside them, the ones the network's spiders (spider.pgpkeys.eu,
 * sks_spider) read from Hockeypuck's page: `numkeys`/`Total`, `contact`, `httpAddr`, `reconAddr`, `software`,
 * `version`, `hostname`, `nodename`, `peers[].reconAddr`. */
const iso = (t: number | undefined) => (t === undefined ? null : isoSeconds(t));

export function statsDocument(settings: Settings, peers: StatsPeer[], s: StatsSnapshot, targets: StatsSyncTarget[] = []): Record<string, unknown> {
  const hkpPort = settings.recon_http_port || settings.hkp_port;
  return {
    software: SOFTWARE,
    version: VERSION,
    hostname: settings.hostname,
    nodename: settings.nodename || settings.hostname,
    server_contact: settings.server_contact,
    contact: settings.server_contact,
    now: isoSeconds(s.takenAt),
    http_port: settings.hkp_port,
    recon_port: settings.recon_port,
    httpAddr: hostPort(settings.hostname, hkpPort),
    reconAddr: hostPort(settings.hostname, settings.recon_port),
    recon_profiles: settings.recon_profiles,
    peers: peers.map((p) => ({
      Name: p.host, reconAddr: hostPort(p.host, p.port),
      httpAddr: p.health?.httpPort ? hostPort(p.host, p.health.httpPort) : '', statsPath: '/pks/lookup?op=stats',
      profile: p.profile, state: peerState(p), lastRecon: iso(p.health?.lastOk), failingSince: iso(p.health?.failingSince),
      ...(p.failover ? { failover: true } : {}),
    })),
    // Hockeypuck's PKS status fields (Addr, LastSync, LastError) and ours beside them.
    pksTargets: targets.map((t) => ({
      Addr: t.target, LastSync: iso(t.lastSuccess), LastError: t.lastError ?? null,
      priority: t.priority, pending: t.pending, sent: t.sent, refused: t.refused, failures: t.failures, lastErrorAt: iso(t.lastErrorAt),
    })),
    taken_at: s.takenAt,
    total_keys: s.totalKeys,
    numkeys: s.totalKeys,
    Total: s.totalKeys,
    daily: s.daily,
    hourly: s.hourly,
  };
}
