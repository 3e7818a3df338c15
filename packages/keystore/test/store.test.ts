// The key store on real SQLite files and real keys (Debian's keyring), checked against what SKS 1.1.6 (its digests),
// GnuPG (key IDs, fingerprints, user IDs) and openpgp.js (a v6 key) say, never against values the store computed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import * as openpgp from 'openpgp';
import Database from 'better-sqlite3';
import { KeyStore, KeyInputError, PackedBlockReader, packPreparedBlocks, prepareKey, type PreparedBlock } from '../src/store/keystore.js';
import { readPackets, splitKeys, describeKey, mrLines, primaryUserId, crc24, type KeyInfo, type StoredKey } from '../src/index.js';
import { SCHEMA_VERSION } from '../src/store/schema.js';
import { FingerprintTable } from '../src/store/sqlite/fingerprint-table.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { debianKeyringAsGnupgListsIt, preparedAsLoaderThreadsSend, sksDigests, splitCopies } from './store-helpers.js';
import { sqliteHandle } from './support/sqlite-handle.js';

const keyring = readFileSync(DEBIAN_KEYRING);
const blocks = keyBlocks(keyring);
const SKS = sksDigests();
const GPG = debianKeyringAsGnupgListsIt();

function open(name = 'keys.sqlite'): { store: KeyStore; file: string } {
  const file = join(makeTempDir('store-'), name);
  return { store: KeyStore.open(file, { busyTimeoutMs: 10000 }), file };
}

/** Tree elements and stored digests are the same set, and every tree node agrees with its elements. */
function assertTreeMatches(store: KeyStore): void {
  assert.deepEqual(store.reconView.verify(), [], 'every prefix-tree node agrees with its elements');
  const stored = [...store.digests()].map((d) => d.toString('hex'));
  const tree = store.reconView.elements('').map((d) => d.toString('hex'));
  assert.deepEqual(tree, stored, 'tree elements == stored digests');
  assert.equal(store.reconView.size(), stored.length);
  assert.equal(store.count(), stored.length, 'count() == stored keys');
}

/** One shared store holding all of Debian's keyring, loaded through upsert like the loader does. */
const full = open();
const fullOutcomes = (() => {
  const groups = splitKeys(readPackets(keyring));
  const out = [];
  for (let i = 0; i < groups.length; i += 100) out.push(...full.store.upsert(groups.slice(i, i + 100), 'load'));
  return out;
})();

test('loading debian-keyring stores every key once, each with the digest SKS 1.1.6 computed for it', () => {
  assert.equal(fullOutcomes.length, 905);
  assert.ok(fullOutcomes.every((o) => o.status === 'inserted'), 'all inserted');
  assert.equal(full.store.count(), SKS.size);
  for (const [fp, digest] of SKS) {
    const k = full.store.getByFingerprint(fp);
    assert.ok(k, `stored ${fp}`);
    assert.equal(k.digest, digest, `digest of ${fp}`);
    assert.equal(full.store.getByDigest(digest.toUpperCase())?.fingerprint, fp, 'found again by digest');
    assert.deepEqual(k.cuts, []);
  }
  const digests = [...full.store.digests()].map((d) => d.toString('hex'));
  assert.deepEqual(digests, [...SKS.values()].sort(), 'digests() is the SKS digest set in byte order');
  assertTreeMatches(full.store);
});

test('re-adding the same keys changes nothing: every outcome unchanged, no change-log entry, same digests', () => {
  const before = full.store.changesSince(0, 1_000_000).length;
  const outcomes = full.store.upsertMaterial(keyring, 'add');
  assert.equal(outcomes.length, 905);
  assert.ok(outcomes.every((o) => o.status === 'unchanged' && o.digest === SKS.get(o.fingerprint!)));
  assert.equal(full.store.changesSince(0, 1_000_000).length, before);
  assert.equal(full.store.count(), 905);
});

test('lookups by every kind of ID GnuPG lists: short and long key IDs and fingerprints of primaries and subkeys', () => {
  let subkeysSeen = 0;
  for (const g of GPG.slice(0, 150)) {
    const has = (keys: { fingerprint: string }[]) => keys.some((k) => k.fingerprint === g.fingerprint);
    assert.equal(full.store.getByFingerprint(g.fingerprint)?.fingerprint, g.fingerprint);
    assert.equal(full.store.getByFingerprint(g.fingerprint.toLowerCase())?.keyId, g.keyId);
    assert.ok(has(full.store.findByKeyId(g.keyId)), `long ID ${g.keyId}`);
    assert.ok(has(full.store.findByKeyId(g.keyId.slice(8).toLowerCase())), `short ID ${g.keyId.slice(8)}`);
    assert.ok(has(full.store.findByKeyId(g.fingerprint)), `fingerprint ${g.fingerprint}`);
    for (const s of g.subkeys) {
      subkeysSeen++;
      assert.ok(has(full.store.findByKeyId(s.keyId)), `subkey long ID ${s.keyId}`);
      assert.ok(has(full.store.findByKeyId(s.keyId.slice(8))), `subkey short ID ${s.keyId}`);
      assert.ok(has(full.store.findByKeyId(s.fingerprint)), `subkey fingerprint ${s.fingerprint}`);
      assert.equal(full.store.getByFingerprint(s.fingerprint), undefined, 'a subkey fingerprint is no primary');
    }
  }
  assert.ok(subkeysSeen > 100);
  assert.deepEqual(full.store.findByKeyId('0123456789ABCDEF'), []);
  assert.deepEqual(full.store.findByKeyId('not hex'), []);
  assert.equal(full.store.getByFingerprint('00'.repeat(20)), undefined);
  // a stored key's fingerprint with one digit that is not hex, at the end or inside, names no key
  const fp = GPG[0]!.fingerprint;
  for (const bad of [`${fp.slice(0, 39)}g`, `${fp.slice(0, 20)}x${fp.slice(21)}`, `${fp} `, fp.slice(0, 39)]) {
    assert.equal(full.store.getByFingerprint(bad), undefined, bad);
    assert.equal(full.store.packetsByFingerprint(bad), undefined, bad);
  }
  assert.equal(full.store.getByDigest('zz'), undefined);
});

test('search by words (all must match, any case, any order) and by exact e-mail address', () => {
  // Every GnuPG user ID with an address is found by that address, in any case, with or without <>.
  let checked = 0;
  for (const g of GPG.slice(0, 200)) {
    for (const uid of g.uids) {
      const m = /<([^<>\s]+@[^<>\s]+)>/.exec(uid);
      if (!m) continue;
      const found = full.store.searchText(m[1]!.toUpperCase(), 100).keys.map((k) => k.fingerprint);
      assert.ok(found.includes(g.fingerprint), `${m[1]} finds its key`);
      assert.ok(full.store.searchText(`<${m[1]}>`, 100).keys.some((k) => k.fingerprint === g.fingerprint));
      checked++;
    }
  }
  assert.ok(checked > 200, `${checked} addresses`);
  // Words: the two words of a name in another order and case; every result has both words in some user ID.
  const target = GPG.find((g) => g.uids.some((u) => /^Ian Jackson /.test(u)))!;
  const r = full.store.searchText('jackson IAN', 50);
  assert.ok(r.keys.some((k) => k.fingerprint === target.fingerprint));
  assert.equal(r.total, r.keys.length);
  for (const k of r.keys) {
    const uids = GPG.find((g) => g.fingerprint === k.fingerprint)!.uids.join(' ').toLowerCase();
    assert.ok(/\bian\b/.test(uids) && /\bjackson\b/.test(uids), `${k.fingerprint} has both words`);
  }
  // An address is exact: a partial address matches nothing; a word common to many keys reports the full total.
  assert.equal(full.store.searchText('ijackson@chiark.greenend.org', 10).total, 0);
  const many = full.store.searchText('debian', 5);
  const expected = GPG.filter((g) => g.uids.some((u) => /(^|[^\p{L}\p{N}])debian([^\p{L}\p{N}]|$)/iu.test(u))).length;
  assert.equal(many.keys.length, 5);
  assert.equal(many.total, expected, 'total counts every key with the word');
  // Counting can stop early: enough to learn that there are more than one would serve.
  assert.ok(expected > 20);
  assert.deepEqual(full.store.searchText('debian', 5, false, 21).total, 21);
  assert.deepEqual(full.store.searchText('debian', 5, false, 21).keys.map((k) => k.fingerprint), many.keys.map((k) => k.fingerprint));
  assert.equal(full.store.searchText('debian', 5, false, 100_000).total, expected);
  // exact: a whole user ID, any case.
  const uid = target.uids.find((u) => /^Ian Jackson /.test(u))!;
  const exact = full.store.searchText(uid.toUpperCase(), 10, true);
  assert.deepEqual(exact.keys.map((k) => k.fingerprint), [target.fingerprint]);
  assert.equal(full.store.searchText('Ian Jackson', 10, true).total, 0);
  assert.equal(full.store.searchText(`  ${uid.toLowerCase()} `, 10, true, 1).total, 1);
  assert.equal(full.store.searchText('  ---  ', 10).total, 0);
  // Words are split where the index splits them (as SKS does): punctuation between words is no query syntax.
  assert.ok(full.store.searchText('jackson,ian', 50).keys.some((k) => k.fingerprint === target.fingerprint));
  assert.ok(full.store.searchText('"ian" (jackson*', 50).keys.some((k) => k.fingerprint === target.fingerprint));
  assert.equal(full.store.searchText('ian OR nosuchwordanywhere', 50).total, 0, 'OR is a word, not an operator');
  assert.equal(full.store.searchText('"quoted" OR NOT', 10).total, 0, 'query syntax is not interpreted');
});

test('split copies of a key merge to the whole key: SKS digest of the whole, in either order', () => {
  const { store } = open();
  const picked = blocks.map((b, i) => ({ b, i, parts: splitCopies(b) })).filter((x) => x.parts).slice(0, 40);
  assert.ok(picked.length >= 30);
  picked.forEach(({ parts }, n) => {
    const [a, b] = n % 2 === 0 ? parts! : [parts![1], parts![0]];
    const first = store.upsertMaterial(a, 'add');
    assert.equal(first.length, 1);
    assert.equal(first[0]!.status, 'inserted');
    const second = store.upsertMaterial(b, 'recon');
    const fp = second[0]!.fingerprint!;
    assert.equal(second[0]!.status, 'updated', `second copy of ${fp} updates`);
    assert.equal(second[0]!.oldDigest, first[0]!.digest);
    assert.equal(second[0]!.digest, SKS.get(fp), `merged ${fp} has SKS's digest of the whole key`);
    assert.equal(store.upsertMaterial(a, 'add')[0]!.status, 'unchanged', 'a part of the stored key changes nothing');
  });
  // The change log tells the story: add, then remove old + add new, per key.
  const changes = store.changesSince(0, 1000);
  assert.equal(changes.length, picked.length * 3);
  assert.deepEqual(changes.slice(0, 3).map((c) => c.op), ['add', 'remove', 'add']);
  assert.equal(changes[1]!.digest, changes[0]!.digest);
  assert.ok(changes.every((c, i) => c.seq > (changes[i - 1]?.seq ?? 0)));
  assert.deepEqual(store.changesSince(changes[1]!.seq, 1).map((c) => c.seq), [changes[2]!.seq]);
  assertTreeMatches(store);
  store.close();
});

test('split copies inside one batch merge too (the loader meets both halves in one transaction)', () => {
  const { store } = open();
  const picked = blocks.map((b) => splitCopies(b)).filter((x) => x !== undefined).slice(0, 20);
  const groups = picked.flatMap(([a, b]) => [a, b]).map((buf) => splitKeys(readPackets(buf))[0]!);
  const outcomes = store.upsert(groups, 'load');
  assert.deepEqual(outcomes.map((o) => o.status), picked.flatMap(() => ['inserted', 'updated']));
  for (const o of outcomes.filter((x) => x.status === 'updated')) assert.equal(o.digest, SKS.get(o.fingerprint!));
  assert.equal(store.count(), 20);
  // Inside one transaction the intermediate digest never reached the tree or stayed in it.
  assertTreeMatches(store);
  // Words and addresses of both halves are searchable, once each.
  let mails = 0;
  for (const o of outcomes.filter((x) => x.status === 'updated')) {
    const g = GPG.find((x) => x.fingerprint === o.fingerprint)!;
    for (const uid of g.uids) {
      const m = /<([^<>\s]+@[^<>\s]+)>/.exec(uid);
      if (!m) continue;
      mails++;
      assert.deepEqual(store.searchText(m[1]!, 10).keys.filter((k) => k.fingerprint === g.fingerprint).length, 1, m[1]);
      const word = uid.split(/\s+/)[0]!;
      assert.ok(store.searchText(word, 100).keys.some((k) => k.fingerprint === g.fingerprint), word);
    }
  }
  assert.ok(mails > 40);
  // Again in separate transactions, each half re-sent: words follow the merged key.
  const again = open().store;
  for (const g of groups) again.upsert([g], 'recon');
  for (const k of store.findByKeyId(GPG.find((x) => x.fingerprint === outcomes[1]!.fingerprint)!.keyId)) {
    for (const u of k.info.userIds.filter((x) => x.kind === 'uid')) {
      assert.ok(again.searchText(u.text, 10, true).keys.some((x) => x.fingerprint === k.fingerprint), u.text);
    }
  }
  again.close();
  store.close();
});

test('the blocklist refuses a key on every path and removes the stored copy', () => {
  const { store } = open();
  const groups = splitKeys(readPackets(Buffer.concat(blocks.slice(0, 30))));
  store.upsert(groups, 'load');
  const victim = GPG[3]!.fingerprint;
  const victimDigest = SKS.get(victim)!;
  assert.equal(store.block(victim.toLowerCase(), 'test: abuse'), true);
  assert.equal(store.getByFingerprint(victim), undefined);
  assert.deepEqual(store.findByKeyId(GPG[3]!.keyId), []);
  assert.equal(store.count(), 29);
  assert.equal(store.reconView.has(Buffer.from(victimDigest, 'hex')), false);
  assert.ok(store.isBlocked(victim));
  assert.deepEqual(store.blocklist().map((b) => [b.fingerprint, b.reason]), [[victim, 'test: abuse']]);
  const last = store.changesSince(0, 1000).at(-1)!;
  assert.deepEqual([last.op, last.digest, last.fingerprint], ['remove', victimDigest, victim]);
  // Every path: armored /pks/add-style input, raw groups (recon), prepared blocks (loader).
  const armoredLike = blocks[3]!;
  for (const outcome of [
    store.upsertMaterial(armoredLike, 'add')[0]!,
    store.upsert([groups[3]!], 'recon')[0]!,
    store.upsert([prepareKey(groups[3]!, store.policy)], 'load')[0]!,
  ]) {
    assert.equal(outcome.status, 'rejected');
    assert.equal(outcome.reason, 'blocklisted');
    assert.equal(outcome.fingerprint, victim);
  }
  assert.equal(store.getByFingerprint(victim), undefined);
  assert.equal(store.block(victim, 'again'), false, 'nothing left to remove');
  assert.equal(store.unblock(victim), true);
  assert.equal(store.isBlocked(victim), false);
  assert.equal(store.upsertMaterial(armoredLike, 'add')[0]!.status, 'inserted');
  assert.equal(store.getByFingerprint(victim)?.digest, victimDigest);
  // Blocking a key that is not stored still refuses it later.
  const other = GPG[40]!.fingerprint;
  assert.equal(store.block(other, 'pre-emptive'), false);
  assert.equal(store.upsertMaterial(blocks[40]!, 'add')[0]!.reason, 'blocklisted');
  assertTreeMatches(store);
  store.close();
});

test('deleteKey removes key, IDs, words and digest; the tree stays equal to the stored digests', () => {
  const { store } = open();
  store.upsert(splitKeys(readPackets(Buffer.concat(blocks.slice(0, 120)))), 'admin');
  for (const g of GPG.slice(0, 120).filter((_g, i) => i % 3 === 0)) {
    assert.equal(store.deleteKey(g.fingerprint, 'test'), true);
    assert.equal(store.getByFingerprint(g.fingerprint), undefined);
    assert.deepEqual(store.findByKeyId(g.keyId), []);
    const email = g.uids.map((u) => /<([^<>\s]+@[^<>\s]+)>/.exec(u)?.[1]).find((e) => e);
    if (email) assert.ok(!store.searchText(email, 100).keys.some((k) => k.fingerprint === g.fingerprint));
  }
  assert.equal(store.deleteKey(GPG[0]!.fingerprint, 'twice'), false);
  assert.throws(() => store.deleteKey('xyz', 'bad'), /fingerprint/);
  assert.equal(store.count(), 80);
  assertTreeMatches(store);
  store.close();
});

test('a v6 key made by openpgp.js: stored, found by its 64-digit fingerprint and its key IDs', async () => {
  const { store } = open();
  const { publicKey } = await openpgp.generateKey({
    type: 'curve25519', userIDs: [{ name: 'Vera Six', email: 'vera.six@example.org' }], format: 'binary', config: { v6Keys: true },
  });
  const key = await openpgp.readKey({ binaryKey: publicKey });
  const fp = key.getFingerprint().toUpperCase();
  assert.equal(fp.length, 64);
  const sub = key.subkeys[0]!.getFingerprint().toUpperCase();
  const subId = key.subkeys[0]!.getKeyID().toHex().toUpperCase();
  const [o] = store.upsertMaterial(Buffer.from(publicKey), 'add');
  assert.equal(o!.status, 'inserted');
  assert.equal(o!.fingerprint, fp);
  const k = store.getByFingerprint(fp)!;
  assert.equal(k.version, 6);
  assert.equal(k.keyId, key.getKeyID().toHex().toUpperCase());
  for (const q of [fp, key.getKeyID().toHex(), key.getKeyID().toHex().slice(8), sub, subId, subId.slice(8)]) {
    assert.deepEqual(store.findByKeyId(q).map((x) => x.fingerprint), [fp], `found by ${q}`);
  }
  assert.deepEqual(store.searchText('vera.six@EXAMPLE.org', 10).keys.map((x) => x.fingerprint), [fp]);
  store.close();
});

test('unreadable input throws KeyInputError and writes nothing; refused keys are outcomes', () => {
  const { store } = open();
  store.upsertMaterial(blocks[0]!, 'add');
  const seq = store.changesSince(0, 100).length;
  assert.throws(() => store.upsertMaterial('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP PUBLIC KEY BLOCK-----\n', 'add'),
    KeyInputError);
  // A truncated stream after a good key: nothing of it is stored, not even the good key.
  const truncated = Buffer.concat([blocks[1]!, blocks[2]!.subarray(0, blocks[2]!.length - 10)]);
  assert.throws(() => store.upsertMaterial(truncated, 'add'), KeyInputError);
  assert.equal(store.getByFingerprint(GPG[1]!.fingerprint), undefined);
  assert.equal(store.count(), 1);
  assert.equal(store.changesSince(0, 100).length, seq);
  // A secret key is refused as such (a key block starting with a secret-key packet, tag 5).
  const pk = blocks[5]!;
  const secretHeader = Buffer.from(pk);
  secretHeader[0] = (secretHeader[0]! & 0x40) ? 0xc5 : (secretHeader[0]! & ~0x3c) | (5 << 2);
  const refused = store.upsertMaterial(secretHeader, 'add');
  assert.equal(refused[0]!.status, 'rejected');
  assert.equal(refused[0]!.reason, 'secret-key');
  assert.equal(store.count(), 1);
  assert.throws(() => store.upsertMaterial(Buffer.alloc(0), 'add'), KeyInputError);
  store.close();
});

test('a failing batch rolls back completely: no key, ID, word, change, tree element or progress is left', () => {
  const { store, file } = open();
  const groups = splitKeys(readPackets(Buffer.concat(blocks.slice(0, 20))));
  const fileId = { path: '/dumps/a.pgp', size: 1000, mtimeMs: 1234.5 };
  store.upsert(groups.slice(0, 10), 'load', { file: fileId, offset: 100, counters: { read: 10 } });
  const snapshot = () => ({
    count: store.count(),
    changes: store.changesSince(0, 10_000).length,
    digests: [...store.digests()].length,
    tree: store.reconView.size(),
    progress: store.loadProgress(fileId),
    ids: sqliteHandle(store).prepare('SELECT count(*) FROM key_ids').pluck().get(),
    emails: sqliteHandle(store).prepare('SELECT count(*) FROM key_emails').pluck().get(),
  });
  const before = snapshot();
  // The last block of the batch is broken in a way only noticed after the other keys were written (its digest
  // cannot enter the prefix tree), so the whole transaction must be undone.
  const good = groups.slice(10).map((g) => prepareKey(g, store.policy));
  const bad = prepareKey(groups[19]!, store.policy) as Extract<PreparedBlock, { ok: true }>;
  const broken: PreparedBlock = { ok: true, key: { ...bad.key, fingerprint: '11'.repeat(20), digest: Buffer.alloc(15, 1) } };
  assert.throws(() => store.upsert([...good.slice(0, 9), broken], 'load', { file: fileId, offset: 200 }));
  assert.deepEqual(snapshot(), before);
  for (const g of GPG.slice(10, 19)) assert.equal(store.getByFingerprint(g.fingerprint), undefined);
  assert.equal(store.searchText(GPG[12]!.uids[0]!.split(' ')[0]!, 100).keys.some((k) => k.fingerprint === GPG[12]!.fingerprint), false);
  assertTreeMatches(store);
  // The same batch without the broken block goes in, and progress moves on with it.
  store.upsert(good, 'load', { file: fileId, offset: 200, counters: { read: 10 } });
  assert.equal(store.count(), 20);
  assert.deepEqual(store.loadProgress(fileId)?.counters, { inserted: 20, read: 20 });
  store.close();
  const check = new Database(file, { readonly: true });
  assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
  check.close();
});

test('load progress is kept per file identity and counts outcomes by status and reason', () => {
  const { store } = open();
  const fileId = { path: '/dumps/b.pgp', size: 5000, mtimeMs: 99 };
  assert.equal(store.loadProgress(fileId), undefined);
  const groups = splitKeys(readPackets(Buffer.concat(blocks.slice(0, 5))));
  store.upsert([...groups, groups[0]!, [{ tag: 6, body: Buffer.from([4, 1, 2]) }]], 'load',
    { file: fileId, offset: 4000, counters: { read: 7, bytes: 4000 } });
  const p = store.loadProgress(fileId)!;
  assert.equal(p.offset, 4000);
  assert.deepEqual(p.file, fileId);
  assert.equal(p.counters.inserted, 5);
  assert.equal(p.counters.unchanged, 1);
  assert.equal(p.counters.rejected, 1);
  assert.equal(p.counters['rejected:malformed'], 1);
  assert.equal(p.counters.read, 7);
  // The same path with another size or mtime is another file: no progress, and a batch for it starts afresh.
  assert.equal(store.loadProgress({ ...fileId, mtimeMs: 100 }), undefined);
  assert.equal(store.loadProgress({ ...fileId, size: 5001 }), undefined);
  store.upsert([groups[1]!], 'load', { file: { ...fileId, size: 6000 }, offset: 10 });
  assert.deepEqual(store.loadProgress({ ...fileId, size: 6000 })?.counters, { unchanged: 1 });
  store.close();
});

test('read-only opening never creates or migrates, reads what writers committed, and refuses writes', () => {
  const dir = makeTempDir('store-ro-');
  const fresh = join(dir, 'none.sqlite');
  assert.throws(() => KeyStore.open(fresh, { readonly: true }));
  writeFileSync(join(dir, 'empty.sqlite'), '');
  assert.throws(() => KeyStore.open(join(dir, 'empty.sqlite'), { readonly: true }), /not an initialised key store/);
  const file = join(dir, 'keys.sqlite');
  const writer = KeyStore.open(file);
  const reader = KeyStore.open(file, { readonly: true });
  assert.equal(reader.count(), 0);
  writer.upsertMaterial(Buffer.concat(blocks.slice(0, 3)), 'add');
  assert.equal(reader.count(), 3, 'a reader sees committed writes');
  assert.equal(reader.getByFingerprint(GPG[2]!.fingerprint)?.digest, SKS.get(GPG[2]!.fingerprint));
  assert.throws(() => reader.upsertMaterial(blocks[4]!, 'add'), /read-only/);
  assert.throws(() => reader.block(GPG[0]!.fingerprint, 'x'), /read-only/);
  assert.equal(reader.count(), 3);
  reader.close();
  writer.close();
  // A database from a newer program is refused rather than misread.
  const db = new Database(file);
  db.pragma('user_version = 99');
  db.close();
  assert.throws(() => KeyStore.open(file), /newer/);
  assert.throws(() => KeyStore.open(file, { readonly: true }), /version 99/);
});

test('a stored key\'s description is what GnuPG lists for it, parsed from the stored packets when first asked for', () => {
  for (const g of GPG.slice(0, 300)) {
    const k = full.store.getByFingerprint(g.fingerprint)!;
    assert.equal(k.keyId, g.keyId);
    assert.equal(k.info.fingerprint, g.fingerprint);
    assert.deepEqual(k.info.subkeys.map((s) => s.fingerprint).sort(), g.subkeys.map((s) => s.fingerprint).sort(), `subkeys of ${g.fingerprint}`);
    assert.deepEqual(k.info.userIds.filter((u) => u.kind === 'uid').map((u) => u.text).sort(), [...g.uids].sort(), `user IDs of ${g.fingerprint}`);
    // spreading or cloning a stored key carries its description along
    assert.deepEqual({ ...k }.info, k.info);
    assert.deepEqual(structuredClone(k).info.userIds, k.info.userIds);
  }
  assert.deepEqual(sqliteHandle(full.store).prepare('SELECT name FROM pragma_table_info(\'keys\')').pluck().all(),
    ['id', 'fingerprint', 'digest', 'version', 'data', 'cuts', 'first_seen', 'updated', 'crc'],
    'no stored copy of the description, only the armor checksum (the rest of the summary is in key_summaries)');
});

test('a version 1 store (descriptions as JSON, fingerprint UNIQUE) is migrated in place: same keys, lookups, tree', () => {
  const { store, file } = open();
  const groups = splitKeys(readPackets(keyring)).slice(0, 120);
  store.upsert(groups, 'load');
  const before = [...store.digests()].map((d) => d.toString('hex'));
  const ids = sqliteHandle(store).prepare('SELECT id, fingerprint FROM keys ORDER BY id').raw().all();
  const root = store.reconView.node('');
  store.close();
  // Turn the file into what version 1 wrote: keys with an info column and a UNIQUE fingerprint column constraint.
  const db = new Database(file);
  db.exec(`BEGIN;
    CREATE TABLE keys_v1 (id INTEGER PRIMARY KEY, fingerprint BLOB NOT NULL UNIQUE, digest BLOB NOT NULL, version INTEGER NOT NULL,
      data BLOB NOT NULL, info TEXT NOT NULL, cuts TEXT, first_seen INTEGER NOT NULL, updated INTEGER NOT NULL);
    INSERT INTO keys_v1 SELECT id, fingerprint, digest, version, data, '["v1 description"]', cuts, first_seen, updated FROM keys;
    DROP TABLE keys;
    ALTER TABLE keys_v1 RENAME TO keys;
    CREATE UNIQUE INDEX keys_digest ON keys (digest);
    DROP TABLE uid_words;
    CREATE VIRTUAL TABLE uid_words USING fts5(uids, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2');
    PRAGMA user_version = 1;
    COMMIT;`);
  db.close();
  assert.throws(() => KeyStore.open(file, { readonly: true }), /version 1/, 'readers wait for a writer to migrate');
  const migrated = KeyStore.open(file);
  assert.equal(migrated.migratedFrom, 1);
  assert.equal(sqliteHandle(migrated).pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(sqliteHandle(migrated).prepare('SELECT count(*) FROM keys k LEFT JOIN key_summaries s ON s.key = k.id WHERE s.mr_lines IS NULL OR k.crc IS NULL').pluck().get(), 0, 'every key has its summary');
  assert.ok(!(sqliteHandle(migrated).prepare('SELECT name FROM pragma_table_info(\'keys\')').pluck().all() as string[]).includes('info'));
  assert.deepEqual(sqliteHandle(migrated).prepare('SELECT id, fingerprint FROM keys ORDER BY id').raw().all(), ids, 'rows keep their ids');
  assert.deepEqual([...migrated.digests()].map((d) => d.toString('hex')), before);
  assert.deepEqual(migrated.reconView.node(''), root);
  // the word index is built again (the version 1 index left here is empty), without positions
  assert.match(sqliteHandle(migrated).prepare("SELECT sql FROM sqlite_schema WHERE name = 'uid_words'").pluck().get() as string, /detail=none/);
  for (const g of GPG.slice(0, 120)) {
    assert.equal(migrated.getByFingerprint(g.fingerprint)?.digest, SKS.get(g.fingerprint));
    assert.deepEqual(migrated.findByKeyId(g.keyId).map((k) => k.fingerprint), [g.fingerprint]);
    assert.equal(migrated.getByFingerprint(g.fingerprint)?.info.userIds.filter((u) => u.kind === 'uid').length, g.uids.length);
    const word = g.uids[0]?.split(/\s+/)[0];
    if (word && /^[\p{L}\p{N}]+$/u.test(word)) assert.ok(migrated.searchText(word, 200).keys.some((k) => k.fingerprint === g.fingerprint), word);
  }
  // the fingerprint is unique through its index now, and writes go on as before
  const plan = sqliteHandle(migrated).prepare('EXPLAIN QUERY PLAN SELECT id FROM keys WHERE fingerprint = ?').all(Buffer.alloc(20)) as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' '), /keys_fingerprint/);
  assert.throws(() => sqliteHandle(migrated).prepare('INSERT INTO keys (fingerprint, digest, version, data, first_seen, updated) SELECT fingerprint, randomblob(16), 4, data, 0, 0 FROM keys LIMIT 1').run(),
    /UNIQUE/);
  const more = migrated.upsert(splitKeys(readPackets(keyring)).slice(100, 140), 'add');
  assert.deepEqual(more.map((o) => o.status), [...Array(20).fill('unchanged'), ...Array(20).fill('inserted')]);
  assertTreeMatches(migrated);
  assert.equal(sqliteHandle(migrated).pragma('integrity_check', { simple: true }), 'ok');
  migrated.close();
  const again = KeyStore.open(file);
  assert.equal(again.migratedFrom, undefined, 'migrated once');
  again.close();
});

/** Turns a fresh store's file into what schema version 3 or 4 wrote: no key_summaries; version 4 had the summary
 * (without the creation time) in keys, after data. */
function toOldSummaries(db: Database.Database, version: 3 | 4): void {
  if (version === 4) {
    db.exec('ALTER TABLE keys ADD COLUMN mr_lines TEXT');
    db.exec('ALTER TABLE keys ADD COLUMN name TEXT');
    db.exec('UPDATE keys SET mr_lines = (SELECT mr_lines FROM key_summaries WHERE key = keys.id), name = (SELECT name FROM key_summaries WHERE key = keys.id)');
  } else {
    db.exec('ALTER TABLE keys DROP COLUMN crc');
  }
  db.exec('DROP TABLE key_summaries');
  db.pragma(`user_version = ${version}`);
}

for (const version of [3, 4] as const) {
  test(`a version ${version} store is migrated: every key gets its summary (mr lines, name, creation, checksum) from its packets`, () => {
    const { store, file } = open();
    const groups = splitKeys(readPackets(keyring)).slice(0, 150);
    store.upsert(groups, 'load');
    const want = new Map(GPG.slice(0, 150).map((g) => [g.fingerprint, store.getByFingerprint(g.fingerprint)!]));
    toOldSummaries(sqliteHandle(store), version);
    store.close();
    assert.throws(() => KeyStore.open(file, { readonly: true }), new RegExp(`version ${version}`), 'readers wait for a writer to migrate');
    const migrated = KeyStore.open(file);
    try {
      assert.equal(migrated.migratedFrom, version);
      assert.equal(sqliteHandle(migrated).prepare('SELECT count(*) FROM key_summaries').pluck().get(), want.size);
      for (const [fpr, before] of want) {
        const k = migrated.getByFingerprint(fpr)!;
        const packets = readPackets(k.data);
        const info = describeKey(packets);
        assert.equal(k.mrLines, before.mrLines, fpr);
        assert.equal(k.mrLines, mrLines(info, packets).join('\n') + '\n', fpr);
        assert.match(k.mrLines!, new RegExp(`^pub:${fpr}:`));
        assert.equal(k.name, primaryUserId(info) ?? null, fpr);
        assert.equal(k.crc, crc24(k.data), fpr);
        assert.deepEqual(migrated.indexEntriesByKeyId(fpr), [{ fingerprint: fpr, version: info.version, created: info.created, mrLines: k.mrLines }]);
      }
      // writes go on with the new table
      const more = migrated.upsert(splitKeys(readPackets(keyring)).slice(150, 160), 'add');
      assert.ok(more.every((o) => o.status === 'inserted'));
      assert.equal(sqliteHandle(migrated).pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      migrated.close();
    }
  });
}

test('index entries are the stored keys\' summaries, found as findByKeyId and searchText find the keys', () => {
  const entry = (k: StoredKey) => ({ fingerprint: k.fingerprint, version: k.version, created: k.info.created, mrLines: k.mrLines });
  for (const g of GPG.slice(0, 200)) {
    for (const id of [g.fingerprint, g.keyId, g.keyId.slice(8), ...g.subkeys.map((s) => s.fingerprint)]) {
      assert.deepEqual(full.store.indexEntriesByKeyId(id), full.store.findByKeyId(id).map(entry), id);
    }
    const words = g.uids[0]?.split(/\s+/).slice(0, 2).join(' ');
    if (words) {
      const keys = full.store.searchText(words, 50, false, 51);
      assert.deepEqual(full.store.indexEntriesByText(words, 50, 51), { entries: keys.keys.map(entry), total: keys.total }, words);
    }
    const email = /<([^>]+)>/.exec(g.uids[0] ?? '')?.[1];
    if (email) {
      const keys = full.store.searchText(email, 50, false, 51);
      assert.ok(keys.keys.length > 0, email);
      assert.deepEqual(full.store.indexEntriesByText(email, 50, 51), { entries: keys.keys.map(entry), total: keys.total }, email);
    }
  }
  assert.deepEqual(full.store.indexEntriesByKeyId('not hex'), []);
  // vindex signer names: the stored names say what describing the signer's key says (SKS index.ml get_uid)
  let bySubkey = 0;
  const issuers = new Set(GPG.slice(0, 120).flatMap((g) => full.store.getByFingerprint(g.fingerprint)!.info.userIds
    .flatMap((u) => u.signatures.map((sig) => sig.issuerKeyId)).filter((id): id is string => id !== undefined)));
  for (const id of [...issuers, ...GPG.slice(0, 50).flatMap((g) => g.subkeys.map((sk) => sk.fingerprint.slice(-16)))]) {
    const k = full.store.findByKeyId(id, 1)[0];
    const subkey = k !== undefined && !k.keyId.toUpperCase().endsWith(id.toUpperCase());
    if (subkey) bySubkey++;
    const want = !k ? undefined : subkey ? k.info.userIds.find((u) => u.kind === 'uid')?.text : primaryUserId(k.info);
    assert.deepEqual(full.store.signerName(id), want === undefined ? {} : { name: want }, id);
  }
  assert.ok(issuers.size > 100 && bySubkey > 10, `${issuers.size} signers, ${bySubkey} by subkey`);
  assert.equal(full.store.signerName('1234'), undefined, 'only long key IDs');
  // many at once (in groups of one statement each), any case: each ID's name as asked alone; invalid IDs left out
  const many = [...issuers, 'not a key id', ...[...issuers].slice(0, 40).map((id) => id.toLowerCase())];
  const names = full.store.signerNames(many);
  assert.equal(names.size, many.length - 1);
  for (const id of many) if (id !== 'not a key id') assert.equal(names.get(id), full.store.signerName(id.toUpperCase())!.name, id);
  assert.deepEqual(full.store.indexEntriesByText('', 10), { entries: [], total: 0 });
});

test('a merged key\'s stored summary is that of the merged key, as parsing it gives', () => {
  const { store } = open();
  const picked = blocks.map((b) => splitCopies(b)).filter((x) => x !== undefined).slice(0, 20);
  assert.ok(picked.length >= 10);
  for (const [a, b] of picked) {
    const fp = store.upsertMaterial(a, 'add')[0]!.fingerprint!;
    const half = store.getByFingerprint(fp)!;
    assert.equal(half.mrLines, mrLines(half.info, readPackets(half.data)).join('\n') + '\n', fp);
    assert.equal(store.upsertMaterial(b, 'recon')[0]!.status, 'updated');
    const whole = store.getByFingerprint(fp)!;
    const packets = readPackets(whole.data);
    assert.notEqual(whole.mrLines, half.mrLines, 'the merge added user IDs');
    assert.equal(whole.mrLines, mrLines(describeKey(packets), packets).join('\n') + '\n', fp);
    assert.equal(whole.name, primaryUserId(describeKey(packets)) ?? null, fp);
    assert.equal(whole.crc, crc24(whole.data), fp);
  }
  store.close();
});

test('the fingerprint table finds every key it was given, through collisions of its hash and of short key IDs', () => {
  const t = new FingerprintTable(16);
  const fprs: Buffer[] = [];
  for (let i = 0; i < 50_000; i++) {
    const f = randomBytes(i % 7 === 0 ? 32 : 20);
    if (i % 3 === 0) Buffer.from('deadbeef', 'hex').copy(f, f.length - 4); // evil32-style: one short key ID for many
    fprs.push(f);
    t.add(f, i + 1);
  }
  assert.equal(t.size, 50_000);
  let asked = 0;
  for (let i = 0; i < fprs.length; i++) {
    // the caller confirms a "maybe" by comparing the row's fingerprint: here, the array entry
    assert.equal(t.find(fprs[i]!, (id) => (asked++, fprs[id - 1]!.equals(fprs[i]!))), i + 1);
  }
  assert.ok(asked < fprs.length * 1.01, `few hash collisions to confirm (${asked - fprs.length})`);
  assert.equal(t.find(randomBytes(20), (id) => fprs[id - 1]!.equals(Buffer.alloc(0))), 0, 'an unknown fingerprint');
  // a deleted row or a colliding hash is refused by the caller; the search goes on past it
  const same = new FingerprintTable();
  same.add(fprs[0]!, 7);
  same.add(fprs[0]!, 9);
  assert.equal(same.find(fprs[0]!, (id) => id === 9), 9);
  assert.throws(() => same.add(fprs[1]!, 0), /out of range/);
});

test('seqBefore finds where the changes of a time begin; pruneChanges forgets old entries', () => {
  const { store } = open();
  const groups = splitKeys(readPackets(Buffer.concat(blocks.slice(0, 12))));
  for (const g of groups.slice(0, 6)) store.upsert([g], 'recon');
  // Back-date the first changes as if written a day and an hour ago (the log is the store's own table).
  const now = Math.floor(Date.now() / 1000);
  sqliteHandle(store).prepare('UPDATE changes SET at = ? WHERE seq <= 2').run(now - 86400);
  sqliteHandle(store).prepare('UPDATE changes SET at = ? WHERE seq > 2 AND seq <= 4').run(now - 3600);
  for (const g of groups.slice(6)) store.upsert([g], 'recon');
  const all = store.changesSince(0, 100);
  assert.equal(all.length, 12);
  assert.equal(store.seqBefore(now - 2 * 86400), 0);
  assert.equal(store.seqBefore(now - 86400), 0);
  assert.equal(store.seqBefore(now - 86399), 2);
  assert.equal(store.seqBefore(now - 3600), 2);
  assert.equal(store.seqBefore(now - 60), 4);
  assert.equal(store.seqBefore(now + 60), 12);
  assert.deepEqual(store.changesSince(store.seqBefore(now - 3600), 100).map((c) => c.seq), all.slice(2).map((c) => c.seq));
  assert.equal(store.pruneChanges(4), 4);
  assert.deepEqual(store.changesSince(0, 100).map((c) => c.seq), all.slice(4).map((c) => c.seq));
  assert.equal(store.seqBefore(now - 86400), 4, 'pruned entries are gone');
  // New changes keep counting up after a prune (AUTOINCREMENT never reuses a sequence number).
  store.deleteKey(GPG[0]!.fingerprint, 'test');
  assert.equal(store.changesSince(12, 10)[0]!.seq, 13);
  store.close();
});

test('keys cut by policy record the cut, and copies merged in any order end with the same digest as the whole', () => {
  const file = join(makeTempDir('store-policy-'), 'keys.sqlite');
  const strict = KeyStore.open(file, { policy: { maxCertsPerUid: 2 } });
  const other = KeyStore.open(join(makeTempDir('store-policy-'), 'keys.sqlite'), { policy: { maxCertsPerUid: 2 } });
  // Keys with many third-party certifications on some user ID.
  const flooded = blocks
    .map((b, i) => ({ b, i, parts: splitCopies(b) }))
    .filter((x) => x.parts && (x.b.length > 20000))
    .slice(0, 15);
  assert.ok(flooded.length >= 10);
  let cutKeys = 0;
  for (const { b, parts } of flooded) {
    const whole = strict.upsertMaterial(b, 'load')[0]!;
    assert.equal(whole.status, 'inserted');
    const [a, c] = parts!;
    other.upsertMaterial(c, 'recon');
    const merged = other.upsertMaterial(a, 'recon')[0]!;
    assert.equal(merged.digest, whole.digest, `halves of ${whole.fingerprint} merge to the digest of the whole under the same policy`);
    const k = strict.getByFingerprint(whole.fingerprint!)!;
    for (const u of k.info.userIds) assert.ok(u.signatures.filter((s) => !s.self).length <= 2, 'at most 2 third-party certifications');
    if (whole.cuts) {
      cutKeys++;
      assert.deepEqual(k.cuts.map((x) => x.rule), whole.cuts.map((x) => x.rule));
      assert.ok(k.cuts.every((x) => x.packets > 0));
    }
    // Sending the whole key again to the store that holds the merged halves changes nothing.
    assert.equal(other.upsertMaterial(b, 'add')[0]!.status, 'unchanged');
  }
  assert.ok(cutKeys >= 10, `${cutKeys} keys were cut`);
  strict.close();
  other.close();
});

test('a v3 key: found by its 32-digit MD5 fingerprint and by its key ID (low 64 bits of the modulus)', () => {
  const { store } = open();
  // Built here from RFC 4880 §5.5.2 and §12.2: v3 RSA key packet, fingerprint = MD5(n || e), key ID = low 64 bits of n.
  const n = randomBytes(128);
  n[0]! |= 0x80;
  n[127]! |= 1;
  const e = Buffer.from([1, 0, 1]);
  const mpi = (b: Buffer, bits: number) => Buffer.concat([Buffer.from([bits >> 8, bits & 0xff]), b]);
  const body = Buffer.concat([Buffer.from([3, 0x40, 0, 0, 0, 0, 0, 1]), mpi(n, 1024), mpi(e, 17)]);
  const uid = Buffer.from('Old Timer <old.timer@example.org>');
  const key = Buffer.concat([Buffer.from([0x99, body.length >> 8, body.length & 0xff]), body, Buffer.from([0xb4, uid.length]), uid]);
  const fp = createHash('md5').update(n).update(e).digest('hex').toUpperCase();
  const keyId = n.subarray(120).toString('hex').toUpperCase();
  const [o] = store.upsertMaterial(key, 'add');
  assert.equal(o!.status, 'inserted', o!.detail);
  assert.equal(o!.fingerprint, fp);
  assert.equal(store.getByFingerprint(fp)?.version, 3);
  assert.equal(store.getByFingerprint(fp)?.keyId, keyId);
  for (const q of [fp, fp.toLowerCase(), keyId, keyId.slice(8)]) {
    assert.deepEqual(store.findByKeyId(q).map((k) => k.fingerprint), [fp], q);
  }
  assert.deepEqual(store.searchText('old.timer@example.org', 5).keys.map((k) => k.fingerprint), [fp]);
  store.close();
});

test('a bulk load appends without the digest, key-ID and address indexes and the prefix tree, and ends with the same store', () => {
  const dir = makeTempDir('store-bulk-');
  const file = join(dir, 'keys.sqlite');
  const indexes = (db: Database.Database) =>
    new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").pluck().all() as string[]);
  const groups = splitKeys(readPackets(keyring));
  // A load that dies half way (closed without endBulkLoad): the next ordinary open builds the indexes.
  let store = KeyStore.open(file, { bulkLoad: true });
  assert.ok(!indexes(sqliteHandle(store)).has('key_ids_short') && !indexes(sqliteHandle(store)).has('keys_digest') && !indexes(sqliteHandle(store)).has('keys_fingerprint'));
  store.upsert(groups.slice(0, 400), 'load', { file: { path: 'k', size: 1, mtimeMs: 1 }, offset: 400 });
  assert.equal(store.getByDigest(SKS.get(GPG[5]!.fingerprint)!)?.fingerprint, GPG[5]!.fingerprint, 'lookups still answer');
  assert.equal(store.reconView.size(), 0, 'the tree waits for the end of the load');
  store.close();
  {
    // What a reader sees of the dead load: the tree is marked stale in the database.
    const ro = KeyStore.open(file, { readonly: true });
    assert.equal(sqliteHandle(ro).prepare("SELECT value FROM meta WHERE name = 'ptree_stale'").pluck().get(), 1);
    ro.close();
  }
  store = KeyStore.open(file);
  assert.ok(['key_ids_short', 'key_emails_email', 'keys_digest', 'keys_fingerprint'].every((i) => indexes(sqliteHandle(store)).has(i)));
  assert.equal(store.reconView.size(), 400, 'the next writable open builds the tree');
  assertTreeMatches(store);
  assert.equal(sqliteHandle(store).prepare("SELECT count(*) FROM meta WHERE name = 'ptree_stale'").pluck().get(), 0);
  store.close();
  // Resume in bulk mode and finish: keys stored before are found without keys_fingerprint (unchanged, merged).
  store = KeyStore.open(file, { bulkLoad: true });
  const again = store.upsert(groups.slice(390, 400), 'load');
  assert.deepEqual(again.map((o) => o.status), Array(10).fill('unchanged'), 'stored before the bulk load resumed');
  const rest = store.upsert(groups.slice(400), 'load', { file: { path: 'k', size: 1, mtimeMs: 1 }, offset: 905 });
  assert.ok(rest.every((o) => o.status === 'inserted'));
  assert.ok(store.upsert(groups.slice(600, 610), 'load').every((o) => o.status === 'unchanged'), 'stored in this bulk load');
  assert.equal(store.reconView.size(), 400, 'the tree waits for the end of the load');
  assert.deepEqual(store.endBulkLoad().sort(), ['key_emails_email', 'key_ids_short', 'keys_digest', 'keys_fingerprint', 'listing pages', 'ptree']);
  assert.deepEqual(store.endBulkLoad(), [], 'nothing left to build');
  const plan = sqliteHandle(store).prepare('EXPLAIN QUERY PLAN SELECT key FROM key_ids WHERE short_id = 1').all() as Array<{ detail: string }>;
  assert.match(plan.map((p) => p.detail).join(' '), /key_ids_short/);
  // Same content as the ordinary load of the same keys.
  assert.equal(store.count(), 905);
  assert.deepEqual([...store.digests()].map((d) => d.toString('hex')), [...full.store.digests()].map((d) => d.toString('hex')));
  for (const g of GPG.slice(0, 60)) {
    assert.deepEqual(store.findByKeyId(g.keyId).map((k) => k.fingerprint), full.store.findByKeyId(g.keyId).map((k) => k.fingerprint));
    for (const s of g.subkeys) assert.ok(store.findByKeyId(s.fingerprint).some((k) => k.fingerprint === g.fingerprint));
    const mail = g.uids.map((u) => /<([^<>\s]+@[^<>\s]+)>/.exec(u)?.[1]).find((x) => x);
    if (mail) assert.deepEqual(store.searchText(mail, 10).keys.map((k) => k.fingerprint), full.store.searchText(mail, 10).keys.map((k) => k.fingerprint));
  }
  assertTreeMatches(store);
  assert.equal(sqliteHandle(store).pragma('integrity_check', { simple: true }), 'ok');
  store.close();
  assert.throws(() => KeyStore.open(file, { readonly: true }).beginBulkLoad(), /read-only/);
});

test('a bulk load that meets another writer finds the keys that writer stored (by keys_fingerprint from then on)', () => {
  const file = join(makeTempDir('store-bulk-other-'), 'keys.sqlite');
  const groups = splitKeys(readPackets(keyring));
  const bulk = KeyStore.open(file, { bulkLoad: true, busyTimeoutMs: 10000 });
  bulk.upsert(groups.slice(0, 50), 'load');
  // another process adds half of a key (its open also builds the indexes the bulk load dropped)
  const i = blocks.findIndex((b, n) => n >= 100 && splitCopies(b) !== undefined);
  const [a, b] = splitCopies(blocks[i]!)!;
  const other = KeyStore.open(file, { busyTimeoutMs: 10000 });
  assert.equal(other.upsertMaterial(a, 'recon')[0]!.status, 'inserted');
  other.close();
  // the bulk load gets the other half: a merge into that row, not a second row for the same key
  const [merged] = bulk.upsert(splitKeys(readPackets(b)), 'load');
  assert.equal(merged!.status, 'updated');
  assert.equal(merged!.digest, SKS.get(GPG[i]!.fingerprint), 'the whole key, as SKS digests it');
  assert.ok(bulk.upsert(groups.slice(50, 100), 'load').every((o) => o.status === 'inserted'));
  bulk.endBulkLoad();
  assert.equal(bulk.count(), 101);
  assert.equal(sqliteHandle(bulk).prepare('SELECT count(DISTINCT fingerprint) FROM keys').pluck().get(), 101);
  assertTreeMatches(bulk);
  bulk.close();
});

test('keys packed as the loader\'s workers send them (stored form, one buffer) store exactly as the whole keys do', () => {
  const { store } = open();
  const groups = splitKeys(readPackets(keyring));
  // what a worker sends: each key's stored form instead of its description, refused blocks with their reason
  const results = preparedAsLoaderThreadsSend(groups, store.policy);
  results.splice(7, 0, [{ ok: false, reason: 'malformed', detail: 'a "bad" block ✓', fingerprint: 'AB' }]);
  const reader = new PackedBlockReader(packPreparedBlocks(results));
  const read: PreparedBlock[] = [];
  while (!reader.done) read.push(...reader.next());
  assert.equal(read.length, groups.length + 1);
  assert.deepEqual(read[7], { ok: false, reason: 'malformed', detail: 'a "bad" block ✓', fingerprint: 'AB' });
  store.beginBulkLoad();
  const outcomes = store.upsert(read, 'load');
  store.endBulkLoad();
  assert.deepEqual(outcomes.filter((o) => o.status !== 'rejected').map((o) => [o.fingerprint, o.digest]),
    fullOutcomes.filter((o) => o.status !== 'rejected').map((o) => [o.fingerprint, o.digest]));
  for (const g of GPG.slice(0, 80)) {
    const mine = store.getByFingerprint(g.fingerprint)!;
    const theirs = full.store.getByFingerprint(g.fingerprint)!;
    assert.deepEqual(mine.info, theirs.info);
    assert.equal(mine.mrLines, theirs.mrLines);
    assert.equal(mine.name, theirs.name);
    assert.equal(mine.crc, crc24(mine.data));
    assert.equal(mine.digest, SKS.get(g.fingerprint));
    assert.deepEqual(store.findByKeyId(g.keyId).map((k) => k.fingerprint), full.store.findByKeyId(g.keyId).map((k) => k.fingerprint));
    const word = g.uids[0]?.split(/\s+/)[0];
    if (word && /^[\p{L}\p{N}]+$/u.test(word)) {
      assert.deepEqual(store.searchText(word, 50).keys.map((k) => k.fingerprint), full.store.searchText(word, 50).keys.map((k) => k.fingerprint), word);
    }
    const mail = g.uids.map((u) => /<([^<>\s]+@[^<>\s]+)>/.exec(u)?.[1]).find((x) => x);
    if (mail) assert.deepEqual(store.searchText(mail, 10).keys.map((k) => k.fingerprint), full.store.searchText(mail, 10).keys.map((k) => k.fingerprint));
  }
  assertTreeMatches(store);
  store.close();
});

test('holdSnapshot: a read-only store\'s reads see one snapshot until release, then the writes made meanwhile', () => {
  const { store, file } = open('snapshot.sqlite');
  const groups = splitKeys(readPackets(keyring)).slice(0, 20);
  store.upsert(groups.slice(0, 10), 'load');
  const reader = KeyStore.open(file, { readonly: true });
  try {
    const release = reader.holdSnapshot();
    const before = reader.dataVersion();
    assert.equal(reader.count(), 10);
    store.upsert(groups.slice(10), 'add'); // another connection commits meanwhile
    assert.equal(reader.count(), 10, 'the snapshot holds');
    assert.equal(reader.dataVersion(), before);
    const added = describeKey(groups[15]!).fingerprint;
    assert.equal(reader.getByFingerprint(added), undefined);
    assert.equal(reader.holdSnapshot()(), undefined, 'a second hold inside the first does nothing');
    assert.equal(reader.count(), 10, 'and releases nothing');
    release();
    assert.equal(reader.count(), 20, 'released: the writes are seen');
    assert.notEqual(reader.dataVersion(), before);
    assert.equal(reader.getByFingerprint(added)?.fingerprint, added);
    // a writable store takes no snapshot: its own writes stay visible to it
    const releaseWriter = store.holdSnapshot();
    store.deleteKey(added, 'test');
    assert.equal(store.getByFingerprint(added), undefined);
    releaseWriter();
  } finally {
    reader.close();
    store.close();
  }
});

test('vindex signer names when a key ID is held twice: the first key in key order names it, by its primary key if it can', async () => {
  const { store } = open('signer-names.sqlite');
  try {
    const gen = async (...names: string[]) =>
      readPackets(Buffer.from((await openpgp.generateKey({ type: 'curve25519', userIDs: names.map((name) => ({ name })), format: 'binary' })).publicKey));
    const asSubkey = (keyPackets: ReturnType<typeof readPackets>, primary: { body: Buffer }) => {
      // another key's primary key material as a subkey (tag 14), with this key's own subkey binding after it
      const at = keyPackets.findIndex((p) => p.tag === 14);
      return [...keyPackets.slice(0, at), { tag: 14, body: primary.body }, keyPackets[at + 1]!, ...keyPackets.slice(at)];
    };
    const a = await gen('Alice');
    const b = await gen('Bob');
    // Carol's primary user ID (openpgp marks the first it is given) is stored second: her first user ID is Dan
    const c0 = await gen('Carol', 'Dan');
    const uidAt = c0.findIndex((p) => p.tag === 13);
    const c = [c0[0]!, ...c0.slice(uidAt + 2, uidAt + 4), ...c0.slice(uidAt, uidAt + 2), ...c0.slice(uidAt + 4)];
    // Bob, stored first, carries Alice's primary key as a subkey; Carol carries her own primary key as a subkey too
    for (const k of [asSubkey(b, a[0]!), a, asSubkey(c, c[0]!)]) store.upsert([k], 'add');
    const idOf = (p: { body: Buffer }) => describeKey([{ tag: 6, body: p.body }]).keyId;
    const carol = store.getByFingerprint(describeKey(c).fingerprint)!;
    assert.equal(carol.info.userIds[0]!.text, 'Dan', 'stored in the order given');
    assert.equal(primaryUserId(carol.info), 'Carol');
    // Alice's ID: Bob's key comes first in key order and holds it as a subkey, so his first user ID (SKS get_uid)
    assert.deepEqual(store.signerName(idOf(a[0]!)), { name: 'Bob' });
    assert.deepEqual(store.signerName(idOf(b[0]!)), { name: 'Bob' });
    // Carol's ID is her primary key's and her subkey's: the primary key's row wins, so her primary user ID
    assert.deepEqual(store.signerName(idOf(c[0]!)), { name: 'Carol' });
    assert.deepEqual(store.signerName('0123456789ABCDEF'), {});
  } finally {
    store.close();
  }
});

test('a reader through a memory map reads what the file holds, also after a vacuum shrank the file under its map', () => {
  // A copy of the shared store: this test deletes most of its keys.
  const file = join(makeTempDir('store-mmap-'), 'keys.sqlite');
  sqliteHandle(full.store).exec(`VACUUM INTO '${file}'`);
  const writer = KeyStore.open(file);
  const reader = KeyStore.open(file, { readonly: true, mmapMiB: 64 });
  try {
    assert.equal(sqliteHandle(reader).pragma('mmap_size', { simple: true }), 64 * 1048576);
    const check = (fpr: string, present: boolean) => {
      const got = reader.getByFingerprint(fpr);
      const bare = reader.getByFingerprint(fpr, { summary: false });
      if (!present) {
        assert.equal(got, undefined, fpr);
        assert.equal(bare, undefined, fpr);
        return;
      }
      const want = writer.getByFingerprint(fpr)!;
      assert.ok(got && bare, fpr);
      assert.deepEqual(got.data, want.data, fpr);
      assert.equal(got.digest, SKS.get(fpr), fpr);
      assert.equal(got.crc, crc24(want.data), fpr);
      assert.ok(got.mrLines?.startsWith(`pub:${fpr}:`), fpr);
      // without the summary: the same packets, digest and checksum, and no index lines
      assert.deepEqual(bare.data, want.data, fpr);
      assert.equal(bare.digest, got.digest, fpr);
      assert.equal(bare.crc, got.crc, fpr);
      assert.equal(bare.mrLines, undefined, fpr);
    };
    for (const k of GPG) check(k.fingerprint, true);

    const kept = new Set(GPG.filter((_, i) => i % 10 === 0).map((k) => k.fingerprint));
    for (const k of GPG) if (!kept.has(k.fingerprint)) writer.deleteKey(k.fingerprint, 'test');
    const pagesBefore = sqliteHandle(writer).pragma('page_count', { simple: true }) as number;
    const bytesBefore = statSync(file).size;
    const done = writer.vacuum({ stepPages: 1_000_000, minFreePercent: 0, fullMaxBytes: 1 << 30 });
    sqliteHandle(writer).pragma('wal_checkpoint(TRUNCATE)');
    assert.ok(done.pagesAfter < pagesBefore / 2, `the store shrank: ${pagesBefore} → ${done.pagesAfter} pages`);
    assert.ok(statSync(file).size < bytesBefore / 2, 'and the file with it, inside the reader\'s map');
    assert.ok(bytesBefore <= 64 * 1048576, 'the map covered the whole file before');
    for (const k of GPG) check(k.fingerprint, kept.has(k.fingerprint));
    assert.equal(reader.count(), kept.size);
  } finally {
    reader.close();
    writer.close();
  }
});
