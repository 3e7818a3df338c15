// A benchmark's server in a process of its own (sks-db, the ceiling server): in the benchmark's process it would share
// the benchmark's collector pauses (see db-process.ts).
import { fork } from 'node:child_process';

/** Runs the module `file` as a child process with `arg` (as JSON) as its argument and this process's node options;
 * resolves with the first message it sends (that it is ready) and a stop() that ends it (SIGTERM) and waits. */
export async function startChild<M>(file: string, arg: unknown, what: string): Promise<{ ready: M; stop(): Promise<void> }> {
  const child = fork(file, [JSON.stringify(arg)], { execArgv: process.execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<M>((resolve, reject) => {
    child.once('message', (m) => resolve(m as M));
    void exited.then(() => reject(new Error(`${what} exited before it was ready`)));
  });
  return {
    ready,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
