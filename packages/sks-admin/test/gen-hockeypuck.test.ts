// Generated public-profile keys (the bench dump's shape) under the hockeypuck recon profile, against what Hockeypuck
// 2.3's own code made of the same keys: the first keys of the seed "bench" dump, which any size of that dump shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fingerprintOf, hockeypuckProfile, readPackets, splitKeys } from '@sks/keystore';
import { generateDump, type GenParams } from '../src/gen.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { assertSameAsHockeypuck, readHockeypuckJson, type OracleResult } from '../../../test/support/hockeypuck-vectors.js';

interface PublicVectors {
  generator: { profile: 'public'; seed: string; keys: number };
  keys: OracleResult[];
}

test('generated public-profile keys normalise under the hockeypuck profile as Hockeypuck 2.3 normalises them', async () => {
  const vectors = readHockeypuckJson<PublicVectors>('public-profile-bench-hockeypuck-2.3.json');
  const dir = makeTempDir('hp-public-');
  const params: GenParams = { keys: vectors.generator.keys, seed: vectors.generator.seed, profile: 'public', dups: 0, flooded: 0, floodCerts: 0, keysPerFile: 100_000 };
  const manifest = await generateDump(dir, params, { workers: 2 });
  const keys = manifest.files.flatMap((f) => splitKeys(readPackets(readFileSync(join(dir, f)))));
  assert.equal(keys.length, vectors.keys.length);
  const profile = hockeypuckProfile();
  let changed = 0;
  keys.forEach((k, i) => {
    const oracle = vectors.keys[i]!;
    assert.equal(fingerprintOf(k[0]!.body), oracle.fingerprint, `key ${i} is not the one the vectors were made from`);
    const outcome = profile.normalise(k);
    assertSameAsHockeypuck(outcome, oracle, `key ${i} (${oracle.fingerprint})`);
    if (outcome.ok && outcome.drops.length) changed++;
  });
  // the sample holds keys Hockeypuck changes (photo IDs, hard revocations, oversized packets), not only plain ones
  assert.ok(changed >= 20, `${changed} changed keys`);
});
