// Free TCP ports on loopback for tests. A port is picked at random below the kernel's ephemeral range and checked
// by binding it: a port that bind(0) hands out lies inside that range, where any outgoing connection (a client's
// poll, nginx to its upstream, a peer's fetch) may take it as its local port before the service under test binds
// it, and the service then fails to start with EADDRINUSE. Below the range, only an explicit bind can take it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Lowest port of the range picked from (the ephemeral range's start is its end). */
const PICK_LOW = 10000;

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 0) return low;
  } catch {
    // not Linux: the IANA dynamic range
  }
  return 49152;
}

const PICK_HIGH = ephemeralLow();

function boundByKernel(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePort(): Promise<number> {
  if (PICK_HIGH - PICK_LOW < 1000) return boundByKernel();
  for (let i = 0; i < 100; i++) {
    const p = PICK_LOW + Math.floor(Math.random() * (PICK_HIGH - PICK_LOW));
    if (await portIsFree(p)) return p;
  }
  return boundByKernel();
}

function portIsFree(p: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const srv = createServer();
    srv.on('error', () => resolve(false));
    srv.listen(p, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** `n` adjacent free ports p..p+n-1 (e.g. metrics_port and the +1, +2 of sks-recon and sks-cron). */
export async function freePortRun(n: number): Promise<number[]> {
  for (let i = 0; i < 50; i++) {
    const p = await freePort();
    if (p + n - 1 > 65535 || (p < PICK_HIGH && p + n - 1 >= PICK_HIGH)) continue;
    let ok = true;
    for (let k = 1; k < n && ok; k++) ok = await portIsFree(p + k);
    if (ok) return Array.from({ length: n }, (_, k) => p + k);
  }
  throw new Error(`no run of ${n} adjacent free ports found`);
}

/** Two adjacent free ports (p, p+1), for SKS whose HKP port defaults to recon port + 1. */
export async function freePortPair(): Promise<[number, number]> {
  const [a, b] = await freePortRun(2);
  return [a!, b!];
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, timeoutMs = 20000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
