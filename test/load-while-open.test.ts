// A bulk load (`sks-admin load` into an empty store) while other processes have the store open, as when the suite
// is already running (sks-db's workers, sks-recon, sks-cron): the load must finish with every key, and readers must
// keep reading, whether they were there before the load began or open while it runs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyStore } from '../packages/keystore/src/index.js';
import { makeTempDir } from './support/tmp.js';
import { DEBIAN_KEYRING, splitKeyring } from './support/keyrings.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = [process.execPath, '--conditions=source', '--import', 'tsx', join(ROOT, 'packages/sks-admin/src/main.ts')];

/** The keyring split into files in a fresh dump folder, and a fresh base directory with an empty store. */
function setup(): { dump: string; basedir: string; db: string } {
  const dump = makeTempDir('lwo-dump-');
  splitKeyring(DEBIAN_KEYRING, 6, dump);
  const basedir = makeTempDir('lwo-base-');
  mkdirSync(basedir, { recursive: true });
  const db = join(basedir, 'keys.sqlite');
  KeyStore.open(db).close(); // what `sks-admin init` or any service start does first
  return { dump, basedir, db };
}

/** Runs the load (small batches: many commits while the readers read); resolves with its exit code and stderr. */
function load(dump: string, basedir: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(ADMIN[0]!, [...ADMIN.slice(1), 'load', '--dir', dump, '--batch-keys', '25', '--quiet', '--basedir', basedir], {
      env: { ...process.env, SKS_QUIET: '1' },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stderr }));
  });
}

/** Reads through `store` every few milliseconds until `until` settles; returns the number of reads and any error. */
async function readWhile(store: () => KeyStore, until: Promise<unknown>): Promise<{ reads: number; errors: string[] }> {
  let finished = false;
  void until.then(() => (finished = true));
  let reads = 0;
  const errors: string[] = [];
  while (!finished) {
    try {
      const s = store();
      s.count();
      s.searchText('debian', 5);
      reads++;
    } catch (err) {
      errors.push(String(err));
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { reads, errors };
}

/** Keys stored by the same load with no other process around. */
let alone = 0;

before(async () => {
  const { dump, basedir, db } = setup();
  const { code, stderr } = await load(dump, basedir);
  assert.equal(code, 0, stderr);
  const s = KeyStore.open(db, { readonly: true });
  alone = s.count();
  s.close();
  assert.ok(alone > 500, `the keyring loads (${alone} keys)`);
});

test('a load into an empty store that a reader already has open: every key stored, the reader never fails', async () => {
  const { dump, basedir, db } = setup();
  const reader = KeyStore.open(db, { readonly: true });
  try {
    const running = load(dump, basedir);
    const r = await readWhile(() => reader, running);
    const { code, stderr } = await running;
    assert.equal(code, 0, stderr);
    assert.deepEqual(r.errors, []);
    assert.ok(r.reads > 0);
    assert.equal(reader.count(), alone);
  } finally {
    reader.close();
  }
});

test('readers that open while a load runs read without errors, and the load stores every key', async () => {
  const { dump, basedir, db } = setup();
  const running = load(dump, basedir);
  let reader: KeyStore | undefined;
  try {
    // wait for the first committed batch, then open and read as a service started mid-load would
    let exited = false;
    void running.then(() => (exited = true));
    const probe = KeyStore.open(db, { readonly: true });
    while (probe.count() === 0 && !exited) await new Promise((r) => setTimeout(r, 5));
    probe.close();
    const r = await readWhile(() => (reader ??= KeyStore.open(db, { readonly: true })), running);
    const { code, stderr } = await running;
    assert.equal(code, 0, stderr);
    assert.deepEqual(r.errors, []);
    assert.equal(reader!.count(), alone);
  } finally {
    reader?.close();
  }
});
