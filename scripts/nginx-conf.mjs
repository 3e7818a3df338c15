// nginx for the suite outside docker (`make cluster`, the tests), from the same pieces the nginx image uses:
// docker/nginx/sks.conf.template filled in as the image fills it (envsubst of ${NAME}; here a variable left unset is
// an error), the image's start-up steps 10-sks-tls.sh (a self-signed certificate when none exists) and
// 12-sks-upstream.sh (a cluster's upstream block), all inside a main config that keeps every file under one prefix
// folder, so nginx runs as any user without touching /etc/nginx or /var/log/nginx.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const NGINX_DIR = join(root, 'docker/nginx');

/** docker/nginx/sks.conf.template with every ${NAME} replaced from `vars`; throws naming a variable not given. */
export function fillSksTemplate(vars) {
  return readFileSync(join(NGINX_DIR, 'sks.conf.template'), 'utf8').replace(/\$\{(\w+)\}/g, (_, n) => {
    const v = vars[n];
    if (v === undefined) throw new Error(`the nginx template needs \${${n}}`);
    return v;
  });
}

/** A main nginx.conf whose pid, logs and temporary files are all under `prefix`, with `http` holding `httpBlock`. */
export function mainConf(prefix, httpBlock, { workers = 1, connections = 1024, logLevel = 'warn' } = {}) {
  for (const d of ['logs', 'tmp']) mkdirSync(join(prefix, d), { recursive: true });
  return [
    process.getuid?.() === 0 ? 'user root;' : '', `worker_processes ${workers};`, `pid ${join(prefix, 'nginx.pid')};`,
    `error_log ${join(prefix, 'logs/error.log')} ${logLevel};`, `events { worker_connections ${connections}; }`, 'http {',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${join(prefix, 'tmp', t)};`),
    httpBlock, '}', '',
  ].join('\n');
}

function step(script, args, env) {
  const r = spawnSync('sh', [join(NGINX_DIR, script), ...args], { env: { ...process.env, ...env }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`docker/nginx/${script} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

/** The upstream block `sks_db` of a cluster's nodes (["127.0.0.11:11381", ...]) written to `file` by 12-sks-upstream.sh. */
export function writeClusterUpstream(file, nodes, { maxFails, failTimeout } = {}) {
  step('12-sks-upstream.sh', [file], {
    SKS_DB_NODES: nodes.join(' '),
    ...(maxFails !== undefined ? { NGINX_MAX_FAILS: String(maxFails) } : {}),
    ...(failTimeout !== undefined ? { NGINX_FAIL_TIMEOUT: failTimeout } : {}),
  });
}

/** A self-signed certificate for `hostname` at `cert`/`key` unless both exist (10-sks-tls.sh); returns its message. */
export function ensureSelfSignedCert(cert, key, hostname) {
  return step('10-sks-tls.sh', [], { NGINX_TLS_CERT: cert, NGINX_TLS_KEY: key, NGINX_HOSTNAME: hostname }).trim();
}

/** The nginx binary: $NGINX, else `nginx` on PATH or in the sbin folders (where Debian puts it). */
export function nginxCommand() {
  if (process.env.NGINX) return { command: process.env.NGINX, env: process.env };
  return { command: 'nginx', env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } };
}
