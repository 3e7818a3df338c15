// docker/nginx/sks.conf.template filled in for tests, as the nginx image does with its environment: every variable
// must be given (the limits default to values no test reaches; a test of a limit sets its own), and HKPS gets a
// certificate from a throw-away CA in `dir`. The filling itself is scripts/nginx-conf.mjs, which `make cluster` uses.
import { fillSksTemplate } from '../../scripts/nginx-conf.mjs';
import { makeTestTls, type TestTls } from './tls.js';

export function renderSksTemplate(dir: string, vars: Record<string, string>): { server: string; tls: TestTls } {
  const tls = makeTestTls(dir);
  const server = fillSksTemplate({
    NGINX_ADD_RATE: '100r/s', NGINX_SEARCH_RATE: '1000r/s', NGINX_HASHQUERY_RATE: '1000r/s', NGINX_CONN_PER_CLIENT: '1000',
    NGINX_TLS_CERT: tls.cert, NGINX_TLS_KEY: tls.key, ...vars,
  });
  return { server, tls };
}
