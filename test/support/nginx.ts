// docker/nginx/sks.conf.template filled in for tests, as the nginx image does with its environment: every variable
// must be given (the limits default to values no test reaches; a test of a limit sets its own), and HKPS gets a
// certificate from a throw-away CA in `dir`. The filling itself is scripts/nginx-conf.mjs, which `make cluster` uses.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fillSksTemplate, mainConf } from '../../scripts/nginx-conf.mjs';
import { makeTestTls, type TestTls } from './tls.js';
import { freePort, waitForPort } from './ports.js';
import { makeTempDir } from './tmp.js';

export function renderSksTemplate(dir: string, vars: Record<string, string>): { server: string; tls: TestTls } {
  const tls = makeTestTls(dir);
  const server = fillSksTemplate({
    NGINX_ADD_RATE: '100r/s', NGINX_SEARCH_RATE: '1000r/s', NGINX_HASHQUERY_RATE: '1000r/s', NGINX_CONN_PER_CLIENT: '1000', NGINX_READ_TIMEOUT: '5s',
    NGINX_TLS_CERT: tls.cert, NGINX_TLS_KEY: tls.key, ...vars,
  });
  return { server, tls };
}

export interface RunningNginx {
  /** HKP (plain) and HKPS ports on 127.0.0.1. */
  port: number;
  tlsPort: number;
  tls: TestTls;
  prefix: string;
  stop(): Promise<void>;
}

/** Debian's nginx with the template in front of `upstream` (host:port of sks-db), on two free loopback ports, in a
 * throw-away prefix; `vars` override the template's variables (limits, host name). */
export async function startNginx(upstream: string, vars: Record<string, string> = {}): Promise<RunningNginx> {
  const port = await freePort();
  const tlsPort = await freePort();
  const prefix = makeTempDir('nginx-');
  const { server, tls } = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: `127.0.0.1:${port}`, NGINX_HKPS_PORT: `127.0.0.1:${tlsPort}`, SKS_DB_UPSTREAM: upstream,
    NGINX_HOSTNAME: 'proxy.test', ...vars,
  });
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, mainConf(prefix, server, { connections: 256 }));
  const nginx = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', file, '-g', 'daemon off;'], { stdio: 'ignore' });
  const kill = () => nginx.kill('SIGKILL');
  process.on('exit', kill);
  await waitForPort(port);
  await waitForPort(tlsPort);
  return {
    port, tlsPort, tls, prefix,
    async stop() {
      process.off('exit', kill);
      if (nginx.exitCode !== null || nginx.signalCode !== null) return;
      const gone = new Promise((r) => nginx.once('exit', r));
      nginx.kill('SIGQUIT');
      await gone;
    },
  };
}
