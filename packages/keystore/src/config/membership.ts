// `membership` in SKS's format: one peer per line, `host port`, `#` starts a comment. Further fields, which SKS's
// own parser would not read (only our servers need them): the peer's recon profile (`host port hockeypuck`) and
// `failover` (push sync sends it keys over HKP while recon with it is down; setting sync_failover_after_s).
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError } from './sksconf.js';

export interface Peer {
  host: string;
  /** The peer's recon port. Its HKP port is learnt from its Config message. */
  port: number;
  /** The peer's recon profile (setting recon_profiles), when the line names one. */
  profile?: string;
  /** Push keys to it over HKP while recon with it fails (the word `failover` on its line). */
  failover?: boolean;
  comment: string;
}

/** A member's recon profile: the one its line names, else the first of the active ones (setting recon_profiles). */
export function memberProfile(peer: Pick<Peer, 'profile'>, activeProfiles: readonly string[]): string {
  return peer.profile ?? activeProfiles[0] ?? 'sks';
}

export function parseMembership(text: string, file = 'membership'): Peer[] {
  const peers: Peer[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    if (parts.length < 2 || parts.length > 4 || !/^\d+$/.test(parts[1]!)) {
      throw new ConfigError(file, i + 1, 'membership', `expected "host port [profile] [failover]", got "${line}"`);
    }
    const port = Number(parts[1]);
    if (port < 1 || port > 65535) throw new ConfigError(file, i + 1, 'membership', `${port} is not a TCP port`);
    const failover = parts.slice(2).includes('failover');
    const rest = parts.slice(2).filter((p) => p !== 'failover');
    const profile = rest[0];
    if (rest.length > 1 || (profile !== undefined && !/^[a-z][a-z0-9]*$/.test(profile))) {
      throw new ConfigError(file, i + 1, 'membership', `"${rest.join(' ')}" is not a recon profile name (e.g. sks, hockeypuck)`);
    }
    peers.push({ host: parts[0]!, port, ...(profile ? { profile } : {}), ...(failover ? { failover } : {}), comment });
  });
  return peers;
}

export function readMembership(file: string): Peer[] {
  return existsSync(file) ? parseMembership(readFileSync(file, 'utf8'), file) : [];
}
