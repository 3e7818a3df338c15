// The synthetic keydump generator's keys as GnuPG reads them: it imports every key and finds every self-signature,
// revocation and certification good. The dumps are the ones gen.test.ts checks otherwise, made once per machine
// (cachedDump).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { cachedDump } from '../../src/gen.js';
import { publicSignerIndexes } from '../../src/gen-public.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { PARAMS, PUBLIC, readDump } from '../gen-helpers.js';

/** GnuPG in a fresh home directory. */
function gnupg(): (args: string[]) => SpawnSyncReturns<string> {
  const home = makeTempDir('gen-gpg-');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  return (args) => spawnSync('gpg', ['--homedir', home, '--batch', '--no-tty', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 });
}

test('GnuPG imports every v4 key and finds every self-signature good', async () => {
  const { dir: dirA, manifest } = await cachedDump(PARAMS, { workers: 2 });
  const gpg = gnupg();
  // GnuPG 2.2 does not know v6 keys: give it the v4 ones (version byte right after the key packet header)
  const v4 = readDump(dirA).filter((b) => b[(b[1]! < 192 ? 2 : 3)] === 4);
  assert.ok(v4.length > 150);
  const file = join(makeTempDir('gen-gpg-v4-'), 'v4.pgp');
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

test('public profile: GnuPG imports every key and finds every self-signature, revocation and certification good', async () => {
  const { dir: dirP } = await cachedDump(PUBLIC, { workers: 2 });
  const gpg = gnupg();
  const file = join(makeTempDir('gen-pub-gpg-'), 'all.pgp');
  writeFileSync(file, Buffer.concat(readDump(dirP)));
  const imp = gpg(['--import', file]);
  assert.equal(imp.status, 0, imp.stderr);
  assert.equal(Number(/Total number processed: (\d+)/.exec(imp.stderr)?.[1]), PUBLIC.keys, imp.stderr);
  assert.equal(Number(/ imported: (\d+)/.exec(imp.stderr)?.[1]), PUBLIC.keys, imp.stderr);
  const check = gpg(['--with-colons', '--check-signatures']);
  assert.equal(check.status, 0, check.stderr);
  const lines = check.stdout.split('\n');
  assert.equal(lines.filter((l) => l.startsWith('pub:')).length, PUBLIC.keys);
  const sigs = lines.filter((l) => l.startsWith('sig:') || l.startsWith('rev:'));
  // the signers of the third-party certifications are keys of this dump (the first few hundred), so every
  // signature can be checked: none bad (-), none without its key (?), none with another error (%)
  assert.ok(Math.max(...publicSignerIndexes(PUBLIC.seed)) < PUBLIC.keys);
  assert.deepEqual(sigs.filter((l) => !/^(sig|rev):!:/.test(l)), []);
  // certifications (classes 10-13) whose issuer (field 5) is not the key being listed
  let keyId = '';
  let thirdParty = 0;
  for (const l of lines) {
    const f = l.split(':');
    if (f[0] === 'pub') keyId = f[4]!;
    else if (f[0] === 'sig' && /^1[0-3]x$/.test(f[10]!) && f[4] !== keyId) thirdParty++;
  }
  assert.ok(thirdParty > PUBLIC.keys, `${thirdParty} third-party certifications checked`);
  assert.ok(lines.some((l) => l.startsWith('rev:!:')), 'revocations checked');
  assert.ok(lines.some((l) => l.startsWith('uat:')), 'photo IDs imported');
  assert.ok(lines.some((l) => l.startsWith('pub:e:')), 'expired keys');
});
