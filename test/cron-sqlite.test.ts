// SQLite upkeep beside a running service: keys uploaded to sks-db (/pks/add) while `sks-cron --run-once vacuum`
// rebuilds the database in another process, then vacuums it incrementally, checkpoints and checks it: no key is
// lost, the file shrinks, the integrity check passes. A damaged database raises the alarm line in the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStore, armor } from '../packages/keystore/src/index.js';
import { startDb } from '../packages/sks-db/src/index.js';
import { makeTempDir } from './support/tmp.js';
import { freePort } from './support/ports.js';
import { DEBIAN_KEYRING, keyBlocks } from './support/keyrings.js';
import { sqliteHandle } from '../packages/keystore/test/support/sqlite-handle.js';

process.env.SKS_QUIET = '1';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CRON_MAIN = join(ROOT, 'packages/sks-cron/src/main.ts');

/** `sks-cron --run-once JOB` from the sources in its own process, as the cron container runs it. */
function runCronOnce(basedir: string, job: string) {
  return new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', CRON_MAIN, '--run-once', job, '--basedir', basedir], {
      env: { ...process.env, SKS_QUIET: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (status) => resolve({ status, stderr }));
  });
}

type LogLine = { message: string; job?: string; level: string; [k: string]: unknown };
function cronLog(basedir: string): LogLine[] {
  return readFileSync(join(basedir, 'log/sks-cron.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LogLine);
}
function lastDone(basedir: string, job: string): LogLine {
  const done = cronLog(basedir).filter((l) => l.message === 'job done' && l.job === job);
  assert.ok(done.length > 0, `no "job done" line for ${job}`);
  return done.at(-1)!;
}

test('vacuum, checkpoint and optimize during uploads lose no key', async (t) => {
  const basedir = makeTempDir('cron-vacuum-');
  const port = await freePort();
  // vacuum_min_free_percent 0: uploads reuse freed pages before the job looks, so no threshold may gate the rebuild.
  writeFileSync(join(basedir, 'sksconf'), `hkp_port: ${port}\nhkp_address: 127.0.0.1\nvacuum_step_pages: 50\nvacuum_min_free_percent: 0\n`);
  const dbFile = join(basedir, 'keys.sqlite');
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const preload = blocks.slice(0, Math.floor(blocks.length / 2));
  const uploads = blocks.slice(preload.length);

  // A store with free pages: load half the keyring, then delete two thirds of it.
  const store = KeyStore.open(dbFile);
  const loaded: string[] = [];
  for (const b of preload) {
    const [o] = store.upsertMaterial(b, 'load');
    if (o?.fingerprint && (o.status === 'inserted' || o.status === 'updated')) loaded.push(o.fingerprint);
  }
  const deleted = new Set<string>();
  for (const fp of loaded.filter((_, i) => i % 3 !== 2)) if (store.deleteKey(fp, 'test: make free pages')) deleted.add(fp);
  store.checkpoint();
  const sizeBefore = statSync(dbFile).size;

  const db = await startDb({ basedir, workers: 0 });
  const accepted = new Set<string>();
  const failures: string[] = [];
  let stop = false;
  let written = 0;
  const writer = (async () => {
    for (const b of uploads) {
      if (stop) break;
      const body = new URLSearchParams({ keytext: armor(b) }).toString();
      const res = await fetch(`http://127.0.0.1:${port}/pks/add`, {
        method: 'POST', body, headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
      });
      const text = await res.text();
      if (res.status === 200) {
        const j = JSON.parse(text) as { inserted?: string[]; updated?: string[]; keys?: Array<{ fingerprint?: string; status: string }> };
        for (const k of j.keys ?? []) if (k.fingerprint && k.status !== 'rejected') accepted.add(k.fingerprint);
      } else if (res.status !== 422) {
        failures.push(`HTTP ${res.status}: ${text.slice(0, 200)}`);
      }
      written++;
      await sleep(10);
    }
  })();

  try {
    while (written < 20) await sleep(20);
    const w0 = written;
    const full = await runCronOnce(basedir, 'vacuum');
    assert.equal(full.status, 0, full.stderr);
    const w1 = written;
    t.diagnostic(`uploads during the full vacuum run: ${w1 - w0}`);
    const v1 = lastDone(basedir, 'vacuum');
    assert.equal(v1.mode, 'full', JSON.stringify(v1));
    if ((v1.freeBefore as number) > 0) {
      assert.ok((v1.pagesAfter as number) < (v1.pagesBefore as number), `the rebuild returned pages: ${JSON.stringify(v1)}`);
    }

    // Now in incremental mode: free more pages while uploads continue, and give them back in small steps.
    const s2 = KeyStore.open(dbFile);
    for (const fp of loaded.filter((_, i) => i % 6 === 2)) if (s2.deleteKey(fp, 'test: more free pages')) deleted.add(fp);
    s2.close();
    for (const job of ['vacuum', 'checkpoint', 'optimize', 'quick-check', 'integrity']) {
      const r = await runCronOnce(basedir, job);
      assert.equal(r.status, 0, `${job}: ${r.stderr}`);
    }
    const v2 = lastDone(basedir, 'vacuum');
    assert.equal(v2.mode, 'incremental', JSON.stringify(v2));
    // Uploads may have reused the freed pages before the job looked; if any were free, it gave them back in steps.
    if ((v2.freeBefore as number) > 0) assert.ok((v2.steps as number) >= 1, JSON.stringify(v2));
    t.diagnostic(`incremental vacuum: ${JSON.stringify(v2)}`);
    assert.equal(lastDone(basedir, 'integrity').result, 'ok');
    t.diagnostic(`uploads while the jobs ran: ${written - w0} of ${uploads.length}`);
  } finally {
    stop = true;
    await writer;
    await db.stop();
  }
  assert.deepEqual(failures.slice(0, 3), []);
  assert.ok(accepted.size > 20, `uploads accepted: ${accepted.size}`);

  const check = KeyStore.open(dbFile, { readonly: true });
  try {
    const lost = [...accepted].filter((fp) => !check.getByFingerprint(fp));
    assert.deepEqual(lost, [], 'every accepted upload is stored');
    const kept = loaded.filter((fp) => !deleted.has(fp));
    assert.deepEqual(kept.filter((fp) => !check.getByFingerprint(fp)), [], 'every preloaded key not deleted is stored');
    assert.equal(check.count(), new Set([...kept, ...accepted]).size);
    assert.deepEqual(check.integrityCheck(10), ['ok']);
  } finally {
    check.close();
  }
  assert.ok(sizeBefore > 0);
});

test('a damaged database raises the integrity alarm in the log and fails --run-once', async () => {
  const basedir = makeTempDir('cron-integrity-');
  const good = join(makeTempDir('cron-integrity-src-'), 'keys.sqlite');
  const store = KeyStore.open(good);
  store.upsertMaterial(Buffer.concat(keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 60)), 'load');
  store.checkpoint();
  const pageSize = sqliteHandle(store).pragma('page_size', { simple: true }) as number;
  // Overwrite the root page of an index of the keys table with garbage.
  const root = (sqliteHandle(store).prepare("SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'keys' AND rootpage > 1 LIMIT 1").get() as { rootpage: number }).rootpage;
  store.close();
  const dbFile = join(basedir, 'keys.sqlite');
  copyFileSync(good, dbFile);
  const fd = openSync(dbFile, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0x5a), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);

  // The daily quick check sees it too (a damaged index root page), and so does the weekly full check.
  const q = await runCronOnce(basedir, 'quick-check');
  assert.equal(q.status, 1, 'a failed quick check fails the run');
  const r = await runCronOnce(basedir, 'integrity');
  assert.equal(r.status, 1, 'a failed check fails the run');
  const alarms = cronLog(basedir).filter((l) => l.level === 'error' && /^ALARM: database integrity check FAILED/.test(l.message));
  assert.equal(alarms.length, 2, JSON.stringify(cronLog(basedir)));
  assert.deepEqual(alarms.map((a) => a.check), ['quick_check', 'integrity_check']);
  assert.ok(Array.isArray(alarms[0]!.problems) && (alarms[0]!.problems as string[]).length > 0);
  assert.equal(alarms[0]!.database, dbFile);
});
