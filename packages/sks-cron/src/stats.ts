// Statistics regeneration: sks-db's statistics (the same JSON as /pks/lookup?op=stats&options=mr) plus the
// database's size, written atomically to <basedir>/<stats_file> for monitoring and other operators' scripts.
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { computeStats, openContext, statsJson } from '@sks/sks-db';
import type { CronContext } from './context.js';

export interface StatsResult {
  file: string;
  totalKeys: number;
}

function size(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

/** One sks-db context per cron context, kept between runs: its change-log tally then reads only what changed
 * since the last run (the first run reads the whole log). Its read-only connection holds no transaction between runs. */
const contexts = new WeakMap<CronContext, ReturnType<typeof openContext>>();

export function writeStats(ctx: CronContext): StatsResult {
  let opened = contexts.get(ctx);
  if (!opened) {
    opened = openContext({ basedir: ctx.base.dir, settings: ctx.settings, logger: ctx.logger });
    contexts.set(ctx, opened);
  }
  const { ctx: db } = opened;
  {
    computeStats(db); // fresh figures (statsJson alone would show the last snapshot)
    const stats = statsJson(db) as Record<string, unknown>;
    const dbFile = ctx.base.path(ctx.settings.db_file);
    const out = {
      ...stats,
      generated_by: 'sks-cron',
      blocklisted: db.store.blocklist().length,
      database: { file_bytes: size(dbFile), wal_bytes: size(`${dbFile}-wal`) },
    };
    const file = ctx.base.path(ctx.settings.stats_file);
    const tmp = `${file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(out, null, 2)}\n`);
    renameSync(tmp, file);
    return { file, totalKeys: Number(stats.total_keys ?? 0) };
  }
}
