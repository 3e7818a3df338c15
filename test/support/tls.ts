// A throw-away certificate authority and a server certificate it signed (for localhost and 127.0.0.1), made with
// the openssl command line, for tests of HKPS that trust only this CA. TEST_TLS_HOST is a dotted name for clients
// that want one (dirmngr refuses a host name without a dot), resolved in a private /etc/hosts (see the nginx test).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_TLS_HOST = 'keys.sks-ts.test';

export interface TestTls {
  caCert: string;
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

export function makeTestTls(dir: string): TestTls {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.pem');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.pem');
  const ext = join(dir, 'server.ext');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=sks-ts test CA', '-keyout', caKey, '-out', caCert]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', key, '-out', csr]);
  writeFileSync(ext, `subjectAltName=DNS:localhost,DNS:${TEST_TLS_HOST},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`);
  openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert]);
  return { caCert, cert, key };
}
