// Backups taken while another process keeps uploading, and restored into an empty base directory with
// `sks-admin restore`: every key acknowledged before the backup began is in the restored store, the store is sound
// and its recon set matches its keys; older backups beyond backup_keep are removed; a restore never overwrites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyStore } from '../packages/keystore/src/index.js';
import { JobRunner, cronContext, findJob } from '../packages/sks-cron/src/index.js';
import { keyBlocks, DEBIAN_KEYRING } from './support/keyrings.js';
import { makeTempDir } from './support/tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ADMIN = join(ROOT, 'packages/sks-admin/src/main.ts');
const admin = (...args: string[]) => spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', ADMIN, ...args], { encoding: 'utf8' });

test('a backup taken under upload load restores every key acknowledged before it began', async () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const a = makeTempDir('backup-a-');
  assert.equal(admin('init', '--basedir', a).status, 0);
  writeFileSync(join(a, 'sksconf'), `${readFileSync(join(a, 'sksconf'), 'utf8')}\nbackup_keep: 2\n`);
  const dbFile = join(a, 'keys.sqlite');
  const acknowledged = new Map<string, string>();
  const store = KeyStore.open(dbFile);
  try {
    for (const o of store.upsertMaterial(Buffer.concat(blocks.slice(0, 300)), 'add')) {
      if (o.status === 'inserted') acknowledged.set(o.fingerprint!, o.digest!);
    }
  } finally {
    store.close();
  }
  // Another process uploads the rest of the keyring, a few keys per transaction, during the backup.
  const writerScript = join(makeTempDir('backup-writer-'), 'writer.ts');
  writeFileSync(writerScript, `
    import { readFileSync } from 'node:fs';
    import { KeyStore } from ${JSON.stringify(join(ROOT, 'packages/keystore/src/index.ts'))};
    import { keyBlocks } from ${JSON.stringify(join(ROOT, 'test/support/keyrings.ts'))};
    const blocks = keyBlocks(readFileSync(${JSON.stringify(DEBIAN_KEYRING)})).slice(300);
    const store = KeyStore.open(${JSON.stringify(dbFile)}, { busyTimeoutMs: 30000 });
    console.log('writing');
    for (let i = 0; i < blocks.length; i += 5) store.upsertMaterial(Buffer.concat(blocks.slice(i, i + 5)), 'add');
    store.close();
  `);
  const writer = spawn(process.execPath, ['--import', 'tsx', writerScript], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => writer.stdout!.once('data', r));
  const runner = new JobRunner(cronContext({ basedir: a }));
  const first = await runner.run(findJob('backup')!);
  assert.equal(first.status, 'ok', JSON.stringify(first));
  const [code] = await new Promise<[number | null]>((r) => writer.once('exit', (c) => r([c])));
  assert.equal(code, 0, 'the uploads went on while the backup was taken');

  const backups = () => readdirSync(join(a, 'backups')).filter((n) => n.endsWith('.sqlite')).sort();
  const file = join(a, 'backups', backups()[0]!);
  const b = makeTempDir('backup-b-');
  const r = admin('restore', file, '--basedir', b);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /restored \d+ keys from /);
  const restored = KeyStore.open(join(b, 'keys.sqlite'));
  try {
    for (const [fp, digest] of acknowledged) assert.equal(restored.getByFingerprint(fp)?.digest, digest, `key ${fp}`);
    assert.deepEqual(restored.integrityCheck(10), ['ok']);
    assert.deepEqual(restored.reconView.verify(), []);
    assert.equal(restored.reconView.size(), restored.count());
  } finally {
    restored.close();
  }

  // A restore never overwrites a database.
  const again = admin('restore', file, '--basedir', b);
  assert.equal(again.status, 2);
  assert.match(again.stderr, /exists; restore into a base directory without a database/);

  // backup_keep: 2 newest are kept.
  for (let i = 0; i < 2; i++) {
    await new Promise((res) => setTimeout(res, 1100)); // names carry the second
    assert.equal((await runner.run(findJob('backup')!)).status, 'ok');
  }
  assert.equal(backups().length, 2);
  assert.ok(!backups().includes(file.split('/').pop()!), 'the oldest was removed');
});
