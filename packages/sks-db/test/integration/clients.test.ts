// Third-party clients from npm against our server: @openpgp/hkp-client (HKP) and @openpgp/wkd-client (WKD), plus
// the VKS read API, WKD direct mode by Host header, and the static WKD export CLI. WKD hashes are computed by
// GnuPG's gpg-wks-client, not by our code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import http from 'node:http';
import { createRequire } from 'node:module';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { startOurs, makeGpg, genKey, dearmorAll, runWkdExport, uidsOf, wkdHashOf, type Ours, type Gpg } from './helpers.js';

const require = createRequire(import.meta.url);
const HKP = require('@openpgp/hkp-client') as new (url: string) => {
  lookup(o: { query?: string; keyId?: string }): Promise<string | undefined>;
  upload(armored: string): Promise<Response>;
};
const WKD = require('@openpgp/wkd-client') as new () => { _fetch: typeof fetch; lookup(o: { email: string }): Promise<Uint8Array> };

const DOMAIN = 'wkd.example';
let ours: Ours;
let gpg: Gpg;
let annFp: string;
let revFp: string;



before(async () => {
  ours = await startOurs({ settings: { wkd_domains: [DOMAIN] } });
  gpg = makeGpg(ours.url);
  annFp = genKey(gpg, `Ann <ann@${DOMAIN}>`);
  gpg.run(['--passphrase', '', '--pinentry-mode', 'loopback', '--quick-add-uid', annFp, 'Ann <ann@other.example>']);
  revFp = genKey(gpg, `Rev <rev@${DOMAIN}>`);
  // GnuPG writes a revocation certificate for every new key; importing it revokes the key.
  const rev = readFileSync(join(gpg.home, 'openpgp-revocs.d', `${revFp}.rev`), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
  gpg.run(['--import'], rev);
});

after(async () => {
  gpg?.cleanup();
  await ours?.stop();
});

test('@openpgp/hkp-client uploads a key and looks it up by address and key ID', async () => {
  const hkp = new HKP(ours.url);
  for (const fp of [annFp, revFp]) {
    const armored = gpg.run(['--armor', '--export', fp]).stdout;
    const res = await hkp.upload(armored);
    assert.equal(res.status, 200);
  }
  const byMail = await hkp.lookup({ query: `ann@${DOMAIN}` });
  assert.ok(byMail, 'a key for the address');
  assert.ok(uidsOf(dearmorAll(byMail!)).includes(`Ann <ann@${DOMAIN}>`));
  const byId = await hkp.lookup({ keyId: annFp.slice(-16) });
  assert.ok(byId && dearmorAll(byId).length > 0);
  assert.equal(await hkp.lookup({ query: 'nobody@nowhere.example' }), undefined);
});

test('@openpgp/wkd-client finds the key (advanced), cut to the domain\'s user IDs', async () => {
  const wkd = new WKD();
  wkd._fetch = ((url: string) => fetch(url.replace(/^https:\/\/[^/]+/, ours.url))) as typeof fetch;
  const data = await wkd.lookup({ email: `ann@${DOMAIN}` });
  assert.deepEqual(uidsOf(data), [`Ann <ann@${DOMAIN}>`]);
});

function getWithHost(path: string, host: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: ours.port, path, headers: { host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

test('WKD direct mode by Host header, policy file, revoked keys and other domains excluded', async () => {
  const direct = await getWithHost(`/.well-known/openpgpkey/hu/${wkdHashOf(`ann@${DOMAIN}`)}`, DOMAIN);
  assert.equal(direct.status, 200);
  assert.deepEqual(uidsOf(direct.body), [`Ann <ann@${DOMAIN}>`]);
  assert.equal((await getWithHost('/.well-known/openpgpkey/policy', DOMAIN)).status, 200);
  assert.equal((await getWithHost(`/.well-known/openpgpkey/hu/${wkdHashOf(`ann@${DOMAIN}`)}`, 'other.example')).status, 404);
  const revoked = await fetch(`${ours.url}/.well-known/openpgpkey/${DOMAIN}/hu/${wkdHashOf(`rev@${DOMAIN}`)}?l=rev`);
  assert.equal(revoked.status, 404);
  const foreign = await fetch(`${ours.url}/.well-known/openpgpkey/other.example/hu/${wkdHashOf('ann@other.example')}`);
  assert.equal(foreign.status, 404);
});

test('VKS by-fingerprint, by-keyid and by-email', async () => {
  for (const path of [`by-fingerprint/${annFp}`, `by-keyid/${annFp.slice(-16)}`, `by-email/${encodeURIComponent(`ann@${DOMAIN}`)}`]) {
    const res = await fetch(`${ours.url}/vks/v1/${path}`);
    assert.equal(res.status, 200, path);
    assert.ok(uidsOf(dearmorAll(await res.text())).includes(`Ann <ann@${DOMAIN}>`), path);
  }
  assert.equal((await fetch(`${ours.url}/vks/v1/by-fingerprint/${'0'.repeat(40)}`)).status, 404);
  assert.equal((await fetch(`${ours.url}/vks/v1/by-fingerprint/xyz`)).status, 400);
});

test('wkd-export writes a static directory with both layouts and policy files', () => {
  const out = makeTempDir('wkd-out-');
  runWkdExport(ours.basedir, DOMAIN, out);
  const adv = join(out, '.well-known/openpgpkey', DOMAIN);
  assert.ok(existsSync(join(adv, 'policy')));
  assert.ok(existsSync(join(out, '.well-known/openpgpkey/policy')));
  assert.deepEqual(readdirSync(join(adv, 'hu')), [wkdHashOf(`ann@${DOMAIN}`)]);
  assert.deepEqual(uidsOf(readFileSync(join(adv, 'hu', wkdHashOf(`ann@${DOMAIN}`)))), [`Ann <ann@${DOMAIN}>`]);
  assert.ok(existsSync(join(out, '.well-known/openpgpkey/hu', wkdHashOf(`ann@${DOMAIN}`))));
});
