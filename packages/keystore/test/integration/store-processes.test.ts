// Several processes on one key store file, as in production (sks-recon and sks-admin/cron write, sks-db reads), and
// a loader killed with SIGKILL between and during its batches. This file is also the child process: run with
// STORE_CHILD set, it performs one role and exits instead of declaring tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { KeyStore } from '../../src/store/keystore.js';
import { readPackets, splitKeys } from '../../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { gpgKeys, sksDigests, splitCopies } from '../store-helpers.js';
import { sqliteHandle } from '../support/sqlite-handle.js';

const SELF = fileURLToPath(import.meta.url);
const KEYS = 240;

if (process.env.STORE_CHILD) {
  await child(process.env.STORE_CHILD);
  process.exit(0);
}

/** The child roles. */
async function child(role: string): Promise<void> {
  const db = process.env.STORE_DB!;
  if (role === 'bulk-die') {
    // A bulk load that commits one batch, then is killed in the middle of its next transaction.
    const bulk = KeyStore.open(db, { bulkLoad: true });
    const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 100);
    bulk.upsert(blocks.map((b) => splitKeys(readPackets(b))[0]!), 'load');
    sqliteHandle(bulk).exec('BEGIN IMMEDIATE');
    sqliteHandle(bulk).exec('DELETE FROM keys');
    process.stdout.write('inside\n');
    await new Promise(() => setInterval(() => undefined, 1000));
  }
  const store = KeyStore.open(db, { busyTimeoutMs: 60000 });
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, KEYS);
  if (role === 'writer-a' || role === 'writer-b') {
    // Both writers send every key, each as split copies or whole, in opposite orders, one small transaction per
    // key, so their writes interleave and merge with what the other process stored a moment before.
    const mine = role === 'writer-a' ? blocks.map((b, i) => ({ b, i })) : blocks.map((b, i) => ({ b, i })).reverse();
    for (const { b, i } of mine) {
      const parts = splitCopies(b);
      if (parts && (i % 2 === 0) === (role === 'writer-a')) {
        store.upsertMaterial(parts[0], 'recon');
        store.upsertMaterial(parts[1], 'recon');
      } else {
        store.upsertMaterial(b, role === 'writer-a' ? 'add' : 'load');
      }
    }
  } else if (role === 'loader') {
    // A loader of one file in batches of 8 keys, recording where it is; resumes from the recorded offset.
    const file = process.env.STORE_FILE!;
    const st = statSync(file);
    const id = { path: file, size: st.size, mtimeMs: st.mtimeMs };
    const data = readFileSync(file);
    const fileBlocks = keyBlocks(data);
    let offset = store.loadProgress(id)?.offset ?? 0;
    let pos = 0;
    const ends = fileBlocks.map((b) => (pos += b.length));
    let next = ends.findIndex((e) => e > offset);
    if (next < 0) next = fileBlocks.length;
    while (next < fileBlocks.length) {
      const batch = fileBlocks.slice(next, next + 8);
      offset = ends[next + batch.length - 1]!;
      store.upsert(batch.map((b) => splitKeys(readPackets(b))[0]!), 'load', { file: id, offset, counters: { read: batch.length } });
      next += batch.length;
      process.stdout.write(`committed ${offset}\n`);
    }
    process.stdout.write('done\n');
  }
  store.close();
}

function runChild(role: string, env: Record<string, string>): { done: Promise<number | null>; kill: () => void; output: () => string } {
  const p = spawn(process.execPath, [...process.execArgv.filter((a) => !a.startsWith('--test')), SELF], {
    env: { ...process.env, STORE_CHILD: role, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return {
    done: new Promise((resolve) => p.on('exit', (code, signal) => resolve(signal ? -1 : code))),
    kill: () => p.kill('SIGKILL'),
    output: () => out,
  };
}

function assertConsistent(store: KeyStore): void {
  assert.deepEqual(store.reconView.verify(), [], 'prefix tree sound');
  const stored = [...store.digests()].map((d) => d.toString('hex'));
  assert.deepEqual(store.reconView.elements('').map((d) => d.toString('hex')), stored, 'tree elements == stored digests');
  assert.equal(store.count(), stored.length, 'count() == stored keys');
}

const SKS = sksDigests();

test('two writer processes merging split copies of the same keys at once end with SKS\'s digest of every key', async (t) => {
  const file = join(makeTempDir('store-proc-'), 'keys.sqlite');
  KeyStore.open(file).close();
  const a = runChild('writer-a', { STORE_DB: file });
  const b = runChild('writer-b', { STORE_DB: file });
  // A reader meanwhile always sees a consistent store (snapshot reads while both write).
  const reader = KeyStore.open(file, { readonly: true });
  let reads = 0;
  let finished = false;
  const both = Promise.all([a.done, b.done]).then((codes) => ((finished = true), codes));
  while (!finished) {
    sqliteHandle(reader).transaction(() => {
      const n = reader.count();
      assert.equal(sqliteHandle(reader).prepare('SELECT count(*) FROM keys').pluck().get(), n);
      assert.equal(reader.reconView.size(), n);
    })();
    reads++;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(await both, [0, 0]);
  reader.close();
  assert.ok(reads > 0);
  t.diagnostic(`${reads} consistent snapshots read while both wrote`);
  const store = KeyStore.open(file);
  assert.equal(store.count(), KEYS);
  const gpg = gpgKeys(DEBIAN_KEYRING).slice(0, KEYS);
  for (const g of gpg) assert.equal(store.getByFingerprint(g.fingerprint)?.digest, SKS.get(g.fingerprint), g.fingerprint);
  assertConsistent(store);
  store.close();
});

test('a loader killed with SIGKILL resumes where its last batch committed: every key once, nothing loaded twice', async (t) => {
  const dir = makeTempDir('store-kill-');
  const db = join(dir, 'keys.sqlite');
  const dump = join(dir, 'dump.pgp');
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, KEYS);
  writeFileSync(dump, Buffer.concat(blocks));
  KeyStore.open(db).close();
  // Kill it twice at different points, then let it finish.
  for (const after of [3, 12]) {
    const c = runChild('loader', { STORE_DB: db, STORE_FILE: dump });
    while ((c.output().match(/committed/g) ?? []).length < after && !c.output().includes('done')) {
      await new Promise((r) => setTimeout(r, 5));
    }
    c.kill();
    await c.done;
    const check = new Database(db, { readonly: true });
    assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    check.close();
    const store = KeyStore.open(db);
    const st = statSync(dump);
    const p = store.loadProgress({ path: dump, size: st.size, mtimeMs: st.mtimeMs })!;
    // Exactly the keys before the recorded offset are stored.
    let pos = 0;
    const committed = blocks.filter((b) => (pos += b.length) <= p.offset).length;
    assert.equal(store.count(), committed, `${committed} keys committed before offset ${p.offset}`);
    t.diagnostic(`killed after ${committed} of ${KEYS} keys (offset ${p.offset})`);
    assert.equal(p.counters.inserted, committed);
    assertConsistent(store);
    store.close();
  }
  const last = runChild('loader', { STORE_DB: db, STORE_FILE: dump });
  assert.equal(await last.done, 0);
  const store = KeyStore.open(db);
  const st = statSync(dump);
  const p = store.loadProgress({ path: dump, size: st.size, mtimeMs: st.mtimeMs })!;
  assert.equal(p.offset, st.size);
  assert.equal(p.counters.inserted, KEYS, 'each key inserted once over all runs');
  assert.equal(p.counters.read, KEYS, 'each key read once over all runs');
  assert.equal(p.counters.unchanged, undefined, 'no key was loaded twice');
  assert.equal(store.count(), KEYS);
  const stored = new Set([...store.digests()].map((d) => d.toString('hex')));
  for (const g of gpgKeys(dump)) assert.ok(stored.has(SKS.get(g.fingerprint)!), g.fingerprint);
  assertConsistent(store);
  // Running it once more changes nothing.
  store.close();
  assert.equal(await runChild('loader', { STORE_DB: db, STORE_FILE: dump }).done, 0);
  const again = KeyStore.open(db);
  assert.equal(again.count(), KEYS);
  assert.equal(again.loadProgress({ path: dump, size: st.size, mtimeMs: st.mtimeMs })!.counters.inserted, KEYS);
  again.close();
});

test('a bulk load killed inside a transaction (rollback journal left behind): readers and the next writer see its last commit', async () => {
  const dir = makeTempDir('store-bulk-kill-');
  const db = join(dir, 'keys.sqlite');
  KeyStore.open(db).close();
  const c = runChild('bulk-die', { STORE_DB: db });
  while (!c.output().includes('inside')) await new Promise((r) => setTimeout(r, 5));
  c.kill();
  await c.done;
  assert.ok(existsSync(`${db}-journal`) && statSync(`${db}-journal`).size > 0, 'the dead load left a hot rollback journal');
  // A read-only opener (sks-db) first: the journal is rolled back, the committed batch is there, the rest is not.
  const ro = KeyStore.open(db, { readonly: true });
  assert.equal(ro.count(), 100);
  assert.equal(sqliteHandle(ro).prepare('SELECT count(*) FROM keys').pluck().get(), 100);
  assert.equal(sqliteHandle(ro).pragma('integrity_check', { simple: true }), 'ok');
  ro.close();
  const store = KeyStore.open(db);
  assert.equal(sqliteHandle(store).pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(store.count(), 100);
  assertConsistent(store);
  store.close();
});
