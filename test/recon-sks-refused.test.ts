// Policy divergence with a real SKS 1.1.6 (Hockeypuck issue #108): SKS holds a flooded key (more third-party
// certifications on a user ID than our max_certs_per_uid) and a key on our blocklist. Every session offers us their
// digests again; we refuse them, remember the refusal, fetch them again at most once per refused_backoff_s, and keep
// serving and reconciling everything else (a key added to SKS later still reaches us).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { startSks, type Sks } from './support/sks.js';
import { makeTempDir } from './support/tmp.js';
import { freePort } from './support/ports.js';
import type { SessionSummary } from '../packages/sks-recon/src/server.js';
import { startOurs, waitFor, type Ours } from './support/recon-ours.js';

const BACKOFF_S = 8;
const MAX_CERTS = 5;

interface Made {
  fingerprint: string;
  armored: string;
  binary: Buffer;
}

async function makeKey(name: string, certifiers: openpgp.PrivateKey[] = []): Promise<Made & { key: openpgp.PrivateKey }> {
  const { privateKey } = await openpgp.generateKey({
    type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: `${name}@example.org` }], format: 'object',
  });
  const key = certifiers.length ? await privateKey.signAllUsers(certifiers) : privateKey;
  const pub = key.toPublic();
  return {
    key: privateKey, fingerprint: pub.getFingerprint().toUpperCase(), armored: pub.armor(), binary: Buffer.from(pub.write()),
  };
}

/** The digest SKS shows for a key (its own op=index&hash=on page), or undefined if it has none. */
async function sksDigestOf(sks: Sks, fingerprint: string): Promise<string | undefined> {
  const res = await fetch(`${sks.hkpUrl}/pks/lookup?op=index&fingerprint=on&hash=on&search=0x${fingerprint}`);
  const m = /Hash=<a[^>]*>([0-9A-Fa-f]{32})<\/a>/.exec(await res.text());
  return m?.[1]?.toLowerCase();
}

let sks: Sks;
let ours: Ours;
const normal: Made[] = [];
let flooded: Made;
let blocked: Made;
let late: Made;
const seen: Array<{ at: number; s: SessionSummary }> = [];

before(async () => {
  for (let i = 0; i < 12; i++) normal.push(await makeKey(`normal${i}`));
  const certifiers = await Promise.all(Array.from({ length: MAX_CERTS + 3 }, (_, i) => makeKey(`certifier${i}`)));
  flooded = await makeKey('flooded', certifiers.map((c) => c.key));
  blocked = await makeKey('blocked');
  late = await makeKey('late');

  const dir = makeTempDir('recon-refused-');
  const keyFile = `${dir}/sks.pgp`;
  writeFileSync(keyFile, Buffer.concat([...normal.map((k) => k.binary), flooded.binary, blocked.binary]));
  const ourReconPort = await freePort();
  sks = await startSks({
    keyFiles: [keyFile],
    membership: [{ host: '127.0.0.1', port: ourReconPort }],
    extraConf: 'hostname: 127.0.0.2\ngossip_interval: 0.05',
  });
  ours = await startOurs({
    keys: Buffer.concat(normal.slice(0, 6).map((k) => k.binary)),
    peers: [{ host: '127.0.0.1', port: sks.reconPort }],
    settings: { recon_port: ourReconPort, max_certs_per_uid: MAX_CERTS, refused_backoff_s: BACKOFF_S },
  });
  ours.store.block(blocked.fingerprint, 'test: blocklisted');
  ours.recon.server.on('session', (s: SessionSummary) => seen.push({ at: Date.now(), s }));
});

after(async () => {
  await ours?.stop();
  await sks?.stop();
});

test('flooded and blocklisted keys are refused, fetched at most once per back-off, and the rest reconciles', async () => {
  const floodDigest = await sksDigestOf(sks, flooded.fingerprint);
  const blockDigest = await sksDigestOf(sks, blocked.fingerprint);
  assert.ok(floodDigest && blockDigest, 'SKS holds both keys');

  // The normal keys arrive in the first session.
  await waitFor('the normal keys to arrive', () => normal.every((k) => ours.store.getByFingerprint(k.fingerprint)));

  // A key added to SKS afterwards still reaches us although the refused digests stay a difference.
  const add = await fetch(`${sks.hkpUrl}/pks/add`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ keytext: late.armored }).toString(),
  });
  assert.equal(add.status, 200, 'SKS took the late key');
  await waitFor('the late key to arrive', () => ours.store.getByFingerprint(late.fingerprint) !== undefined);

  // Watch until the refused digests were fetched a second time, after the back-off.
  await waitFor('a second refusal after the back-off', () => seen.filter((e) => e.s.refused > 0).length >= 2, 90_000);
  const ok = seen.filter((e) => e.s.ok);
  const refusing = ok.filter((e) => e.s.refused > 0);
  for (const e of refusing) assert.equal(e.s.refused, 2, 'each refusal round refuses exactly the two keys');
  for (let i = 1; i < refusing.length; i++) {
    const gap = refusing[i]!.at - refusing[i - 1]!.at;
    assert.ok(gap >= (BACKOFF_S - 1) * 1000, `refused digests fetched again after ${gap} ms, within refused_backoff_s`);
  }
  const between = ok.filter((e) => e.at > refusing[0]!.at && e.at < refusing[1]!.at);
  assert.ok(between.length >= 1, 'sessions ran during the back-off');
  for (const e of between) {
    assert.equal(e.s.skippedRefused, 2, 'during the back-off both digests are skipped');
    assert.equal(e.s.refused, 0);
  }

  // What we remember and why.
  const remembered = new Map(ours.recon.server.refused.list().map((r) => [r.digest, r.reason]));
  assert.deepEqual([...remembered.keys()].sort(), [floodDigest, blockDigest].sort());
  assert.match(remembered.get(floodDigest)!, /certs-per-uid/);
  assert.match(remembered.get(blockDigest)!, /blocklisted/);

  // Our copies: the flooded key cut to the policy, the blocklisted one absent; SKS still has its own flooded key.
  const stored = ours.store.getByFingerprint(flooded.fingerprint)!;
  assert.ok(stored.cuts.some((c) => c.rule === 'certs-per-uid'));
  assert.notEqual(stored.digest, floodDigest);
  assert.equal(ours.store.getByFingerprint(blocked.fingerprint), undefined);
  assert.equal(await sksDigestOf(sks, flooded.fingerprint), floodDigest);
  assert.equal(ours.store.count(), normal.length + 2, 'normal keys, the late key and the cut flooded key');

  // And we kept serving: sks-db answers a lookup of a key that came through recon.
  const res = await fetch(`http://127.0.0.1:${ours.hkpPort}/pks/lookup?op=get&options=mr&search=0x${late.fingerprint}`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /BEGIN PGP PUBLIC KEY BLOCK/);
});
