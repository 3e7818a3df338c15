#!/usr/bin/env node
// `make run`: sks-db, sks-recon and sks-cron as child processes on one base directory, in the foreground.
//   node scripts/run-suite.mjs [--basedir DIR]        (default $SKS_BASEDIR, else volumes/sks)
// Each line a service prints is prefixed with its name. Ctrl-C or SIGTERM stops all three cleanly (each gets
// SIGTERM, then SIGKILL after SKS_STOP_TIMEOUT_MS, default 10 s); if one exits by itself, the others are
// stopped and the suite exits with that service's exit code.
// SKS_RUN_SOURCE=1 runs the TypeScript sources through tsx instead of dist/ (tests, development).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const bi = argv.indexOf('--basedir');
const basedir = resolve(bi >= 0 ? argv[bi + 1] : process.env.SKS_BASEDIR || join(root, 'volumes/sks'));
const fromSource = process.env.SKS_RUN_SOURCE === '1';
const stopTimeoutMs = Number(process.env.SKS_STOP_TIMEOUT_MS || 10000);

const SERVICES = ['sks-db', 'sks-recon', 'sks-cron'];

function command(service) {
  const pkg = join(root, 'packages', service);
  if (fromSource) {
    return [process.execPath, ['--conditions=source', '--import', 'tsx', join(pkg, 'src/main.ts'), '--basedir', basedir]];
  }
  const main = join(pkg, 'dist/main.js');
  if (!existsSync(main)) {
    console.error(`[suite] ${main} is missing: run "make build" (or make run) first`);
    process.exit(1);
  }
  return [process.execPath, ['--enable-source-maps', main, '--basedir', basedir]];
}

const children = new Map();
let stopping = false;
let exitCode = 0;

function say(line) {
  process.stderr.write(`[suite] ${line}\n`);
}

function prefix(stream, name, out) {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on('line', (line) => out.write(`[${name}] ${line}\n`));
}

function stopAll(reason) {
  if (stopping) return;
  stopping = true;
  say(`stopping all services (${reason})`);
  for (const [name, child] of children) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    child.kill('SIGTERM');
    const t = setTimeout(() => {
      say(`${name} did not stop within ${stopTimeoutMs} ms; killing it`);
      child.kill('SIGKILL');
    }, stopTimeoutMs);
    t.unref();
  }
}

for (const name of SERVICES) {
  const [cmd, args] = command(name);
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, SKS_BASEDIR: basedir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(name, child);
  prefix(child.stdout, name, process.stdout);
  prefix(child.stderr, name, process.stderr);
  child.on('error', (err) => {
    say(`${name} could not start: ${err.message}`);
    if (!exitCode) exitCode = 1;
    stopAll(`${name} could not start`);
  });
  child.on('exit', (code, signal) => {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (!stopping) {
      say(`${name} exited by itself (${how})`);
      exitCode = code ?? 1;
      stopAll(`${name} exited`);
    } else {
      say(`${name} stopped (${how})`);
    }
    if ([...children.values()].every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(exitCode);
  });
}
say(`started ${SERVICES.join(', ')} on ${basedir}${fromSource ? ' (from sources)' : ''}`);

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
process.on('SIGHUP', () => stopAll('SIGHUP'));
