// Statistics regeneration: the same JSON as /pks/lookup?op=stats&options=mr (the library's statsDocument over its
// change-log tally) plus the database's size, written atomically to <basedir>/<stats_file> for monitoring and
// other operators' scripts.
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { ChangeTally, KeyStore } from '@sks/keystore';
import { statsDocument, statsPeers, statsSyncTargets } from '@sks/hkp';
import type { CronContext } from './context.js';

export interface StatsResult {
  file: string;
  totalKeys: number;
}

function size(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** One read-only store and tally per cron context, kept between runs: the tally then reads only what changed since
 * the last run (the first run reads a week of the log). The connection holds no transaction between runs. */
const tallies = new WeakMap<CronContext, { store: KeyStore; tally: ChangeTally }>();

export function writeStats(ctx: CronContext): StatsResult {
  const dbFile = ctx.base.path(ctx.settings.db_file);
  let entry = tallies.get(ctx);
  if (!entry) {
    const store = KeyStore.open(dbFile, { readonly: true, logger: ctx.logger });
    entry = { store, tally: new ChangeTally(store) };
    tallies.set(ctx, entry);
  }
  const snapshot = entry.tally.snapshot();
  const out = {
    ...statsDocument(ctx.settings, statsPeers(ctx.base.path('membership'), ctx.settings, entry.store), snapshot,
      statsSyncTargets(ctx.base, ctx.settings, entry.store)),
    generated_by: 'sks-cron',
    blocklisted: entry.store.blocklist().length,
    database: { file_bytes: size(dbFile), wal_bytes: size(`${dbFile}-wal`) },
  };
  const file = ctx.base.path(ctx.settings.stats_file);
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
  renameSync(tmp, file);
  return { file, totalKeys: snapshot.totalKeys };
}
