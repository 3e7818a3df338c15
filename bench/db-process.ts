// sks-db in a process of its own, for the lookup benchmarks, as an operator runs it. Started in the benchmark's
// process, sks-db's cluster primary was the benchmark itself, whose heap (the drawn keys, wrk's path lists: hundreds
// of MiB) took collections of up to 1.2 s. Connections that wrk opened meanwhile reached a worker only afterwards:
// about one run in ten had a p99 near a second. An operator's primary is a small process that does nothing else.
import { fileURLToPath } from 'node:url';
import { startDb, type DbOptions, type RunningDb } from '../packages/sks-db/src/index.js';
import { startChild } from './child-process.js';

const SELF = fileURLToPath(import.meta.url);

/** startDb(opts) in a child process (options as JSON: basedir, workers, settings); resolves once it listens. */
export async function startDbProcess(opts: Pick<DbOptions, 'basedir' | 'workers' | 'settings'>): Promise<RunningDb> {
  const child = await startChild<{ port?: number }>(SELF, opts, `sks-db (${opts.basedir})`);
  const port = child.ready.port;
  if (!port) {
    await child.stop();
    throw new Error(`sks-db said ${JSON.stringify(child.ready)}`);
  }
  return { port, url: `http://127.0.0.1:${port}`, stop: child.stop };
}

// The child: serve until told to stop, or until the benchmark that started it is gone.
if (process.argv[1] === SELF && process.send) {
  const db = await startDb(JSON.parse(process.argv[2]!) as DbOptions);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void db.stop().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
  process.send({ port: db.port });
}
