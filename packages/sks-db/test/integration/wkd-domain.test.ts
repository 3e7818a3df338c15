// WKD requests that carry only the hash (no ?l=, as the draft allows and some clients send) must find the key
// however many keys the domain has: the server reads the domain's addresses through a partial index and hashes
// them, instead of a word search capped at max_index_results. Hashes are computed by GnuPG's gpg-wks-client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore } from '@sks/keystore';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { startOurs, makeGpg, genKey, runWkdExport, uidsOf, wkdHashOf, type Ours, type Gpg } from './helpers.js';

const DOMAIN = 'many.example';
const USERS = 5;
let ours: Ours;
let gpg: Gpg;
const fps: string[] = [];



async function wkdGet(domain: string, addr: string): Promise<{ status: number; body: Buffer }> {
  const res = await fetch(`${ours.url}/.well-known/openpgpkey/${domain}/hu/${wkdHashOf(addr)}`);
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

before(async () => {
  gpg = makeGpg('hkp://127.0.0.1:1');
  // Mixed case in the address: WKD hashes the local part lower-cased, the server must too.
  for (let i = 1; i <= USERS; i++) fps.push(genKey(gpg, `User ${i} <User${i}@${DOMAIN}>`));
  // An address at a subdomain ends with the domain's name but is not at the domain.
  fps.push(genKey(gpg, `Sub <user1@sub.${DOMAIN}>`));
  // A user ID with two addresses: the last one is its address (as the e-mail index reads it).
  fps.push(genKey(gpg, `Multi <multi@other.example> <multi@${DOMAIN}>`));
  const exported = (fp: string) => gpg.run(['--armor', '--export', fp]).stdout;
  // All but the last user are stored before the start; the cap on index results is far below the domain's size.
  ours = await startOurs({
    keys: [...fps.slice(0, USERS - 1), ...fps.slice(USERS)].map(exported),
    settings: { wkd_domains: [DOMAIN], max_index_results: 2 },
  });
});

after(async () => {
  gpg?.cleanup();
  await ours?.stop();
});

test('every address of a domain larger than max_index_results is found by its hash alone', async () => {
  for (let i = 1; i < USERS; i++) {
    const r = await wkdGet(DOMAIN, `user${i}@${DOMAIN}`);
    assert.equal(r.status, 200, `user${i}`);
    assert.deepEqual(uidsOf(r.body), [`User ${i} <User${i}@${DOMAIN}>`]);
  }
  // the subdomain's address has the hash of user1 but belongs to another domain
  const r1 = await wkdGet(DOMAIN, `user1@${DOMAIN}`);
  assert.ok(!uidsOf(r1.body).some((u) => u.includes(`sub.${DOMAIN}`)));
  assert.equal((await wkdGet(DOMAIN, `nobody@${DOMAIN}`)).status, 404);
  const multi = await wkdGet(DOMAIN, `multi@${DOMAIN}`);
  assert.equal(multi.status, 200);
  assert.deepEqual(uidsOf(multi.body), [`Multi <multi@other.example> <multi@${DOMAIN}>`]);
});

test('sks-db indexes the configured domain, and the lookup reads that index', () => {
  const store = KeyStore.open(ours.dbPath, { readonly: true });
  try {
    assert.equal(store.domainIndexUsed(DOMAIN), true);
    assert.equal(store.domainIndexUsed(`sub.${DOMAIN}`), false);
  } finally {
    store.close();
  }
});

test('a key added after lookups is found by hash at once (the per-worker address map follows the store)', async () => {
  const last = `user${USERS}@${DOMAIN}`;
  assert.equal((await wkdGet(DOMAIN, last)).status, 404);
  const armored = gpg.run(['--armor', '--export', fps[USERS - 1]!]).stdout;
  const add = await fetch(`${ours.url}/pks/add`, { method: 'POST', body: new URLSearchParams({ keytext: armored }) });
  assert.equal(add.status, 200);
  const r = await wkdGet(DOMAIN, last);
  assert.equal(r.status, 200);
  assert.deepEqual(uidsOf(r.body), [`User ${USERS} <User${USERS}@${DOMAIN}>`]);
});

test('wkd-export writes one file per address of the domain, none for the subdomain', () => {
  const out = makeTempDir('wkd-many-');
  runWkdExport(ours.basedir, DOMAIN, out);
  const want = [...Array.from({ length: USERS }, (_, i) => `user${i + 1}@${DOMAIN}`), `multi@${DOMAIN}`].map(wkdHashOf).sort();
  assert.deepEqual(readdirSync(join(out, '.well-known/openpgpkey', DOMAIN, 'hu')).sort(), want);
});

test('wkd-export refuses a --domain that is not a domain name, with a message naming it', () => {
  assert.throws(() => runWkdExport(ours.basedir, 'no domain', makeTempDir('wkd-bad-')), /exited 2: .*not a domain name: "no domain"/s);
});

test('a wkd_domains entry that is not a domain name stops sks-db with a message naming it', async () => {
  await assert.rejects(startOurs({ settings: { wkd_domains: ["evil.example'--"] } }), /not a domain name: "evil\.example'--"/);
});
