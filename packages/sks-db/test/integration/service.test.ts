// Service behaviour: index formats, stats (HTML and JSON), the v6 rule, a cluster of workers sharing the port,
// slow clients not delaying others, and the web root falling back to the built-in pages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http from 'node:http';
import { mkdirSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { startOurs, makeGpg, genKey, dearmorAll, type Ours, type Gpg } from './helpers.js';
import { fixturePath } from '../../../../test/support/fixtures.js';
import { childrenOf } from '../../../../test/support/procs.js';
import { logLines } from '../../../../test/support/services.js';

let ours: Ours;
let gpg: Gpg;
let v4Fp: string;
let v6Fp: string;
let v6Armored: string;

before(async () => {
  // A v6 key (RFC 9580) made by openpgp.js, since GnuPG 2.2 cannot make one.
  const { publicKey } = await openpgp.generateKey({
    type: 'curve25519', userIDs: [{ name: 'Six', email: 'six@v6.example' }], config: { v6Keys: true }, format: 'armored',
  });
  v6Armored = publicKey;
  v6Fp = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
  ours = await startOurs({
    keys: [publicKey],
    settings: { hostname: 'keys.test', server_contact: '0xDEADBEEF' },
    membership: 'peer.one.example 11370\npeer.two.example 11370 # second\n',
  });
  gpg = makeGpg(ours.url);
  v4Fp = genKey(gpg, 'Four <four@v6.example>');
  assert.equal(gpg.run(['--send-keys', v4Fp]).status, 0);
});

after(async () => {
  gpg?.cleanup();
  await ours?.stop();
});

test('mr index lines follow the HKP format', async () => {
  const res = await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=0x${v4Fp}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain');
  assert.equal(res.headers.get('x-hkp-results-count'), '1');
  const lines = (await res.text()).trimEnd().split('\n');
  assert.equal(lines[0], 'info:1:1');
  assert.match(lines[1]!, new RegExp(`^pub:${v4Fp}:22:\\d+:\\d+::$`));
  assert.match(lines[2]!, /^uid:Four <four@v6\.example>:\d+::$/);
});

test('HTML index shows fingerprint and digest links when asked', async () => {
  const res = await fetch(`${ours.url}/pks/lookup?op=index&fingerprint=on&hash=on&search=four@v6.example`);
  const html = await res.text();
  assert.match(html, /Fingerprint=([0-9A-F]{4} ){5} ([0-9A-F]{4} ){5}/);
  const digest = /Hash=<a href=[^>]*>([0-9A-F]{32})<\/a>/.exec(html)?.[1];
  assert.ok(digest);
  const byHash = await fetch(`${ours.url}/pks/lookup?op=hget&options=mr&search=${digest}`);
  assert.equal(byHash.status, 200);
  const exported = dearmorAll(gpg.run(['--armor', '--export', v4Fp]).stdout);
  assert.ok(dearmorAll(await byHash.text()).subarray(0, 40).equals(exported.subarray(0, 40)));
});

test('v6 keys: served by v6 fingerprint, left out of legacy answers by address', async () => {
  const byFp = await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=0x${v6Fp}`);
  assert.equal(byFp.status, 200);
  const key = await openpgp.readKey({ armoredKey: await byFp.text() });
  assert.equal(key.getFingerprint().toUpperCase(), v6Fp);
  // Both keys carry @v6.example; a legacy op=get by word must give only the v4 key, which GnuPG 2.2 can import.
  const byWord = await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=v6.example`);
  assert.equal(byWord.status, 200);
  const keys = await openpgp.readKeys({ armoredKeys: await byWord.text() });
  assert.deepEqual(keys.map((k) => k.getFingerprint().toUpperCase()), [v4Fp]);
  const other = makeGpg(ours.url);
  try {
    const r = other.run(['--auto-key-locate', 'clear,keyserver', '--locate-keys', 'six@v6.example']);
    assert.notEqual(r.status, 0, 'GnuPG 2.2 gets no v6 key to choke on');
    const four = other.run(['--recv-keys', v4Fp]);
    assert.equal(four.status, 0, four.stderr);
  } finally {
    other.cleanup();
  }
  // VKS always serves what is asked.
  assert.equal((await fetch(`${ours.url}/vks/v1/by-fingerprint/${v6Fp}`)).status, 200);
  void v6Armored;
});

test('stats as HTML and JSON: key count, version, contact, peers, additions this hour', async () => {
  const html = await (await fetch(`${ours.url}/pks/lookup?op=stats`)).text();
  assert.match(html, /Total number of keys: 2/);
  assert.match(html, /keys\.test/);
  assert.match(html, /peer\.two\.example 11370<\/td><td>sks</, 'each peer with its recon profile');
  const json = (await (await fetch(`${ours.url}/pks/lookup?op=stats&options=json`)).json()) as Record<string, unknown> & { hourly: Array<{ added: number }> };
  assert.equal(json.total_keys, 2);
  assert.equal(json.server_contact, '0xDEADBEEF');
  // each peer as Hockeypuck's page lists it (spiders follow peers[].reconAddr), with its recon profile
  assert.deepEqual((json.peers as Array<{ reconAddr: string; profile: string }>).map((p) => [p.reconAddr, p.profile]),
    [['peer.one.example:11370', 'sks'], ['peer.two.example:11370', 'sks']]);
  assert.equal(json.numkeys, 2);
  assert.equal(json.Total, 2);
  assert.equal(json.contact, '0xDEADBEEF');
  assert.match(String(json.reconAddr), /:\d+$/);
  assert.ok(typeof json.version === 'string');
  assert.equal(json.hourly.at(-1)!.added >= 1, true, 'the upload of this test is counted in the current hour');
});

test('the stats page has SKS 1.1.6\'s layout: settings rows in its order, both peer tables, histograms of active periods', async () => {
  const html = (await (await fetch(`${ours.url}/pks/lookup?op=stats`)).text()).replace(/\r/g, '');
  const sks = readFileSync(fixturePath('sks-pages/stats.html'), 'utf8').replace(/\r/g, '');
  const labels = (html: string) => [...html.matchAll(/<tr><td>([A-Za-z ]+:)<\/td>/g)].map((m) => m[1]);
  const sksLabels = labels(sks);
  assert.deepEqual(labels(html).filter((l) => sksLabels.includes(l)), sksLabels, 'SKS\'s settings rows, in its order');
  for (const section of ['<h2>Gossip Peers</h2>', '<h2>Outgoing Mailsync Peers</h2>', '<h3>Daily Histogram</h3>', '<h3>Hourly Histogram</h3>']) {
    assert.ok(html.includes(section), section);
  }
  const taken = /Taken at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC)/;
  assert.match(sks, taken);
  assert.match(html, taken, 'the time as SKS writes it');
  // histogram rows: only periods that saw keys, in SKS's formats
  const day = /<tr><td>\d{4}-\d\d-\d\d<\/td><td>\d+<\/td><td>\d+<\/td><\/tr>/g;
  const hour = /<tr><td>\d{4}-\d\d-\d\d \d\d<\/td><td>\d+<\/td><td>\d+<\/td><\/tr>/g;
  assert.equal((sks.match(day) ?? []).length, 1);
  // the keys of this test were stored moments ago: one day and one hour (two if the test crossed the hour)
  assert.ok([1, 2].includes((html.match(day) ?? []).length), 'the days with keys, no rows of zeros');
  assert.ok([1, 2].includes((html.match(hour) ?? []).length), 'the hours with keys, no rows of zeros');
  assert.ok(!/<td>0<\/td><td>0<\/td>/.test(html), 'no empty periods listed');
});

test('x- aliases of ops and options, exact=on for a whole user ID', async () => {
  const plain = await (await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=0x${v4Fp}`)).text();
  const aliased = await fetch(`${ours.url}/pks/lookup?op=x-index&options=mr&search=0x${v4Fp}`);
  assert.equal(aliased.status, 200);
  assert.equal(await aliased.text(), plain);
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=x-get&options=mr&search=0x${v4Fp}`)).status, 200);
  const exact = await fetch(`${ours.url}/pks/lookup?op=index&options=mr&exact=on&search=${encodeURIComponent('Four <four@v6.example>')}`);
  assert.equal(exact.status, 200);
  assert.match(await exact.text(), new RegExp(`pub:${v4Fp}:`));
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=index&options=mr&x-exact=on&search=Four`)).status, 404);
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=Four`)).status, 200);
});

test('total_keys counts every write at once, whatever stat_interval_s (uploads and recon are seen immediately)', async () => {
  const s = await startOurs({ keys: [v6Armored], settings: { initial_stat: true, stat_interval_s: 3600 } });
  try {
    const total = async (q: string) => {
      const body = await (await fetch(`${s.url}/pks/lookup?op=stats${q}`)).text();
      return q ? (JSON.parse(body) as { total_keys: number }).total_keys : Number(/Total number of keys: (\d+)/.exec(body)?.[1]);
    };
    assert.equal(await total('&options=mr'), 1);
    assert.equal(await total(''), 1);
    const armored = gpg.run(['--armor', '--export', v4Fp]).stdout;
    const up = await fetch(`${s.url}/pks/add`, { method: 'POST', body: 'keytext=' + encodeURIComponent(armored), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(up.status, 200);
    assert.equal(await total('&options=mr'), 2, 'the next stats answer after the upload counts it');
    assert.equal(await total(''), 2);
  } finally {
    await s.stop();
  }
});

test('statistics are refreshed every stat_interval_s (and computed at start with initial_stat)', async () => {
  const s = await startOurs({ keys: [v6Armored], settings: { initial_stat: true, stat_interval_s: 1 } });
  try {
    const total = async () =>
      ((await (await fetch(`${s.url}/pks/lookup?op=stats&options=json`)).json()) as { total_keys: number }).total_keys;
    assert.equal(await total(), 1);
    const armored = gpg.run(['--armor', '--export', v4Fp]).stdout;
    const up = await fetch(`${s.url}/pks/add`, { method: 'POST', body: 'keytext=' + encodeURIComponent(armored), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(up.status, 200);
    let seen = 0;
    for (let i = 0; i < 100 && seen !== 2; i++) {
      await new Promise((r) => setTimeout(r, 200));
      seen = await total();
    }
    assert.equal(seen, 2, 'a later refresh counts the upload');
  } finally {
    await s.stop();
  }
});

test('the operator\'s web root wins over the built-in pages', async () => {
  const web = join(ours.basedir, 'web');
  mkdirSync(web, { recursive: true });
  writeFileSync(join(web, 'index.html'), '<html><body>operator page</body></html>');
  assert.match(await (await fetch(`${ours.url}/`)).text(), /operator page/);
  assert.match(await (await fetch(`${ours.url}/style.css`)).text(), /font-family/);
  assert.equal((await fetch(`${ours.url}/..%2Fsksconf`)).status, 404);
});

/** One request on its own connection (no keep-alive), so the cluster may hand it to any worker. */
function getFresh(port: number, path: string, form?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, agent: false, method: form === undefined ? 'GET' : 'POST',
        headers: form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(form) } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end(form);
  });
}

test('search terms and looked-up keys are not logged by default', async () => {
  const s = await startOurs({ keys: [v6Armored], settings: { log_level: 'debug' } });
  try {
    const probes = [
      `/pks/lookup?op=get&options=mr&search=0x${v6Fp}`,
      '/pks/lookup?op=index&search=zebra-unlikely-word',
      '/pks/lookup?op=index&options=mr&search=someone%40secret-domain.example',
      '/vks/v1/by-email/someone%40secret-domain.example',
      '/pks/lookup?op=get&search=0x123',
    ];
    for (const p of probes) await (await fetch(s.url + p)).text();
    await s.stop();
    await new Promise((r) => setTimeout(r, 500)); // let winston's file stream flush
    const logFile = join(s.basedir, 'log', 'sks-db.log');
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    for (const secret of [v6Fp, v6Fp.slice(-16), 'zebra-unlikely-word', 'secret-domain', '0x123']) {
      assert.ok(!log.includes(secret), `the log names ${secret}:\n${log.slice(0, 2000)}`);
    }
  } finally {
    await s.stop().catch(() => {});
  }
});

test('a cluster of 2 workers shares one port; 50 clients holding connections do not delay a lookup', async () => {
  const cl = await startOurs({ workers: 2, keys: [v6Armored] });
  const slow: net.Socket[] = [];
  try {
    // each worker runs with the young generation db_worker_semi_space_mib asks for (default 4 MiB), and without
    // V8's memory reducer (db_worker_memory_reducer, default false)
    const workers = childrenOf(cl.pid);
    assert.equal(workers.length, 2);
    for (const w of workers) {
      const args = readFileSync(`/proc/${w}/cmdline`, 'utf8').split('\0');
      assert.ok(args.includes('--max-semi-space-size=4') && args.includes('--no-memory-reducer'), `worker ${w}: ${args.join(' ')}`);
    }
    for (let i = 0; i < 50; i++) {
      const s = net.connect(cl.port, '127.0.0.1');
      s.on('error', () => {});
      s.write('GET /pks/lookup?op=stats HTTP/1.1\r\nHost: x\r\n'); // never finishes its header
      slow.push(s);
    }
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${cl.url}/pks/lookup?op=get&options=mr&search=0x${v6Fp}`);
      assert.equal(res.status, 200);
      await res.text();
    }
    // A key uploaded through one worker is found by every worker (each reads the shared database; no cached answer
    // outlives a change): fresh connections are handed to the workers in turn.
    // Both workers first answer (and keep in their lookup caches) that the key is not there.
    for (let i = 0; i < 4; i++) {
      assert.equal((await getFresh(cl.port, `/pks/lookup?op=index&options=mr&search=0x${v4Fp}`)).status, 404);
    }
    const armored = gpg.run(['--armor', '--export', v4Fp]).stdout;
    const up = await getFresh(cl.port, '/pks/add', 'keytext=' + encodeURIComponent(armored));
    assert.equal(up.status, 200, up.body);
    for (let i = 0; i < 8; i++) {
      const r = await getFresh(cl.port, `/pks/lookup?op=index&options=mr&search=0x${v4Fp}`);
      assert.equal(r.status, 200, `request ${i}: ${r.body}`);
      assert.match(r.body, new RegExp(`pub:${v4Fp}:`));
    }
  } finally {
    for (const s of slow) s.destroy();
    await cl.stop();
  }
});

test('a worker that dies is logged and replaced: the cluster keeps its two workers and goes on answering', async () => {
  const cl = await startOurs({ workers: 2, keys: [v6Armored] });
  try {
    const [victim] = childrenOf(cl.pid);
    assert.ok(victim, 'no worker found');
    process.kill(victim, 'SIGKILL');
    const deadline = Date.now() + 30_000;
    let replaced: number[] = [];
    while (Date.now() < deadline) {
      replaced = childrenOf(cl.pid);
      if (replaced.length === 2 && !replaced.includes(victim)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(replaced.length, 2, 'the dead worker was not replaced');
    assert.ok(!replaced.includes(victim));
    const died = logLines(cl.basedir, 'sks-db').filter((l) => l.message === 'an sks-db worker stopped unexpectedly; starting another');
    assert.equal(died.length, 1);
    assert.equal(died[0]!.pid, victim);
    assert.equal(died[0]!.signal, 'SIGKILL');
    for (let i = 0; i < 6; i++) {
      const r = await getFresh(cl.port, `/pks/lookup?op=get&options=mr&search=0x${v6Fp}`);
      assert.equal(r.status, 200, `request ${i} after the replacement: ${r.body}`);
    }
  } finally {
    await cl.stop();
  }
});

test('/robots.txt asks crawlers to stay out, as SKS does (an operator\'s own file in the web root wins)', async () => {
  const res = await fetch(`${ours.url}/robots.txt`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(await res.text(), 'User-agent: *\nDisallow: /\n');
});
