// `membership` in SKS's format: one peer per line, `host port`, `#` starts a comment.
import { readFileSync, existsSync } from 'node:fs';
import { ConfigError } from './sksconf.js';

export interface Peer {
  host: string;
  /** The peer's recon port. Its HKP port is learnt from its Config message. */
  port: number;
  comment: string;
}

export function parseMembership(text: string, file = 'membership'): Peer[] {
  const peers: Peer[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf('#');
    const comment = hash >= 0 ? raw.slice(hash + 1).trim() : '';
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2 || !/^\d+$/.test(parts[1]!)) {
      throw new ConfigError(file, i + 1, 'membership', `expected "host port", got "${line}"`);
    }
    const port = Number(parts[1]);
    if (port < 1 || port > 65535) throw new ConfigError(file, i + 1, 'membership', `${port} is not a TCP port`);
    peers.push({ host: parts[0]!, port, comment });
  });
  return peers;
}

export function readMembership(file: string): Peer[] {
  return existsSync(file) ? parseMembership(readFileSync(file, 'utf8'), file) : [];
}
