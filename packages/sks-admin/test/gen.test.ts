// The synthetic keydump generator: its keys are real OpenPGP keys (openpgp.js parses them and verifies every
// self-signature; GnuPG imports them), split copies are halves of one key, flooded keys carry the certifications
// asked for, and the same parameters give the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { generateDump, type GenParams } from '../src/gen.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { keyBlocks } from '../../../test/support/keyrings.js';

const PARAMS: GenParams = { keys: 240, seed: 'gen-test', flooded: 1, floodCerts: 300, dups: 12, keysPerFile: 100 };

function readDump(dir: string): Buffer[] {
  return readdirSync(dir).filter((n) => n.endsWith('.pgp')).sort().flatMap((n) => keyBlocks(readFileSync(join(dir, n))));
}

const dirA = makeTempDir('gen-a-');
let manifest: Awaited<ReturnType<typeof generateDump>>;

test('gen writes SKS-style dump files of keysPerFile blocks: keys plus the second copies of split keys', async () => {
  manifest = await generateDump(dirA, PARAMS, { workers: 2, chunkKeys: 50 });
  const files = readdirSync(dirA).filter((n) => n.endsWith('.pgp')).sort();
  assert.deepEqual(files, ['sks-dump-0000.pgp', 'sks-dump-0001.pgp', 'sks-dump-0002.pgp']);
  const blocks = readDump(dirA);
  assert.equal(blocks.length, PARAMS.keys + PARAMS.dups);
  assert.equal(manifest.blocks, blocks.length);
  assert.equal(keyBlocks(readFileSync(join(dirA, files[0]!))).length, 100);
  for (const algo of ['ed25519', 'v6', 'p256', 'rsa'] as const) assert.ok(manifest.algos[algo] > 0, `no ${algo} keys`);
});

test('every generated key parses in openpgp.js with valid self-signatures and an encryption subkey', async () => {
  const blocks = readDump(dirA);
  const byFpr = new Map<string, openpgp.Key[]>();
  const versions = new Set<number>();
  const algos = new Set<string>();
  for (const b of blocks) {
    const [key] = await openpgp.readKeys({ binaryKeys: b });
    assert.ok(key);
    await key.verifyPrimaryKey();
    for (const u of await key.verifyAllUsers()) assert.equal(u.valid, true, `user ${u.userID} of ${key.getFingerprint()}`);
    versions.add(key.keyPacket.version);
    algos.add(key.getAlgorithmInfo().algorithm);
    const fp = key.getFingerprint().toUpperCase();
    byFpr.set(fp, [...(byFpr.get(fp) ?? []), key]);
  }
  assert.equal(byFpr.size, PARAMS.keys, 'one fingerprint per key');
  assert.deepEqual([...versions].sort(), [4, 6]);
  assert.deepEqual([...algos].sort(), ['ecdsa', 'ed25519', 'eddsaLegacy', 'rsaEncryptSign']);
  const split = [...byFpr.values()].filter((ks) => ks.length === 2);
  assert.equal(split.length, PARAMS.dups);
  for (const [a, b] of split) {
    // halves: one has the subkey, the other a second user ID; merged they make one key with both
    assert.notDeepEqual(a!.getUserIDs(), b!.getUserIDs());
    const merged = await a!.update(b!);
    assert.equal(merged.users.length, 2);
    assert.equal(merged.subkeys.length, 1);
    await merged.getEncryptionKey();
  }
  for (const [k] of byFpr.values()) if (k!.subkeys.length > 0) await k!.getEncryptionKey();
  const flooded = [...byFpr.values()].flat().filter((k) => k.users.some((u) => u.otherCertifications.length > 0));
  assert.equal(flooded.length, PARAMS.flooded);
  assert.equal(flooded[0]!.users[0]!.otherCertifications.length, PARAMS.floodCerts);
});

test('the same parameters give the same bytes (any number of workers); another seed gives other keys', async () => {
  const dirB = makeTempDir('gen-b-');
  await generateDump(dirB, PARAMS, { workers: 1, chunkKeys: 77 });
  const a = readDump(dirA);
  const b = readDump(dirB);
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(x.equals(b[i]!), `block ${i} differs`));
  const dirC = makeTempDir('gen-c-');
  await generateDump(dirC, { ...PARAMS, keys: 20, dups: 0, flooded: 0, seed: 'other' }, { workers: 1 });
  const c = readDump(dirC);
  assert.ok(!c[0]!.equals(a[0]!));
});

test('GnuPG imports every v4 key and finds every self-signature good', () => {
  const home = makeTempDir('gen-gpg-');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const gpg = (args: string[]) => spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { encoding: 'utf8' });
  // GnuPG 2.2 does not know v6 keys: give it the v4 ones (version byte right after the key packet header)
  const v4 = readDump(dirA).filter((b) => b[(b[1]! < 192 ? 2 : 3)] === 4);
  assert.ok(v4.length > 150);
  const file = join(home, 'v4.pgp');
  writeFileSync(file, Buffer.concat(v4));
  const imp = gpg(['--import', '--import-options', 'import-show', file]);
  assert.equal(imp.status, 0, imp.stderr);
  const processed = /Total number processed: (\d+)/.exec(imp.stderr);
  assert.equal(Number(processed?.[1]), v4.length, imp.stderr);
  const list = gpg(['--with-colons', '--list-keys']);
  // split keys come twice and merge on import: one public key per v4 fingerprint
  const pubs = list.stdout.split('\n').filter((l) => l.startsWith('pub:'));
  assert.equal(pubs.length, PARAMS.keys - manifest.algos.v6);
  const check = gpg(['--with-colons', '--check-signatures']);
  assert.equal(check.status, 0, check.stderr);
  const sigs = check.stdout.split('\n').filter((l) => l.startsWith('sig:'));
  const bad = sigs.filter((l) => l.startsWith('sig:-:') || l.startsWith('sig:%:'));
  assert.deepEqual(bad, []);
  const good = sigs.filter((l) => l.startsWith('sig:!:'));
  assert.ok(good.length >= v4.length, `${good.length} good self-signatures for ${v4.length} keys`);
  // the flooded key's certifications come from signers not in the keyring: unknown, not bad
  assert.equal(sigs.filter((l) => l.startsWith('sig:?:')).length, PARAMS.floodCerts);
});
