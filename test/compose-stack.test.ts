// The compose stack built and run for real (issue 16, "the images, built and run in CI"): a private dockerd
// (scripts/docker/dockerd-start.sh), stand-ins for the FROM images (scripts/docker/base-images.sh: no registry is
// reachable), `docker-compose build` and `up -d` of docker-compose.yml with its published ports moved to loopback,
// then HKP and HKPS through nginx, an upload read back, recon answering a Config, sks-cron's log, the one volume,
// `down`/`up` keeping keys; then `down -v`, dockerd stopped and the host as it was (iptables, ip_forward, links).
// Needs root, docker.io, docker-compose (v1), debootstrap, iptables (scripts/install-deps.sh --test).
// docs/OPERATIONS.md, "The compose stack in CI", says how to run it alone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as openpgp from 'openpgp';
import { makeTempDir } from './support/tmp.js';
import { freePort } from './support/ports.js';
import { TEST_TLS_HOST } from './support/tls.js';
import { colonFingerprints, genKey, makeGpg } from '../packages/sks-db/test/integration/helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = join(ROOT, 'scripts', 'docker');
/** The engine's state (images, containers, build cache): git-ignored, deleted at the end. */
const ENGINE = join(ROOT, '.cache', 'compose-stack-engine');
const PROJECT = 'skscistack';
// SKS_HOSTNAME: the name nginx's self-signed certificate is made for (dirmngr will not check a certificate against
// "localhost"); gpg resolves it to loopback through a private /etc/hosts (makeGpg's loopbackNames).
const env: NodeJS.ProcessEnv = {
  ...process.env, CTR: ENGINE, DOCKER_HOST: `unix://${ENGINE}/docker.sock`, COMPOSE_HTTP_TIMEOUT: '300', SKS_HOSTNAME: TEST_TLS_HOST,
};

interface Run { status: number | null; stdout: string; stderr: string }
function run(cmd: string, args: string[], timeoutMs = 120_000): Run {
  const r = spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  assert.equal(r.error, undefined, `${cmd} ${args.join(' ')}: ${r.error}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
function ok(cmd: string, args: string[], timeoutMs?: number): string {
  const r = run(cmd, args, timeoutMs);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

/** What the engine may change on the host, read before and after: it must come back the same. */
function hostState(): string {
  const rules = (table: string) => ok('iptables', ['-t', table, '-S']).split('\n').sort().join('\n');
  const links = ok('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(':')[1]?.trim() ?? '').sort().join(' ');
  const tables = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' }).stdout?.trim() ?? '(no nft)';
  return [`ip_forward=${readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()}`, `links: ${links}`,
    `netns: ${ok('ip', ['netns', 'list']).trim()} /run/netns ${existsSync('/run/netns')}`, `nft: ${tables}`,
    rules('filter'), rules('nat')].join('\n');
}

const ports = { http: 0, hkp: 0, https: 0, hkps: 0, recon: 0, reconPeer: 0 };
/** A recon peer outside the stack: a network namespace of its own, joined to the host by a veth pair, as another
 * machine would be; recon is also published on the host end's address (private, never a public interface). */
const PEER_NS = 'sksctrpeer';
const PEER_HOST_IF = 'sksvh0';
const PEER_HOST_ADDR = '10.127.0.1';
const PEER_ADDR = '10.127.0.2';
let netnsDirExisted = true;
function peerUp(): void {
  netnsDirExisted = existsSync('/run/netns');
  ok('ip', ['netns', 'add', PEER_NS]);
  ok('ip', ['link', 'add', PEER_HOST_IF, 'type', 'veth', 'peer', 'name', 'sksvp0', 'netns', PEER_NS]);
  ok('ip', ['addr', 'add', `${PEER_HOST_ADDR}/30`, 'dev', PEER_HOST_IF]);
  ok('ip', ['link', 'set', PEER_HOST_IF, 'up']);
  for (const cmd of [['addr', 'add', `${PEER_ADDR}/30`, 'dev', 'sksvp0'], ['link', 'set', 'sksvp0', 'up'], ['link', 'set', 'lo', 'up'],
    ['route', 'add', 'default', 'via', PEER_HOST_ADDR]]) ok('ip', ['-n', PEER_NS, ...cmd]);
}
function peerDown(): void {
  run('ip', ['netns', 'del', PEER_NS]);
  run('ip', ['link', 'del', PEER_HOST_IF]);
  if (!netnsDirExisted && existsSync('/run/netns')) {
    run('umount', ['/run/netns']);
    run('rmdir', ['/run/netns']);
  }
}
let composeFile = '';
let hostBefore = '';
let started = false;
function compose(args: string[], timeoutMs?: number): string {
  return ok('docker-compose', ['-p', PROJECT, '-f', composeFile, '--project-directory', ROOT, ...args], timeoutMs);
}
function logs(service: string): string {
  return compose(['logs', '--no-color', service]);
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

async function stackAnswers(): Promise<void> {
  await waitFor('nginx to answer HKP stats', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.hkp}/pks/lookup?op=stats&options=mr`, { signal: AbortSignal.timeout(5000) });
    return r.ok ? true : undefined;
  }, 240_000);
}

function httpsGet(path: string, ca: string): Promise<{ status: number; body: string; hsts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: TEST_TLS_HOST, port: ports.hkps, path, ca, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, hsts: res.headers['strict-transport-security'] as string | undefined }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The CAs this machine's Node trusts beyond its own bundled roots (NODE_EXTRA_CA_CERTS: here, a TLS-intercepting
 * proxy's), as PEM text; empty when there are none. */
function extraCas(): string {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file || !existsSync(file)) return '';
  const norm = (pem: string) => pem.replace(/\s+/g, '');
  const bundled = new Set(rootCertificates.map(norm));
  const pems = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return pems.filter((p) => !bundled.has(norm(p))).join('\n');
}

// undici's fetch keeps no reference on the event loop while a connection through docker-proxy hangs, and the test
// runner then cancels the waiting test ("the event loop has already resolved"): hold the loop open until `after`.
const keepAlive = setInterval(() => undefined, 1000);

before(async () => {
  assert.equal(process.getuid?.(), 0, 'the compose stack test runs dockerd and changes iptables: run it as root');
  hostBefore = hostState();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  // The project's compose file with every published port on loopback (compose merges `ports` lists, so an override
  // file cannot replace them); build contexts stay the repository (--project-directory).
  const published: Record<string, number> = {
    '80:11371': ports.http, '11371:11371': ports.hkp, '443:11372': ports.https, '11372:11372': ports.hkps, '11370:11370': ports.recon,
  };
  let yml = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  // sks-recon's port also on the peer namespace's side of the veth pair
  yml = yml.replace(/^(\s+- )"11370:11370"$/m, `$1"11370:11370"\n$1"${PEER_HOST_ADDR}:${ports.reconPeer}:11370"`);
  for (const [from, port] of Object.entries(published)) {
    yml = yml.replaceAll(`"${from}"`, `"127.0.0.1:${port}:${from.split(':')[1]}"`);
  }
  assert.doesNotMatch(yml, /^\s+- "\d+:\d+"/m, 'every published port moved to loopback (or the peer veth)');
  composeFile = join(makeTempDir('sks-compose-'), 'docker-compose.loopback.yml');
  writeFileSync(composeFile, yml);

  started = true;
  peerUp();
  ok('sh', [join(SCRIPTS, 'dockerd-start.sh')], 90_000);
  // The stand-in node image trusts no extra CA: behind this machine's TLS-intercepting proxy (if any), npm in the
  // build stage reaches the registry only through the EXTRA_CA build argument (SKS_BUILD_EXTRA_CA), as an operator
  // behind such a proxy would give it.
  ok('env', ['EXTRA_CA=', 'sh', join(SCRIPTS, 'base-images.sh')], 300_000);
  env.SKS_BUILD_EXTRA_CA = extraCas();
  // The three service images are targets of one Dockerfile: the first build runs the shared build stage, the other
  // two take it from the cache. A build that failed on the network (a DNS hiccup inside a build container has been
  // seen) is tried once more; the layers already built come from the cache.
  const args = ['-p', PROJECT, '-f', composeFile, '--project-directory', ROOT, 'build'];
  if (run('docker-compose', args, 480_000).status !== 0) compose(['build'], 480_000);
  compose(['up', '-d'], 300_000);
  await stackAnswers();
});

after(() => {
  clearInterval(keepAlive);
  if (!started) return;
  try {
    if (composeFile) run('docker-compose', ['-p', PROJECT, '-f', composeFile, '--project-directory', ROOT, '--profile', 'cluster', 'down', '-v', '--rmi', 'all', '--remove-orphans'], 180_000);
  } finally {
    const stop = spawnSync('sh', [join(SCRIPTS, 'dockerd-stop.sh')], { cwd: ROOT, env: { ...env, REMOVE_STATE: '1' }, encoding: 'utf8', timeout: 90_000 });
    peerDown();
    assert.equal(stop.status, 0, `dockerd-stop.sh failed: ${stop.stderr}`);
  }
  assert.equal(hostState(), hostBefore, 'iptables, ip_forward and network links are as before the test');
});

let key: { fingerprint: string; armored: string } | undefined;
async function testKey() {
  if (!key) {
    const k = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Compose Stack', email: 'stack@example.org' }], format: 'object' });
    key = { fingerprint: k.privateKey.getFingerprint().toUpperCase(), armored: k.publicKey.armor() };
  }
  return key;
}

test('a key posted to /pks/add through nginx is served back by fingerprint and by e-mail over HKP', async () => {
  const { fingerprint, armored } = await testKey();
  const add = await fetch(`http://127.0.0.1:${ports.hkp}/pks/add`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `keytext=${encodeURIComponent(armored)}`,
  });
  assert.equal(add.status, 200, await add.text());
  for (const port of [ports.hkp, ports.http]) {
    const get = await fetch(`http://127.0.0.1:${port}/pks/lookup?op=get&options=mr&search=0x${fingerprint}`);
    assert.equal(get.status, 200);
    const back = await openpgp.readKey({ armoredKey: await get.text() });
    assert.equal(back.getFingerprint().toUpperCase(), fingerprint);
  }
  const index = await fetch(`http://127.0.0.1:${ports.hkp}/pks/lookup?op=index&options=mr&search=stack@example.org`);
  assert.equal(index.status, 200);
  assert.match(await index.text(), new RegExp(`^pub:${fingerprint}:`, 'mi'));
});

test('HKPS through nginx with the self-signed certificate made at first start (the log says so)', async () => {
  assert.match(logs('nginx'), /no TLS certificate at \/etc\/nginx\/tls\/cert\.pem: made a self-signed one for keys\.sks-ts\.test/);
  const ca = compose(['exec', '-T', 'nginx', 'cat', '/etc/nginx/tls/cert.pem']);
  const { fingerprint } = await testKey();
  const r = await httpsGet(`/pks/lookup?op=get&options=mr&search=0x${fingerprint}`, ca);
  assert.equal(r.status, 200);
  assert.equal((await openpgp.readKey({ armoredKey: r.body })).getFingerprint().toUpperCase(), fingerprint);
  assert.match(r.hsts ?? '', /max-age=\d+/, 'HSTS on the HTTPS port');
  await assert.rejects(httpsGet('/pks/lookup?op=stats', ''), 'a client that trusts only the system CAs refuses the certificate');
});

test('GnuPG sends and receives over hkps:// through nginx, trusting that certificate alone (dirmngr hkp-cacert)', () => {
  const caFile = join(makeTempDir('compose-hkps-ca-'), 'cert.pem');
  writeFileSync(caFile, compose(['exec', '-T', 'nginx', 'cat', '/etc/nginx/tls/cert.pem']));
  // the certificate names TEST_TLS_HOST (NGINX_HOSTNAME), resolved to loopback, where the port is published
  const url = `hkps://${TEST_TLS_HOST}:${ports.hkps}`;
  const loopbackNames = [TEST_TLS_HOST];
  const sender = makeGpg(url, { dirmngr: [`hkp-cacert ${caFile}`], loopbackNames });
  const receiver = makeGpg(url, { dirmngr: [`hkp-cacert ${caFile}`], loopbackNames });
  const untrusting = makeGpg(url, { loopbackNames });
  try {
    const fp = genKey(sender, 'Compose Hkps <hkps@example.org>');
    const sent = sender.run(['--send-keys', fp]);
    assert.equal(sent.status, 0, sent.stderr);
    const got = receiver.run(['--recv-keys', fp]);
    assert.equal(got.status, 0, got.stderr);
    assert.deepEqual(colonFingerprints(receiver.run(['--with-colons', '--list-keys', fp]).stdout), [fp]);
    const refused = untrusting.run(['--recv-keys', fp]);
    assert.notEqual(refused.status, 0, 'without hkp-cacert dirmngr refuses the self-signed certificate');
  } finally {
    for (const g of [sender, receiver, untrusting]) g.cleanup();
  }
});

/** A recon Config message (SKS reconMessages.ml: 4-byte length, type 10, a count, then key/value strings). */
function configMessage(pairs: Array<[string, string]>): Buffer {
  const str = (s: string) => { const b = Buffer.from(s); const n = Buffer.alloc(4); n.writeUInt32BE(b.length); return Buffer.concat([n, b]); };
  const count = Buffer.alloc(4);
  count.writeUInt32BE(pairs.length);
  const body = Buffer.concat([Buffer.from([10]), count, ...pairs.flatMap(([k, v]) => [str(k), str(v)])]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

const PEER_CONFIG = configMessage([['version', '1.1.6'], ['http port', '11371'], ['bitquantum', '2'], ['mbar', '5'],
  ['filters', 'yminsky.dedup,yminsky.merge']]);

/** Connects to the recon port from loopback, sends a Config, and returns what came back before the close or 5 s. */
function reconFromLoopback(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = connect(ports.recon, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => sock.destroy(), 5000);
    sock.on('connect', () => sock.write(PEER_CONFIG));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
    sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks)); });
  });
}

/** The same from the peer namespace (node run inside it): the bytes sks-recon answered with. */
function reconFromPeer(): Buffer {
  const script = `const s = require('node:net').connect(${ports.reconPeer}, '${PEER_HOST_ADDR}'); const c = [];
    const t = setTimeout(() => s.destroy(), 5000);
    s.on('connect', () => s.write(Buffer.from('${PEER_CONFIG.toString('hex')}', 'hex')));
    s.on('data', (d) => c.push(d)); s.on('error', () => {});
    s.on('close', () => { clearTimeout(t); process.stdout.write(Buffer.concat(c).toString('hex')); });`;
  return Buffer.from(ok('ip', ['netns', 'exec', PEER_NS, process.execPath, '-e', script], 30_000).trim(), 'hex');
}

/** The client address of the last "not in membership" refusal in sks-recon's log that is not `other`. */
function refusedAddress(other?: string): Promise<string> {
  return waitFor('a refusal in the sks-recon log', () => {
    const seen = [...logs('sks-recon').matchAll(/host not in membership refused.*?peer\W+([0-9.]+):\d+/g)].map((m) => m[1]!);
    return seen.filter((a) => a !== other).at(-1);
  }, 20_000);
}

test('sks-recon listens on 11370; through docker-proxy it sees the gateway, a peer outside is seen as itself and answered', async () => {
  assert.match(compose(['exec', '-T', 'sks-recon', 'cat', '/proc/net/tcp']), /:2C6A 00000000:0000 0A/, 'listening on 11370 (0x2C6A)');
  // From loopback the connection goes through docker's userland proxy, which connects on from the compose network's
  // gateway: that is the address sks-recon sees (docs/OPERATIONS.md, "Recon behind docker").
  assert.equal((await reconFromLoopback()).length, 0, 'a host not in membership gets nothing');
  const viaProxy = await refusedAddress();
  const route = compose(['exec', '-T', 'sks-recon', 'sh', '-c', "awk '$2 == \"00000000\" { print $3 }' /proc/net/route"]).trim();
  const gateway = route.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join('.');
  assert.equal(viaProxy, gateway, 'through the userland proxy sks-recon sees the bridge gateway as the client');
  // From the peer namespace, iptables DNAT carries the connection: sks-recon sees the peer's own address.
  assert.equal(reconFromPeer().length, 0);
  assert.equal(await refusedAddress(gateway), PEER_ADDR, 'a peer outside the host is seen under its own address');
  // Made a member by that address, it is answered with sks-recon's Config; the gateway stays refused.
  compose(['exec', '-T', 'sks-recon', 'sh', '-c', `echo "${PEER_ADDR} 11370  # compose-stack test peer" >> /var/sks/membership`]);
  compose(['restart', 'sks-recon'], 90_000);
  const reply = await waitFor('a recon Config answer', () => {
    const r = reconFromPeer();
    return r.length > 5 ? r : undefined;
  }, 60_000);
  assert.equal(reply[4], 10, 'the first message sks-recon sends is a Config');
  assert.match(reply.toString('latin1'), /bitquantum[\s\S]*mbar/);
  assert.equal((await reconFromLoopback()).length, 0, 'the gateway address is still no member');
});

test('sks-cron runs a job on the shared volume and logs it there (the one the running sks-cron writes)', () => {
  assert.match(ok('docker', ['inspect', '-f', '{{.State.Status}}', `${PROJECT}_sks-cron_1`]), /running/, 'the scheduler runs');
  // The schedules are hours apart (cron_stats: 15 * * * *): run one job now, as docs/OPERATIONS.md shows operators.
  compose(['exec', '-T', 'sks-cron', 'node', 'packages/sks-cron/dist/main.js', '--run-once', 'stats', '--basedir', '/var/sks'], 120_000);
  const log = compose(['exec', '-T', 'sks-cron', 'cat', '/var/sks/log/sks-cron.log']);
  const done = log.split('\n').filter((l) => l.includes('job done')).map((l) => JSON.parse(l) as { job?: string });
  assert.ok(done.some((l) => l.job === 'stats'), `a "job done" line for stats in sks-cron.log:\n${log.slice(-2000)}`);
});

test('the three service images share every layer but their own service\'s files (one build stage, one runtime base)', (t) => {
  const layers = ['sks-db', 'sks-recon', 'sks-cron'].map((svc) => {
    const image = ok('docker', ['inspect', '-f', '{{.Image}}', `${PROJECT}_${svc}_1`]).trim();
    const [list, size] = ok('docker', ['image', 'inspect', '-f', '{{json .RootFS.Layers}} {{.Size}}', image]).trim().split(' ');
    t.diagnostic(`${svc} image: ${(Number(size) / 2 ** 20).toFixed(0)} MiB`);
    return JSON.parse(list!) as string[];
  });
  const [db, recon, cron] = layers as [string[], string[], string[]];
  assert.deepEqual(recon.slice(0, -1), db.slice(0, -1), 'sks-recon: the same layers as sks-db but its own files');
  assert.deepEqual(cron.slice(0, -1), db.slice(0, -1), 'sks-cron: the same layers as sks-db but its own files');
  assert.equal(new Set([db.at(-1), recon.at(-1), cron.at(-1)]).size, 3);
});

test('one named volume holds the base directory and the SQLite store every service opens', () => {
  // (docker-compose v1 also creates the cluster profile's volumes, unused: only the ones in use are counted)
  const volumes = ok('docker', ['volume', 'ls', '-q', '--filter', `label=com.docker.compose.project=${PROJECT}`, '--filter', 'dangling=false']).trim().split('\n');
  assert.deepEqual(volumes, [`${PROJECT}_sks`]);
  for (const s of ['sks-db', 'sks-recon', 'sks-cron']) {
    const mounts = ok('docker', ['inspect', '-f', '{{range .Mounts}}{{.Name}}:{{.Destination}} {{end}}', `${PROJECT}_${s}_1`]).trim();
    assert.equal(mounts, `${PROJECT}_sks:/var/sks`, `${s} mounts the one volume`);
  }
  const files = compose(['exec', '-T', 'sks-cron', 'ls', '/var/sks']);
  for (const f of ['keys.sqlite', 'sksconf', 'membership']) assert.match(files, new RegExp(`^${f.replace('.', '\\.')}$`, 'm'));
});

test('down and up again keep the keys (the volume outlives the containers)', async () => {
  compose(['down'], 180_000);
  compose(['up', '-d'], 300_000);
  await stackAnswers();
  const { fingerprint } = await testKey();
  const get = await fetch(`http://127.0.0.1:${ports.hkp}/pks/lookup?op=get&options=mr&search=0x${fingerprint}`);
  assert.equal(get.status, 200);
});

test('the cluster profile: three nodes behind the balancer; an upload through it reaches every node by recon', async () => {
  compose(['down'], 180_000); // the one-node stack gives back the published ports
  const cluster = (args: string[], timeoutMs?: number) => compose(['--profile', 'cluster', ...args], timeoutMs);
  try {
    // the services `make cluster-up` starts; the node images are the one-node images' Dockerfiles: built from the
    // layer cache
    const make = readFileSync(join(ROOT, 'Makefile'), 'utf8');
    const services = /^CLUSTER_SERVICES := (.*)$/m.exec(make)![1]!.trim().split(/\s+/);
    assert.equal(services.length, 10, 'the balancer and three nodes of three services each');
    cluster(['up', '-d', ...services], 600_000);
    await stackAnswers();
    // every node gossips every 2 s instead of every minute, so the test waits seconds for recon, not minutes
    for (const n of ['node1', 'node2', 'node3']) cluster(['exec', '-T', n, 'sh', '-c', 'echo "gossip_interval_s: 2" >> /var/sks/sksconf']);
    cluster(['restart', 'node1-recon', 'node2-recon', 'node3-recon'], 120_000);
    const k = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Compose Cluster', email: 'cluster@example.org' }], format: 'object' });
    const fingerprint = k.privateKey.getFingerprint().toUpperCase();
    const add = await fetch(`http://127.0.0.1:${ports.hkp}/pks/add`, {
      method: 'POST', body: new URLSearchParams({ keytext: k.publicKey.armor() }),
    });
    assert.equal(add.status, 200, await add.text());
    // each node's own sks-db, asked inside its container (only the balancer is published)
    const onNode = (n: string) => cluster(['exec', '-T', n, 'node', '-e',
      `fetch('http://127.0.0.1:11371/pks/lookup?op=get&options=mr&search=0x${fingerprint}').then((r) => process.stdout.write(String(r.status)))`]).trim();
    const t0 = Date.now();
    await waitFor('every node to serve the key', () => (['node1', 'node2', 'node3'].every((n) => onNode(n) === '200') ? true : undefined), 120_000);
    const served = Date.now() - t0;
    const stats = await (await fetch(`http://127.0.0.1:${ports.hkp}/pks/lookup?op=stats&options=mr`)).json() as { peers?: unknown[] };
    assert.ok(Array.isArray(stats.peers) && stats.peers.length >= 2, `a node behind the balancer lists its two peers: ${JSON.stringify(stats.peers)}`);
    console.log(`# compose cluster: the key uploaded through the balancer was served by all three nodes ${served} ms later`);
  } finally {
    cluster(['down', '-v'], 180_000);
  }
});
