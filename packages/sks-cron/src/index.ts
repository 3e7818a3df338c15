// Public surface of sks-cron: the jobs, the runner and the scheduler (tests and the suite runner use them).
export { JOBS, JobRunner, JobAlarm, findJob, type Job, type RunOutcome } from './jobs.js';
export { startCron, validateSchedules, isDisabled, type RunningCron } from './scheduler.js';
export { cronContext, withStore, type CronContext, type CronOptions } from './context.js';
export { rotateLogs, type RotateOptions, type RotateResult } from './log-rotate.js';
export { enforceBlocklist } from './blocklist.js';
export { writeStats } from './stats.js';
export { writeDump } from './dump.js';
export { writeBackup, type BackupResult } from './backup.js';
