// The recon profiles against the systems they stand for: the `hockeypuck` profile against what a real Hockeypuck 2.3
// stored for Debian's keyring and what Hockeypuck's own code makes of keys built to hit each of its rules (vectors in
// test/fixtures/hockeypuck/), the `sks` profile against real SKS 1.1.6's digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  hockeypuckProfile, readPackets, reconProfiles, sksDigest, sksProfile, splitKeys, fingerprintOf, packetOrder,
  policyFromSettings, defaultSettings, prepareKey, TAG, type Packet,
} from '../src/index.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import {
  assertSameAsHockeypuck, dropCounts, hockeypuckFixture, readHockeypuckJson, type OracleResult,
} from '../../../test/support/hockeypuck-vectors.js';

interface DebianVectors {
  filters: string;
  keys: Array<{ fingerprint: string; raw_digest: string; sks_digest: string; hp_digest: string; dropped: Record<string, number>; served?: true }>;
  refused: Array<{ fingerprint: string; raw_digest: string; oracle_refusal: string; dropped: Record<string, number> }>;
}

interface RulesVectors {
  keys: Array<{ label: string; fingerprint: string; oracle: OracleResult | null }>;
}

const debian = readHockeypuckJson<DebianVectors>('debian-keyring-hockeypuck-2.3.json');
const debianKeys = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));
const hockeypuck = hockeypuckProfile();
const policy = policyFromSettings(defaultSettings());

/** The installed keyring's keys by fingerprint, each checked to be the key the vectors were made from. */
function debianKeyFor(fingerprint: string, rawDigest: string): Packet[] {
  const key = debianKeys.find((k) => fingerprintOf(k[0]!.body) === fingerprint);
  assert.ok(key, `key ${fingerprint} of the vectors is not in the installed ${DEBIAN_KEYRING}`);
  // SKS's digest of the key as it is in the keyring: if it differs, the installed package is not the vectors' one
  assert.equal(sksDigest(key).toString('hex'), rawDigest,
    `the installed ${DEBIAN_KEYRING} has another copy of ${fingerprint} than the vectors were made from (debian-keyring 2022.12.24)`);
  return key;
}

test('the hockeypuck profile announces the recon version and filters a real Hockeypuck 2.3 sent', () => {
  assert.equal(hockeypuck.config.version, '1.1.6');
  assert.equal(hockeypuck.config.filters, debian.filters);
});

test('the hockeypuck profile gives the digest a real Hockeypuck 2.3 stored for every kept key of Debian\'s keyring, with its drops', () => {
  assert.equal(debian.keys.length, 904);
  for (const v of debian.keys) {
    const outcome = hockeypuck.normalise(debianKeyFor(v.fingerprint, v.raw_digest));
    assert.ok(outcome.ok, `${v.fingerprint} refused: ${outcome.ok ? '' : outcome.detail}`);
    assert.equal(outcome.digest.toString('hex'), v.hp_digest, `digest of ${v.fingerprint}`);
    assert.deepEqual(dropCounts(outcome), v.dropped, `drops of ${v.fingerprint}`);
  }
});

test('the hockeypuck profile refuses the one Debian key Hockeypuck 2.3 refused: its self-signatures use RIPEMD-160', () => {
  assert.equal(debian.refused.length, 1);
  const [r] = debian.refused;
  assert.match(r!.oracle_refusal, /no valid self-signatures/);
  const outcome = hockeypuck.normalise(debianKeyFor(r!.fingerprint, r!.raw_digest));
  assert.equal(outcome.ok, false);
  if (!outcome.ok) assert.equal(outcome.reason, 'no-valid-self-signature');
});

test('the hockeypuck profile keeps exactly the packets Hockeypuck 2.3 served for the Debian keys it changed', () => {
  const served = splitKeys(readPackets(readFileSync(hockeypuckFixture('debian-keyring-hockeypuck-2.3-served.pgp'))));
  const changed = debian.keys.filter((k) => k.served);
  assert.equal(served.length, changed.length);
  const canonical = (ps: Packet[]) => [...ps].sort(packetOrder).map((p) => `${p.tag}:${p.body.toString('hex')}`);
  changed.forEach((v, i) => {
    const outcome = hockeypuck.normalise(debianKeyFor(v.fingerprint, v.raw_digest));
    assert.ok(outcome.ok);
    assert.deepEqual(canonical(outcome.key), canonical(served[i]!), `packets of ${v.fingerprint}`);
  });
});

test('the hockeypuck profile does to every key built to hit one of its rules what Hockeypuck 2.3\'s own code does', async (t) => {
  const vectors = readHockeypuckJson<RulesVectors>('rules-hockeypuck-2.3.json');
  const keys = splitKeys(readPackets(readFileSync(hockeypuckFixture('rules-keyring.pgp'))));
  assert.equal(keys.length, vectors.keys.length);
  for (const [i, v] of vectors.keys.entries()) {
    await t.test(v.label, () => {
      assert.equal(fingerprintOf(keys[i]![0]!.body), v.fingerprint);
      assertSameAsHockeypuck(hockeypuck.normalise(keys[i]!), v.oracle, v.label);
    });
  }
});

test('a key whose primary key packet Hockeypuck cannot read is refused as unparseable, as Hockeypuck skips it', () => {
  const vectors = readHockeypuckJson<RulesVectors>('rules-hockeypuck-2.3.json');
  const keys = splitKeys(readPackets(readFileSync(hockeypuckFixture('rules-keyring.pgp'))));
  const skipped = vectors.keys.flatMap((v, i) => (v.oracle ? [] : [i]));
  assert.ok(skipped.length >= 3);
  for (const i of skipped) {
    const outcome = hockeypuck.normalise(keys[i]!);
    assert.equal(outcome.ok ? 'kept' : outcome.reason, 'unparseable-primary', vectors.keys[i]!.label);
  }
});

test('the sks profile gives the digest real SKS 1.1.6 stored for every Debian key, as the store does', () => {
  const sks = sksProfile(policy);
  assert.deepEqual(sks.config, { version: '1.1.6', filters: 'yminsky.dedup,yminsky.merge' });
  for (const v of [...debian.keys.map((k) => ({ ...k })), ...debian.refused.map((r) => ({ ...r, sks_digest: r.raw_digest }))]) {
    const outcome = sks.normalise(debianKeyFor(v.fingerprint, v.raw_digest));
    assert.ok(outcome.ok, v.fingerprint);
    assert.equal(outcome.digest.toString('hex'), v.sks_digest, `digest of ${v.fingerprint}`);
  }
});

test('the sks profile keeps the packets and digest the store prepares today, and refuses what it refuses', () => {
  const sks = sksProfile(policy);
  const tight = sksProfile({ ...policy, maxKeyBytes: 20_000 });
  for (const k of debianKeys) {
    const today = prepareKey(k, policy);
    const ours = sks.normalise(k);
    assert.ok(today.ok && ours.ok);
    assert.equal(ours.digest.toString('hex'), Buffer.from(today.key.digest).toString('hex'));
    assert.deepEqual(ours.key, today.key.packets);
    const refused = prepareKey(k, { ...policy, maxKeyBytes: 20_000 });
    const ourRefusal = tight.normalise(k);
    assert.equal(ourRefusal.ok ? 'kept' : ourRefusal.reason, refused.ok ? 'kept' : refused.reason);
  }
});

test('the sks profile refuses a secret key and a key that does not start with a public key, naming why', () => {
  const sks = sksProfile(policy);
  const secret = sks.normalise([{ tag: TAG.SECRET_KEY, body: Buffer.from([4, 0, 0, 0, 1, 1]) }]);
  assert.equal(secret.ok ? 'kept' : secret.reason, 'secret-key');
  const stray = sks.normalise([{ tag: TAG.USER_ID, body: Buffer.from('nobody') }]);
  assert.equal(stray.ok ? 'kept' : stray.reason, 'no-primary-key');
});

test('recon_profiles selects profiles by name, each once in the order given, and names the known ones for an unknown one', () => {
  assert.deepEqual(reconProfiles('sks,hockeypuck', { policy }).map((p) => p.name), ['sks', 'hockeypuck']);
  assert.deepEqual(reconProfiles(['hockeypuck', 'hockeypuck', 'sks'], { policy }).map((p) => p.name), ['hockeypuck', 'sks']);
  assert.throws(() => reconProfiles('sks, hockepuck', { policy }), /unknown recon profile "hockepuck" \(known: sks, hockeypuck\)/);
});
