// Log rotation under load: sks-db (a cluster of two worker processes sharing sks-db.log) answers about 1000
// lookups a second, each logged as one line (log_lookups), while sks-cron's log-rotate job runs twice. Every lookup's line must be found exactly once across the current log and the compressed rotations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KeyStore, createLogger } from '../packages/keystore/src/index.js';
import { JobRunner, cronContext, findJob, rotateLogs } from '../packages/sks-cron/src/index.js';
import { startDb } from '../packages/sks-db/src/index.js';
import { makeTempDir } from './support/tmp.js';
import { freePort } from './support/ports.js';

process.env.SKS_QUIET = '1';

/** The log-rotate job as sks-cron runs it (its JobRunner, logging to sks-cron.log), here in the test process: the
 * writers are sks-db's two worker processes. */
async function rotateNow(basedir: string): Promise<void> {
  const ctx = cronContext({ basedir, logger: createLogger({ service: 'sks-cron', dir: join(basedir, 'log'), console: false }) });
  const r = await new JobRunner(ctx).run(findJob('log-rotate')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
}

/** Lookup lines (their search terms) in a log file's text. */
function lookupTerms(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const j = JSON.parse(line) as { message?: string; search?: string };
    if (j.message === 'lookup' && j.search) out.push(j.search);
  }
  return out;
}

test('1000 lookups a second during two rotations: every log line is kept exactly once', async (t) => {
  const basedir = makeTempDir('cron-rotate-');
  const port = await freePort();
  writeFileSync(join(basedir, 'sksconf'), [
    `hkp_port: ${port}`, 'hkp_address: 127.0.0.1', 'log_lookups:', 'log_level: info', 'log_keep: 10',
    'log_rotate_grace_ms: 500', '',
  ].join('\n'));
  KeyStore.open(join(basedir, 'keys.sqlite')).close();
  const db = await startDb({ basedir, workers: 2 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const sent: string[] = [];
  const failures: string[] = [];
  let answered = 0;
  const lookup = (term: string) =>
    new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, agent, path: `/pks/lookup?op=get&search=${term}` }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 404) failures.push(`${term}: HTTP ${res.statusCode}`);
          answered++;
          resolve();
        });
      });
      req.on('error', (e) => {
        failures.push(`${term}: ${e.message}`);
        resolve();
      });
    });

  // Load: 10 lookups every 10 ms (about 1000 a second), each for a distinct key ID nobody has.
  let stop = false;
  const inflight = new Set<Promise<void>>();
  const started = Date.now();
  const load = (async () => {
    for (let n = 0, tick = 0; !stop; tick++) {
      for (let i = 0; i < 10; i++, n++) {
        const term = `0x${(0xf000000000000000n + BigInt(n)).toString(16).toUpperCase()}`;
        sent.push(term);
        const p = lookup(term).finally(() => inflight.delete(p));
        inflight.add(p);
      }
      const wait = started + (tick + 1) * 10 - Date.now();
      await sleep(Math.max(0, wait));
    }
    await Promise.all(inflight);
  })();

  try {
    await sleep(1500);
    await rotateNow(basedir);
    await sleep(1000);
    await rotateNow(basedir);
    await sleep(1000);
  } finally {
    stop = true;
    await load;
    await db.stop();
    agent.destroy();
  }
  const seconds = (Date.now() - started) / 1000;
  t.diagnostic(`${answered} lookups in ${seconds.toFixed(1)} s (${Math.round(answered / seconds)}/s)`);
  assert.deepEqual(failures.slice(0, 5), []);
  assert.equal(answered, sent.length);

  const logDir = join(basedir, 'log');
  const files = readdirSync(logDir);
  const rotated = files.filter((f) => /^sks-db\.log\.\d{8}T\d{9}Z(-\d+)?\.gz$/.test(f)).sort();
  assert.equal(rotated.length, 2, `two compressed rotations of sks-db.log: ${files.join(', ')}`);
  assert.deepEqual(files.filter((f) => /\.log\.\d{8}T\d{9}Z(-\d+)?$|\.tmp$/.test(f)), [], 'nothing left uncompressed');

  const perFile = [
    ...rotated.map((f) => lookupTerms(gunzipSync(readFileSync(join(logDir, f))).toString('utf8'))),
    lookupTerms(readFileSync(join(logDir, 'sks-db.log'), 'utf8')),
  ];
  for (const [i, terms] of perFile.entries()) assert.ok(terms.length > 0, `log part ${i} holds lookups (rotation happened under load)`);
  const logged = perFile.flat();
  const seen = new Set(logged);
  assert.equal(seen.size, logged.length, 'no line logged twice');
  const missing = sent.filter((t) => !seen.has(t));
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${sent.length} lookup lines lost`);
  assert.equal(logged.length, sent.length);

  // sks-cron logged what it did and how long it took.
  const cronLog = readFileSync(join(logDir, 'sks-cron.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const done = cronLog.filter((l) => l.message === 'job done' && l.job === 'log-rotate');
  assert.ok(done.length >= 1 && done.every((l) => typeof l.ms === 'number' && l.rotated >= 1), JSON.stringify(done));
});

test('rotation keeps log_keep compressed files per service and leaves other files alone', async () => {
  const basedir = makeTempDir('cron-keep-');
  writeFileSync(join(basedir, 'sksconf'), 'log_keep: 2\nlog_rotate_grace_ms: 10\n');
  const logDir = join(basedir, 'log');
  mkdirSync(logDir);
  for (let i = 0; i < 4; i++) {
    writeFileSync(join(logDir, 'sks-recon.log'), `{"n":${i}}\n`, { flag: 'a' });
    const r = await rotateLogs({ dir: logDir, keep: 2, graceMs: 10 });
    assert.equal(r.rotated.length, 1);
  }
  writeFileSync(join(logDir, 'notes.txt'), 'operator notes\n');
  // Oldest first by stamp, then by collision number (rotations within one millisecond get -2, -3, ...).
  const order = (f: string) => { const m = /\.(\d{8}T\d{9})Z(?:-(\d+))?\.gz$/.exec(f)!; return `${m[1]}${(m[2] ?? '1').padStart(6, '0')}`; };
  const gz = readdirSync(logDir).filter((f) => f.startsWith('sks-recon.log.')).sort((a, b) => order(a).localeCompare(order(b)));
  assert.equal(gz.length, 2);
  assert.deepEqual(gz.map((f) => gunzipSync(readFileSync(join(logDir, f))).toString().trim()), ['{"n":2}', '{"n":3}']);
  assert.ok(readdirSync(logDir).includes('notes.txt'));
  // An empty log is not rotated.
  writeFileSync(join(logDir, 'sks-recon.log'), '');
  assert.equal((await rotateLogs({ dir: logDir, keep: 2, graceMs: 10 })).rotated.length, 0);
});
