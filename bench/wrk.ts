// wrk (Debian's) as the benchmarks drive it: a Lua script walking a list of paths, one run, its figures.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';

export interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** wrk's own report, for a message when the figures are not what was expected. */
  report?: string;
}

/** A wrk Lua script that walks through a list of paths, one per request. */
export function luaScript(dir: string, name: string, paths: string[]): string {
  const list = join(dir, `${name}.paths`);
  writeFileSync(list, paths.join('\n') + '\n');
  const script = join(dir, `${name}.lua`);
  writeFileSync(
    script,
    `local paths = {}\nfor line in io.lines("${list}") do paths[#paths + 1] = line end\n` +
      `local reqs = {}\nlocal i = 0\n` +
      `function setup(thread) thread:set("offset", math.random(#paths)) end\n` +
      // requests formatted once per thread, not per request: wrk shares the 2 cores with the server under test
      `function init(args)\n  i = offset or 0\n  for k = 1, #paths do reqs[k] = wrk.format("GET", paths[k]) end\nend\n` +
      `request = function()\n  i = (i % #reqs) + 1\n  return reqs[i]\nend\n`,
  );
  return script;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

/** Busy and total jiffies of all cores so far (/proc/stat's first line). */
function cpuJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/** Share of the machine's CPU (all cores) below which a round may start, and the longest wait for it. */
const QUIET_CPU_SHARE = 0.15;
const QUIET_WAIT_MAX_MS = 5000;

/** Waits until the machine is nearly idle: a server asked in the round before may still be answering requests
 * that wrk had queued when it stopped (SKS, one request at a time, had a p99 of seconds on the large stores), and
 * that work would otherwise land in the next server's first second, where it inflates the p99. */
export async function quietMachine(): Promise<void> {
  const until = Date.now() + QUIET_WAIT_MAX_MS;
  let before = cpuJiffies();
  while (Date.now() < until) {
    await sleep(200);
    const now = cpuJiffies();
    const share = (now.busy - before.busy) / Math.max(1, now.total - before.total);
    if (share < QUIET_CPU_SHARE) return;
    before = now;
  }
}

/** Reads every file under these folders (or these files) once, so the store a server is about to be measured on lies
 * in the OS page cache, as on a server whose memory holds it. This machine (a VM) pages out file pages idle for a
 * minute (DAMON, action pageout): after a minute of building or measuring the other server, random lookups of a 1M
 * store read from the disk, and the same server measured 20k req/s instead of 33-39k with its store read just before
 * (op=get, caches off). Both servers get the same treatment; their own caches stay as configured. */
export function residentFiles(paths: string[]): void {
  const chunk = Buffer.allocUnsafe(1 << 20);
  const read = (path: string) => {
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) read(join(path, name));
      return;
    }
    if (!st.isFile()) return;
    const fd = openSync(path, 'r');
    try {
      while (readSync(fd, chunk, 0, chunk.length, null) > 0);
    } finally {
      closeSync(fd);
    }
  };
  for (const p of paths) read(p);
}

/** One wrk run of `seconds` at `conc` connections, started once the machine is quiet unless `waitForQuiet` is false
 * (a run meant to overlap other work: uploads, a flood, a node being stopped at a set time). */
export async function runWrk(url: string, script: string, conc: number, seconds: number, { waitForQuiet = true } = {}): Promise<WrkResult> {
  if (waitForQuiet) await quietMachine();
  return new Promise((resolve, reject) => {
    const args = ['-t', String(Math.min(conc, 2)), '-c', String(conc), '-d', `${seconds}s`, '--timeout', '10s', '--latency', '-s', script, url];
    const p = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', reject);
    p.on('close', () => {
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
      const p50 = toMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? '');
      const p99 = toMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? '');
      const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
      const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      const errors = (errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + non2xx;
      if (!Number.isFinite(rps)) reject(new Error(`wrk gave no figures:\n${out}`));
      else resolve({ rps, p50, p99, errors, report: out });
    });
  });
}

/** The run with the median throughput (its own p50 and p99 go with it). */
export function medianRun(runs: WrkResult[]): WrkResult {
  const sorted = [...runs].sort((x, y) => x.rps - y.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}
