// Our services as an operator runs them: a base directory with its sksconf, and `sks-db` / `sks-cron` each in a
// process of its own (from the sources, as the tests run them), which a test can stop, restart on the same base
// directory and port, or kill -9.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS, type Settings } from '../../packages/keystore/src/index.js';
import { makeTempDir } from './tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN: Record<ServiceName, string> = {
  'sks-db': join(ROOT, 'packages/sks-db/src/main.ts'),
  'sks-cron': join(ROOT, 'packages/sks-cron/src/main.ts'),
  'sks-recon': join(ROOT, 'packages/sks-recon/src/main.ts'),
  'sks-admin': join(ROOT, 'packages/sks-admin/src/main.ts'),
};

export type ServiceName = 'sks-db' | 'sks-cron' | 'sks-recon' | 'sks-admin';

/** `settings` in sksconf syntax (a true boolean is a bare `name:`, lists space separated). */
export function sksconfText(settings: Partial<Settings>): string {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(settings)) {
    const spec = (SETTINGS as Record<string, { type: string }>)[name];
    if (!spec) throw new Error(`unknown setting ${name}`);
    if (spec.type === 'bool') lines.push(value ? `${name}:` : `${name}: false`);
    else if (spec.type === 'list') lines.push(`${name}: ${(value as string[]).join(' ')}`);
    else lines.push(`${name}: ${String(value)}`);
  }
  return lines.join('\n') + '\n';
}

/** A fresh base directory whose sksconf holds `settings`. */
export function makeBasedir(settings: Partial<Settings>, prefix = 'sks-base-'): string {
  const dir = makeTempDir(prefix);
  writeFileSync(join(dir, 'sksconf'), sksconfText(settings));
  return dir;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

export interface Service {
  child: ChildProcess;
  /** SIGTERM, and SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** kill -9, at once. */
  kill(): Promise<void>;
}

/** Lines of a service's JSON log in its base directory. */
export function logLines(basedir: string, service: string): Array<Record<string, unknown>> {
  const f = join(basedir, 'log', `${service}.log`);
  if (!existsSync(f)) return [];
  return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The log line that says a service is ready. */
const READY: Record<'sks-cron' | 'sks-recon', string> = { 'sks-cron': 'sks-cron started', 'sks-recon': 'sks-recon listening' };

/** Starts a service on a base directory and resolves once it is ready (sks-db and sks-recon listen; sks-cron has
 * scheduled its jobs). */
export async function startService(name: 'sks-db' | 'sks-cron' | 'sks-recon', basedir: string, env: Record<string, string> = {}): Promise<Service> {
  const readyLines = () => (name === 'sks-db' ? 0 : logLines(basedir, name).filter((l) => l.message === READY[name]).length);
  const startedBefore = readyLines();
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN[name], '--basedir', basedir], {
    stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, SKS_QUIET: '1', ...env },
  });
  children.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode} before it was ready:\n${stderr}`);
    const ready = name === 'sks-db' ? /sks-db listening on/.test(stderr) : readyLines() > startedBefore;
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`${name} not ready within 60 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const gone = () => child.exitCode !== null || child.signalCode !== null;
  // A service that dies under a test shows up there only as refused connections: say why, where the test's output is.
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping) return;
    const log = logLines(basedir, name).slice(-20).map((l) => JSON.stringify(l)).join('\n');
    console.error(`${name} (pid ${child.pid}) exited by itself (code ${code}, signal ${signal}); its stderr:\n${stderr}\nits last log lines:\n${log}`);
  });
  return {
    child,
    async stop() {
      stopping = true;
      if (!gone()) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }
      children.delete(child);
    },
    async kill() {
      stopping = true;
      if (!gone()) {
        child.kill('SIGKILL');
        await exited;
      }
      children.delete(child);
    },
  };
}

/** Runs a program of the suite to its end (`sks-admin mail-in`, `sks-cron --run-once JOB`), with input on stdin;
 * resolves with its exit code and output. */
export function runCli(name: ServiceName, args: string[], input?: Buffer | string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', MAIN[name], ...args], {
      stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, SKS_QUIET: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
