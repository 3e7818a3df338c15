// The jobs sks-cron runs, each with the sksconf setting holding its schedule, and the runner that logs what each
// did and how long it took, and never lets a job overlap itself.
import { integrityOk, type SettingName } from '@sks/keystore';
import { withStore, type CronContext } from './context.js';
import { rotateLogs } from './log-rotate.js';
import { writeStats } from './stats.js';
import { writeDump } from './dump.js';
import { writeBackup } from './backup.js';
import { enforceBlocklist } from './blocklist.js';
import { pruneChangeLog } from './prune-changes.js';
import { runPushSync, PENDING_COUNT_CAP } from './sync/push.js';
import { applyBlocklistFeeds, publishSignedBlocklist } from './sync/blocklist-share.js';
import { recordPushState } from './sync/metrics.js';

export interface Job {
  name: string;
  /** The sksconf setting with its node-cron schedule. */
  schedule: SettingName;
  describe: string;
  /** Does the work; returns what it did (logged). Throws on failure. */
  run(ctx: CronContext): Promise<Record<string, unknown>>;
}

/** Thrown by a job that ran but found something an operator must act on (logged as an alarm). */
export class JobAlarm extends Error {
  constructor(message: string, readonly details: Record<string, unknown>) {
    super(message);
    this.name = 'JobAlarm';
  }
}

/** The full or the quick integrity check: an alarm (error line, failed --run-once) when the database is damaged. */
function integrityJob(name: string, schedule: SettingName, describe: string, quick: boolean): Job {
  return {
    name,
    schedule,
    describe,
    async run(ctx) {
      const alarm = (problems: string[]) =>
        new JobAlarm('database integrity check FAILED: restore from a keydump or backup', {
          database: ctx.base.path(ctx.settings.db_file),
          check: quick ? 'quick_check' : 'integrity_check',
          problems,
        });
      let problems: string[];
      try {
        problems = await withStore(ctx, (s) => s.integrityCheck(ctx.settings.integrity_max_errors, quick));
      } catch (err) {
        // So damaged that SQLite cannot even read it: that is the alarm too.
        const code = String((err as { code?: unknown }).code ?? '');
        if (/^SQLITE_(CORRUPT|NOTADB)/.test(code)) throw alarm([`${code}: ${(err as Error).message}`]);
        throw err;
      }
      if (integrityOk(problems)) return { result: 'ok' };
      throw alarm(problems);
    },
  };
}

export const JOBS: Job[] = [
  {
    name: 'log-rotate',
    schedule: 'cron_log_rotate',
    describe: 'rotate, compress and prune the services\' log files',
    async run(ctx) {
      const r = await rotateLogs({
        dir: ctx.base.path(ctx.settings.log_dir),
        keep: ctx.settings.log_keep,
        graceMs: ctx.settings.log_rotate_grace_ms,
      });
      return { rotated: r.rotated.length, compressed: r.compressed.length, removed: r.removed.length, files: r.rotated };
    },
  },
  {
    name: 'checkpoint',
    schedule: 'cron_checkpoint',
    describe: 'copy the WAL into the database and truncate it',
    run: (ctx) => withStore(ctx, (s) => ({ ...s.checkpoint() })),
  },
  {
    name: 'optimize',
    schedule: 'cron_optimize',
    describe: 'refresh the query planner statistics (PRAGMA optimize / ANALYZE)',
    run: (ctx) => withStore(ctx, (s) => ({ ...s.optimize(ctx.settings.analysis_limit) })),
  },
  {
    name: 'vacuum',
    schedule: 'cron_vacuum',
    describe: 'return free pages to the file system (incremental vacuum)',
    run: (ctx) =>
      withStore(ctx, (s) => {
        const r = s.vacuum({
          stepPages: ctx.settings.vacuum_step_pages,
          minFreePercent: ctx.settings.vacuum_min_free_percent,
          fullMaxBytes: ctx.settings.vacuum_full_max_bytes,
        });
        if (r.reason?.includes('vacuum_full_max_bytes')) ctx.logger.warn(`vacuum skipped: ${r.reason}`);
        return { ...r };
      }),
  },
  integrityJob('integrity', 'cron_integrity', 'PRAGMA integrity_check; an alarm in the log if the database is damaged', false),
  integrityJob('quick-check', 'cron_quick_check', 'PRAGMA quick_check (no index contents); an alarm in the log if the database is damaged', true),
  {
    name: 'stats',
    schedule: 'cron_stats',
    describe: 'regenerate the statistics file',
    run: async (ctx) => ({ ...writeStats(ctx) }),
  },
  {
    name: 'dump',
    schedule: 'cron_dump',
    describe: 'write a keydump into dump_dir',
    run: async (ctx) => ({ ...(await writeDump(ctx)) }),
  },
  {
    name: 'backup',
    schedule: 'cron_backup',
    describe: 'copy the database into backup_dir while the services write; keep backup_keep copies',
    run: async (ctx) => ({ ...(await writeBackup(ctx)) }),
  },
  {
    name: 'blocklist',
    schedule: 'cron_blocklist',
    describe: 'remove stored keys that are on the blocklist',
    run: (ctx) => withStore(ctx, (s) => ({ ...enforceBlocklist(s) })),
  },
  {
    name: 'prune-changes',
    schedule: 'cron_prune_changes',
    describe: 'remove change-log entries older than changes_keep_days that every push target has acknowledged',
    run: (ctx) => withStore(ctx, async (s) => ({ ...(await pruneChangeLog(ctx, s)) })),
  },
  {
    name: 'push-sync',
    schedule: 'cron_push_sync',
    describe: 'push new and changed keys to the sync targets; publish and apply signed blocklists',
    run: (ctx) =>
      withStore(ctx, async (s) => {
        // Blocklists first: a key a trusted operator refuses is not pushed on by this run.
        const feeds = await applyBlocklistFeeds(ctx, s);
        const published = await publishSignedBlocklist(ctx, s);
        const runs = await runPushSync(ctx, s);
        const configured = new Set(runs.map((r) => r.target));
        recordPushState(s.pushTargets().filter((t) => configured.has(t.target))
          .map((t) => ({ ...t, pending: runs.find((r) => r.target === t.target)!.pending })));
        const sum = (k: 'sent' | 'refused' | 'requests') => runs.reduce((n, r) => n + r[k], 0);
        return {
          targets: runs.length, sent: sum('sent'), refused: sum('refused'), requests: sum('requests'),
          failing: runs.filter((r) => r.error).map((r) => r.target), waiting: runs.filter((r) => r.waiting).map((r) => r.target),
          pending: Math.min(PENDING_COUNT_CAP, Math.max(0, ...runs.map((r) => r.pending))),
          ...(feeds.length > 0 ? { blocklistFeeds: feeds } : {}),
          ...(published ? { blocklistPublished: published } : {}),
        };
      }),
  },
];

export function findJob(name: string): Job | undefined {
  return JOBS.find((j) => j.name === name);
}

export type RunOutcome =
  | { status: 'ok'; ms: number; result: Record<string, unknown> }
  | { status: 'failed' | 'alarm'; ms: number; error: string }
  | { status: 'skipped'; ms: 0 };

/** Runs one job unless it is still running (a slow run is never overlapped by its next tick). */
export class JobRunner {
  private readonly running = new Map<string, Promise<RunOutcome>>();

  constructor(private readonly ctx: CronContext) {}

  /** Promises of the runs in progress (to wait for at shutdown). */
  inProgress(): Promise<RunOutcome>[] {
    return [...this.running.values()];
  }

  run(job: Job): Promise<RunOutcome> {
    const log = this.ctx.logger;
    if (this.running.has(job.name)) {
      log.warn('job skipped: its previous run is still going', { job: job.name });
      return Promise.resolve({ status: 'skipped', ms: 0 });
    }
    const p = (async (): Promise<RunOutcome> => {
      const t0 = performance.now();
      const ms = () => Math.round(performance.now() - t0);
      log.info('job started', { job: job.name });
      try {
        const result = await job.run(this.ctx);
        const took = ms();
        log.info('job done', { job: job.name, ms: took, ...result });
        return { status: 'ok', ms: took, result };
      } catch (err) {
        const took = ms();
        if (err instanceof JobAlarm) {
          log.error(`ALARM: ${err.message}`, { job: job.name, ms: took, alarm: true, ...err.details });
          return { status: 'alarm', ms: took, error: err.message };
        }
        const e = err as Error;
        log.error('job failed', { job: job.name, ms: took, error: e.stack ?? String(e) });
        return { status: 'failed', ms: took, error: e.message };
      } finally {
        this.running.delete(job.name);
      }
    })();
    this.running.set(job.name, p);
    return p;
  }
}
