// Ctrl-C in a terminal sends SIGINT to the whole process group: sks-db's primary and its cluster workers, some of
// them perhaps still loading. However it lands, the service stops cleanly (exit code 0) once it is up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { makeBasedir } from '../../../../test/support/services.js';
import { freePort } from '../../../../test/support/ports.js';
import { childrenOf } from '../../../../test/support/procs.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

for (const nth of [1, 2]) {
  test(`one Ctrl-C to the process group while cluster worker ${nth} of 2 is still loading: sks-db stops with exit code 0`, async () => {
    const basedir = makeBasedir({ hkp_address: ['127.0.0.1'], hkp_port: await freePort(), db_workers: 2, log_level: 'warn' });
    // its own process group, as a shell gives a job
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN, '--basedir', basedir], {
      detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SKS_QUIET: '1' },
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    // The primary forks worker 1 and, once it listens, worker 2: the signal goes out the moment worker `nth` exists,
    // long before it has loaded (a worker takes hundreds of milliseconds to load its modules).
    const deadline = Date.now() + 60_000;
    // (the source run also has esbuild's service process as a child: count the cluster's workers only)
    while (childrenOf(child.pid!, 'worker.').length < nth && child.exitCode === null) {
      assert.ok(Date.now() < deadline, `worker ${nth} never started:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    process.kill(-child.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
    const [code, signal] = await exited;
    clearTimeout(timer);
    assert.equal(signal, null, `killed by ${signal}:\n${stderr}`);
    assert.equal(code, 0, stderr);
    assert.deepEqual(childrenOf(child.pid!), [], 'no worker left behind');
  });
}
