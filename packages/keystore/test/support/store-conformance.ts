// The conformance suite of the storage seam (src/store/contract.ts): what every backend must do, asserted through
// the interfaces only, on real keys (Debian's keyring) and against SKS 1.1.6's digests of them. A second backend
// (e.g. PostgreSQL) is added by implementing KeyStoreApi and calling storeConformance() with its factory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import {
  KeyInputError, StoreUnavailableError, readPackets, writePackets, splitKeys, TAG, type KeyStoreApi,
} from '../../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { sksDigests } from '../store-helpers.js';

export interface BackendUnderTest {
  /** A new, empty store. */
  open(): KeyStoreApi;
  /** Makes `store` unable to write until the returned function is called (e.g. another writer holds the lock). */
  makeUnavailable(store: KeyStoreApi): () => void;
}

const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
const SKS = sksDigests();

/** The first Debian keys whose stored form SKS 1.1.6 digests the same way (nothing cut by policy). */
function plainKeys(store: KeyStoreApi, n: number): Array<{ block: Buffer; fingerprint: string; digest: string }> {
  const out: Array<{ block: Buffer; fingerprint: string; digest: string }> = [];
  for (const block of blocks) {
    const [o] = store.upsertMaterial(block, 'admin');
    if (o?.status === 'inserted' && !o.cuts && SKS.get(o.fingerprint!) === o.digest) {
      out.push({ block, fingerprint: o.fingerprint!, digest: o.digest! });
      if (out.length === n) break;
    }
  }
  return out;
}

/** The key without its last third-party certification (a packet of tag 2 after a user ID), or undefined. */
function withoutOneCertification(block: Buffer): Buffer | undefined {
  const packets = splitKeys(readPackets(block))[0]!;
  let last = -1;
  let inUid = false;
  for (let i = 1; i < packets.length; i++) {
    const t = packets[i]!.tag;
    if (t === TAG.USER_ID) inUid = true;
    else if (t === TAG.PUBLIC_SUBKEY) inUid = false;
    else if (t === TAG.SIGNATURE && inUid && i > 0 && packets[i - 1]!.tag === TAG.SIGNATURE) last = i;
  }
  if (last < 0) return undefined;
  return writePackets(packets.filter((_, i) => i !== last));
}

export function storeConformance(name: string, backend: BackendUnderTest): void {
  test(`${name}: a new key is added, readable every way, logged and in the recon set`, () => {
    const store = backend.open();
    try {
      const [k] = plainKeys(store, 1);
      assert.ok(k, 'a Debian key stored as SKS stores it');
      assert.equal(store.count(), 1);
      const got = store.getByFingerprint(k.fingerprint)!;
      assert.equal(got.digest, k.digest);
      assert.equal(store.getByDigest(k.digest.toUpperCase())?.fingerprint, k.fingerprint);
      assert.equal(store.findByKeyId(k.fingerprint.slice(-16))[0]?.fingerprint, k.fingerprint);
      const email = got.info.userIds.map((u) => /<([^<>\s]+@[^<>\s]+)>/.exec(u.text)?.[1]).find(Boolean);
      if (email) assert.equal(store.searchText(email, 10).keys[0]?.fingerprint, k.fingerprint);
      const changes = store.changesSince(0, 10);
      assert.deepEqual(changes.map((c) => [c.op, c.digest, c.fingerprint]), [['add', k.digest, k.fingerprint]]);
      assert.equal(store.lastSeq(), changes[0]!.seq);
      assert.ok(store.reconView.has(Buffer.from(k.digest, 'hex')));
      assert.equal(store.reconView.size(), 1);
      assert.deepEqual([...store.digests()].map((d) => d.toString('hex')), [k.digest]);
    } finally {
      store.close();
    }
  });

  test(`${name}: upsert says added, unchanged and merged, with the offered and the stored digest`, () => {
    const store = backend.open();
    try {
      const block = blocks.find((b) => withoutOneCertification(b) !== undefined)!;
      const partial = withoutOneCertification(block)!;
      const [first] = store.upsertMaterial(partial, 'add');
      assert.equal(first!.status, 'inserted');
      assert.equal(first!.offeredDigest, first!.digest, 'a canonical key is stored as offered');
      const [again] = store.upsertMaterial(partial, 'add');
      assert.equal(again!.status, 'unchanged');
      const [merged] = store.upsertMaterial(block, 'recon');
      assert.equal(merged!.status, 'updated');
      assert.equal(merged!.oldDigest, first!.digest);
      assert.equal(merged!.digest, SKS.get(merged!.fingerprint!), 'the merged key is the full key, as SKS digests it');
      assert.equal(merged!.offeredDigest, merged!.digest);
      assert.equal(store.count(), 1);
      assert.equal(store.reconView.has(Buffer.from(first!.digest!, 'hex')), false, 'the old digest left the recon set');
      assert.equal(store.reconView.has(Buffer.from(merged!.digest!, 'hex')), true);
      const ops = store.changesSince(0, 10).map((c) => `${c.op}:${c.digest}`);
      assert.deepEqual(ops, [`add:${first!.digest}`, `remove:${first!.digest}`, `add:${merged!.digest}`]);
    } finally {
      store.close();
    }
  });

  test(`${name}: unreadable input throws KeyInputError and writes nothing`, () => {
    const store = backend.open();
    try {
      plainKeys(store, 1);
      const before = { count: store.count(), seq: store.lastSeq() };
      assert.throws(() => store.upsertMaterial('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64!\n-----END PGP PUBLIC KEY BLOCK-----\n', 'add'),
        KeyInputError);
      assert.throws(() => store.upsertMaterial(Buffer.concat([blocks[5]!, Buffer.from([0x99, 0x01])]), 'add'), KeyInputError);
      assert.deepEqual({ count: store.count(), seq: store.lastSeq() }, before);
    } finally {
      store.close();
    }
  });

  test(`${name}: the blocklist refuses on every write and removes the stored copy`, () => {
    const store = backend.open();
    try {
      const [k] = plainKeys(store, 1);
      assert.equal(store.block(k!.fingerprint, 'test'), true);
      assert.equal(store.isBlocked(k!.fingerprint.toLowerCase()), true);
      assert.equal(store.count(), 0);
      assert.equal(store.reconView.size(), 0);
      const [o] = store.upsertMaterial(k!.block, 'recon');
      assert.equal(o!.status, 'rejected');
      assert.equal(o!.reason, 'blocklisted');
      assert.equal(o!.offeredDigest, k!.digest, 'a refusal still names the digest the peer offered');
      assert.deepEqual(store.blocklist().map((b) => b.fingerprint), [k!.fingerprint]);
      assert.equal(store.unblock(k!.fingerprint), true);
      assert.equal(store.upsertMaterial(k!.block, 'add')[0]!.status, 'inserted');
      assert.equal(store.deleteKey(k!.fingerprint, 'test'), true);
      assert.equal(store.getByFingerprint(k!.fingerprint), undefined);
    } finally {
      store.close();
    }
  });

  test(`${name}: a store that cannot write throws StoreUnavailableError, not a refusal, and loses nothing`, () => {
    const store = backend.open();
    try {
      const [a, b] = plainKeys(store, 2);
      store.deleteKey(b!.fingerprint, 'test');
      const before = { count: store.count(), seq: store.lastSeq() };
      const release = backend.makeUnavailable(store);
      try {
        assert.throws(() => store.upsertMaterial(b!.block, 'recon'), StoreUnavailableError);
      } finally {
        release();
      }
      assert.deepEqual({ count: store.count(), seq: store.lastSeq() }, before);
      assert.equal(store.getByFingerprint(a!.fingerprint)?.digest, a!.digest, 'what was stored is still there');
      assert.equal(store.upsertMaterial(b!.block, 'recon')[0]!.status, 'inserted', 'and it works again afterwards');
    } finally {
      store.close();
    }
  });

  test(`${name}: a recon snapshot keeps one version of the set until closed`, () => {
    const store = backend.open();
    try {
      const [a, b] = plainKeys(store, 2);
      store.deleteKey(b!.fingerprint, 'test');
      const snap = store.openSnapshot();
      try {
        store.upsertMaterial(b!.block, 'recon');
        assert.equal(store.reconView.size(), 2, 'the live set has the new key');
        assert.equal(snap.size(), 1, 'the snapshot does not');
        assert.equal(snap.has(Buffer.from(b!.digest, 'hex')), false);
        assert.deepEqual(snap.elements('').map((d) => d.toString('hex')), [a!.digest]);
      } finally {
        snap.close();
      }
      const later = store.openSnapshot();
      assert.equal(later.size(), 2);
      later.close();
    } finally {
      store.close();
    }
  });

  test(`${name}: refused digests are remembered for the back-off and then offered again`, () => {
    const store = backend.open();
    try {
      const memory = store.refusedDigests(3600);
      const [x, y] = [randomBytes(16), randomBytes(16)];
      memory.record([{ digest: x, reason: 'blocklisted' }], 'peer:1', 1000);
      assert.deepEqual(memory.partition([x, y], 1000), { fetch: [y], skipped: 1 });
      assert.deepEqual(memory.partition([x, y], 1000 + 3600), { fetch: [x, y], skipped: 0 });
      assert.equal(memory.prune(1000 + 3601), 1);
      assert.equal(memory.count(), 0);
    } finally {
      store.close();
    }
  });

  test(`${name}: a dump source yields every key once, in digest order`, () => {
    const store = backend.open();
    try {
      const keys = plainKeys(store, 5);
      const dumped = [...store.keysInDigestOrder()];
      const want = [...keys].sort((p, q) => (p.digest < q.digest ? -1 : 1)).map((k) => store.getByFingerprint(k.fingerprint)!.data);
      assert.equal(dumped.length, keys.length);
      dumped.forEach((d, i) => assert.ok(d.equals(want[i]!), `dumped key ${i} is the stored key with the ${i}th digest`));
    } finally {
      store.close();
    }
  });
}
