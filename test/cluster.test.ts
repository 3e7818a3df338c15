// `make cluster` with three nodes (scripts/run-cluster.mjs from the sources: each node scripts/run-suite.mjs on its
// own base directory and loopback address, reconciling with the others every second, behind real nginx as the load
// balancer). A key GnuPG sends through the balancer is served by every node directly within a few gossip intervals;
// one node stopped under a wrk lookup load through the balancer costs no failed request (p99 reported); keys sent
// while it is down reach it by recon alone once it is started again; a node that hangs (SIGSTOP) costs its share of
// lookups nginx's read timeout, no failure; an outside peer is given to node1 alone.
// Everything listens on loopback.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeTempDir } from './support/tmp.js';
import { freePort } from './support/ports.js';
import { descendants } from './support/procs.js';
import { makeGpg, genKey } from '../packages/sks-db/test/integration/helpers.js';
import { luaScript, runWrk } from '../bench/wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODES = 3;
const GOSSIP_S = 1;

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

interface Proc {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** A process in a process group of its own: stopped with SIGTERM by the test, killed with its whole group if the
 * test process exits first (no node, service or nginx outlives the test). */
function startGroup(args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  process.on('exit', () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch { /* already gone */ }
  });
  cleanups.push(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  });
  return { child, output: () => out, exited };
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** A CLUSTER_PORT_BASE whose node ports (BASE+10i, BASE+10i+1 on 127.0.0.(10+i)) are all free. */
async function freePortBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 10 * Math.floor(Math.random() * 3000);
    let ok = true;
    for (let i = 1; i <= NODES && ok; i++) {
      for (const p of [base + 10 * i, base + 10 * i + 1]) ok &&= await canListen(`127.0.0.${10 + i}`, p);
    }
    if (ok) return base;
  }
  throw new Error('no free port range for the nodes');
}

function get(host: string, port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http.get({ host, port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', (e) => resolve({ status: 0, body: e.message }));
  });
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, timeoutMs: number): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (await cond()) return Date.now() - t0;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

test('three nodes behind nginx: an upload reaches every node, a stopped or hung node costs no request, a restarted one catches up by recon', async (t) => {
  const tmp = makeTempDir('cluster-');
  const dir = join(tmp, 'cluster');
  const lbPort = await freePort();
  const base = await freePortBase();
  const nodes = Array.from({ length: NODES }, (_, k) => ({ name: `node${k + 1}`, host: `127.0.0.${11 + k}`, hkp: base + 10 * (k + 1) + 1 }));
  const extra = join(tmp, 'sksconf.extra');
  writeFileSync(extra, `gossip_interval_s: ${GOSSIP_S}\n`);
  // A peer outside the cluster (nothing listens there: its sessions fail at once), for node1 alone.
  mkdirSync(dir);
  writeFileSync(join(dir, 'peers'), `127.0.0.99 ${base}  # outside\n`);

  const cluster = startGroup([join(ROOT, 'scripts/run-cluster.mjs')], {
    CLUSTER_NODES: String(NODES), CLUSTER_DIR: dir, CLUSTER_HKP_PORT: String(lbPort), CLUSTER_HKPS_PORT: String(await freePort()),
    CLUSTER_PORT_BASE: String(base), CLUSTER_SKSCONF: extra, SKS_RUN_SOURCE: '1', SKS_HOSTNAME: 'cluster.test',
    SKS_ADD_RATE: '100r/s', SKS_CONN_PER_CLIENT: '1000',
  });
  await waitFor('the cluster to be ready', () => {
    if (cluster.child.exitCode !== null) throw new Error(`run-cluster exited:\n${cluster.output().slice(-3000)}`);
    return /\[cluster\] 3 nodes behind the balancer/.test(cluster.output());
  }, 150_000);
  const pids = new Map([...cluster.output().matchAll(/\[cluster\] (node\d): pid (\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  assert.equal(pids.size, NODES);
  for (const n of nodes) {
    const members = readFileSync(join(dir, n.name, 'membership'), 'utf8').split('\n').filter((l) => /^\d/.test(l));
    const others = nodes.filter((o) => o !== n).map((o) => `${o.host} ${o.hkp - 1}  # ${o.name}`);
    assert.deepEqual(members, n.name === 'node1' ? [...others, `127.0.0.99 ${base}  # outside`] : others, `${n.name}'s membership`);
  }
  const servedBy = async (fp: string, which = nodes) =>
    (await Promise.all(which.map((n) => get(n.host, n.hkp, `/pks/lookup?op=get&options=mr&search=0x${fp}`)))).every((r) => r.status === 200);

  // (1) GnuPG sends a key through the balancer; every node serves it directly soon after.
  const gpg = makeGpg(`hkp://127.0.0.1:${lbPort}`);
  cleanups.push(() => gpg.cleanup());
  const first = genKey(gpg, 'Cluster One <one@cluster.test>');
  let r = gpg.run(['--send-keys', first]);
  assert.equal(r.status, 0, r.stderr);
  const convergeMs = await waitFor('every node to serve the uploaded key', () => servedBy(first), 20 * GOSSIP_S * 1000);
  t.diagnostic(`upload through the balancer served by all ${NODES} nodes after ${convergeMs} ms (gossip interval ${GOSSIP_S} s)`);

  // (2) wrk looks the key up through the balancer while node2 is stopped.
  // Key fetches only: index searches through nginx have a per-client limit (burst 20) that wrk's one address would hit.
  const paths = [`/pks/lookup?op=get&options=mr&search=0x${first}`, `/pks/lookup?op=get&search=0x${first.slice(-16)}`,
    '/pks/lookup?op=get&options=mr&search=one%40cluster.test'];
  const load = runWrk(`http://127.0.0.1:${lbPort}`, luaScript(tmp, 'cluster', paths), 16, 12, { waitForQuiet: false });
  await sleep(4000);
  const down = nodes[1]!;
  process.kill(pids.get(down.name)!, 'SIGTERM');
  await waitFor(`${down.name} to stop`, () => /\[cluster\] node2 stopped/.test(cluster.output()), 30_000);
  const w = await load;
  t.diagnostic(`wrk through the balancer, c=16 for 12 s, node2 stopped at 4 s: ${Math.round(w.rps)} req/s, p50 ${w.p50} ms, ` +
    `p99 ${w.p99} ms, ${w.errors} errors`);
  assert.equal(w.errors, 0, `no failed request while a node stopped; wrk said:\n${w.report}\nnginx:\n${
    readFileSync(join(dir, 'nginx/logs/error.log'), 'utf8').split('\n').filter((l) => !/\[notice\]/.test(l)).slice(0, 20).join('\n')}`);
  assert.ok(w.rps > 10, `requests answered: ${w.rps}/s`);
  const nginxLog = readFileSync(join(dir, 'nginx/logs/error.log'), 'utf8');
  assert.match(nginxLog, new RegExp(`upstream: "http://${down.host.replaceAll('.', '\\.')}:${down.hkp}/`),
    'nginx sent requests to the stopped node, found it failed and passed them on');
  assert.equal((await get(down.host, down.hkp, '/pks/lookup?op=stats')).status, 0, 'node2 is down');

  // (3) Keys sent while node2 is down; started again, it gets them from its peers by recon alone.
  const later = Array.from({ length: 5 }, (_, i) => genKey(gpg, `Cluster Later ${i} <later${i}@cluster.test>`));
  r = gpg.run(['--send-keys', ...later]);
  assert.equal(r.status, 0, r.stderr);
  const up = nodes.filter((n) => n !== down);
  await waitFor('the running nodes to hold the later keys', async () => (await Promise.all(later.map((fp) => servedBy(fp, up)))).every(Boolean), 30_000);
  const restarted = startGroup([join(ROOT, 'scripts/run-suite.mjs')], { SKS_BASEDIR: join(dir, down.name), SKS_RUN_SOURCE: '1' });
  const t0 = Date.now();
  const answerMs = await waitFor(`${down.name} to answer again`, async () => (await get(down.host, down.hkp, '/pks/lookup?op=stats')).status === 200, 60_000);
  await waitFor(`${down.name} to catch up`, async () => (await Promise.all(later.map((fp) => servedBy(fp, [down])))).every(Boolean), 60_000);
  t.diagnostic(`restarted ${down.name}: HKP answered ${answerMs} ms after the start, all ${later.length} keys sent while it was down ` +
    `served ${Date.now() - t0} ms after the start`);
  const reconLog = readFileSync(join(dir, down.name, 'log/sks-recon.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const stored = reconLog.filter((l) => l.message === 'recon session done').reduce((a, l) => a + Number(l.stored ?? 0), 0);
  assert.ok(stored >= later.length, `node2's sks-recon stored ${stored} keys fetched from its peers`);
  const totals = await Promise.all(nodes.map(async (n) => (JSON.parse((await get(n.host, n.hkp, '/pks/lookup?op=stats&options=mr')).body) as { total_keys: number }).total_keys));
  assert.deepEqual(totals, nodes.map(() => 1 + later.length), 'every node holds the same keys');

  // (4) node3 hangs (every process of it stopped with SIGSTOP: the kernel still accepts its connections, nothing
  // answers) under the same load: a lookup sent to it waits for nginx's read timeout and goes to another node.
  const hung = nodes[2]!;
  const hungPids = descendants(pids.get(hung.name)!);
  const hangLoad = runWrk(`http://127.0.0.1:${lbPort}`, luaScript(tmp, 'cluster-hang', paths), 16, 12, { waitForQuiet: false });
  await sleep(2000);
  for (const pid of hungPids) process.kill(pid, 'SIGSTOP');
  let hw: Awaited<typeof hangLoad>;
  try {
    hw = await hangLoad;
  } finally {
    for (const pid of hungPids) process.kill(pid, 'SIGCONT');
  }
  t.diagnostic(`wrk through the balancer, c=16 for 12 s, ${hung.name} hung (SIGSTOP, ${hungPids.length} processes) at 2 s: ` +
    `${Math.round(hw.rps)} req/s, p50 ${hw.p50} ms, p99 ${hw.p99} ms, ${hw.errors} errors`);
  assert.equal(hw.errors, 0, `no failed request while a node hung; wrk said:\n${hw.report}`);
  assert.ok(hw.p99 < 8000, `the slowest lookups waited about the read timeout (5 s), not more: p99 ${hw.p99} ms`);
  assert.match(readFileSync(join(dir, 'nginx/logs/error.log'), 'utf8'),
    new RegExp(`upstream timed out .*upstream: "http://${hung.host.replaceAll('.', '\\.')}:${hung.hkp}/`),
    'nginx timed out on the hung node and passed the lookups on');
  await waitFor(`${hung.name} to answer again`, async () => (await get(hung.host, hung.hkp, '/pks/lookup?op=stats')).status === 200, 30_000);

  // Ctrl-C (SIGINT) stops the rest of the cluster, nginx included.
  restarted.child.kill('SIGTERM');
  assert.equal(await restarted.exited, 0);
  cluster.child.kill('SIGINT');
  assert.equal(await cluster.exited, 0, cluster.output().slice(-3000));
  assert.match(cluster.output(), /\[cluster\] nginx stopped/);
  assert.equal((await get('127.0.0.1', lbPort, '/pks/lookup?op=stats')).status, 0, 'the balancer is gone');
});
