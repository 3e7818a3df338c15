// Free TCP ports on loopback for tests: bind port 0, read the port, close.
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
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
    if (p + n - 1 > 65535) continue;
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
