// docker/nginx/sks.conf.template filled in for tests, as the nginx image does with its environment: every variable
// must be given (the limits default to values no test reaches; a test of a limit sets its own), and HKPS gets a
// certificate from a throw-away CA in `dir`.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTestTls, type TestTls } from './tls.js';

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
