#!/usr/bin/env node
// sks-cron: scheduled upkeep of a base directory. Usage:
//   sks-cron [--basedir DIR]                       run every job on its sksconf schedule, in the foreground
//   sks-cron --run-once JOB|all [--basedir DIR]    run jobs now (all: in the listed order), exit 1 if one failed
//   sks-cron --list                                the jobs and their schedule settings
// SIGTERM / SIGINT: no new runs; a run in progress finishes, then the process exits.
import { readArgs, stopOnSignals } from '@sks/service';
import { JOBS, JobRunner, findJob } from './jobs.js';
import { cronContext } from './context.js';
import { startCron } from './scheduler.js';

const USAGE = 'usage: sks-cron [--basedir DIR] | --run-once JOB|all [--basedir DIR] | --list';

const { values } = readArgs(process.argv.slice(2), {
  basedir: { type: 'string' }, 'run-once': { type: 'string' }, list: { type: 'boolean' },
}, { usage: USAGE });
const basedir = values.basedir;

if (values.list) {
  for (const j of JOBS) console.log(`${j.name.padEnd(12)} ${j.schedule.padEnd(16)} ${j.describe}`);
} else if (values['run-once'] !== undefined) {
  const which = values['run-once'];
  const jobs = which === 'all' ? JOBS : [findJob(which)];
  if (jobs.some((j) => !j)) {
    console.error(`sks-cron --run-once: name one of ${JOBS.map((j) => j.name).join(', ')}, or all`);
    process.exit(2);
  }
  const ctx = cronContext({ basedir });
  const runner = new JobRunner(ctx);
  let failed = 0;
  for (const job of jobs) {
    const r = await runner.run(job!);
    if (r.status !== 'ok') failed++;
  }
  process.exitCode = failed > 0 ? 1 : 0;
} else {
  const running = startCron({ basedir });
  stopOnSignals(() => running.stop(), (e) => console.error(`sks-cron stop failed: ${(e as Error).message}`));
}
