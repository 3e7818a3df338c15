// The whole suite as an operator runs it: `make run` (sks-admin init, then scripts/run-suite.mjs starting sks-db,
// sks-recon and sks-cron) on a fresh base directory, behind real nginx configured from the compose file's template.
// debian-keyring is loaded with `sks-admin load` (less five keys), GnuPG receives keys through nginx, sks-recon
// reconciles with a real SKS 1.1.6 holding the whole keyring and fetches the five, every cron job runs once on
// demand while lookups through nginx go on without an error, metrics count it all, and SIGTERM stops everything.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import http from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir } from './support/tmp.js';
import { freePort, freePortPair, freePortRun, waitForPort } from './support/ports.js';
import { renderSksTemplate } from './support/nginx.js';
import { mainConf } from '../scripts/nginx-conf.mjs';
import { DEBIAN_KEYRING, keyBlocks } from './support/keyrings.js';
import { startSks, type Sks } from './support/sks.js';
import { makeGpg, colonFingerprints } from '../packages/sks-db/test/integration/helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = ['--conditions=source', '--import', 'tsx'];
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function admin(basedir: string, ...args: string[]) {
  const r = spawnSync(process.execPath, [...TSX, join(ROOT, 'packages/sks-admin/src/main.ts'), ...args, '--basedir', basedir], {
    encoding: 'utf8', env: { ...process.env, SKS_QUIET: '1' }, timeout: 600_000,
  });
  assert.equal(r.status, 0, `sks-admin ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Fingerprints GnuPG sees in a binary keyring (independent of our parser). */
function gpgFingerprints(file: string): string[] {
  const home = makeTempDir('suite-gpg-show-');
  const r = spawnSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--show-keys', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return colonFingerprints(r.stdout);
}

interface Suite {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** scripts/run-suite.mjs as `make run` starts it (from the sources, so the test needs no build). */
function runSuite(basedir: string): Suite {
  const child = spawn(process.execPath, [join(ROOT, 'scripts/run-suite.mjs')], {
    cwd: ROOT, env: { ...process.env, SKS_BASEDIR: basedir, SKS_RUN_SOURCE: '1', SKS_QUIET: '0' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const kill = () => child.kill('SIGKILL');
  process.on('exit', kill);
  return { child, output: () => out, exited };
}

/** Waits for the suite's ports; if the suite exits first (a service could not start), fails at once with what it
 * printed rather than after the timeout. */
async function untilListening(suite: Suite, ports: number[], timeoutMs = 120_000): Promise<void> {
  const exited = suite.exited.then((code) => {
    throw new Error(`run-suite exited (code ${code}) before listening`);
  });
  exited.catch(() => undefined); // it may exit later, when the test stops it: that is no failure here
  try {
    await Promise.race([Promise.all(ports.map((p) => waitForPort(p, timeoutMs))), exited]);
  } catch (e) {
    (e as Error).message += `\nrun-suite printed:\n${suite.output().slice(-4000)}`;
    throw e;
  }
}

function startNginx(listen: number, upstream: number, tlsPort: number): Promise<ChildProcess> {
  const prefix = makeTempDir('suite-nginx-');
  const { server } = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: `127.0.0.1:${listen}`, NGINX_HKPS_PORT: `127.0.0.1:${tlsPort}`, SKS_DB_UPSTREAM: `127.0.0.1:${upstream}`,
    NGINX_HOSTNAME: 'suite.test',
  });
  writeFileSync(join(prefix, 'nginx.conf'), mainConf(prefix, server, { connections: 512 }));
  const nginx = spawn('/usr/sbin/nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
  process.on('exit', () => nginx.kill('SIGKILL'));
  cleanups.push(async () => {
    if (nginx.exitCode !== null) return;
    const gone = new Promise((r) => nginx.once('exit', r));
    nginx.kill('SIGQUIT');
    await gone;
  });
  return waitForPort(listen).then(() => nginx);
}

function get(port: number, path: string, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs = 180_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The value of a Prometheus sample (summed over the series matching all `labels`). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

test('make run on a fresh base directory: nginx, gpg, recon with real SKS, every cron job under lookups, metrics, clean stop', async (t) => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const tmp = makeTempDir('suite-keys-');
  // The five keys we leave out: SKS has them, we must get them by recon.
  const lackFile = join(tmp, 'lack.gpg');
  writeFileSync(lackFile, Buffer.concat(blocks.slice(0, 5)));
  const loadFile = join(tmp, 'ours.gpg');
  writeFileSync(loadFile, Buffer.concat(blocks.slice(5)));
  const lacking = gpgFingerprints(lackFile);
  const loaded = gpgFingerprints(loadFile);
  assert.equal(lacking.length, 5);

  const [reconPort, hkpPort] = await freePortPair();
  const nginxPort = await freePort();
  const [metricsPort] = (await freePortRun(3)) as [number]; // sks-db, sks-recon (+1), sks-cron (+2)
  const basedir = join(makeTempDir('suite-'), 'sks');

  // The SKS peer: the whole keyring; it only answers (we initiate), and lets us in.
  const sksP = startSks({ keyFiles: [DEBIAN_KEYRING], gossip: false, membership: [{ host: '127.0.0.1', port: reconPort }] });
  let sks: Sks | undefined;
  cleanups.push(async () => {
    await (sks ?? (await sksP.catch(() => undefined)))?.stop();
  });

  // make run: sksconf of this run (init never overwrites it), init, load, then the three services.
  mkdirSync(basedir, { recursive: true });
  writeFileSync(join(basedir, 'sksconf'), [
    'hostname: suite.test', 'hkp_address: 127.0.0.1', `hkp_port: ${hkpPort}`, 'db_workers: 2',
    'recon_address: 127.0.0.1', `recon_port: ${reconPort}`, `recon_http_port: ${nginxPort}`, 'gossip_interval_s: 1',
    'metrics_address: 127.0.0.1', `metrics_port: ${metricsPort}`, '',
  ].join('\n'));
  admin(basedir, 'init');
  admin(basedir, 'load', loadFile, '--quiet');
  sks = await sksP;
  writeFileSync(join(basedir, 'membership'), `127.0.0.1 ${sks.reconPort}\n`);

  const suite = runSuite(basedir);
  let stopped = false;
  cleanups.push(async () => {
    if (!stopped) {
      suite.child.kill('SIGTERM');
      await suite.exited;
    }
  });
  await untilListening(suite, [hkpPort, reconPort]);
  await startNginx(nginxPort, hkpPort, await freePort());

  // GnuPG receives a loaded key through nginx.
  const gpg = makeGpg(`hkp://127.0.0.1:${nginxPort}`);
  cleanups.push(() => gpg.cleanup());
  let r = gpg.run(['--recv-keys', loaded[100]!]);
  assert.equal(r.status, 0, r.stderr);

  // sks-recon reconciles with SKS and fetches the five keys; then GnuPG gets one of them through nginx.
  await waitFor('the five keys from SKS', async () => {
    for (const fp of lacking) if ((await get(nginxPort, `/pks/lookup?op=get&search=0x${fp}`)).status !== 200) return false;
    return true;
  });
  r = gpg.run(['--recv-keys', lacking[2]!]);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(colonFingerprints(gpg.run(['--with-colons', '--list-keys']).stdout).sort(), [loaded[100]!, lacking[2]!].sort());
  const statsPage = JSON.parse((await get(nginxPort, '/pks/lookup?op=stats&options=mr')).body) as { total_keys: number };
  assert.equal(statsPage.total_keys, blocks.length);

  // Every cron job once, on demand, while lookups through nginx continue.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const errors: string[] = [];
  let lookups = 0;
  let stopLoad = false;
  const load = (async () => {
    for (let i = 0; !stopLoad; i++) {
      const fp = loaded[(i * 7) % loaded.length]!;
      const paths = [`/pks/lookup?op=get&search=0x${fp}`, `/pks/lookup?op=index&options=mr&search=0x${fp}`, '/pks/lookup?op=stats&options=mr'];
      const results = await Promise.all(paths.map((p) => get(nginxPort, p, agent).catch((e: Error) => ({ status: 0, body: e.message }))));
      for (const [j, res] of results.entries()) {
        if (res.status !== 200) errors.push(`${paths[j]}: ${res.status} ${res.body.slice(0, 120)}`);
        lookups++;
      }
    }
  })();
  await sleep(500);
  const lookupsBefore = lookups;
  const cron = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [...TSX, join(ROOT, 'packages/sks-cron/src/main.ts'), '--run-once', 'all', '--basedir', basedir], {
      env: { ...process.env, SKS_QUIET: '1' }, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('exit', (status) => resolve({ status, stderr }));
  });
  const lookupsDuring = lookups - lookupsBefore;
  await sleep(500);
  stopLoad = true;
  await load;
  agent.destroy();
  assert.equal(cron.status, 0, `sks-cron --run-once all:\n${cron.stderr}`);
  t.diagnostic(`${lookups} lookups through nginx, ${lookupsDuring} of them while sks-cron ran every job`);
  assert.ok(lookupsDuring > 30, `lookups made while the jobs ran: ${lookupsDuring}`);
  assert.deepEqual(errors.slice(0, 5), [], 'lookups continued without an error');

  const cronLog = readFileSync(join(basedir, 'log/sks-cron.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const done = new Set(cronLog.filter((l) => l.message === 'job done').map((l) => l.job));
  for (const job of ['log-rotate', 'checkpoint', 'optimize', 'vacuum', 'integrity', 'quick-check', 'stats', 'dump', 'backup', 'blocklist', 'prune-changes', 'push-sync']) {
    assert.ok(done.has(job), `cron job ${job} done`);
  }
  const stats = JSON.parse(readFileSync(join(basedir, 'stats.json'), 'utf8')) as { total_keys: number };
  assert.equal(stats.total_keys, blocks.length);
  const dumpFile = join(basedir, 'dump/sks-dump-0000.pgp');
  assert.equal(gpgFingerprints(dumpFile).length, blocks.length, 'the keydump holds every key');
  // After the rotation sks-db logs into a fresh file: an upload through nginx is logged there.
  r = gpg.run(['--send-keys', loaded[100]!]);
  assert.equal(r.status, 0, r.stderr);
  await waitFor('the upload in the new sks-db.log', () => {
    try {
      return /"message":"keys uploaded"/.test(readFileSync(join(basedir, 'log/sks-db.log'), 'utf8'));
    } catch {
      return false;
    }
  }, 30_000);

  // Metrics: sks-db (sum over its workers) and sks-recon.
  const dbMetrics = (await get(metricsPort, '/metrics')).body;
  assert.ok(sample(dbMetrics, 'sks_http_requests_total', { route: 'lookup_get', status: '200' }) >= lookups / 3);
  assert.ok(sample(dbMetrics, 'sks_http_request_duration_seconds_count', { route: 'lookup_index' }) > 0);
  assert.equal(sample(dbMetrics, 'sks_keys_written_total', { source: 'add' }), 1, 'the one upload is counted');
  assert.ok(sample(dbMetrics, 'sks_http_requests_total', { route: 'add', status: '200' }) >= 1);
  const reconMetrics = (await get(metricsPort + 1, '/metrics')).body;
  assert.ok(sample(reconMetrics, 'sks_recon_sessions_total', { role: 'initiator', result: 'ok' }) >= 1, reconMetrics.slice(0, 2000));
  assert.equal(sample(reconMetrics, 'sks_recon_keys_recovered_total'), 5);
  assert.equal(sample(reconMetrics, 'sks_keys_written_total', { source: 'recon', outcome: 'inserted' }), 5, 'recon writes are counted like uploads');

  // SIGTERM (what Ctrl-C or a supervisor sends) stops all three cleanly.
  suite.child.kill('SIGTERM');
  const code = await suite.exited;
  stopped = true;
  assert.equal(code, 0, suite.output().slice(-3000));
  for (const port of [hkpPort, reconPort, metricsPort]) {
    const refused = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); res(false); });
      s.on('error', () => res(true));
    });
    assert.ok(refused, `port ${port} closed after the stop`);
  }
  const out = suite.output();
  assert.match(out, /^\[sks-db\] /m);
  assert.match(out, /^\[sks-recon\] /m);
  assert.match(out, /^\[sks-cron\] /m);
  assert.match(out, /\[suite\] sks-cron stopped/);
});

test('when one service dies, run-suite stops the others and exits with its exit code', async () => {
  const basedir = makeTempDir('suite-die-');
  const [reconPort, hkpPort] = await freePortPair();
  // Something else holds the recon port: sks-recon cannot start.
  const blocker = net.createServer().listen(reconPort, '127.0.0.1');
  await new Promise((r) => blocker.once('listening', r));
  try {
    writeFileSync(join(basedir, 'sksconf'), `hkp_address: 127.0.0.1\nhkp_port: ${hkpPort}\ndb_workers: 1\nrecon_address: 127.0.0.1\nrecon_port: ${reconPort}\n`);
    const suite = runSuite(basedir);
    const code = await suite.exited;
    assert.notEqual(code, 0, suite.output().slice(-2000));
    assert.match(suite.output(), /\[suite\] sks-recon exited by itself \(exit code [1-9]\d*\)/);
    assert.match(suite.output(), /\[suite\] stopping all services/);
    await waitFor('sks-db to let go of its port', () => new Promise<boolean>((res) => {
      const s = net.connect(hkpPort, '127.0.0.1');
      s.on('connect', () => { s.destroy(); res(false); });
      s.on('error', () => res(true));
    }), 30_000);
  } finally {
    blocker.close();
  }
});
