#!/usr/bin/env node
// `make cluster`: N complete nodes (sks-db, sks-recon, sks-cron each, on a base directory of their own) reconciling
// with each other over recon, behind nginx as a load balancer, in the foreground. Ctrl-C or SIGTERM stops everything.
//   CLUSTER_NODES=3           how many nodes
//   CLUSTER_DIR=volumes/cluster   node1/ ... nodeN/ (base directories) and nginx/ (its config, logs, certificate)
//   CLUSTER_HKP_PORT=11371, CLUSTER_HKPS_PORT=11372, CLUSTER_ADDRESS=127.0.0.1   where the balancer listens
//   CLUSTER_PORT_BASE=11370   node i listens on 127.0.0.(10+i), recon on BASE+10i, HKP on BASE+10i+1
//   CLUSTER_SKSCONF=FILE      settings appended to every node's sksconf when it is first written
//   CLUSTER_PEERING_NODE=1    the one node that also peers with the outside, with the members listed in
//   CLUSTER_PEERS=FILE        (default CLUSTER_DIR/peers, membership syntax); 0 = no node peers outside
//   SKS_HOSTNAME, SKS_ADD_RATE, SKS_SEARCH_RATE, SKS_HASHQUERY_RATE, SKS_CONN_PER_CLIENT   as under docker compose
// A node's sksconf is written once and never overwritten (edit it freely); its membership is written at every start
// from the other nodes' sksconf (their recon address and port), plus CLUSTER_PEERS for the peering node.
// Each node is scripts/run-suite.mjs on its base directory (`make run` for one node); a node that stops (say
// `kill -TERM PID` with the pid printed at start) leaves the others and the balancer running, and
// `SKS_BASEDIR=CLUSTER_DIR/nodeI make run` starts it again. SKS_RUN_SOURCE=1 runs the TypeScript sources (tests).
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSelfSignedCert, fillSksTemplate, mainConf, nginxCommand, writeClusterUpstream } from './nginx-conf.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const count = Number(env.CLUSTER_NODES || 3);
const dir = resolve(env.CLUSTER_DIR || join(root, 'volumes/cluster'));
const hkpPort = Number(env.CLUSTER_HKP_PORT || 11371);
const hkpsPort = Number(env.CLUSTER_HKPS_PORT || 11372);
const address = env.CLUSTER_ADDRESS || '127.0.0.1';
const portBase = Number(env.CLUSTER_PORT_BASE || 11370);
const peeringNode = Number(env.CLUSTER_PEERING_NODE ?? 1);
const peersFile = resolve(env.CLUSTER_PEERS || join(dir, 'peers'));
const hostname = env.SKS_HOSTNAME || 'localhost';
const fromSource = env.SKS_RUN_SOURCE === '1';
const stopTimeoutMs = Number(env.SKS_STOP_TIMEOUT_MS || 10000);

function say(line) {
  process.stderr.write(`[cluster] ${line}\n`);
}

if (!Number.isInteger(count) || count < 1 || count > 99) {
  say(`CLUSTER_NODES=${env.CLUSTER_NODES}: give a number of nodes from 1 to 99`);
  process.exit(2);
}

/** The settings of a sksconf that this runner needs (SKS syntax: `name: value`, the last line of a name wins). */
function readSettings(file) {
  const out = {};
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^\s*([a-z_]+)\s*:\s*(.*?)\s*$/.exec(raw.replace(/#.*$/, ''));
    if (m) out[m[1]] = m[2];
  }
  return out;
}

/** Node i: its base directory, written sksconf if it had none, and where it listens. */
function prepareNode(i) {
  const basedir = join(dir, `node${i}`);
  mkdirSync(basedir, { recursive: true });
  const conf = join(basedir, 'sksconf');
  if (!existsSync(conf)) {
    const nodeAddress = `127.0.0.${10 + i}`;
    const lines = [
      `# node ${i} of a cluster (scripts/run-cluster.mjs wrote this once and never overwrites it; every setting:`,
      '# docs/OPERATIONS.md). The balancer passes HKP requests to hkp_port; recon peers are the other nodes.',
      `hostname: ${hostname}`,
      `hkp_address: ${nodeAddress}`, `hkp_port: ${portBase + 10 * i + 1}`,
      `recon_address: ${nodeAddress}`, `recon_port: ${portBase + 10 * i}`,
      '# N nodes share this machine: one HTTP worker each.',
      'db_workers: 1',
    ];
    if (env.CLUSTER_SKSCONF) lines.push(`# from ${env.CLUSTER_SKSCONF} (CLUSTER_SKSCONF)`, readFileSync(env.CLUSTER_SKSCONF, 'utf8').trim());
    writeFileSync(conf, lines.join('\n') + '\n');
  }
  const s = readSettings(conf);
  // The address the others reach the node at: its first listening address (all interfaces: loopback).
  const first = (v, d) => {
    const a = (v ? v.split(/[\s,]+/).filter(Boolean)[0] : undefined) ?? d;
    return a === '0.0.0.0' || a === '::' ? '127.0.0.1' : a;
  };
  return {
    name: `node${i}`, index: i, basedir,
    hkp: { host: first(s.hkp_address, '127.0.0.1'), port: Number(s.hkp_port || 11371) },
    recon: { host: first(s.recon_address, '127.0.0.1'), port: Number(s.recon_port || 11370) },
  };
}

function writeMembership(node, nodes) {
  const lines = ['# written by scripts/run-cluster.mjs at every start: the other nodes of the cluster'];
  for (const o of nodes) if (o !== node) lines.push(`${o.recon.host} ${o.recon.port}  # ${o.name}`);
  if (node.index === peeringNode && existsSync(peersFile)) {
    lines.push(`# peers outside the cluster, from ${peersFile} (CLUSTER_PEERS; this node alone peers outside)`);
    lines.push(readFileSync(peersFile, 'utf8').trim());
  }
  writeFileSync(join(node.basedir, 'membership'), lines.join('\n') + '\n');
}

function adminInit(basedir) {
  const pkg = join(root, 'packages/sks-admin');
  const args = fromSource
    ? ['--conditions=source', '--import', 'tsx', join(pkg, 'src/main.ts')]
    : ['--enable-source-maps', join(pkg, 'dist/main.js')];
  if (!fromSource && !existsSync(args[1])) {
    say(`${args[1]} is missing: run "make build" (or make cluster) first`);
    process.exit(1);
  }
  const r = spawnSync(process.execPath, [...args, 'init', '--basedir', basedir], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    say(`sks-admin init --basedir ${basedir} failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
}

function waitForPort(host, port, timeoutMs) {
  const end = Date.now() + timeoutMs;
  return new Promise((done) => {
    const attempt = () => {
      const s = connect(port, host);
      s.once('connect', () => { s.destroy(); done(true); });
      s.once('error', () => {
        if (Date.now() > end || stopping) done(false);
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

const children = new Map();
let stopping = false;
let exitCode = 0;

function prefix(stream, name, out) {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => out.write(`[${name}] ${line}\n`));
}

function running(child) {
  return child.exitCode === null && child.signalCode === null;
}

function maybeExit() {
  if ([...children.values()].every((c) => !running(c))) process.exit(exitCode);
}

function stopAll(reason) {
  if (stopping) return;
  stopping = true;
  say(`stopping the cluster (${reason})`);
  for (const [name, child] of children) {
    if (!running(child)) continue;
    // nginx: SIGQUIT finishes the requests under way; a node's runner stops its three services in turn.
    child.kill(name === 'nginx' ? 'SIGQUIT' : 'SIGTERM');
    setTimeout(() => {
      if (!running(child)) return;
      say(`${name} did not stop in time; killing it`);
      child.kill('SIGKILL');
    }, stopTimeoutMs + 5000).unref();
  }
  maybeExit();
}

function start(name, command, args, options, onExit) {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.set(name, child);
  prefix(child.stdout, name, process.stdout);
  prefix(child.stderr, name, process.stderr);
  child.on('error', (err) => {
    say(`${name} could not start: ${err.message}`);
    exitCode = exitCode || 1;
    stopAll(`${name} could not start`);
  });
  child.on('exit', (code, signal) => {
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (stopping) say(`${name} stopped (${how})`);
    else onExit(how, code);
    maybeExit();
  });
  return child;
}

const nodes = Array.from({ length: count }, (_, k) => prepareNode(k + 1));
for (const node of nodes) writeMembership(node, nodes);
for (const node of nodes) adminInit(node.basedir);

for (const node of nodes) {
  const child = start(node.name, process.execPath, [join(root, 'scripts/run-suite.mjs'), '--basedir', node.basedir],
    { env: { ...env, SKS_BASEDIR: node.basedir } }, (how) => {
      const left = nodes.filter((n) => children.get(n.name) && running(children.get(n.name)));
      if (left.length === 0) {
        exitCode = 1;
        stopAll('no node is left');
        return;
      }
      say(`${node.name} stopped (${how}); the balancer passes its requests to ${left.map((n) => n.name).join(', ')}. ` +
        `Start it again with: SKS_BASEDIR=${node.basedir} make run`);
    });
  say(`${node.name}: pid ${child.pid}, HKP ${node.hkp.host}:${node.hkp.port}, recon ${node.recon.host}:${node.recon.port}, ` +
    `${node.basedir}${node.index === peeringNode && existsSync(peersFile) ? ', peers outside too' : ''}`);
}

process.on('SIGINT', () => stopAll('SIGINT'));
process.on('SIGTERM', () => stopAll('SIGTERM'));
process.on('SIGHUP', () => stopAll('SIGHUP'));

// The balancer, once every node answers (nginx counts a node that refuses as failed for a while).
const ready = await Promise.all(nodes.map((n) => waitForPort(n.hkp.host, n.hkp.port, 180_000)));
if (!stopping) {
  nodes.forEach((n, k) => ready[k] || say(`${n.name} does not answer on ${n.hkp.host}:${n.hkp.port}; the balancer starts anyway`));
  const prefixDir = join(dir, 'nginx');
  mkdirSync(join(prefixDir, 'tls'), { recursive: true });
  const cert = join(prefixDir, 'tls/cert.pem');
  const key = join(prefixDir, 'tls/key.pem');
  const made = ensureSelfSignedCert(cert, key, hostname);
  if (made) say(made);
  const upstream = join(prefixDir, 'sks-upstream.conf');
  writeClusterUpstream(upstream, nodes.map((n) => `${n.hkp.host}:${n.hkp.port}`), {
    maxFails: env.NGINX_MAX_FAILS ? Number(env.NGINX_MAX_FAILS) : undefined, failTimeout: env.NGINX_FAIL_TIMEOUT,
  });
  const server = fillSksTemplate({
    NGINX_HKP_PORT: `${address}:${hkpPort}`, NGINX_HKPS_PORT: `${address}:${hkpsPort}`, NGINX_TLS_CERT: cert, NGINX_TLS_KEY: key,
    SKS_DB_UPSTREAM: 'sks_db', NGINX_HOSTNAME: hostname,
    NGINX_ADD_RATE: env.SKS_ADD_RATE || '2r/m', NGINX_SEARCH_RATE: env.SKS_SEARCH_RATE || '2r/s',
    NGINX_HASHQUERY_RATE: env.SKS_HASHQUERY_RATE || '2r/s', NGINX_CONN_PER_CLIENT: env.SKS_CONN_PER_CLIENT || '32',
    NGINX_READ_TIMEOUT: env.SKS_PROXY_READ_TIMEOUT || '5s',
  });
  const conf = join(prefixDir, 'nginx.conf');
  writeFileSync(conf, mainConf(prefixDir, `include ${upstream};\n${server}`));
  const nginx = nginxCommand();
  start('nginx', nginx.command, ['-p', prefixDir, '-c', conf, '-e', join(prefixDir, 'logs/error.log'), '-g', 'daemon off;'],
    { env: nginx.env }, (how, code) => {
      exitCode = code || 1;
      say(`nginx exited by itself (${how}); see ${join(prefixDir, 'logs/error.log')}`);
      stopAll('nginx exited');
    });
  if (await waitForPort(address, hkpPort, 20_000)) {
    say(`${count} nodes behind the balancer: HKP http://${address}:${hkpPort}, HKPS https://${address}:${hkpsPort} (Ctrl-C stops all)`);
  }
}
