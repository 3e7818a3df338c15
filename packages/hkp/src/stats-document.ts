// The statistics document (op=stats&options=mr, sks-cron's stats file): one shape, built in one place.
import type { Settings, StatsSnapshot } from '@sks/keystore';

/** The SKS version we speak (recon Config, stats page). */
export const VERSION = '1.1.6';
export const SOFTWARE = 'sks-ts 0.1.0';

export function statsDocument(settings: Settings, peers: string[], s: StatsSnapshot): Record<string, unknown> {
  return {
    software: SOFTWARE,
    version: VERSION,
    hostname: settings.hostname,
    nodename: settings.nodename || settings.hostname,
    server_contact: settings.server_contact,
    http_port: settings.hkp_port,
    recon_port: settings.recon_port,
    peers,
    taken_at: s.takenAt,
    total_keys: s.totalKeys,
    daily: s.daily,
    hourly: s.hourly,
  };
}
