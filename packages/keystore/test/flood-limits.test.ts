// A flood far beyond what one call may take as arguments (CVE-2019-13050 keys have had 150,000+ certifications on
// one user ID) is trimmed to the cap like a small one, never refused as "malformed" by an internal error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, TAG, readPackets, splitKeys, writePackets, defaultSettings, type Packet } from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';

/** Copies of a key's first third-party certification, each with a different signature value (so no two are equal
 * and none is deduplicated), after its first user ID. */
function flooded(block: Buffer, copies: number): { key: Buffer; certsOnUid: number } {
  const packets = splitKeys(readPackets(block))[0]!;
  const uid = packets.findIndex((p) => p.tag === TAG.USER_ID);
  let end = uid + 1;
  while (end < packets.length && packets[end]!.tag === TAG.SIGNATURE) end++;
  const sig = packets.slice(uid + 1, end).find((p) => p.body[0] === 4)!;
  const extra: Packet[] = [];
  // v4 signature: version, type, algorithms, hashed and unhashed subpackets, 2-byte hash prefix, then the value:
  // replaced by one small MPI, a different one per copy (as forged floods are: no key material needed).
  const hashed = sig.body.readUInt16BE(4);
  const unhashed = sig.body.readUInt16BE(6 + hashed);
  const head = sig.body.subarray(0, 8 + hashed + unhashed + 2);
  for (let i = 0; i < copies; i++) {
    const value = Buffer.from([0x00, 0x18, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff]);
    extra.push({ tag: TAG.SIGNATURE, body: Buffer.concat([head, value]) });
  }
  const out = [...packets.slice(0, end), ...extra, ...packets.slice(end)];
  return { key: writePackets(out), certsOnUid: end - uid - 1 + copies };
}

test('a user ID with 150,000 certifications is cut to max_certs_per_uid and stored', () => {
  const block = keyBlocks(readFileSync(DEBIAN_KEYRING)).find((b) => {
    const p = splitKeys(readPackets(b))[0]!;
    const uid = p.findIndex((x) => x.tag === TAG.USER_ID);
    return uid > 0 && p[uid + 2]?.tag === TAG.SIGNATURE;
  })!;
  const { key } = flooded(block, 150_000);
  const store = KeyStore.open(join(makeTempDir('flood-limits-'), 'keys.sqlite'));
  try {
    const [o] = store.upsertMaterial(key, 'add');
    assert.equal(o!.status, 'inserted', `${o!.reason}: ${o!.detail}`);
    const cut = o!.cuts?.find((c) => c.rule === 'certs-per-uid');
    assert.ok(cut && cut.packets >= 150_000 - defaultSettings().max_certs_per_uid, JSON.stringify(o!.cuts));
    const stored = store.getByFingerprint(o!.fingerprint!)!;
    assert.ok(stored.data.length < key.length / 50, 'the stored copy is the trimmed key');
  } finally {
    store.close();
  }
});

/** The key with its first user ID replaced by `text` (its self-signature no longer matches; the sks profile does
 * not verify, as SKS does not). */
function withUserId(block: Buffer, text: string): Buffer {
  const packets = splitKeys(readPackets(block))[0]!;
  const uid = packets.findIndex((p) => p.tag === TAG.USER_ID);
  return writePackets(packets.map((p, i) => (i === uid ? { tag: TAG.USER_ID, body: Buffer.from(text, 'utf8') } : p)));
}

test('a huge user ID is indexed in bounded work: the first word_index_max_chars characters, its address found linearly', { timeout: 60_000 }, () => {
  const block = keyBlocks(readFileSync(DEBIAN_KEYRING))[0]!;
  // "0 <a@a@a@…" with no closing bracket made the address pattern backtrack quadratically (269 s for 1 MB, with the
  // write lock held); the words after the limit are not indexed.
  const text = `Early Words <early@example.org> ${'filler '.repeat(2000)}0 <${'a@'.repeat(450_000)} farawayword`;
  const store = KeyStore.open(join(makeTempDir('flood-limits-'), 'keys.sqlite'));
  try {
    const [o] = store.upsertMaterial(withUserId(block, text), 'add');
    assert.equal(o!.status, 'inserted', `${o!.reason}: ${o!.detail}`);
    assert.equal(store.searchText('early words', 10).keys[0]?.fingerprint, o!.fingerprint);
    assert.equal(store.searchText('early@example.org', 10).keys[0]?.fingerprint, o!.fingerprint, 'the address before the run is found');
    assert.equal(store.searchText('filler', 10).total, 1);
    assert.equal(store.searchText('farawayword', 10).total, 0, 'words past word_index_max_chars are not indexed');
  } finally {
    store.close();
  }
});

test('a key packet without key material is refused, whatever its version (a 6-byte v6 primary was stored)', () => {
  const store = KeyStore.open(join(makeTempDir('flood-limits-'), 'keys.sqlite'));
  try {
    const created = Buffer.alloc(4);
    created.writeUInt32BE(1_700_000_000);
    const uid: Packet = { tag: TAG.USER_ID, body: Buffer.from('Empty <empty@example.org>') };
    const v6Empty: Packet = { tag: TAG.PUBLIC_KEY, body: Buffer.concat([Buffer.from([6]), created, Buffer.from([27])]) };
    const v6Lying: Packet = { tag: TAG.PUBLIC_KEY, body: Buffer.concat([Buffer.from([6]), created, Buffer.from([27, 0, 0, 0, 32]), Buffer.alloc(8)]) };
    const v4Empty: Packet = { tag: TAG.PUBLIC_KEY, body: Buffer.concat([Buffer.from([4]), created, Buffer.from([22])]) };
    for (const primary of [v6Empty, v6Lying, v4Empty]) {
      const [o] = store.upsertMaterial(writePackets([primary, uid]), 'add');
      assert.equal(o!.status, 'rejected', `v${primary.body[0]} with ${primary.body.length} bytes: ${JSON.stringify(o)}`);
      assert.match(o!.detail ?? '', /key material/);
    }
    assert.equal(store.count(), 0);
  } finally {
    store.close();
  }
});
