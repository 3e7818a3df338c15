// Per-client limits inside sks-db (nginx has its own at the edge): who the client is behind a trusted proxy, and a
// cap on the uploads one client may have in progress in this worker (max_uploads_per_client).
import { isIPv4 } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { plainAddress } from '@sks/service';

function ipv4Number(a: string): number {
  return a.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether `address` is one of `trusted` (exact addresses, or IPv4 ranges a.b.c.d/n). */
export function isTrusted(address: string, trusted: readonly string[]): boolean {
  for (const t of trusted) {
    const slash = t.indexOf('/');
    if (slash < 0) {
      if (t === address) return true;
      continue;
    }
    const net = t.slice(0, slash);
    const bits = Number(t.slice(slash + 1));
    if (!isIPv4(net) || !isIPv4(address) || !(bits >= 0 && bits <= 32)) continue;
    const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
    if (((ipv4Number(net) & mask) >>> 0) === ((ipv4Number(address) & mask) >>> 0)) return true;
  }
  return false;
}

/** The client's address: the peer's, or behind a trusted proxy the last X-Forwarded-For entry (the one the proxy
 * itself added; earlier ones are whatever the client claimed). */
export function clientAddress(req: IncomingMessage, trusted: readonly string[]): string {
  const peer = plainAddress(req.socket.remoteAddress);
  if (!isTrusted(peer, trusted)) return peer;
  const header = req.headers['x-forwarded-for'];
  const list = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return plainAddress(list.at(-1)) || peer;
}

/** Uploads in progress per client address in this worker. */
export class UploadSlots {
  private readonly running = new Map<string, number>();

  constructor(private readonly perClient: number) {}

  /** A slot for `client`, to release when its upload is answered; undefined when it has `perClient` already. */
  take(client: string): (() => void) | undefined {
    if (this.perClient <= 0) return () => undefined;
    const n = this.running.get(client) ?? 0;
    if (n >= this.perClient) return undefined;
    this.running.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.running.get(client) ?? 1) - 1;
      if (left <= 0) this.running.delete(client);
      else this.running.set(client, left);
    };
  }
}
