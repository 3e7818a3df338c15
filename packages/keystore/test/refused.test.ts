// The memory of refused digests (Hockeypuck issue #108): a refused digest is skipped for refused_backoff_s, then
// offered for fetching again, and old refusals are pruned so the table stays bounded. Real SQLite, explicit clocks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { RefusedDigests } from '../src/store/sqlite/refused.js';
import { makeTempDir } from '../../../test/support/tmp.js';

function memory(backoffS: number): { db: Database.Database; refused: RefusedDigests } {
  const db = new Database(join(makeTempDir('recon-refused-'), 'r.sqlite'));
  return { db, refused: new RefusedDigests(db, backoffS) };
}

test('a refused digest is skipped until the back-off has passed, then fetched again', () => {
  const { db, refused } = memory(3600);
  const [a, b, c] = [randomBytes(16), randomBytes(16), randomBytes(16)];
  refused.record([{ digest: a, reason: 'blocklisted' }, { digest: b, reason: 'cut by policy: certs-per-uid' }], 'peer:1', 1000);
  assert.deepEqual(refused.partition([a, b, c], 1000), { fetch: [c], skipped: 2 });
  assert.deepEqual(refused.partition([a, b, c], 1000 + 3599), { fetch: [c], skipped: 2 });
  const later = refused.partition([a, b, c], 1000 + 3600);
  assert.equal(later.skipped, 0);
  assert.deepEqual(later.fetch.map((d) => d.toString('hex')), [a, b, c].map((d) => d.toString('hex')));
  db.close();
});

test('a second refusal restarts the back-off, keeps the latest reason, and pruning forgets expired refusals', () => {
  const { db, refused } = memory(100);
  const a = randomBytes(16);
  const b = randomBytes(16);
  refused.record([{ digest: a, reason: 'not served by the peer' }], 'peer:1', 1000);
  refused.record([{ digest: b, reason: 'blocklisted' }], 'peer:1', 1050);
  refused.record([{ digest: a, reason: 'blocklisted' }], 'peer:2', 1120);
  assert.equal(refused.isBackedOff(a, 1200), true, 'refused again at 1120: backed off until 1220');
  assert.deepEqual(refused.list().map((r) => [r.digest, r.reason, r.peer]), [
    [b.toString('hex'), 'blocklisted', 'peer:1'], [a.toString('hex'), 'blocklisted', 'peer:2'],
  ]);
  assert.equal(refused.prune(1160), 1, 'b (1050) is older than the back-off at 1160');
  assert.equal(refused.count(), 1);
  assert.equal(refused.isBackedOff(b, 1160), false);
  db.close();
});
