// sks-cron's jobs on a real store of debian-keyring keys: the keydump read back key for key, the statistics file, the
// blocklist enforced on keys stored before they were blocked, schedules from sksconf that fire and never overlap.
// (GnuPG reading the keydump: integration/dump-gnupg.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, KeyStore, createLogger } from '@sks/keystore';
import { JobRunner, cronContext, findJob, startCron, validateSchedules, type Job } from '../src/index.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { KEYS, basedirWithKeys, quietContext } from './helpers.js';
import { sqliteHandle } from '../../keystore/test/support/sqlite-handle.js';

test('dump job writes SKS dump files that read back key for key, plus a metadata file', async () => {
  const { basedir } = basedirWithKeys('dump_keys_per_file: 15\n');
  const ctx = quietContext(basedir);
  const r = await new JobRunner(ctx).run(findJob('dump')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  const dir = join(basedir, 'dump');
  const files = readdirSync(dir).filter((f) => /^sks-dump-\d+\.pgp$/.test(f)).sort();
  assert.deepEqual(files, ['sks-dump-0000.pgp', 'sks-dump-0001.pgp', 'sks-dump-0002.pgp']);
  assert.equal(files.reduce((n, f) => n + keyBlocks(readFileSync(join(dir, f))).length, 0), KEYS.length);
  assert.match(readFileSync(join(dir, 'metadata-sks-dump.txt'), 'utf8'), new RegExp(`^Keys: ${KEYS.length}$`, 'm'));
  assert.ok(!existsSync(join(dir, '.incoming')));

  // A second run over a smaller store replaces the set: no stale file from the first dump remains.
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const first20 = KEYS.slice(0, 20).map((k) => store.upsertMaterial(k, 'load')[0]!.fingerprint!);
  for (const fp of first20) store.deleteKey(fp, 'test');
  store.close();
  assert.equal((await new JobRunner(ctx).run(findJob('dump')!)).status, 'ok');
  const again = readdirSync(dir).filter((f) => /^sks-dump-\d+\.pgp$/.test(f)).sort();
  assert.deepEqual(again, ['sks-dump-0000.pgp', 'sks-dump-0001.pgp']);
  assert.equal(again.reduce((n, f) => n + keyBlocks(readFileSync(join(dir, f))).length, 0), KEYS.length - 20);
});

test('stats job writes the statistics file with the key count and database size', async () => {
  const { basedir } = basedirWithKeys('hostname: keys.example.org\n');
  const runner = new JobRunner(quietContext(basedir));
  const r = await runner.run(findJob('stats')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  const stats = JSON.parse(readFileSync(join(basedir, 'stats.json'), 'utf8'));
  assert.equal(stats.total_keys, KEYS.length);
  assert.equal(stats.hostname, 'keys.example.org');
  assert.equal(stats.daily.reduce((n: number, b: { added: number }) => n + b.added, 0), KEYS.length);
  assert.ok(stats.database.file_bytes > 0);

  // The next run (same sks-cron process) sees keys added since.
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const more = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(40, 45);
  for (const k of more) store.upsertMaterial(k, 'load');
  store.close();
  assert.equal((await runner.run(findJob('stats')!)).status, 'ok');
  const again = JSON.parse(readFileSync(join(basedir, 'stats.json'), 'utf8'));
  assert.equal(again.total_keys, KEYS.length + more.length);
  assert.equal(again.daily.reduce((n: number, b: { added: number }) => n + b.added, 0), KEYS.length + more.length);
});

test('blocklist job removes keys that were stored before they were blocked, and only those', async () => {
  const { basedir, fingerprints } = basedirWithKeys();
  const victims = [fingerprints[3]!, fingerprints[17]!];
  // Blocked by a process that did not remove the stored copy (as an older blocklist or a direct SQL edit would).
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  const ins = sqliteHandle(store).prepare('INSERT INTO blocklist (fingerprint, reason, added) VALUES (?, ?, ?)');
  for (const fp of victims) ins.run(Buffer.from(fp, 'hex'), 'test: abusive', 1);
  assert.ok(store.getByFingerprint(victims[0]!), 'precondition: the blocked key is still stored');
  store.close();

  const r = await new JobRunner(quietContext(basedir)).run(findJob('blocklist')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.deepEqual(r.status === 'ok' && [...(r.result.removed as string[])].sort(), [...victims].sort());
  const after = KeyStore.open(join(basedir, 'keys.sqlite'), { readonly: true });
  try {
    for (const fp of victims) assert.equal(after.getByFingerprint(fp), undefined);
    assert.equal(after.count(), KEYS.length - 2);
    // The recon set follows: the removed keys' digests are gone too.
    assert.equal([...after.digests()].length, KEYS.length - 2);
  } finally {
    after.close();
  }
});

test('a bad schedule in sksconf is named with its setting', () => {
  const basedir = makeTempDir('cron-conf-');
  writeFileSync(join(basedir, 'sksconf'), 'log_keep: 3\ncron_dump: every tuesday\n');
  assert.throws(() => validateSchedules(quietContext(basedir)), (e: unknown) => e instanceof ConfigError && /sksconf:2: setting "cron_dump"/.test(e.message));
  writeFileSync(join(basedir, 'sksconf'), 'cron_dump: off\n');
  assert.ok(!validateSchedules(quietContext(basedir)).some((p) => p.job.name === 'dump'), '"off" disables a job');
});

test('scheduled jobs fire on their sksconf schedule, and a slow run is never overlapped by its next tick', async () => {
  const { basedir } = basedirWithKeys(
    ['cron_stats: * * * * * *', ...['log_rotate', 'checkpoint', 'optimize', 'vacuum', 'integrity', 'quick_check', 'dump', 'backup', 'blocklist', 'prune_changes', 'push_sync'].map((j) => `cron_${j}: off`), ''].join('\n'),
  );
  const running = startCron({ basedir, logger: createLogger({ service: 'sks-cron', dir: join(basedir, 'log'), console: false }) });
  try {
    assert.deepEqual(running.scheduled.map((s) => s.job), ['stats']);
    for (let i = 0; i < 100 && !existsSync(join(basedir, 'stats.json')); i++) await sleep(100);
    assert.ok(existsSync(join(basedir, 'stats.json')), 'the stats job ran on its every-second schedule');
  } finally {
    await running.stop();
  }

  let active = 0;
  let maxActive = 0;
  const slow: Job = {
    name: 'slow', schedule: 'cron_stats', describe: 'test job',
    async run() {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(200);
      active--;
      return {};
    },
  };
  const runner = new JobRunner(quietContext(basedir));
  const outcomes = await Promise.all([runner.run(slow), runner.run(slow), runner.run(slow)]);
  assert.deepEqual(outcomes.map((o) => o.status), ['ok', 'skipped', 'skipped']);
  assert.equal(maxActive, 1);
  const log = readFileSync(join(basedir, 'log/sks-cron.log'), 'utf8');
  assert.match(log, /"message":"job skipped: its previous run is still going"/);
  assert.match(log, /"job":"stats","level":"info","message":"job done","ms":\d+/);
});

test('vacuum: no one-time rebuild above vacuum_full_max_bytes; below it the rebuild, then incremental steps', async () => {
  const { basedir, fingerprints } = basedirWithKeys('vacuum_full_max_bytes: 4096\n');
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  for (const fp of fingerprints.slice(0, 30)) store.deleteKey(fp, 'test: free pages');
  store.close();
  const ctx = quietContext(basedir);
  const r = await new JobRunner(ctx).run(findJob('vacuum')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  assert.equal(r.status === 'ok' && r.result.mode, 'skipped');
  assert.match(readFileSync(join(basedir, 'log/sks-cron.log'), 'utf8'), /"level":"warn","message":"vacuum skipped: .*vacuum_full_max_bytes/);
  // With the limit raised (services stopped), the rebuild runs and the file shrinks.
  const raised = cronContext({ basedir, settings: { vacuum_full_max_bytes: 1 << 30 }, logger: ctx.logger });
  const full = await new JobRunner(raised).run(findJob('vacuum')!);
  assert.equal(full.status === 'ok' && full.result.mode, 'full', JSON.stringify(full));
  assert.ok(full.status === 'ok' && (full.result.pagesAfter as number) < (full.result.pagesBefore as number));

  // Now in incremental mode: freed pages go back in steps of vacuum_step_pages.
  const s2 = KeyStore.open(join(basedir, 'keys.sqlite'));
  for (const fp of fingerprints.slice(30)) s2.deleteKey(fp, 'test: more free pages');
  s2.close();
  const small = cronContext({ basedir, settings: { vacuum_step_pages: 3 }, logger: ctx.logger });
  const inc = await new JobRunner(small).run(findJob('vacuum')!);
  assert.equal(inc.status, 'ok', JSON.stringify(inc));
  const res = inc.status === 'ok' ? inc.result : {};
  assert.equal(res.mode, 'incremental', JSON.stringify(res));
  assert.ok((res.freeBefore as number) > 3, JSON.stringify(res));
  assert.equal(res.freeAfter, 0);
  assert.equal(res.steps, Math.ceil((res.freeBefore as number) / 3));
  assert.equal((res.pagesBefore as number) - (res.pagesAfter as number), res.freeBefore);
});
