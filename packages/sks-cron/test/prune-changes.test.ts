// The prune-changes job on a real store: change-log entries older than changes_keep_days go, younger ones stay, and
// none that a push target has not acknowledged is removed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore } from '@sks/keystore';
import { JobRunner, findJob } from '../src/index.js';
import { pruneChangeLog } from '../src/prune-changes.js';
import { basedirWithKeys, quietContext, KEYS } from './helpers.js';
import { sqliteHandle } from '../../keystore/test/support/sqlite-handle.js';

const DAY = 86400;

/** The seqs in the change log, oldest first. */
function seqs(basedir: string): number[] {
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { readonly: true });
  try {
    return store.changesSince(0, 1_000_000).map((c) => c.seq);
  } finally {
    store.close();
  }
}

/** Moves the first `n` changes `days` into the past (as if they were written then). */
function age(basedir: string, n: number, days: number): number[] {
  const all = seqs(basedir);
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  sqliteHandle(store).prepare('UPDATE changes SET at = at - ? WHERE seq <= ?').run(days * DAY, all[n - 1]);
  store.close();
  return all;
}

test('entries older than changes_keep_days are removed in batches; a push target behind the cut-off keeps its share', async () => {
  const { basedir } = basedirWithKeys('changes_keep_days: 30\n');
  const all = age(basedir, 25, 40);
  assert.equal(all.length, KEYS.length);

  // A push target has acknowledged only the first 10 changes: the 15 old ones after them stay for it.
  writeFileSync(join(basedir, 'sync-targets'), 'hkp://127.0.0.1:9\n');
  let store = KeyStore.open(join(basedir, 'keys.sqlite'));
  store.pushTarget('hkp://127.0.0.1:9', all[9]!);
  store.close();
  const ctx = quietContext(basedir);
  store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const held = await pruneChangeLog(ctx, store, undefined, 3); // 3 rows per transaction: several batches
  store.close();
  assert.equal(held.removed, 10, JSON.stringify(held));
  assert.equal(held.heldBackBy, 'hkp://127.0.0.1:9');
  assert.deepEqual(seqs(basedir), all.slice(10));

  // Without that target, the job removes every old entry and nothing younger.
  writeFileSync(join(basedir, 'sync-targets'), '');
  const r = await new JobRunner(ctx).run(findJob('prune-changes')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.deepEqual(seqs(basedir), all.slice(25));
  // a second run finds nothing more to remove
  store = KeyStore.open(join(basedir, 'keys.sqlite'));
  assert.equal((await pruneChangeLog(ctx, store)).removed, 0);
  store.close();
});

test('the statistics week is never pruned, and 0 keeps the change log forever', async () => {
  const { basedir } = basedirWithKeys('changes_keep_days: 2\n');
  const all = age(basedir, 10, 5); // five days old: inside the week the statistics show
  age(basedir, 4, 5); // the first four: ten days old
  const ctx = quietContext(basedir);
  let store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const r = await pruneChangeLog(ctx, store);
  store.close();
  assert.equal(r.keepDays, 8, 'changes_keep_days below the statistics week is raised to 8');
  assert.deepEqual(seqs(basedir), all.slice(4));

  const off = basedirWithKeys('changes_keep_days: 0\n');
  const offAll = age(off.basedir, 40, 400);
  store = KeyStore.open(join(off.basedir, 'keys.sqlite'));
  assert.equal((await pruneChangeLog(quietContext(off.basedir), store)).result, 'off');
  store.close();
  assert.deepEqual(seqs(off.basedir), offAll);
});
