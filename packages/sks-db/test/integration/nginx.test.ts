// The same HKP service behind real nginx (Debian's) configured from docker/nginx/sks.conf.template: GnuPG sends,
// receives and searches through the proxy; Via header; 8 MB body limit; only the HKP paths and web root passed on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { freePort, waitForPort } from '../../../../test/support/ports.js';
import { TEST_TLS_HOST, type TestTls } from '../../../../test/support/tls.js';
import { renderSksTemplate } from '../../../../test/support/nginx.js';
import { mainConf } from '../../../../scripts/nginx-conf.mjs';
import { startOurs, makeGpg, genKey, colonFingerprints, type Ours } from './helpers.js';


let ours: Ours;
let nginx: ChildProcess;
let port: number;
let tlsPort: number;
let tls: TestTls;

before(async () => {
  ours = await startOurs();
  port = await freePort();
  tlsPort = await freePort();
  const prefix = makeTempDir('nginx-');
  const rendered = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: `127.0.0.1:${port}`, NGINX_HKPS_PORT: `127.0.0.1:${tlsPort}`, SKS_DB_UPSTREAM: `127.0.0.1:${ours.port}`,
    NGINX_HOSTNAME: 'proxy.test', NGINX_ADD_RATE: '2r/m', NGINX_SEARCH_RATE: '1r/s', NGINX_HASHQUERY_RATE: '2r/s', NGINX_CONN_PER_CLIENT: '32',
  });
  tls = rendered.tls;
  const server = rendered.server;
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, mainConf(prefix, server, { connections: 256 }));
  nginx = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', file, '-g', 'daemon off;'], { stdio: 'ignore' });
  process.on('exit', () => nginx.kill('SIGKILL'));
  await waitForPort(port);
  await waitForPort(tlsPort);
});

after(async () => {
  if (nginx && nginx.exitCode === null) {
    const gone = new Promise((r) => nginx.once('exit', r));
    nginx.kill('SIGQUIT');
    await gone;
  }
  await ours?.stop();
});

test('gpg sends, receives and searches through nginx', () => {
  const a = makeGpg(`hkp://127.0.0.1:${port}`);
  const b = makeGpg(`hkp://127.0.0.1:${port}`);
  try {
    const fp = genKey(a, 'Proxy User <proxy@example.org>');
    assert.equal(a.run(['--send-keys', fp]).status, 0);
    const r = b.run(['--recv-keys', fp]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(colonFingerprints(b.run(['--with-colons', '--list-keys']).stdout), [fp]);
    const s = b.run(['--with-colons', '--search-keys', 'proxy@example.org'], '');
    assert.match(s.stdout, new RegExp(`pub:${fp}:`));
  } finally {
    a.cleanup();
    b.cleanup();
  }
});

/** GnuPG over hkps: dirmngr checks the server certificate against a host name with a dot, so TEST_TLS_HOST is
 * resolved to 127.0.0.1 for it (makeGpg's loopbackNames). */
function gpgOverTls(trustCa: boolean) {
  return makeGpg(`hkps://${TEST_TLS_HOST}:${tlsPort}`, {
    dirmngr: trustCa ? [`hkp-cacert ${tls.caCert}`] : [], loopbackNames: [TEST_TLS_HOST],
  });
}

test('gpg sends and receives over hkps:// through nginx, trusting only the test CA (dirmngr hkp-cacert)', () => {
  const a = gpgOverTls(true);
  const b = gpgOverTls(true);
  const untrusting = gpgOverTls(false);
  try {
    const fp = genKey(a, 'Tls User <tls@example.org>');
    const sent = a.run(['--send-keys', fp]);
    assert.equal(sent.status, 0, sent.stderr);
    const r = b.run(['--recv-keys', fp]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(colonFingerprints(b.run(['--with-colons', '--list-keys']).stdout), [fp]);
    const s = b.run(['--with-colons', '--search-keys', 'tls@example.org'], '');
    assert.match(s.stdout, new RegExp(`pub:${fp}:`));
    // without the test CA the server's certificate is not trusted: nothing is received
    const refused = untrusting.run(['--recv-keys', fp]);
    assert.notEqual(refused.status, 0);
    assert.deepEqual(colonFingerprints(untrusting.run(['--with-colons', '--list-keys']).stdout), []);
  } finally {
    a.cleanup();
    b.cleanup();
    untrusting.cleanup();
  }
});

test('@openpgp/hkp-client uploads and looks up over https through nginx, trusting only the test CA', () => {
  // node's fetch (which hkp-client uses) reads extra CAs at start: the client runs in a process of its own
  const script = `
    const HKP = require('@openpgp/hkp-client');
    (async () => {
      const hkp = new HKP(process.argv[1]);
      const armored = require('node:fs').readFileSync(process.argv[2], 'utf8');
      const up = await hkp.upload(armored);
      const got = await hkp.lookup({ query: 'hkpclient@example.org' });
      console.log(JSON.stringify({ upload: up.status, found: typeof got === 'string' && got.includes('BEGIN PGP PUBLIC KEY BLOCK') }));
    })().catch((e) => { console.log(JSON.stringify({ error: String(e && (e.cause?.code || e.message)) })); });`;
  const g = makeGpg(`hkp://127.0.0.1:${port}`);
  try {
    genKey(g, 'Hkp Client <hkpclient@example.org>');
    const armoredFile = join(g.home, 'key.asc');
    writeFileSync(armoredFile, g.run(['--armor', '--export', 'hkpclient@example.org']).stdout);
    const run = (ca: boolean) => JSON.parse(spawnSync(process.execPath, ['-e', script, `https://localhost:${tlsPort}`, armoredFile], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8', timeout: 30_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: ca ? tls.caCert : '' },
    }).stdout.trim()) as { upload?: number; found?: boolean; error?: string };
    assert.deepEqual(run(true), { upload: 200, found: true });
    const untrusted = run(false);
    assert.ok(untrusted.error, 'without the test CA the connection is refused');
    assert.match(untrusted.error!, /CERT|certificate|self.signed|UNABLE/i);
  } finally {
    g.cleanup();
  }
});

test('answers through nginx carry a Via header and CORS', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/pks/lookup?op=stats&options=mr`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('via') ?? '', /proxy\.test/);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
});

test('nginx refuses bodies over 8 MB before they reach sks-db', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/pks/add`, {
    method: 'POST', body: 'keytext=' + 'A'.repeat(9 * 1024 * 1024), headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  assert.equal(res.status, 413);
});

test('the web root is passed on, other paths are not', async () => {
  const front = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(front.status, 200);
  assert.match(await front.text(), /<form id="search"/);
  const hidden = await fetch(`http://127.0.0.1:${port}/some/deep/path`);
  assert.equal(hidden.status, 404);
});

/** GET through nginx from a chosen loopback source address (a second "client"). */
function getFrom(localAddress: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

test('an over-eager searcher gets 429 at the edge; its key fetches and other clients are served', async () => {
  // The test's limit: 1 index search a second per address, bursts of 20.
  const search = '/pks/lookup?op=index&options=mr&search=nobody.here';
  const statuses = await Promise.all(Array.from({ length: 40 }, () => getFrom('127.0.0.1', search)));
  assert.ok(statuses.filter((s) => s === 429).length >= 15, `statuses: ${statuses.join(' ')}`);
  assert.ok(statuses.every((s) => s === 404 || s === 429), statuses.join(' '));
  // The same address is still served everything that is not an index search ...
  assert.equal(await getFrom('127.0.0.1', '/pks/lookup?op=stats&options=mr'), 200);
  // ... and another client searches as before.
  assert.equal(await getFrom('127.0.0.2', search), 404);
});

/** One handshake with openssl s_client at the given protocol (client security level 0, so the client would speak
 * the old protocol if the server let it). */
function handshake(flag: string): { ok: boolean; out: string } {
  const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${tlsPort}`, flag, '-cipher', 'DEFAULT:@SECLEVEL=0', '-CAfile', tls.caCert],
    { input: '', encoding: 'utf8', timeout: 20_000 });
  const out = `${r.stdout}${r.stderr}`;
  return { ok: r.status === 0 && /Verify return code: 0 \(ok\)/.test(out), out };
}

test('HKPS refuses TLS 1.0 and 1.1, speaks 1.2 and 1.3; HSTS on HTTPS only', async () => {
  assert.equal(handshake('-tls1').ok, false);
  assert.equal(handshake('-tls1_1').ok, false);
  const t12 = handshake('-tls1_2');
  assert.ok(t12.ok, t12.out.slice(-800));
  assert.ok(handshake('-tls1_3').ok);
  const hsts = await new Promise<string | undefined>((resolve, reject) => {
    https.get({ host: '127.0.0.1', port: tlsPort, path: '/pks/lookup?op=stats&options=mr', ca: readFileSync(tls.caCert), servername: 'localhost' }, (res) => {
      res.resume();
      resolve(res.headers['strict-transport-security'] as string | undefined);
    }).on('error', reject);
  });
  assert.match(hsts ?? '', /^max-age=\d+/);
  const plain = await fetch(`http://127.0.0.1:${port}/pks/lookup?op=stats&options=mr`);
  assert.equal(plain.status, 200, 'plain HKP is served, not redirected');
  assert.equal(plain.headers.get('strict-transport-security'), null);
});

