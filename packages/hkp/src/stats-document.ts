// The statistics document (op=stats&options=mr, sks-cron's stats file): one shape, built in one place.
import { memberProfile, readMembership, type Peer, type Settings, type StatsSnapshot } from '@sks/keystore';

/** The SKS version we speak (recon Config, stats page). */
export const VERSION = '1.1.6';
export const SOFTWARE = 'sks-ts 0.1.0';

/** A member of the recon mesh as the stats page shows it. */
export interface StatsPeer {
  host: string;
  port: number;
  /** Its recon profile (membership's third field, else the first of recon_profiles). */
  profile: string;
}

/** The membership file's peers with their profiles; none when it cannot be read (the page still renders). */
export function statsPeers(membershipFile: string, settings: Settings): StatsPeer[] {
  let members: Peer[];
  try {
    members = readMembership(membershipFile);
  } catch {
    return [];
  }
  return members.map((p) => ({ host: p.host, port: p.port, profile: memberProfile(p, settings.recon_profiles) }));
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Our fields (snake_case, as before) and, beside them, the ones the network's spiders (spider.pgpkeys.eu,
 * sks_spider) read from Hockeypuck's page: `numkeys`/`Total`, `contact`, `httpAddr`, `reconAddr`, `software`,
 * `version`, `hostname`, `nodename`, `peers[].reconAddr`. */
export function statsDocument(settings: Settings, peers: StatsPeer[], s: StatsSnapshot): Record<string, unknown> {
  const hkpPort = settings.recon_http_port || settings.hkp_port;
  return {
    software: SOFTWARE,
    version: VERSION,
    hostname: settings.hostname,
    nodename: settings.nodename || settings.hostname,
    server_contact: settings.server_contact,
    contact: settings.server_contact,
    now: new Date(s.takenAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    http_port: settings.hkp_port,
    recon_port: settings.recon_port,
    httpAddr: hostPort(settings.hostname, hkpPort),
    reconAddr: hostPort(settings.hostname, settings.recon_port),
    recon_profiles: settings.recon_profiles,
    peers: peers.map((p) => ({
      Name: p.host, reconAddr: hostPort(p.host, p.port), httpAddr: '', statsPath: '/pks/lookup?op=stats', profile: p.profile,
    })),
    taken_at: s.takenAt,
    total_keys: s.totalKeys,
    numkeys: s.totalKeys,
    Total: s.totalKeys,
    daily: s.daily,
    hourly: s.hourly,
  };
}
