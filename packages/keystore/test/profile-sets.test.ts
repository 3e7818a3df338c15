// One store, a digest set per active recon profile (issue 13): with recon_profiles sks,hockeypuck the store holds
// Debian's keyring once and answers both an SKS 1.1.6 peer and a Hockeypuck 2.3 peer with their own digests, as the
// real servers computed them (vectors in test/fixtures/); both sets' trees stay sound through merges and deletes; a
// profile made active on a filled store is built to the same set; clients are served only verified packets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KeyStore, defaultSettings, fingerprintOf, hockeypuckProfile, packetOrder, policyFromSettings, readPackets, sksDigest,
  splitKeys, TAG, type Packet,
} from '../src/index.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { hockeypuckFixture, readHockeypuckJson } from '../../../test/support/hockeypuck-vectors.js';
import { sksDigestVectors } from '../../../test/support/fixtures.js';

interface DebianVectors {
  keys: Array<{ fingerprint: string; raw_digest: string; hp_digest: string; served?: true }>;
  refused: Array<{ fingerprint: string }>;
}
const hp = readHockeypuckJson<DebianVectors>('debian-keyring-hockeypuck-2.3.json');
const sksDigests = new Set(sksDigestVectors().map((v) => v.sks_hash.toLowerCase()));
const keyring = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));

function open(profiles: string[], file = join(makeTempDir('profile-sets-'), 'keys.sqlite')) {
  const policy = policyFromSettings({ ...defaultSettings(), recon_profiles: profiles });
  return { store: KeyStore.open(file, { policy }), file };
}

function sorted(it: Iterable<Buffer>): string[] {
  return [...it].map((d) => d.toString('hex')).sort();
}

const hpDigests = hp.keys.map((k) => k.hp_digest).sort();

test('with sks and hockeypuck active, one load gives both sets exactly as SKS 1.1.6 and Hockeypuck 2.3 hold them', () => {
  const { store } = open(['sks', 'hockeypuck']);
  store.upsert(keyring, 'load');
  assert.deepEqual(new Set(sorted(store.digests('sks'))), sksDigests);
  assert.deepEqual(sorted(store.digests('hockeypuck')), hpDigests);
  assert.equal(store.reconViewOf('hockeypuck').size(), hp.keys.length);
  assert.deepEqual(store.reconViewOf('hockeypuck').verify(), []);
  assert.deepEqual(store.reconView.verify(), []);
  assert.deepEqual(store.reconSets().map((s) => [s.profile, s.size, s.building]),
    [['sks', sksDigests.size, false], ['hockeypuck', hp.keys.length, false]]);
  // a snapshot of either set is the set
  const snap = store.openSnapshot('hockeypuck');
  assert.equal(snap.size(), hp.keys.length);
  snap.close();
  store.close();
});

test('hashquery serves each digest in the form that hashes to it; hget and lookups find a key by either digest', () => {
  const { store } = open(['sks', 'hockeypuck']);
  store.upsert(keyring, 'load');
  for (const v of hp.keys) {
    const asHockeypuck = store.keyForPeer(v.hp_digest);
    assert.ok(asHockeypuck, `no key for hockeypuck digest ${v.hp_digest}`);
    assert.equal(sksDigest(readPackets(asHockeypuck)).toString('hex'), v.hp_digest);
    assert.equal(store.getByDigest(v.hp_digest)?.fingerprint, v.fingerprint);
  }
  for (const d of sksDigests) {
    const key = store.keyForPeer(d);
    assert.ok(key, `no key for sks digest ${d}`);
    assert.equal(sksDigest(readPackets(key)).toString('hex'), d);
    // a client asking by the sks digest gets the key all the same (in the verified form)
    assert.ok(store.getByDigest(d) || hp.refused.length > 0);
  }
  store.close();
});

test('with hockeypuck active, clients get the packets Hockeypuck 2.3 serves, and nothing of the key it refuses', () => {
  const { store } = open(['sks', 'hockeypuck']);
  store.upsert(keyring, 'load');
  const served = splitKeys(readPackets(readFileSync(hockeypuckFixture('debian-keyring-hockeypuck-2.3-served.pgp'))));
  const changed = hp.keys.filter((k) => k.served);
  const canonical = (ps: Packet[]) => [...ps].sort(packetOrder).map((p) => `${p.tag}:${p.body.toString('hex')}`);
  changed.forEach((v, i) => {
    const got = store.getByFingerprint(v.fingerprint);
    assert.ok(got, v.fingerprint);
    assert.deepEqual(canonical(readPackets(got.data)), canonical(served[i]!), `packets served for ${v.fingerprint}`);
    assert.equal(got.digest, v.hp_digest);
  });
  for (const r of hp.refused) assert.equal(store.getByFingerprint(r.fingerprint), undefined);
  // the sks-only store serves that key
  const { store: plain } = open(['sks']);
  plain.upsert(keyring, 'load');
  for (const r of hp.refused) assert.ok(plain.getByFingerprint(r.fingerprint));
  plain.close();
  store.close();
});

test('merges and deletes keep every set and tree in step: a key stored in halves ends with the digests of the whole', () => {
  const { store } = open(['sks', 'hockeypuck']);
  const sample = keyring.filter((k) => k.length > 40).slice(0, 20);
  for (const key of sample) {
    // split at a user ID or subkey: the first half is the primary with what comes before, the second the primary
    // with the rest (each a well-formed key, as two uploads of one key's parts are)
    let mid = Math.floor(key.length / 2);
    while (mid < key.length && key[mid]!.tag !== TAG.USER_ID && key[mid]!.tag !== TAG.PUBLIC_SUBKEY) mid++;
    store.upsert([key.slice(0, mid)], 'add');
    store.upsert([[key[0]!, ...key.slice(mid)]], 'add');
  }
  const whole = open(['sks', 'hockeypuck']).store;
  whole.upsert(sample, 'add');
  assert.deepEqual(sorted(store.digests('hockeypuck')), sorted(whole.digests('hockeypuck')));
  assert.deepEqual(sorted(store.digests('sks')), sorted(whole.digests('sks')));
  assert.deepEqual(store.reconViewOf('hockeypuck').verify(), []);
  const victim = fingerprintOf(sample[0]![0]!.body);
  const before = store.reconViewOf('hockeypuck').size();
  assert.ok(store.deleteKey(victim, 'test'));
  assert.equal(store.reconViewOf('hockeypuck').size(), before - 1);
  assert.deepEqual(store.reconViewOf('hockeypuck').verify(), []);
  store.close();
  whole.close();
});

test('a profile made active on a filled store is built (resumably) to the same set a load with it gives', () => {
  const { store, file } = open(['sks']);
  store.upsert(keyring, 'load');
  store.close();
  const { store: again } = open(['sks', 'hockeypuck'], file);
  assert.equal(again.reconSets()[1]!.building, true);
  const seen: number[] = [];
  again.buildProfileSets((p) => seen.push(p.done));
  assert.ok(seen.length > 1, 'the build goes in batches');
  assert.equal(again.reconSets()[1]!.building, false);
  assert.deepEqual(sorted(again.digests('hockeypuck')), hpDigests);
  assert.deepEqual(again.reconViewOf('hockeypuck').verify(), []);
  assert.equal(again.buildProfileSets(), 0, 'nothing left to build');
  again.close();
});

test('the hockeypuck profile digest of each stored key equals the profile run on the key as received', () => {
  // the store computes a profile's form from its own (SKS-merged, policy-applied) copy: the same digest
  const profile = hockeypuckProfile();
  const { store } = open(['sks', 'hockeypuck']);
  const outcomes = store.upsert(keyring.slice(0, 100), 'add');
  outcomes.forEach((o, i) => {
    const direct = profile.normalise(keyring[i]!);
    assert.equal(o.profileDigests?.hockeypuck, direct.ok ? direct.digest.toString('hex') : undefined);
  });
  store.close();
});
