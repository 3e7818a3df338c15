// docker/nginx/sks.conf.template filled in for tests, as the nginx image does with its environment: every variable
// must be given (the limits default to values no test reaches; a test of a limit sets its own), and HKPS gets a
// certificate from a throw-away CA in `dir`.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTestTls, type TestTls } from './tls.js';
import { freePort, waitForPort } from './ports.js';
import { makeTempDir } from './tmp.js';

const TEMPLATE = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'docker/nginx/sks.conf.template');

export function renderSksTemplate(dir: string, vars: Record<string, string>): { server: string; tls: TestTls } {
  const tls = makeTestTls(dir);
  const all: Record<string, string> = {
    NGINX_ADD_RATE: '100r/s', NGINX_SEARCH_RATE: '1000r/s', NGINX_HASHQUERY_RATE: '1000r/s', NGINX_CONN_PER_CLIENT: '1000',
    NGINX_TLS_CERT: tls.cert, NGINX_TLS_KEY: tls.key, ...vars,
  };
  const server = readFileSync(TEMPLATE, 'utf8').replace(/\$\{(\w+)\}/g, (_, n: string) => {
    const v = all[n];
    if (v === undefined) throw new Error(`the nginx template needs \${${n}}`);
    return v;
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
  for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d));
  const { server, tls } = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: `127.0.0.1:${port}`, NGINX_HKPS_PORT: `127.0.0.1:${tlsPort}`, SKS_DB_UPSTREAM: upstream,
    NGINX_HOSTNAME: 'proxy.test', ...vars,
  });
  const conf = [
    process.getuid?.() === 0 ? 'user root;' : '',
    'worker_processes 1;',
    `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs/error.log')} warn;`,
    'events { worker_connections 256; }',
    'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, `tmp/${t}`)};`),
    server,
    '}',
  ].join('\n');
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, conf);
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
