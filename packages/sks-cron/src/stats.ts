// Statistics regeneration: sks-db's statistics (the same JSON as /pks/lookup?op=stats&options=mr) plus the
// database's size, written atomically to <basedir>/<stats_file> for monitoring and other operators' scripts.
import { renameSync, statSync, writeFileSync } from 'node:fs';
import { openContext, statsJson } from '@sks/sks-db';
import type { CronContext } from './context.js';

export interface StatsResult {
  file: string;
  totalKeys: number;
}

function size(file: string): number {
  return statSync(file, { throwIfNoEntry: false })?.size ?? 0;
}

export function writeStats(ctx: CronContext): StatsResult {
  const { ctx: db, close } = openContext({ basedir: ctx.base.dir, settings: ctx.settings, logger: ctx.logger });
  try {
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
  } finally {
    close();
  }
}
