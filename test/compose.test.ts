// The docker setup without a Docker engine: Debian's docker-compose validates docker-compose.yml (`config`), an
// npm Dockerfile linter (dockerfile-utils) checks every Dockerfile, real nginx checks the rendered nginx template,
// and the files hold what operators rely on (one volume, the published ports, non-root multi-stage images).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validate } from 'dockerfile-utils';
import { makeTempDir } from './support/tmp.js';
import { renderSksTemplate } from './support/nginx.js';
import { mainConf, writeClusterUpstream } from '../scripts/nginx-conf.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DOCKER = join(ROOT, 'docker');
const dockerfiles = readdirSync(DOCKER).filter((f) => f.endsWith('.Dockerfile')).sort();

function compose(...args: string[]) {
  const r = spawnSync('docker-compose', ['-f', join(ROOT, 'docker-compose.yml'), ...args], {
    encoding: 'utf8',
    cwd: ROOT,
    env: { ...process.env, SKS_HOSTNAME: 'keys.example.org' },
  });
  assert.equal(r.error, undefined, `docker-compose not runnable (scripts/install-deps.sh --test installs it): ${r.error}`);
  assert.equal(r.status, 0, `docker-compose ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

/** The block of one service in `docker-compose config` output (services are at two spaces' indent). */
function serviceBlock(config: string, name: string): string {
  const m = new RegExp(`^  ${name}:\\n((?:    .*\\n|\\s*\\n)*)`, 'm').exec(config);
  assert.ok(m, `service ${name} missing from the compose config`);
  return m[1]!;
}

/** The services `up` starts without a profile (docker-compose v1 lists every service in `config --services`). */
function defaultServices(config: string): string[] {
  return compose('config', '--services').trim().split('\n').filter((name) => !/^    profiles:/m.test(serviceBlock(config, name))).sort();
}

test('docker-compose config accepts the file: nginx, sks-db, sks-recon, sks-cron on one named volume', () => {
  const config = compose('config');
  assert.deepEqual(defaultServices(config), ['nginx', 'sks-cron', 'sks-db', 'sks-recon']);
  assert.deepEqual(compose('config', '--volumes').trim().split('\n').sort(), ['sks', 'sks-node1', 'sks-node2', 'sks-node3']);
  for (const s of ['sks-db', 'sks-recon', 'sks-cron']) {
    const block = serviceBlock(config, s);
    assert.match(block, /- sks:\/var\/sks:rw/, `${s} mounts the shared volume at /var/sks`);
    assert.match(block, /dockerfile: docker\/sks\.Dockerfile/);
    assert.match(block, new RegExp(`target: ${s}\n`), `${s} is its own target of the shared Dockerfile`);
    assert.match(block, /EXTRA_CA: ''/, 'the proxy CA build argument, empty unless SKS_BUILD_EXTRA_CA is set');
  }
  const nginx = serviceBlock(config, 'nginx');
  assert.match(nginx, /published: 80\s+target: 11371/, 'HKP published on 80 through nginx');
  assert.match(nginx, /published: 11371\s+target: 11371/, 'HKP published on 11371 through nginx');
  assert.match(nginx, /NGINX_HOSTNAME: keys\.example\.org/);
  assert.match(nginx, /condition: service_healthy/, 'nginx waits for a healthy sks-db');
  assert.match(serviceBlock(config, 'sks-recon'), /published: 11370\s+target: 11370/, 'recon published directly');
  assert.doesNotMatch(serviceBlock(config, 'sks-db'), /published:/, 'sks-db is reachable only through nginx');
});

const NODES = ['node1', 'node2', 'node3'];

test('the cluster profile: three complete nodes on a volume each, peering with each other, behind a balancer', () => {
  const config = compose('--profile', 'cluster', 'config');
  const cluster = ['balancer', ...NODES.flatMap((n) => [n, `${n}-recon`, `${n}-cron`])];
  assert.deepEqual(compose('--profile', 'cluster', 'config', '--services').trim().split('\n').sort(),
    [...cluster, 'nginx', 'sks-cron', 'sks-db', 'sks-recon'].sort());
  for (const s of cluster) assert.match(serviceBlock(config, s), /^    profiles:\n    - cluster$/m, `${s} only in the cluster profile`);
  for (const [i, n] of NODES.entries()) {
    const db = serviceBlock(config, n);
    assert.match(db, /dockerfile: docker\/sks\.Dockerfile/);
    assert.match(db, /target: sks-db\n/);
    assert.match(db, /image: sks-ts-cluster\/sks-db/, 'one image for every node');
    const peers = NODES.filter((o) => o !== n).join(' ');
    assert.match(db, new RegExp(`SKS_CLUSTER_PEERS: ${peers}\n`), `${n} peers with the other nodes`);
    if (i === 0) assert.match(db, /published: 11370\s+target: 11370/, 'node1 alone peers outside: its recon port is published');
    else assert.doesNotMatch(db, /published:/, `${n} is reachable only inside`);
    for (const s of [n, `${n}-recon`, `${n}-cron`]) {
      assert.match(serviceBlock(config, s), new RegExp(`- sks-${n}:/var/sks:rw`), `${s} mounts its node's own volume`);
      assert.doesNotMatch(serviceBlock(config, s), /- sks:\/var\/sks/, `${s} does not touch the one-node volume`);
    }
    // The node's sks-recon answers on the sks-db container's address, where peers fetch keys from its HKP port.
    assert.match(serviceBlock(config, `${n}-recon`), new RegExp(`network_mode: service:${n}\n`));
  }
  const balancer = serviceBlock(config, 'balancer');
  assert.match(balancer, /dockerfile: docker\/nginx\.Dockerfile/);
  assert.match(balancer, /SKS_DB_UPSTREAM: sks_db\n/);
  assert.match(balancer, /SKS_DB_NODES: node1:11371 node2:11371 node3:11371\n/);
  assert.match(balancer, /NGINX_HOSTNAME: keys\.example\.org/);
  for (const n of NODES) assert.match(balancer, new RegExp(`${n}:\n\\s+condition: service_healthy`), `the balancer waits for a healthy ${n}`);
  for (const p of [80, 11371, 443, 11372]) assert.match(balancer, new RegExp(`published: ${p}\\s+target: 1137[12]`));
});

test('the balancer\'s nginx config (template + 12-sks-upstream.sh) passes nginx -t, with passive health checks', () => {
  const prefix = makeTempDir('nginx-cluster-t-');
  const upstream = join(prefix, 'sks-upstream.conf');
  writeClusterUpstream(upstream, NODES.map((n, i) => `127.0.0.${11 + i}:11371`));
  const text = readFileSync(upstream, 'utf8');
  assert.match(text, /^upstream sks_db \{$/m);
  for (let i = 0; i < 3; i++) assert.match(text, new RegExp(`server 127\\.0\\.0\\.${11 + i}:11371 max_fails=1 fail_timeout=10s;`));
  const template = readFileSync(join(DOCKER, 'nginx/sks.conf.template'), 'utf8');
  assert.match(template, /proxy_next_upstream error timeout http_502 http_503 http_504;/);
  const { server } = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: '127.0.0.1:11371', NGINX_HKPS_PORT: '127.0.0.1:11372', SKS_DB_UPSTREAM: 'sks_db', NGINX_HOSTNAME: 'keys.example.org',
  });
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, mainConf(prefix, `include ${upstream};\n${server}`));
  const r = spawnSync('/usr/sbin/nginx', ['-t', '-p', prefix, '-c', file, '-e', join(prefix, 'logs/error.log')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});

test('every Dockerfile passes the dockerfile-utils linter with no finding', () => {
  assert.deepEqual(dockerfiles, ['nginx.Dockerfile', 'sks.Dockerfile']);
  for (const f of dockerfiles) {
    const diags = validate(readFileSync(join(DOCKER, f), 'utf8'));
    assert.deepEqual(
      diags.map((d) => `${f}:${d.range.start.line + 1}: ${d.message}`),
      [],
      `lint findings in ${f}`,
    );
  }
});

test('the linter really rejects a broken Dockerfile (the check above is not vacuous)', () => {
  const diags = validate('FROM node:20\nRUNN echo\nEXPOSE port\n');
  assert.ok(diags.length >= 2, JSON.stringify(diags));
});

test('one build stage for the three service images; each runs as a non-root user without compilers, with a health check', () => {
  const text = readFileSync(join(DOCKER, 'sks.Dockerfile'), 'utf8');
  const stages = new Map(text.split(/^FROM /m).slice(1).map((st) => [/^\S+ AS (\S+)/.exec(st)?.[1] ?? '', st]));
  assert.deepEqual([...stages.keys()], ['build', 'runtime', 'sks-db', 'sks-recon', 'sks-cron']);
  assert.match(stages.get('build')!, /g\+\+/, 'compilers in the build stage');
  assert.match(stages.get('build')!, /^RUN sh docker\/with-extra-ca\.sh sh docker\/assemble\.sh \/out$/m, 'the workspace is built once');
  assert.equal(text.match(/^RUN .*assemble\.sh/gm)?.length, 1, 'assemble.sh runs once');
  assert.match(stages.get('runtime')!, /^node:20-bookworm-slim AS runtime$/m);
  assert.match(stages.get('runtime')!, /^USER (?!root\b|0\b)\S+/m, 'the runtime stages run as a non-root user');
  for (const s of ['sks-db', 'sks-recon', 'sks-cron']) {
    const stage = stages.get(s)!;
    assert.match(stage, new RegExp(`^runtime AS ${s}\n`), `${s} builds on the shared runtime stage`);
    assert.match(stage, new RegExp(`^COPY --from=build /out/${s} /app$`, 'm'), `${s} takes its own share of the build`);
    assert.match(stage, /^HEALTHCHECK /m, `${s}: health check`);
    assert.doesNotMatch(stage, /^USER /m, `${s}: keeps the runtime stage's user`);
    assert.doesNotMatch(stage + stages.get('runtime')!, /g\+\+|python3/, `${s}: no compilers in the runtime image`);
  }
  assert.match(readFileSync(join(DOCKER, 'nginx.Dockerfile'), 'utf8'), /^HEALTHCHECK /m);
});

test('the nginx template is what the SKS operators\' guide prescribes, and real nginx accepts it', () => {
  const template = readFileSync(join(DOCKER, 'nginx/sks.conf.template'), 'utf8');
  for (const want of [/listen \$\{NGINX_HKP_PORT\} default_server;/, /listen \$\{NGINX_HKPS_PORT\} ssl default_server;/,
    /ssl_protocols TLSv1\.2 TLSv1\.3;/, /Strict-Transport-Security/, /server_name _;/, /access_log off;/,
    /client_max_body_size 8m;/, /proxy_ignore_client_abort on;/, /add_header Via /, /location \/pks\/ \{/]) {
    assert.match(template, want);
  }
  const prefix = makeTempDir('nginx-t-');
  const { server } = renderSksTemplate(prefix, {
    NGINX_HKP_PORT: '127.0.0.1:11371', NGINX_HKPS_PORT: '127.0.0.1:11372', SKS_DB_UPSTREAM: '127.0.0.1:11372', NGINX_HOSTNAME: 'keys.example.org',
  });
  const file = join(prefix, 'nginx.conf');
  writeFileSync(file, mainConf(prefix, server));
  const r = spawnSync('/usr/sbin/nginx', ['-t', '-p', prefix, '-c', file, '-e', join(prefix, 'logs/error.log')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
});
