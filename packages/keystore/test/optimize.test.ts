// The optimize job's statistics (store.optimize, sks-cron's cron_optimize): row counts for the query planner, and no
// value samples, whatever analysis_limit is. With samples (sqlite_stat4) SQLite re-plans every lookup statement
// on every call (maintenance.ts dropValueSamples says why); the lookups must still use their indexes without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, readPackets, splitKeys } from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { sqliteHandle } from './support/sqlite-handle.js';

const keys = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 200).flatMap((k) => splitKeys(readPackets(k)));

for (const analysisLimit of [0, 1000]) {
  test(`optimize with analysis_limit ${analysisLimit} keeps row counts and no value samples; e-mail lookups still use their index`, () => {
    const store = KeyStore.open(join(makeTempDir('optimize-'), 'keys.sqlite'));
    try {
      store.upsert(keys, 'load');
      const db = sqliteHandle(store);
      if (analysisLimit === 0) {
        // what SQLite itself writes without a limit: samples (so the test sees them go)
        db.exec('ANALYZE');
        assert.ok((db.prepare('SELECT count(*) FROM sqlite_stat4').pluck().get() as number) > 0, 'ANALYZE wrote value samples');
      }
      store.optimize(analysisLimit);
      assert.ok((db.prepare('SELECT count(*) FROM sqlite_stat1').pluck().get() as number) > 0, 'row counts kept');
      const samples = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat4'").get()
        ? db.prepare('SELECT count(*) FROM sqlite_stat4').pluck().get() as number : 0;
      assert.equal(samples, 0, 'no value samples');
      const plan = (db.prepare("EXPLAIN QUERY PLAN SELECT key FROM key_emails WHERE email = 'a@b' ORDER BY key LIMIT 10").all() as Array<{ detail: string }>)
        .map((r) => r.detail).join('; ');
      assert.match(plan, /USING (COVERING )?INDEX/, plan);
      const email = db.prepare('SELECT email FROM key_emails LIMIT 1').pluck().get() as string;
      assert.ok(store.searchText(email, 10).total >= 1, 'and the lookup answers');
    } finally {
      store.close();
    }
  });
}
