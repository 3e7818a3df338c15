// Push sync with real parts: our server A (sks-db and sks-cron, each its own process) pushes what it gets to
//  - a real SKS 1.1.6 over hkp://,
//  - a second server of ours, B, behind Debian's nginx with TLS, as vks:// and hkps:// (trusting only a test CA),
//  - a local SMTP server as mailto: (SKS's mailsync format), whose mail `sks-admin mail-in` then takes in;
// and the promises around it: a target down then up gets everything once; kill -9 of the pusher mid-batch loses
// nothing and sends nothing again that a target acknowledged; two servers pushing to each other do not loop; a
// signed blocklist entry from a trusted operator removes the key on the peer, a forged one does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import * as openpgp from 'openpgp';
import {
  KeyStore, armor, fingerprintOf, readPackets, toBinary, type PushTargetState, type Settings,
} from '../packages/keystore/src/index.js';
import { startSks, type Sks } from './support/sks.js';
import { keyBlocks, writeKeySubset, DEBIAN_KEYRING } from './support/keyrings.js';
import { makeTempDir } from './support/tmp.js';
import { freePort, freePortRun } from './support/ports.js';
import { startNginx, type RunningNginx } from './support/nginx.js';
import { makeBasedir, startService, runCli, logLines, type Service } from './support/services.js';
import { startOurs, waitFor } from './support/recon-ours.js';

const BLOCKS = keyBlocks(readFileSync(DEBIAN_KEYRING));
/** The push job runs every 2 s here (six-field cron: seconds); production default is every minute. */
const PUSH_EVERY = '*/2 * * * * *';
const SYNC_FROM = 'keys@a.sks-ts.test';

interface Node {
  basedir: string;
  port: number;
  db?: Service;
  cron?: Service;
}

let sks: Sks;
let a: Node;
let b: Node;
let proxy: RunningNginx;
let smtp: SMTPServer;
let smtpPort: number;
/** Where A's sks-cron serves its metrics. */
let aMetrics: number;
const mails: Array<{ from: string; to: string[]; raw: Buffer }> = [];

function baseSettings(port: number, extra: Partial<Settings> = {}): Partial<Settings> {
  return {
    hkp_port: port, hkp_address: ['127.0.0.1'], db_workers: 1, log_level: 'info', cron_push_sync: PUSH_EVERY,
    sync_retry_base_s: 1, sync_retry_max_s: 2, sync_timeout_s: 10,
    // only the push job: the others would compete for the store and clutter the logs
    cron_log_rotate: 'off', cron_checkpoint: 'off', cron_optimize: 'off', cron_vacuum: 'off', cron_integrity: 'off',
    cron_quick_check: 'off', cron_stats: 'off', cron_dump: 'off', cron_backup: 'off', cron_blocklist: 'off',
    ...extra,
  };
}

async function makeNode(extra: Partial<Settings> = {}): Promise<Node> {
  const port = await freePort();
  const basedir = makeBasedir(baseSettings(port, extra), 'push-node-');
  const n: Node = { basedir, port };
  n.db = await startService('sks-db', basedir);
  return n;
}

const dbFile = (n: Node) => join(n.basedir, 'keys.sqlite');

function withStore<T>(n: Node, fn: (s: KeyStore) => T): T {
  const s = KeyStore.open(dbFile(n));
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

/** Stores keyring keys in a node as an upload would (source add: pushed on); their fingerprints. */
function addKeys(n: Node, indexes: number[]): string[] {
  return withStore(n, (s) => s.upsert(indexes.map((i) => readPackets(BLOCKS[i]!)), 'add').map((o) => o.fingerprint!));
}

function targetRow(n: Node, url: string): PushTargetState | undefined {
  return withStore(n, (s) => s.pushTargets().find((t) => t.target === url));
}

async function httpStatus(url: string): Promise<number> {
  return (await fetch(url)).status;
}

/** The fingerprints of the keys in armored text. */
function fingerprintsIn(text: string): string[] {
  const blocks = text.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? [];
  return blocks.flatMap((b) => readPackets(toBinary(b)).filter((p) => p.tag === 6).map((p) => fingerprintOf(p.body)));
}

before(async () => {
  // SKS builds its database from a keydump; one key it holds from the start, none of those the tests push
  sks = await startSks({ keyFiles: [writeKeySubset(DEBIAN_KEYRING, [399], join(makeTempDir('push-sks-'), 'seed.gpg'))] });
  smtpPort = await freePort();
  smtp = new SMTPServer({
    authOptional: true, disabledCommands: ['STARTTLS', 'AUTH'], logger: false,
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks),
        });
        cb();
      });
    },
  });
  await new Promise<void>((r) => smtp.listen(smtpPort, '127.0.0.1', () => r()));
  b = await makeNode();
  proxy = await startNginx(`127.0.0.1:${b.port}`);
  const [metricsPort] = await freePortRun(3); // sks-db, sks-recon, sks-cron (+2)
  aMetrics = metricsPort! + 2;
  a = await makeNode({ sync_from: SYNC_FROM, smtp_host: '127.0.0.1', smtp_port: smtpPort, metrics_port: metricsPort! });
});

after(async () => {
  for (const n of [a, b]) {
    await n?.cron?.stop();
    await n?.db?.stop();
  }
  await proxy?.stop();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
  await sks?.stop();
});

test('a key uploaded to us reaches real SKS (hkp), ours behind TLS (vks, hkps) and a mail target within one interval', async () => {
  const targets = [
    `hkp://127.0.0.1:${sks.hkpPort}`,
    `vks://localhost:${proxy.tlsPort} 10`,
    `hkps://localhost:${proxy.tlsPort} 20`,
    'mailto:sync@b.sks-ts.test',
  ];
  writeFileSync(join(a.basedir, 'sync-targets'), `# test targets\n${targets.join('\n')}\n`);
  a.cron = await startService('sks-cron', a.basedir, { NODE_EXTRA_CA_CERTS: proxy.tls.caCert });
  // the push job meets every target once, so each starts after the newest change (nothing older is pushed)
  await waitFor('the push job to see the targets', () => withStore(a, (s) => s.pushTargets().length) === 4, 30_000);

  const armored = armor(BLOCKS[0]!);
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${a.port}/pks/add`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `keytext=${encodeURIComponent(armored)}`,
  });
  assert.equal(res.status, 200);
  const [fp] = fingerprintsIn(armored);
  const interval = 2_000;
  const within = interval + 8_000; // one interval, plus the push itself and the polling

  await waitFor('SKS to serve the key', async () => (await httpStatus(`${sks.hkpUrl}/pks/lookup?op=get&search=0x${fp}`)) === 200, within);
  await waitFor('the mail to arrive', () => mails.length > 0, within);
  await waitFor('B to hold the key', () => withStore(b, (s) => s.getByFingerprint(fp!) !== undefined), within);
  const took = Date.now() - t0;
  assert.ok(took <= within, `arrived everywhere after ${took} ms`);

  // The mail is SKS's mailsync format.
  const mail = mails[0]!;
  assert.equal(mail.from, SYNC_FROM);
  assert.deepEqual(mail.to, ['sync@b.sks-ts.test']);
  const text = mail.raw.toString('utf8');
  assert.match(text, /^Subject: incremental$/mi);
  assert.match(text, new RegExp(`^X-Keyserver-Sent: ${SYNC_FROM}$`, 'mi'));
  assert.deepEqual(fingerprintsIn(text), [fp]);

  // Both TLS targets acknowledged it; B stored it as arriving by sync (not pushed on by B).
  await waitFor('every target to acknowledge', () => targets.every((t) => (targetRow(a, t.split(' ')[0]!)?.sent ?? 0) === 1), within);
  const pushed = withStore(b, (s) => s.pendingPushes(0, 10).items.length);
  assert.equal(pushed, 0, 'B does not queue a key that was pushed to it');
  assert.equal(targetRow(a, `vks://localhost:${proxy.tlsPort}`)?.failures, 0);

  // What the operator sees: the stats page (HTML and mr, with Hockeypuck's field names) and the metrics.
  const mr = await (await fetch(`http://127.0.0.1:${a.port}/pks/lookup?op=stats&options=mr`)).json() as {
    pksTargets: Array<{ Addr: string; LastSync: string | null; LastError: string | null; sent: number; pending: number; priority: number }>;
  };
  assert.deepEqual(mr.pksTargets.map((t) => [t.Addr, t.sent, t.pending]).sort(),
    targets.map((t) => [t.split(' ')[0], 1, 0]).sort());
  assert.ok(mr.pksTargets.every((t) => t.LastSync !== null && t.LastError === null));
  assert.deepEqual(mr.pksTargets.map((t) => t.priority), [10, 20, 100, 100], 'listed in push order');
  const html = await (await fetch(`http://127.0.0.1:${a.port}/pks/lookup?op=stats`)).text();
  assert.match(html, /<h2>Push Sync Targets<\/h2>/);
  // (the page quotes / as &#x2F;, as SKS's HTML quoting does)
  assert.match(html, new RegExp(`<td>hkp:&#x2F;&#x2F;127\\.0\\.0\\.1:${sks.hkpPort}</td><td>100</td><td>0</td><td>1</td><td>0</td><td>[0-9: -]+ UTC</td><td>ok</td>`));
  await waitFor('the metrics to be set after a run', async () => {
    const text = await (await fetch(`http://127.0.0.1:${aMetrics}/metrics`)).text();
    return new RegExp(`sks_push_sent_keys\\{target="mailto:sync@b.sks-ts.test"\\} 1`).test(text)
      && /sks_push_consecutive_failures\{target="vks:\/\/localhost:\d+"\} 0/.test(text);
  }, 10_000);
});

test('sks-admin mail-in takes the mail the target received, from allowed senders only, and never pushes it on', async () => {
  const c = makeBasedir({ mail_in_allowed: [SYNC_FROM], sync_from: 'keys@c.sks-ts.test' }, 'mail-in-');
  const raw = mails[0]!.raw;
  const ok = await runCli('sks-admin', ['mail-in', '--basedir', c], raw);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /mail-in: stored/);
  const fp = fingerprintsIn(raw.toString('utf8'))[0]!;
  const cStore = KeyStore.open(join(c, 'keys.sqlite'));
  try {
    assert.ok(cStore.getByFingerprint(fp), 'the mailed key is stored');
    assert.equal(cStore.pendingPushes(0, 10).items.length, 0, 'a mailed key is not pushed on');
  } finally {
    cStore.close();
  }
  // The same mail from someone not allowed: dropped (exit 0, so the MTA does not bounce it), nothing stored.
  const forged = Buffer.from(raw.toString('utf8').replace(new RegExp(`^From: .*$`, 'mi'), 'From: mallory@evil.test'));
  const d = makeBasedir({ mail_in_allowed: [SYNC_FROM] }, 'mail-in-');
  const no = await runCli('sks-admin', ['mail-in', '--basedir', d], forged);
  assert.equal(no.code, 0);
  assert.match(no.stdout, /mail-in: ignored: sender mallory@evil\.test is not in mail_in_allowed/);
  const dStore = KeyStore.open(join(d, 'keys.sqlite'));
  try {
    assert.equal(dStore.count(), 0);
  } finally {
    dStore.close();
  }
  // Hockeypuck's PKS mail: only "Subject: ADD" and the key; the MTA's Return-Path names the envelope sender.
  const keyText = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/.exec(raw.toString('utf8'))![0];
  const hp = makeBasedir({ mail_in_allowed: ['hp@hp23.localhost'] }, 'mail-in-');
  const hpMail = await runCli('sks-admin', ['mail-in', '--basedir', hp], `Return-Path: <hp@hp23.localhost>\nSubject: ADD\n\n${keyText}\n`);
  assert.equal(hpMail.code, 0, hpMail.stderr);
  assert.match(hpMail.stdout, /mail-in: stored: from hp@hp23\.localhost \{"inserted":1/);
});

test('targets down, then up: every key queued meanwhile arrives, once', async () => {
  // A second server of ours as a plain hkp:// target whose log counts what each push brought (inserted vs unchanged).
  const dPort = await freePort();
  const dBase = makeBasedir(baseSettings(dPort), 'push-d-');
  const sksUrl = `hkp://127.0.0.1:${sks.hkpPort}`;
  const dUrl = `hkp://127.0.0.1:${dPort}`;
  writeFileSync(join(a.basedir, 'sync-targets'), `${sksUrl}\n${dUrl}\n`);
  let d = await startService('sks-db', dBase);
  await waitFor('the push job to meet D', () => targetRow(a, dUrl) !== undefined, 30_000);
  await d.stop();
  const fps = await sks.whileStopped(async () => {
    const fps = addKeys(a, [1, 2, 3, 4, 5]);
    await waitFor('both targets to fail', () => (targetRow(a, sksUrl)?.failures ?? 0) >= 1 && (targetRow(a, dUrl)?.failures ?? 0) >= 1, 30_000);
    assert.match(targetRow(a, dUrl)!.lastError ?? '', /ECONNREFUSED/);
    // while they are down the queue is the change log: the keys wait there, the cursor stays
    assert.equal(withStore(a, (s) => s.countPending(targetRow(a, dUrl)!.cursor, 100)), 5);
    return fps;
  });
  d = await startService('sks-db', dBase);
  try {
    await waitFor('D to hold the five keys', () => {
      const s = KeyStore.open(join(dBase, 'keys.sqlite'), { readonly: true });
      try {
        return fps.every((f) => s.getByFingerprint(f));
      } finally {
        s.close();
      }
    }, 30_000);
    for (const f of fps) {
      await waitFor(`SKS to serve ${f}`, async () => (await httpStatus(`${sks.hkpUrl}/pks/lookup?op=get&search=0x${f}`)) === 200, 30_000);
    }
    await waitFor('both cursors to pass the keys', () => targetRow(a, sksUrl)!.failures === 0 && targetRow(a, dUrl)!.failures === 0, 30_000);
    // once: D's log of pushes to it says every key was new, none came twice
    const pushes = logLines(dBase, 'sks-db').filter((l) => l.message === 'keys pushed to us');
    const sum = (k: string) => pushes.reduce((n, l) => n + Number(l[k] ?? 0), 0);
    assert.equal(sum('inserted'), 5);
    assert.equal(sum('unchanged') + sum('updated'), 0, JSON.stringify(pushes));
    assert.equal(targetRow(a, sksUrl)!.sent - 1, 5, 'SKS acknowledged each key once (plus the first test\'s)');
  } finally {
    await d.stop();
  }
});

test('kill -9 of the pusher mid-batch: nothing lost, nothing acknowledged sent again', async () => {
  // A recording front of a real server of ours: which keys each request carried, and whether it was answered.
  const ePort = await freePort();
  const eBase = makeBasedir(baseSettings(ePort), 'push-e-');
  const e = await startService('sks-db', eBase);
  const requests: Array<{ fps: string[]; answered: boolean }> = [];
  const front = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('latin1');
      const keytext = new URLSearchParams(body).get('keytext') ?? '';
      const entry = { fps: fingerprintsIn(keytext), answered: false };
      requests.push(entry);
      // a little latency, as over a real network, so the kill lands mid-batch
      setTimeout(() => {
        const up = http.request({ host: '127.0.0.1', port: ePort, path: req.url, method: 'POST', headers: req.headers }, (r) => {
          const out: Buffer[] = [];
          r.on('data', (c: Buffer) => out.push(c));
          r.on('end', () => {
            res.writeHead(r.statusCode ?? 502, r.headers).end(Buffer.concat(out));
            entry.answered = true;
          });
        });
        up.end(Buffer.concat(chunks));
      }, 15);
    });
  });
  const frontPort = await freePort();
  await new Promise<void>((r) => front.listen(frontPort, '127.0.0.1', () => r()));
  const url = `hkp://127.0.0.1:${frontPort}`;
  try {
    await a.cron!.stop();
    writeFileSync(join(a.basedir, 'sync-targets'), `${url}\n`);
    writeFileSync(join(a.basedir, 'sksconf'), readFileSync(join(a.basedir, 'sksconf'), 'utf8') + 'sync_keys_per_request: 2\n');
    a.cron = await startService('sks-cron', a.basedir);
    await waitFor('the push job to meet the target', () => targetRow(a, url) !== undefined, 30_000);
    const N = 160;
    const fps = addKeys(a, Array.from({ length: N }, (_, i) => 10 + i));
    await waitFor('a part of the batch to be sent', () => requests.length >= 20, 60_000);
    await a.cron.kill();
    const acked = targetRow(a, url)!;
    assert.ok(acked.sent > 0 && acked.sent < N, `killed mid-batch: ${acked.sent} of ${N} acknowledged`);
    const sentBeforeKill = requests.length;
    // the keys the pusher had recorded as acknowledged when it died
    const ackedFps = new Set(withStore(a, (s) => {
      const first = s.pendingPushes(0, 100_000).items.filter((p) => fps.includes(p.fingerprint));
      return first.filter((p) => p.seq <= acked.cursor).map((p) => p.fingerprint);
    }));
    a.cron = await startService('sks-cron', a.basedir);
    await waitFor('every key to reach the target', () => {
      const got = new Set(requests.filter((r) => r.answered).flatMap((r) => r.fps));
      return fps.every((f) => got.has(f));
    }, 90_000);
    // nothing acknowledged before the kill was sent again
    const after = requests.slice(sentBeforeKill).flatMap((r) => r.fps);
    for (const f of after) assert.ok(!ackedFps.has(f), `${f} was acknowledged before the kill and sent again`);
    // at most the one request in flight at the kill is repeated
    const count = new Map<string, number>();
    for (const f of requests.flatMap((r) => r.fps)) count.set(f, (count.get(f) ?? 0) + 1);
    const repeated = [...count].filter(([, n]) => n > 1).map(([f]) => f);
    assert.ok(repeated.length <= 2, `repeated: ${repeated.join(' ')}`);
    const eStore = KeyStore.open(join(eBase, 'keys.sqlite'), { readonly: true });
    try {
      assert.ok(fps.every((f) => eStore.getByFingerprint(f)), 'the target holds every key');
    } finally {
      eStore.close();
    }
  } finally {
    await new Promise<void>((r) => front.close(() => r()));
    await e.stop();
  }
});

test('two servers pushing to each other do not loop', async () => {
  writeFileSync(join(a.basedir, 'sync-targets'), `hkp://127.0.0.1:${b.port}\n`);
  writeFileSync(join(b.basedir, 'sync-targets'), `hkp://127.0.0.1:${a.port}\n`);
  b.cron = await startService('sks-cron', b.basedir);
  const aToB = `hkp://127.0.0.1:${b.port}`;
  const bToA = `hkp://127.0.0.1:${a.port}`;
  await waitFor('both push jobs to meet their target', () => targetRow(a, aToB) !== undefined && targetRow(b, bToA) !== undefined, 30_000);
  const [fpA] = addKeys(a, [200]);
  const [fpB] = addKeys(b, [201]);
  await waitFor('each key to cross once', () =>
    withStore(b, (s) => !!s.getByFingerprint(fpA!)) && withStore(a, (s) => !!s.getByFingerprint(fpB!)), 30_000);
  const seqA = withStore(a, (s) => s.lastSeq());
  const seqB = withStore(b, (s) => s.lastSeq());
  // several more runs of both jobs
  await new Promise((r) => setTimeout(r, 7_000));
  assert.equal(withStore(a, (s) => s.lastSeq()), seqA, 'A wrote nothing more: B did not send A\'s key back');
  assert.equal(withStore(b, (s) => s.lastSeq()), seqB, 'B wrote nothing more');
  assert.equal(targetRow(a, aToB)!.sent, 1);
  assert.equal(targetRow(b, bToA)!.sent, 1);
});

test('a signed blocklist entry from a trusted operator removes the key on the peer; forged ones do not', async () => {
  // Operator keys: A's (trusted by B) and Mallory's (not trusted).
  const gen = (name: string) => openpgp.generateKey({ type: 'ecc', curve: 'ed25519Legacy', userIDs: [{ name, email: `${name}@ops.test` }], format: 'armored' });
  const op = await gen('operator-a');
  const mallory = await gen('mallory');
  const opFpr = (await openpgp.readKey({ armoredKey: op.publicKey })).getFingerprint().toUpperCase();
  writeFileSync(join(a.basedir, 'operator.key'), op.privateKey);
  // Two keys both servers hold: A blocks one; a forged entry (Mallory's) names the other.
  const [victim, bystander] = addKeys(a, [300, 301]);
  addKeys(b, [300, 301]);
  // A feed of forgeries served beside: Mallory's signature, and A's signature over altered text.
  const { signedBlocklist } = await import('../packages/keystore/src/index.js');
  const mk = await signedBlocklist.readSigningKey(mallory.privateKey);
  const opKey = await signedBlocklist.readSigningKey(op.privateKey);
  const byMallory = await signedBlocklist.signEntry({ fingerprint: bystander!, reason: 'forged', issued: 1_800_000_000 }, mk);
  const genuine = await signedBlocklist.signEntry({ fingerprint: '0'.repeat(40), reason: 'nothing', issued: 1_800_000_000 }, opKey);
  const altered = genuine.replace('0'.repeat(40), bystander!);
  const forgeries = http.createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(`${byMallory}\n${altered}\n`));
  const fPort = await freePort();
  await new Promise<void>((r) => forgeries.listen(fPort, '127.0.0.1', () => r()));
  try {
    await a.cron!.stop();
    await b.cron!.stop();
    writeFileSync(join(a.basedir, 'sksconf'), readFileSync(join(a.basedir, 'sksconf'), 'utf8') + 'blocklist_signing_key: operator.key\n');
    writeFileSync(join(b.basedir, 'blocklist-signers.asc'), op.publicKey);
    writeFileSync(join(b.basedir, 'sksconf'), readFileSync(join(b.basedir, 'sksconf'), 'utf8')
      + `blocklist_trusted_signers: ${opFpr}\nblocklist_feeds: http://127.0.0.1:${a.port}/pks/blocklist.asc http://127.0.0.1:${fPort}/feed\n`);
    withStore(a, (s) => s.block(victim!, 'owner asked for removal'));
    a.cron = await startService('sks-cron', a.basedir);
    await waitFor('A to publish its signed entry', async () => /BEGIN PGP SIGNED MESSAGE/.test(await (await fetch(`http://127.0.0.1:${a.port}/pks/blocklist.asc`)).text()), 30_000);
    b.cron = await startService('sks-cron', b.basedir);
    await waitFor('B to apply the entry', () => withStore(b, (s) => s.isBlocked(victim!)), 30_000);
    withStore(b, (s) => {
      assert.equal(s.getByFingerprint(victim!), undefined, 'the key is removed on B');
      const entry = s.blocklist().find((e) => e.fingerprint.toUpperCase() === victim);
      assert.equal(entry?.reason, `owner asked for removal (blocklist of ${opFpr})`);
      assert.ok(s.getByFingerprint(bystander!), 'the key named only by forged entries stays');
      assert.equal(s.isBlocked(bystander!), false);
    });
    // B reads the feeds in turn: the forgeries' feed comes after A's, so its refusal may be logged after the block
    const refusedLines = () => logLines(b.basedir, 'sks-cron').filter((l) => l.message === 'blocklist feed entries refused (not signed by a trusted operator key)');
    await waitFor('B to log the forged entries it refused', () => refusedLines().length > 0, 30_000);
    const refused = refusedLines();
    assert.ok(refused.some((l) => l.refused === 2), JSON.stringify(refused.slice(0, 2)));
    // B's own published list does not pass A's entry on as B's
    assert.equal(withStore(b, (s) => s.blocklist().length), 1);
  } finally {
    await new Promise<void>((r) => forgeries.close(() => r()));
  }
});

test('failover: a partner marked "failover" gets our keys over HKP once recon with it has failed long enough', async () => {
  // P reconciles with A (recon and HKP in this process); A's membership marks it for failover.
  const [reconPort] = await freePortRun(1);
  const p = await startOurs({ peers: [{ host: '127.0.0.1', port: reconPort! }] });
  let recon: Service | undefined;
  try {
    await a.cron!.stop();
    writeFileSync(join(a.basedir, 'sync-targets'), '');
    writeFileSync(join(a.basedir, 'membership'), `127.0.0.1 ${p.reconPort} failover\n`);
    writeFileSync(join(a.basedir, 'sksconf'), readFileSync(join(a.basedir, 'sksconf'), 'utf8')
      + `recon_address: 127.0.0.1\nrecon_port: ${reconPort}\ngossip_interval_s: 1\nsync_failover_after_s: 2\n`);
    recon = await startService('sks-recon', a.basedir);
    a.cron = await startService('sks-cron', a.basedir);
    const peer = `127.0.0.1:${p.reconPort}`;
    const failoverUrl = `hkp://127.0.0.1:${p.hkpPort}`;
    const health = () => withStore(a, (s) => s.reconPeers().find((h) => h.peer === peer));
    await waitFor('a recon session with P', () => health()?.lastOk !== undefined, 30_000);
    assert.equal(health()!.httpPort, p.hkpPort, 'the HKP port P announced is known');
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(targetRow(a, failoverUrl), undefined, 'no push while recon works');

    await p.recon.stop(); // P's recon goes down; its HKP stays up
    await waitFor('recon with P to fail', () => health()?.failingSince !== undefined, 30_000);
    const [fp] = addKeys(a, [320]);
    await waitFor('the key to reach P over HKP', () => p.store.getByFingerprint(fp!) !== undefined, 30_000);
    // A records the push once P has answered, which is after P stored the key: the row may lag a moment
    await waitFor('A to record the push', () => (targetRow(a, failoverUrl)?.sent ?? 0) >= 1, 10_000).catch(() => undefined);
    const row = targetRow(a, failoverUrl);
    assert.ok(row && row.sent >= 1, JSON.stringify(row));
    const mr = await (await fetch(`http://127.0.0.1:${a.port}/pks/lookup?op=stats&options=mr`)).json() as {
      peers: Array<{ reconAddr: string; state: string; failover?: boolean; httpAddr: string }>;
    };
    assert.deepEqual(mr.peers.map((x) => [x.reconAddr, x.state, x.failover, x.httpAddr]), [[peer, 'failing', true, `127.0.0.1:${p.hkpPort}`]]);
  } finally {
    await recon?.stop();
    await p.db.stop();
    p.store.close();
  }
});
