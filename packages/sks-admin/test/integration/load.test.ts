// `sks-admin load` and friends on real SQLite files: every key once, split copies merged, reruns change nothing,
// kill -9 mid-load resumes to exactly the state of a clean load, flooded keys are cut to the policy limits in bounded
// memory, bad input is counted and skipped, armored files and http(s) dump sites load, dump round-trips, blocklist.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { KeyStore, defaultSettings, policyFromSettings } from '@sks/keystore';
import { generateDump, type GenManifest } from '../../src/gen.js';
import { loadFiles, findDumpFiles } from '../../src/load.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { keyBlocks, DEBIAN_KEYRING } from '../../../../test/support/keyrings.js';
import { sqliteHandle } from '../../../keystore/test/support/sqlite-handle.js';
import { hockeypuckFixture } from '../../../../test/support/hockeypuck-vectors.js';

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/main.ts');
const CLI = [process.execPath, '--conditions=source', '--import', 'tsx', MAIN];

function cli(basedir: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(CLI[0]!, [...CLI.slice(1), ...args, '--basedir', basedir], { encoding: 'utf8', env: { ...process.env, SKS_QUIET: '1' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function dbOf(basedir: string): string {
  return join(basedir, 'keys.sqlite');
}

function lastSeq(store: KeyStore): number {
  return store.lastSeq();
}

function digestSet(store: KeyStore): string[] {
  return [...store.digests()].map((d) => d.toString('hex'));
}

/** The consistency a load must leave: SQLite integrity, prefix tree valid and equal to the stored digests. */
function assertConsistent(store: KeyStore): void {
  assert.deepEqual(store.integrityCheck(10), ['ok']);
  assert.deepEqual(store.reconView.verify(), []);
  assert.equal(store.reconView.size(), store.count());
  const digests = digestSet(store);
  assert.equal(digests.length, store.count());
  for (const d of digests) assert.ok(store.reconView.has(Buffer.from(d, 'hex')), `digest ${d} missing from the tree`);
}

const GEN = { keys: 3000, seed: 'load-test', flooded: 0, floodCerts: 0, dups: 60, keysPerFile: 1000 };
let dumpDir: string;
let manifest: GenManifest;
let cleanBase: string;

before(async () => {
  dumpDir = makeTempDir('load-dump-');
  manifest = await generateDump(dumpDir, GEN, { workers: 2 });
});

test('load stores every key once and merges split copies (counts: read, stored, merged)', async () => {
  cleanBase = makeTempDir('load-clean-');
  const r = cli(cleanBase, ['load', '--dir', dumpDir, '--quiet']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stdout, new RegExp(`this run: read ${GEN.keys + GEN.dups}, stored ${GEN.keys}, merged ${GEN.dups}, unchanged 0, rejected 0`));
  const store = KeyStore.open(dbOf(cleanBase), { readonly: true });
  try {
    assert.equal(store.count(), GEN.keys);
    assertConsistent(store);
    // a split key is stored whole: both user IDs and the subkey (checked with openpgp.js, not our parser)
    const blocks = findDumpFiles(dumpDir).flatMap((f) => keyBlocks(readFileSync(f)));
    const firstSplit = blocks[0]!; // key 0 is split (dups are spread from index 0)
    const [half] = await openpgp.readKeys({ binaryKeys: firstSplit });
    const stored = store.getByFingerprint(half!.getFingerprint());
    assert.ok(stored);
    const [whole] = await openpgp.readKeys({ binaryKeys: stored.data });
    assert.equal(whole!.users.length, 2);
    assert.equal(whole!.subkeys.length, 1);
  } finally {
    store.close();
  }
});

test('rerun on the same files changes nothing (change log seq, count, digests unchanged)', () => {
  const before = KeyStore.open(dbOf(cleanBase), { readonly: true });
  const seq = lastSeq(before);
  const digests = digestSet(before);
  before.close();
  const r = cli(cleanBase, ['load', '--dir', dumpDir, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /4 files \(4 already loaded\)/);
  assert.match(r.stdout, /this run: read 0, stored 0/);
  assert.match(r.stdout, new RegExp(`all runs: read ${GEN.keys + GEN.dups}, stored ${GEN.keys}, merged ${GEN.dups}`));
  const after = KeyStore.open(dbOf(cleanBase), { readonly: true });
  try {
    assert.equal(lastSeq(after), seq);
    assert.deepEqual(digestSet(after), digests);
  } finally {
    after.close();
  }
});

test('kill -9 in the middle of a load, then rerun: consistent, every key once, same as a clean load', async () => {
  const base = makeTempDir('load-kill-');
  cli(base, ['init']);
  const child = spawn(CLI[0]!, [...CLI.slice(1), 'load', '--dir', dumpDir, '--quiet', '--batch-keys', '50', '--basedir', base],
    { stdio: 'ignore', env: { ...process.env, SKS_QUIET: '1' } });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // wait until some batches are committed (but not all), then kill -9
  const files = findDumpFiles(dumpDir);
  const ids = files.map((f) => ({ path: f, size: readFileSync(f).length }));
  let killedAt = -1;
  for (let i = 0; i < 3000 && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 20));
    if (!existsSync(dbOf(base))) continue;
    let s: KeyStore;
    try {
      s = KeyStore.open(dbOf(base), { readonly: true });
    } catch {
      continue;
    }
    try {
      const n = s.count();
      if (n >= 100) {
        child.kill('SIGKILL');
        killedAt = n;
        break;
      }
    } catch {
      // schema not there yet
    } finally {
      s.close();
    }
  }
  await exited;
  assert.ok(killedAt > 0 && killedAt < GEN.keys, `the load was killed midway (at ${killedAt} keys)`);
  assert.equal(child.signalCode, 'SIGKILL');
  void ids;
  {
    // The bulk load defers the prefix tree to its end: the dead load left it marked stale ...
    const ro = KeyStore.open(dbOf(base), { readonly: true });
    try {
      assert.deepEqual(ro.integrityCheck(10), ['ok']);
      assert.equal(sqliteHandle(ro).prepare("SELECT value FROM meta WHERE name = 'ptree_stale'").pluck().get(), 1);
      assert.ok(ro.count() < GEN.keys);
    } finally {
      ro.close();
    }
    // ... and the next writable open (any process: sks-recon, sks-cron, a rerun) builds it and the dropped indexes.
    const s = KeyStore.open(dbOf(base));
    try {
      assertConsistent(s);
      assert.equal(sqliteHandle(s).prepare("SELECT count(*) FROM meta WHERE name = 'ptree_stale'").pluck().get(), 0);
      assert.ok(s.count() < GEN.keys);
    } finally {
      s.close();
    }
  }
  const r = cli(base, ['load', '--dir', dumpDir, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`all runs: read ${GEN.keys + GEN.dups}, stored ${GEN.keys}, merged ${GEN.dups}, unchanged 0, rejected 0`));
  const resumed = KeyStore.open(dbOf(base), { readonly: true });
  const clean = KeyStore.open(dbOf(cleanBase), { readonly: true });
  try {
    assertConsistent(resumed);
    assert.equal(resumed.count(), GEN.keys);
    assert.deepEqual(digestSet(resumed), digestSet(clean));
    // every key once in the change log's adds net of removes, as in the clean load
    const net = (s: KeyStore) => {
      const live = new Set<string>();
      for (const c of s.changesSince(0, 1e9)) (c.op === 'add' ? live.add(c.digest) : live.delete(c.digest));
      return [...live].sort();
    };
    assert.deepEqual(net(resumed), net(clean));
  } finally {
    resumed.close();
    clean.close();
  }
});

test('a flooded key (100 000 certifications on one user ID) is cut to the limits in bounded memory', async () => {
  const dir = makeTempDir('load-flood-');
  const m = await generateDump(dir, { keys: 3, seed: 'flood', flooded: 1, floodCerts: 100_000, dups: 0, keysPerFile: 15000 }, { workers: 1 });
  assert.ok(m.bytes > 10_000_000);
  const base = makeTempDir('load-flood-db-');
  cli(base, ['init']);
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', ...CLI, 'load', '--dir', dir, '--quiet', '--basedir', base],
    { encoding: 'utf8', env: { ...process.env, SKS_QUIET: '1' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /stored 3, merged 0, unchanged 0, rejected 0/);
  const rss = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]);
  assert.ok(rss > 0 && rss < 1024 * 1024, `peak RSS ${rss} KiB`);
  const settings = defaultSettings();
  const store = KeyStore.open(dbOf(base), { readonly: true });
  try {
    const flooded = readdirSync(dir).filter((n) => n.endsWith('.pgp')).flatMap((n) => keyBlocks(readFileSync(join(dir, n))))
      .find((b) => b.length > 1_000_000)!;
    const [input] = await openpgp.readKeys({ binaryKeys: flooded });
    const stored = store.getByFingerprint(input!.getFingerprint());
    assert.ok(stored);
    assert.ok(stored.data.length <= settings.max_key_bytes);
    const [key] = await openpgp.readKeys({ binaryKeys: stored.data });
    assert.equal(key!.users[0]!.otherCertifications.length, settings.max_certs_per_uid);
    assert.equal(key!.users[0]!.selfCertifications.length, 1);
    const cut = stored.cuts.find((c) => c.rule === 'certs-per-uid');
    assert.ok(cut, JSON.stringify(stored.cuts));
    assert.equal(cut.packets, 100_000 - settings.max_certs_per_uid);
    assertConsistent(store);
  } finally {
    store.close();
  }
});

test('bad input is counted by reason and skipped; the keys around it load', () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 6);
  const dir = makeTempDir('load-bad-');
  const secret = Buffer.from([0xc5, 0x03, 0x04, 0x00, 0x00]); // a (truncated) secret key packet: policy refuses it
  writeFileSync(join(dir, 'a.gpg'), Buffer.concat([
    blocks[0]!, Buffer.from('this is not OpenPGP data at all'), blocks[1]!, secret, blocks[2]!, blocks[3]!.subarray(0, 40),
  ]));
  const base = makeTempDir('load-bad-db-');
  const r = cli(base, ['load', '--dir', dir, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  const m = /this run: read (\d+), stored (\d+), merged 0, unchanged 0, rejected (\d+) \((.*)\)/.exec(r.stdout);
  assert.ok(m, r.stdout);
  assert.equal(Number(m[2]), 3, 'the three whole keys are stored');
  assert.ok(Number(m[3]) >= 2, r.stdout);
  assert.match(m[4]!, /malformed \d+/);
  const store = KeyStore.open(dbOf(base), { readonly: true });
  try {
    assert.equal(store.count(), 3);
    assertConsistent(store);
  } finally {
    store.close();
  }
});

test('armored (.asc) files and an http dump site (directory listing) load; a second run fetches nothing', async () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(10, 20);
  const site = makeTempDir('load-site-');
  writeFileSync(join(site, 'sks-dump-0000.pgp'), Buffer.concat(blocks.slice(0, 5)));
  const armored: string[] = [];
  for (const b of blocks.slice(5)) armored.push((await openpgp.readKey({ binaryKey: b })).armor());
  writeFileSync(join(site, 'sks-dump-0001.asc'), armored.join('\n'));
  let gets = 0;
  const server = createServer((req, res) => {
    gets++;
    const name = decodeURIComponent((req.url ?? '/').replace(/^\/dump\//, ''));
    if (name === '' || name === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(`<html><body><a href="../">..</a><a href="sks-dump-0000.pgp">sks-dump-0000.pgp</a>
        <a href="sks-dump-0001.asc">sks-dump-0001.asc</a><a href="metadata-sks-dump.txt">meta</a></body></html>`);
      return;
    }
    const f = join(site, name);
    if (!/^[\w.-]+$/.test(name) || !existsSync(f)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    const data = readFileSync(f);
    res.setHeader('content-length', data.length);
    res.end(data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  try {
    const base = makeTempDir('load-url-');
    const url = `http://127.0.0.1:${port}/dump/`;
    const r = await runAsync(base, ['load', '--url', url, '--quiet']);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /this run: read 10, stored 10/);
    assert.deepEqual(readdirSync(join(base, 'dump-download')).sort(), ['sks-dump-0000.pgp', 'sks-dump-0001.asc']);
    const store = KeyStore.open(dbOf(base), { readonly: true });
    try {
      assert.equal(store.count(), 10);
    } finally {
      store.close();
    }
    const r2 = await runAsync(base, ['load', '--url', url, '--quiet']);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stderr, /0 files fetched/);
    assert.match(r2.stdout, /\(2 already loaded\)/);
    assert.ok(gets > 0);
  } finally {
    server.close();
  }
});

/** The CLI as a child process without blocking this process's event loop (the test serves HTTP meanwhile). */
function runAsync(basedir: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(CLI[0]!, [...CLI.slice(1), ...args, '--basedir', basedir], { env: { ...process.env, SKS_QUIET: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolveRun({ status, stdout, stderr }));
  });
}

test('dump writes dump_keys_per_file keys per file, and loading the dump gives the same digests', () => {
  const base = makeTempDir('load-dump-');
  mkdirSync(base, { recursive: true });
  writeFileSync(join(base, 'sksconf'), 'dump_keys_per_file: 1000\n');
  const out = join(base, 'out');
  const r = cli(cleanBase, ['dump', '--out', out, '--quiet']);
  assert.equal(r.status, 0, r.stderr);
  // cleanBase has the default 15000 per file: one file; with the base above, 1000 per file
  assert.deepEqual(readdirSync(out).sort(), ['sks-dump-0000.pgp']);
  const copy = join(base, 'keys');
  mkdirSync(copy);
  writeFileSync(join(copy, 'all.pgp'), readFileSync(join(out, 'sks-dump-0000.pgp')));
  assert.equal(cli(base, ['load', '--dir', copy, '--quiet']).status, 0);
  const r2 = cli(base, ['dump', '--quiet']);
  assert.equal(r2.status, 0, r2.stderr);
  const files = readdirSync(join(base, 'dump')).sort();
  assert.deepEqual(files, ['sks-dump-0000.pgp', 'sks-dump-0001.pgp', 'sks-dump-0002.pgp']);
  assert.deepEqual(files.map((f) => keyBlocks(readFileSync(join(base, 'dump', f))).length), [1000, 1000, 1000]);
  const a = KeyStore.open(dbOf(cleanBase), { readonly: true });
  const b = KeyStore.open(dbOf(base), { readonly: true });
  try {
    assert.deepEqual(digestSet(b), digestSet(a));
  } finally {
    a.close();
    b.close();
  }
});

test('block removes the stored key and refuses it on load; unblock lets it in again', async () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(30, 33);
  const dir = makeTempDir('load-block-');
  writeFileSync(join(dir, 'k.gpg'), Buffer.concat(blocks));
  const base = makeTempDir('load-block-db-');
  assert.equal(cli(base, ['load', '--dir', dir, '--quiet']).status, 0);
  const fp = (await openpgp.readKey({ binaryKey: blocks[1]! })).getFingerprint().toUpperCase();
  const b = cli(base, ['block', fp, '--reason', 'test']);
  assert.equal(b.status, 0, b.stderr);
  assert.match(b.stdout, /stored copy was removed/);
  writeFileSync(join(dir, 'k2.gpg'), blocks[1]!);
  const r = cli(base, ['load', '--dir', dir, '--quiet']);
  assert.match(r.stdout, /this run: read 1, stored 0, merged 0, unchanged 0, rejected 1 \(blocklisted 1\)/);
  let s = KeyStore.open(dbOf(base), { readonly: true });
  assert.equal(s.count(), 2);
  assert.equal(s.getByFingerprint(fp), undefined);
  assertConsistent(s);
  s.close();
  assert.equal(cli(base, ['block', 'nothex', '--reason', 'x']).status, 2);
  assert.match(cli(base, ['unblock', fp]).stdout, /unblocked/);
  writeFileSync(join(dir, 'k3.gpg'), blocks[1]!);
  assert.match(cli(base, ['load', '--dir', dir, '--quiet']).stdout, /this run: read 1, stored 1/);
  s = KeyStore.open(dbOf(base), { readonly: true });
  assert.equal(s.count(), 3);
  s.close();
  void policyFromSettings;
  void loadFiles;
});

test('init creates a base directory and never overwrites; rebuild-ptree and stats', () => {
  const base = join(makeTempDir('load-init-'), 'sks');
  const r = cli(base, ['init']);
  assert.equal(r.status, 0, r.stderr);
  for (const f of ['sksconf', 'membership', 'sync-targets', 'keys.sqlite', 'web', 'log', 'dump']) assert.ok(existsSync(join(base, f)), f);
  writeFileSync(join(base, 'sksconf'), 'hostname: keys.example.org\n');
  assert.match(cli(base, ['init']).stdout, /nothing created/);
  assert.equal(readFileSync(join(base, 'sksconf'), 'utf8'), 'hostname: keys.example.org\n');
  const dir = makeTempDir('load-init-keys-');
  writeFileSync(join(dir, 'k.gpg'), Buffer.concat(keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 40)));
  assert.equal(cli(base, ['load', '--dir', dir, '--quiet']).status, 0);
  const rb = cli(base, ['rebuild-ptree']);
  assert.equal(rb.status, 0, rb.stderr);
  assert.match(rb.stdout, /rebuilt from 40 digests .*verify ok/);
  const st = cli(base, ['stats']);
  assert.equal(st.status, 0, st.stderr);
  assert.match(st.stdout, /keys: 40\n/);
  assert.match(st.stdout, /prefix tree elements: 40\n/);
  const store = KeyStore.open(dbOf(base), { readonly: true });
  try {
    assertConsistent(store);
  } finally {
    store.close();
  }
  assert.equal(cli(base, ['frobnicate']).status, 2);
});

test('with recon_profiles sks,hockeypuck the loader\'s workers compute Hockeypuck 2.3\'s digests; a profile added later is built by rebuild-ptree', () => {
  const hp = JSON.parse(readFileSync(hockeypuckFixture('debian-keyring-hockeypuck-2.3.json'), 'utf8')) as { keys: Array<{ hp_digest: string }> };
  const expected = hp.keys.map((k) => k.hp_digest).sort();
  const dir = makeTempDir('load-hp-keys-');
  writeFileSync(join(dir, 'k.gpg'), readFileSync(DEBIAN_KEYRING));
  const hpSet = (base: string) => {
    const store = KeyStore.open(dbOf(base), { readonly: true, policy: policyFromSettings({ ...defaultSettings(), recon_profiles: ['sks', 'hockeypuck'] }) });
    try {
      assert.deepEqual(store.reconViewOf('hockeypuck').verify(), []);
      return [...store.digests('hockeypuck')].map((d) => d.toString('hex')).sort();
    } finally {
      store.close();
    }
  };
  // with the profile from the start: the workers' packed batches carry each key's hockeypuck form
  const withIt = makeTempDir('load-hp-');
  writeFileSync(join(withIt, 'sksconf'), 'recon_profiles: sks,hockeypuck\n');
  const r = cli(withIt, ['load', '--dir', dir, '--quiet', '--workers', '2']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(hpSet(withIt), expected);
  assert.match(cli(withIt, ['stats']).stdout, new RegExp(`hockeypuck digest set: ${expected.length}\n`));
  // loaded without it, then made active: stats says so, rebuild-ptree builds the set
  const later = makeTempDir('load-hp-later-');
  assert.equal(cli(later, ['load', '--dir', dir, '--quiet']).status, 0);
  writeFileSync(join(later, 'sksconf'), 'recon_profiles: sks,hockeypuck\n');
  assert.match(cli(later, ['stats']).stdout, /hockeypuck digest set: 0 \(being built/);
  const rb = cli(later, ['rebuild-ptree']);
  assert.equal(rb.status, 0, rb.stderr);
  assert.match(rb.stdout, /recon profile sets built over 905 stored keys/);
  assert.deepEqual(hpSet(later), expected);
});
