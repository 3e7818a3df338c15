// Push sync's parts in the key store: the queue read from the change log per target, recon partners' health, the
// sync-targets and membership syntax, and signed blocklist entries (openpgp.js signs, we check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { KeyStore } from '../src/store/keystore.js';
import {
  ConfigError, parseMembership, parseSyncTargets, readPackets, readSyncTargets, signedBlocklist,
} from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { sqliteHandle } from './support/sqlite-handle.js';

const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
const keys = (from: number, n: number) => blocks.slice(from, from + n).map((b) => readPackets(b));

function fresh(): { store: KeyStore; file: string } {
  const file = join(makeTempDir('push-queue-'), 'keys.sqlite');
  return { store: KeyStore.open(file), file };
}

test('a new target starts after the newest change; keys added by add, recon and load are queued, by sync not', () => {
  const { store } = fresh();
  try {
    store.upsert(keys(0, 3), 'load');
    const t = store.pushTarget('hkp://peer.example:11371');
    assert.equal(t.cursor, store.lastSeq(), 'history before the target existed is not pushed');
    assert.equal(store.pendingPushes(t.cursor, 10).items.length, 0);
    const added = store.upsert(keys(3, 2), 'add').map((o) => o.fingerprint);
    const recon = store.upsert(keys(5, 1), 'recon').map((o) => o.fingerprint);
    store.upsert(keys(6, 2), 'sync');
    const loaded = store.upsert(keys(8, 1), 'load').map((o) => o.fingerprint);
    const p = store.pendingPushes(t.cursor, 100);
    assert.deepEqual(p.items.map((i) => i.fingerprint), [...added, ...recon, ...loaded]);
    assert.equal(p.upTo, store.lastSeq(), 'everything up to the newest change was looked at');
    assert.equal(store.countPending(t.cursor, 100), 4);
    assert.equal(store.countPending(t.cursor, 2), 2, 'counting stops at the cap');
  } finally {
    store.close();
  }
});

test('a page of the queue stops at its limit; acknowledgements move the cursor forward only; failures back off', () => {
  const { store } = fresh();
  try {
    const url = 'vks://keys.example:443';
    const start = store.pushTarget(url).cursor;
    store.upsert(keys(0, 5), 'add');
    const page = store.pendingPushes(start, 2);
    assert.equal(page.items.length, 2);
    assert.equal(page.upTo, page.items[1]!.seq, 'a full page only vouches for what it holds');
    store.pushFailed(url, 'connect ECONNREFUSED', 2_000_000_000);
    store.pushFailed(url, 'connect ECONNREFUSED', 2_000_000_001);
    let t = store.pushTarget(url);
    assert.equal(t.failures, 2);
    assert.equal(t.retryAt, 2_000_000_001);
    assert.equal(t.cursor, start, 'a failure keeps the place');
    store.ackPushes(url, page.upTo, { sent: 2, refused: 0 });
    store.ackPushes(url, start, { sent: 0, refused: 0 });
    t = store.pushTarget(url);
    assert.equal(t.cursor, page.upTo, 'the cursor never moves back');
    assert.equal(t.sent, 2);
    assert.equal(t.failures, 0);
    assert.equal(t.retryAt, 0);
    assert.ok(t.lastSuccess! > 0);
    assert.equal(t.lastError, 'connect ECONNREFUSED', 'the last error stays visible after recovery');
    assert.equal(store.pendingPushes(t.cursor, 10).items.length, 3);
  } finally {
    store.close();
  }
});

test('a version 2 store gains the pushed column; its earlier changes count as pushable', () => {
  const { store, file } = fresh();
  store.upsert(keys(0, 2), 'add');
  const db = sqliteHandle(store);
  db.exec('ALTER TABLE changes DROP COLUMN pushed');
  db.pragma('user_version = 2');
  store.close();
  const migrated = KeyStore.open(file);
  try {
    assert.equal(migrated.migratedFrom, 2);
    assert.equal(migrated.pendingPushes(0, 10).items.length, 2);
  } finally {
    migrated.close();
  }
});

test('recon partners: failing since the first failure after a success; the HKP port they announced is kept', () => {
  const { store } = fresh();
  try {
    store.recordReconSession('peer.example:11370', { ok: true, httpPort: 11371 });
    store.recordReconSession('peer.example:11370', { ok: false, error: 'cannot connect' });
    const first = store.reconPeers()[0]!;
    store.recordReconSession('peer.example:11370', { ok: false, error: 'timed out' });
    let p = store.reconPeers()[0]!;
    assert.equal(p.failingSince, first.failingSince, 'failing since the first failure');
    assert.equal(p.lastError, 'timed out');
    assert.equal(p.httpPort, 11371);
    store.recordReconSession('peer.example:11370', { ok: true });
    p = store.reconPeers()[0]!;
    assert.equal(p.failingSince, undefined);
    assert.equal(p.httpPort, 11371, 'a session without the port keeps the known one');
  } finally {
    store.close();
  }
});

test('a read-only store of a database no writer of this version opened yet reads no push state', () => {
  const { store, file } = fresh();
  sqliteHandle(store).exec('DROP TABLE sync_targets; DROP TABLE recon_peers'); // as an older writer left it
  store.close();
  const ro = KeyStore.open(file, { readonly: true });
  try {
    assert.deepEqual(ro.pushTargets(), []);
    assert.deepEqual(ro.reconPeers(), []);
  } finally {
    ro.close();
  }
});

test('sync-targets: canonical URLs, default ports, priorities; errors name the line', () => {
  const t = parseSyncTargets([
    '# comment', 'hkp://Peer.Example', 'hkps://secure.example 5', 'vks://keys.openpgp.org:8443  # trailing',
    'mailto:pks@mail.example 200', 'hkp://[2001:db8::1]:11371', '',
  ].join('\n'));
  assert.deepEqual(t.map((x) => [x.url, x.priority]), [
    ['hkp://peer.example:11371', 100], ['hkps://secure.example:443', 5], ['vks://keys.openpgp.org:8443', 100],
    ['mailto:pks@mail.example', 200], ['hkp://[2001:db8::1]:11371', 100],
  ]);
  assert.equal(t[4]!.host, '2001:db8::1');
  for (const bad of ['ftp://x.example', 'hkp://x.example:0', 'mailto:nobody', 'hkp://x.example 1 2', 'hkp://x.example high']) {
    assert.throws(() => parseSyncTargets(`\n${bad}\n`, 'sync-targets'), (e: unknown) => e instanceof ConfigError && /sync-targets:2:/.test(e.message), bad);
  }
});

test('SKS mailsync addresses become mailto: targets after the listed ones; the same URL counts once', () => {
  const dir = makeTempDir('sync-targets-');
  writeFileSync(join(dir, 'sync-targets'), 'mailto:pks@mail.example 500\nhkp://b.example 300\n');
  writeFileSync(join(dir, 'mailsync'), 'pks@mail.example\n# SKS comment\nother@mail.example\n');
  const all = readSyncTargets({ syncTargets: join(dir, 'sync-targets'), mailsync: join(dir, 'mailsync') });
  assert.deepEqual(all.map((t) => [t.url, t.from]), [
    ['hkp://b.example:11371', 'sync-targets'], ['mailto:pks@mail.example', 'sync-targets'], ['mailto:other@mail.example', 'mailsync'],
  ]);
  assert.deepEqual(readSyncTargets({ syncTargets: join(dir, 'none') }), []);
});

test('membership: "failover" marks a partner, with or without a profile', () => {
  const m = parseMembership('a.example 11370\nb.example 11370 failover\nc.example 11370 hockeypuck failover\nd.example 11370 failover hockeypuck\n');
  assert.deepEqual(m.map((p) => [p.host, p.profile ?? null, p.failover ?? false]), [
    ['a.example', null, false], ['b.example', null, true], ['c.example', 'hockeypuck', true], ['d.example', 'hockeypuck', true],
  ]);
  assert.throws(() => parseMembership('e.example 11370 sks hockeypuck\n'), ConfigError);
});

test('signed blocklist entries: a trusted signature is accepted, an untrusted or altered one refused', async () => {
  const gen = (name: string) => openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name }], format: 'armored' });
  const op = await gen('operator');
  const other = await gen('other');
  const opKey = await signedBlocklist.readSigningKey(op.privateKey);
  const otherKey = await signedBlocklist.readSigningKey(other.privateKey);
  const entry = { fingerprint: 'A'.repeat(40), reason: 'owner asked\nfor removal', issued: 1_800_000_000 };
  const good = await signedBlocklist.signEntry(entry, opKey);
  const untrusted = await signedBlocklist.signEntry({ ...entry, fingerprint: 'B'.repeat(40) }, otherKey);
  const altered = good.replace('A'.repeat(40), 'C'.repeat(40));
  const notAnEntry = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: 'hello' }), signingKeys: opKey });
  const trusted = await signedBlocklist.readTrustedKeys([op.publicKey]);
  const r = await signedBlocklist.checkSignedEntries(`junk\n${good}\n${untrusted}\n${altered}\n${notAnEntry}`, trusted);
  assert.deepEqual(r.accepted.map((a) => [a.entry.fingerprint, a.entry.reason, a.entry.issued]), [['A'.repeat(40), 'owner asked for removal', 1_800_000_000]]);
  assert.equal(r.accepted[0]!.signer, trusted[0]!.getFingerprint().toUpperCase());
  assert.deepEqual(r.refused.map((x) => x.fingerprint ?? null), ['B'.repeat(40), 'C'.repeat(40), null]);
  const none = await signedBlocklist.checkSignedEntries(good, []);
  assert.equal(none.accepted.length, 0, 'without trusted keys nothing is applied');
  await assert.rejects(signedBlocklist.readSigningKey((await openpgp.generateKey({ userIDs: [{ name: 'x' }], passphrase: 'pw', format: 'armored' })).privateKey), /passphrase/);
});
