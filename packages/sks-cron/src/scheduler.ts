// Schedules every job on its sksconf cron expression (node-cron). A schedule of "off" (or empty) disables a job.
import { existsSync, readFileSync } from 'node:fs';
import cron from 'node-cron';
import { ConfigError } from '@sks/keystore';
import { startMetricsServer, type MetricsServer } from '@sks/service';
import { JOBS, JobRunner, type Job } from './jobs.js';
import { cronContext, type CronContext, type CronOptions } from './context.js';

export interface RunningCron {
  ctx: CronContext;
  runner: JobRunner;
  scheduled: Array<{ job: string; schedule: string }>;
  /** Stops scheduling and waits for the runs in progress. */
  stop(): Promise<void>;
}

export function isDisabled(expr: string): boolean {
  return expr.trim() === '' || /^(off|never|disabled?)$/i.test(expr.trim());
}

/** Checks every schedule before anything starts, naming the setting of a bad one. */
export function validateSchedules(ctx: CronContext): Array<{ job: Job; expr: string }> {
  const out: Array<{ job: Job; expr: string }> = [];
  for (const job of JOBS) {
    const expr = String(ctx.settings[job.schedule]);
    if (isDisabled(expr)) continue;
    if (!cron.validate(expr)) {
      const file = ctx.base.path('sksconf');
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split(/\r?\n/) : [];
      const line = lines.findIndex((l) => l.trim().startsWith(`${job.schedule}:`)) + 1;
      throw new ConfigError(file, line, job.schedule, `"${expr}" is not a cron expression (5 or 6 fields) or "off"`);
    }
    out.push({ job, expr });
  }
  return out;
}

export function startCron(opts: CronOptions = {}): RunningCron {
  const ctx = cronContext(opts);
  const runner = new JobRunner(ctx);
  const plan = validateSchedules(ctx);
  // Prometheus on metrics_port + 2 (sks-db metrics_port, sks-recon + 1): the push-sync gauges and the process's own.
  let metrics: Promise<MetricsServer | undefined> = Promise.resolve(undefined);
  if (ctx.settings.metrics_port > 0) {
    metrics = startMetricsServer({ port: ctx.settings.metrics_port + 2, address: ctx.settings.metrics_address }).catch((e: Error) => {
      ctx.logger.error('metrics server could not start', { port: ctx.settings.metrics_port + 2, error: e.message });
      return undefined;
    });
  }
  const tasks = plan.map(({ job, expr }) =>
    cron.schedule(expr, () => void runner.run(job), { scheduled: true, timezone: 'UTC', name: job.name }),
  );
  const scheduled = plan.map(({ job, expr }) => ({ job: job.name, schedule: expr }));
  ctx.logger.info('sks-cron started', { scheduled });
  return {
    ctx,
    runner,
    scheduled,
    async stop() {
      for (const t of tasks) t.stop();
      await Promise.all(runner.inProgress());
      await (await metrics)?.stop();
      ctx.logger.info('sks-cron stopped');
    },
  };
}
