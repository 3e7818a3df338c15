// The keydump sks-cron writes, read back by GnuPG: every stored key, in SKS's dump file layout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JobRunner, findJob } from '../../src/index.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { basedirWithKeys, quietContext } from '../helpers.js';

/** Primary fingerprints GnuPG lists in the files, in order. */
function gnupgFingerprints(files: string[]): string[] {
  const home = makeTempDir('cron-gpg-');
  const fprs: string[] = [];
  for (const f of files) {
    const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--fixed-list-mode', '--show-keys', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    let afterPub = false;
    for (const line of r.stdout.split('\n')) {
      const field = line.split(':');
      if (field[0] === 'fpr' && afterPub) fprs.push(field[9]!);
      afterPub = field[0] === 'pub';
    }
  }
  return fprs;
}

test('GnuPG reads back every key of the dump job\'s files', async () => {
  const { basedir, fingerprints } = basedirWithKeys('dump_keys_per_file: 15\n');
  const r = await new JobRunner(quietContext(basedir)).run(findJob('dump')!);
  assert.equal(r.status, 'ok', JSON.stringify(r));
  const dir = join(basedir, 'dump');
  const files = readdirSync(dir).filter((f) => /^sks-dump-\d+\.pgp$/.test(f)).sort().map((f) => join(dir, f));
  assert.equal(files.length, 3);
  assert.deepEqual(gnupgFingerprints(files).sort(), [...fingerprints].sort());
});
