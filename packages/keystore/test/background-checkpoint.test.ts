// Checkpoints on a thread of their own (OpenOptions.checkpointEveryMs, setting wal_checkpoint_interval_ms): the
// write-ahead log reaches the database file without the writer's commits doing it, and close() ends the thread.
// What is observed is the files on disk, as another process would see them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStore, readPackets, splitKeys } from '../src/index.js';
import { BACKGROUND_WAL_AUTOCHECKPOINT } from '../src/store/sqlite/background-checkpoint.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { sqliteHandle } from './support/sqlite-handle.js';

// ~100 keys of Debian's keyring: a few MB, a few hundred pages, below SQLite's own checkpoint threshold (1000)
const keys = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 100).flatMap((k) => splitKeys(readPackets(k)));
const size = (f: string) => (existsSync(f) ? statSync(f).size : 0);

async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (what()) return true;
  return what();
}

/** A fresh store's file, its size after the first write's commit, and its size a while later. */
async function writeAndWatch(checkpointEveryMs: number): Promise<{ store: KeyStore; file: string; afterCommit: number; later: number; wal: number }> {
  const file = join(makeTempDir('bg-checkpoint-'), 'keys.sqlite');
  const store = KeyStore.open(file, { checkpointEveryMs });
  store.checkpoint(); // the schema's pages into the file: what follows is the keys alone
  const before = size(file);
  store.upsert(keys, 'recon');
  const wal = size(`${file}-wal`);
  assert.ok(wal > 1 << 20, `the keys went to the log first (${wal} bytes)`);
  const afterCommit = size(file);
  await until(() => size(file) > before + (wal >> 1), checkpointEveryMs > 0 ? 3000 : 1000);
  return { store, file, afterCommit, later: size(file), wal };
}

test('with checkpointEveryMs, the log reaches the database file though no commit checkpoints', async () => {
  const on = await writeAndWatch(50);
  try {
    assert.equal(sqliteHandle(on.store).pragma('wal_autocheckpoint', { simple: true }), BACKGROUND_WAL_AUTOCHECKPOINT,
      'the writer leaves checkpoints to the thread');
    assert.ok(on.later > on.afterCommit + (on.wal >> 1),
      `the database file grew by most of the log after the commit (${on.afterCommit} -> ${on.later}, log ${on.wal})`);
    assert.equal(on.store.count(), keys.length);
  } finally {
    on.store.close();
  }
  // the same writes without the thread: SQLite's own threshold is not reached, so the file stays as it was
  const off = await writeAndWatch(0);
  try {
    assert.equal(off.later, off.afterCommit, 'without the thread nothing copied the log');
  } finally {
    off.store.close();
  }
});

test('close() ends the checkpoint thread: its connection closes, so the last close removes the log', async () => {
  const file = join(makeTempDir('bg-checkpoint-'), 'keys.sqlite');
  const store = KeyStore.open(file, { checkpointEveryMs: 50 });
  store.upsert(keys.slice(0, 20), 'recon');
  await sleep(120); // the thread has opened its connection and run
  store.close();
  assert.ok(await until(() => !existsSync(`${file}-wal`), 3000), 'the log is gone once both connections are closed');
  const again = KeyStore.open(file, { readonly: true });
  try {
    assert.equal(again.count(), 20, 'every key is in the database file');
  } finally {
    again.close();
  }
});
