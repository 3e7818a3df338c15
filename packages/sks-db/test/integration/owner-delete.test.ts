// A key owner removes their key with a request signed by GnuPG (`gpg --clearsign`): accepted only from the key
// itself, only while current, only once; the key is then refused on every path, the operator can audit it
// (sks-admin deletions), and the removal is published in our signed blocklist for peers that trust it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { ownerRequest } from '@sks/keystore';
import { startOurs, makeGpg, genKey, withStore, type Ours, type Gpg } from './helpers.js';
import { runCli } from '../../../../test/support/services.js';


let ours: Ours;
let owner: Gpg;
let mallory: Gpg;
let fp: string;
let malloryFp: string;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  ours = await startOurs({ settings: { owner_delete_max_validity_s: 86400 } });
  owner = makeGpg(ours.url);
  mallory = makeGpg(ours.url);
  fp = genKey(owner, 'Owner <owner@example.org>');
  malloryFp = genKey(mallory, 'Mallory <mallory@example.org>');
  assert.equal(owner.run(['--send-keys', fp]).status, 0);
});

after(async () => {
  owner?.cleanup();
  mallory?.cleanup();
  await ours?.stop();
});

/** The request text, clear-signed by `gpg` with key `signer`. */
function signed(gpg: Gpg, signer: string, issued: number, expires: number, fingerprint = fp): string {
  const r = gpg.run(['--clearsign', '-u', signer], ownerRequest.deletionRequestText(fingerprint, issued, expires));
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

async function post(body: string, type = 'text/plain'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${ours.url}/pks/delete`, { method: 'POST', headers: { 'Content-Type': type }, body });
  return { status: res.status, text: await res.text() };
}

const stored = () => withStore(ours.dbPath, (s) => s.getByFingerprint(fp) !== undefined);

test('requests not signed by the key itself, expired, too long-lived or not requests at all are refused; the key stays', async () => {
  const t = now();
  const cases: Array<[string, string, number, RegExp]> = [
    ['signed by another key', signed(mallory, malloryFp, t, t + 3600), 403, /not signed by the key it asks to remove/],
    ['expired', signed(owner, fp, t - 7200, t - 3600), 400, /expired/],
    ['valid too long', signed(owner, fp, t, t + 30 * 86400), 400, /at most 86400 s/],
    ['issued in the future', signed(owner, fp, t + 7200, t + 9000), 400, /future/],
    ['not signed', ownerRequest.deletionRequestText(fp, t, t + 3600), 400, /not a signed deletion request/],
    ['signed text altered', signed(owner, fp, t, t + 3600).replace(/expires: \S+/, `expires: ${new Date((t + 7000) * 1000).toISOString()}`), 403, /not signed by the key/],
  ];
  for (const [what, body, status, message] of cases) {
    const r = await post(body);
    assert.equal(r.status, status, `${what}: ${r.text}`);
    assert.match(r.text, message, what);
  }
  const unknown = signed(mallory, malloryFp, t, t + 3600, malloryFp);
  assert.equal((await post(unknown)).status, 404, 'a key not stored here');
  assert.ok(stored(), 'the key is still served');
});

test('the owner\'s request removes and blocks the key once; the operator audits it; a replay after an unblock does nothing', async () => {
  const t = now();
  const request = signed(owner, fp, t, t + 3600);
  const ok = await post(`request=${encodeURIComponent(request)}`, 'application/x-www-form-urlencoded');
  assert.equal(ok.status, 200, ok.text);
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=get&search=0x${fp}`)).status, 404);
  const entry = withStore(ours.dbPath, (s) => s.blocklist().find((e) => e.fingerprint.toUpperCase() === fp));
  assert.match(entry?.reason ?? '', /^owner asked for removal \(signed request issued \d{4}-/);
  // refused on every path from now on: an upload of the key is refused
  const again = owner.run(['--send-keys', fp]);
  assert.equal(withStore(ours.dbPath, (s) => s.getByFingerprint(fp)), undefined, again.stderr);
  const audit = await runCli('sks-admin', ['deletions', '--basedir', ours.basedir, '--verbose']);
  assert.equal(audit.code, 0, audit.stderr);
  assert.match(audit.stdout, new RegExp(`^${fp}  removed .* signed by [0-9A-F]{40}  blocked$`, 'm'));
  assert.match(audit.stdout, /sks-delete-request: 1/);
  assert.match(audit.stdout, /1 owner deletion\(s\)/);

  // An operator lifts the block and the key comes back; the old request, replayed, changes nothing.
  assert.equal((await runCli('sks-admin', ['unblock', fp, '--basedir', ours.basedir])).code, 0);
  assert.equal(owner.run(['--send-keys', fp]).status, 0);
  assert.ok(stored());
  const replay = await post(request);
  assert.equal(replay.status, 409, replay.text);
  assert.ok(stored(), 'a replayed request removes nothing');
});

test('the removal is published in our signed blocklist for the operators who trust it', async () => {
  const op = await openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name: 'operator' }], format: 'armored' });
  writeFileSync(join(ours.basedir, 'operator.key'), op.privateKey);
  writeFileSync(join(ours.basedir, 'sksconf'), `${readFileSync(join(ours.basedir, 'sksconf'), 'utf8')}blocklist_signing_key: operator.key\n`);
  const t = now();
  assert.equal((await post(signed(owner, fp, t + 1, t + 3600))).status, 200);
  const run = await runCli('sks-cron', ['--run-once', 'push-sync', '--basedir', ours.basedir]);
  assert.equal(run.code, 0, run.stderr);
  const published = await (await fetch(`${ours.url}/pks/blocklist.asc`)).text();
  const { signedBlocklist } = await import('@sks/keystore');
  const checked = await signedBlocklist.checkSignedEntries(published, await signedBlocklist.readTrustedKeys([op.publicKey]));
  assert.deepEqual(checked.accepted.map((a) => [a.entry.fingerprint, /^owner asked for removal/.test(a.entry.reason)]), [[fp, true]]);
});
