// The real-SKS harness itself: the vectors in test/fixtures/recon were taken from SKS 1.1.6 on debian-keyring, so an
// SKS started by the harness on the same keyring must report exactly those digests. If this fails, every interop test
// that leans on the harness is suspect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSks, sksDigestSet, sksKeyCount, sksGetDigest } from './support/sks.js';
import { DEBIAN_KEYRING } from './support/keyrings.js';
import { RECON_VECTORS } from './support/fixtures.js';

const vectors = JSON.parse(readFileSync(join(RECON_VECTORS, 'debian-keyring-sks-digests.json'), 'utf8')) as {
  vectors: Array<{ fingerprint: string; sks_hash: string }>;
};

test('real SKS started by the harness reports the digests of the recorded vectors', async () => {
  const sks = await startSks({ keyFiles: [DEBIAN_KEYRING], gossip: false });
  try {
    assert.equal(await sksKeyCount(sks), vectors.vectors.length);
    const got = await sksDigestSet(sks);
    const want = new Set(vectors.vectors.map((v) => v.sks_hash.toLowerCase()));
    assert.equal(got.size, want.size);
    for (const d of want) assert.ok(got.has(d), `SKS lacks digest ${d}`);
    const key = await sksGetDigest(sks.hkpUrl, vectors.vectors[0]!.sks_hash);
    assert.ok(key && key.length > 100 && (key[0]! & 0x80) !== 0, 'op=hget returns a binary key');
    assert.equal(await sksGetDigest(sks.hkpUrl, '00000000000000000000000000000000'), null);
  } finally {
    await sks.stop();
  }
});
