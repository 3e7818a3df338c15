// `sks-admin load` and `sks-admin dump` against real SKS 1.1.6 (`sks build` + `cleandb` + `pbuild`) on Debian's
// keyring: we store the same keys with the same digests as SKS, and SKS built from our dump holds exactly the digest
// set SKS computes from the original file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyStore } from '@sks/keystore';
import { generateDump } from '../../src/gen.js';
import { startSks, sksDigestSet, sksKeyCount, type Sks } from '../../../../test/support/sks.js';
import { DEBIAN_KEYRING } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const MAIN = join(ROOT, 'packages/sks-admin/src/main.ts');

function admin(basedir: string, args: string[]) {
  const r = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, ...args, '--basedir', basedir],
    { encoding: 'utf8', env: { ...process.env, SKS_QUIET: '1' } });
  assert.equal(r.status, 0, `sks-admin ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

let original: Sks;
let originalDigests: Set<string>;
const base = makeTempDir('load-sks-ours-');

before(async () => {
  original = await startSks({ keyFiles: [DEBIAN_KEYRING], gossip: false });
  originalDigests = await sksDigestSet(original);
});

after(async () => {
  await original?.stop();
});

test('loading debian-keyring stores as many keys as real SKS, with the digests SKS gives them', async () => {
  const dir = makeTempDir('load-sks-in-');
  copyFileSync(DEBIAN_KEYRING, join(dir, 'debian-keyring.gpg'));
  const out = admin(base, ['load', '--dir', dir, '--quiet']);
  const sksCount = await sksKeyCount(original);
  assert.equal(sksCount, originalDigests.size);
  const store = KeyStore.open(join(base, 'keys.sqlite'), { readonly: true });
  try {
    assert.equal(store.count(), sksCount, out);
    const ours = new Set([...store.digests()].map((d) => d.toString('hex')));
    assert.deepEqual([...ours].sort(), [...originalDigests].sort());
  } finally {
    store.close();
  }
});

test('real SKS built from our dump holds exactly the digest set of SKS built from the original file', async () => {
  const out = join(base, 'dump-out');
  admin(base, ['dump', '--out', out, '--quiet']);
  const files = readdirSync(out).filter((n) => n.endsWith('.pgp')).sort();
  assert.deepEqual(files, ['sks-dump-0000.pgp']);
  const fromDump = await startSks({ keyFiles: files.map((f) => join(out, f)), gossip: false });
  try {
    const got = await sksDigestSet(fromDump);
    assert.equal(got.size, originalDigests.size);
    assert.deepEqual([...got].sort(), [...originalDigests].sort());
  } finally {
    await fromDump.stop();
  }
});

test('a generated dump (v4 keys, split copies) gives the same digest set in our store as in real SKS', async () => {
  const dir = makeTempDir('load-sks-gen-');
  // SKS 1.1.6 aborts `sks build` on v6 keys, so this dump has none; flooded keys would be cut by our policy only
  const m = await generateDump(dir, { keys: 400, seed: 'sks-compat', flooded: 0, floodCerts: 0, dups: 40, keysPerFile: 150, v6: false });
  const sks = await startSks({ keyFiles: m.files.map((f) => join(dir, f)), gossip: false });
  let theirs: Set<string>;
  try {
    theirs = await sksDigestSet(sks);
  } finally {
    await sks.stop();
  }
  const ours = makeTempDir('load-sks-gen-ours-');
  const out = admin(ours, ['load', '--dir', dir, '--quiet']);
  assert.match(out, /this run: read 440, stored 400, merged 40, unchanged 0, rejected 0/);
  const store = KeyStore.open(join(ours, 'keys.sqlite'), { readonly: true });
  try {
    assert.equal(theirs.size, 400);
    assert.deepEqual([...store.digests()].map((d) => d.toString('hex')).sort(), [...theirs].sort());
  } finally {
    store.close();
  }
});
