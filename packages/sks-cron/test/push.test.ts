// The push job's decisions on a real store, against an HTTP target in this process that answers as a keyserver
// would (200, 422 for a key it will not take, 503), and SKS's sendmail_cmd path with a real shell command.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KeyStore, createLogger, defaultSettings, fingerprintOf, readPackets, toBinary, type Settings, type SyncTarget,
} from '@sks/keystore';
import { pushToTarget, retryDelayS } from '../src/sync/push.js';
import { TargetDown, sendMail } from '../src/sync/transports.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';

const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
const log = createLogger({ service: 'test', console: false });
const settings = (s: Partial<Settings> = {}): Settings => ({ ...defaultSettings(), ...s });

/** A /pks/add that refuses the keys in `refuse` (422, as we answer a key our policy refuses) and records the rest. */
async function target(answer: (fps: string[]) => number) {
  const got: string[][] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const keytext = new URLSearchParams(Buffer.concat(chunks).toString('latin1')).get('keytext') ?? '';
      const fps = readPackets(toBinary(keytext)).filter((p) => p.tag === 6).map((p) => fingerprintOf(p.body));
      got.push(fps);
      const status = answer(fps);
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const t: SyncTarget = { url: `hkp://127.0.0.1:${port}`, kind: 'hkp', host: '127.0.0.1', port, priority: 100, from: 'sync-targets' };
  return { t, got, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

const emptyStore = () => KeyStore.open(join(makeTempDir('push-'), 'keys.sqlite'));

test('a request the target refuses is sent again key by key: the others get through, the refused one is counted', async () => {
  const store = emptyStore();
  let refuse = '';
  const tgt = await target((fps) => (fps.includes(refuse) ? 422 : 200));
  try {
    store.pushTarget(tgt.t.url);
    const fps = store.upsert(blocks.slice(0, 5).map((b) => readPackets(b)), 'add').map((o) => o.fingerprint!);
    refuse = fps[2]!;
    const run = await pushToTarget(tgt.t, store, { settings: settings({ sync_keys_per_request: 5 }), sender: 'test' }, log);
    assert.equal(run.sent, 4);
    assert.equal(run.refused, 1);
    assert.deepEqual(tgt.got.map((r) => r.length), [5, 1, 1, 1, 1, 1], 'one request of five, then one by one');
    const row = store.pushTarget(tgt.t.url);
    assert.equal(row.cursor, store.lastSeq(), 'refused keys are not retried');
    assert.deepEqual([row.sent, row.refused, row.failures], [4, 1, 0]);
  } finally {
    await tgt.close();
    store.close();
  }
});

test('a target answering 503 keeps its place and waits; a key changed twice while waiting is sent once', async () => {
  const store = emptyStore();
  let status = 503;
  const tgt = await target(() => status);
  try {
    store.pushTarget(tgt.t.url);
    const full = readPackets(blocks[0]!);
    store.upsert([full.slice(0, -1)], 'add'); // the key without its last packet
    const s = settings({ sync_retry_base_s: 60, sync_retry_max_s: 600 });
    const run = await pushToTarget(tgt.t, store, { settings: s, sender: 'test' }, log);
    assert.match(run.error ?? '', /answered 503/);
    let row = store.pushTarget(tgt.t.url);
    assert.equal(row.failures, 1);
    assert.ok(row.retryAt >= Math.floor(Date.now() / 1000) + 59);
    const waiting = await pushToTarget(tgt.t, store, { settings: s, sender: 'test' }, log);
    assert.equal(waiting.waiting, true, 'not tried again before its back-off ends');
    assert.equal(tgt.got.length, 1);
    // meanwhile recon brings the whole key (an update: a second change of it) and another key arrives
    assert.equal(store.upsert([full], 'recon')[0]!.status, 'updated');
    const [other] = store.upsert([readPackets(blocks[1]!)], 'add').map((o) => o.fingerprint!);
    status = 200;
    const later = Math.floor(Date.now() / 1000) + 3600;
    const ok = await pushToTarget(tgt.t, store, { settings: s, sender: 'test' }, log, undefined, later);
    assert.equal(ok.sent, 2);
    const fp0 = fingerprintOf(full[0]!.body);
    assert.deepEqual(tgt.got.slice(1).flat().sort(), [fp0, other].sort(), 'the key changed twice is sent once');
    row = store.pushTarget(tgt.t.url);
    assert.deepEqual([row.failures, row.sent], [0, 2]);
    assert.equal(row.lastError?.includes('503'), true);
  } finally {
    await tgt.close();
    store.close();
  }
});

test('back-off doubles per failure up to sync_retry_max_s', () => {
  const s = settings({ sync_retry_base_s: 60, sync_retry_max_s: 3600 });
  assert.deepEqual([1, 2, 3, 4, 7, 40].map((n) => retryDelayS(s, n)), [60, 120, 240, 480, 3600, 3600]);
});

test('sendmail_cmd gets the whole message on standard input; a failing command is a failure to retry', async () => {
  const dir = makeTempDir('sendmail-');
  const out = join(dir, 'message');
  const mailTarget: SyncTarget = { url: 'mailto:pks@mail.example', kind: 'mailto', address: 'pks@mail.example', priority: 1000, from: 'mailsync' };
  const armored = '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n';
  const r = await sendMail(mailTarget, armored, { settings: settings({ sync_from: 'keys@a.example', sendmail_cmd: `cat > '${out}'` }), sender: 'x' });
  assert.deepEqual(r, { status: 'ok' });
  const msg = readFileSync(out, 'utf8');
  assert.match(msg, /^To: pks@mail\.example$/m);
  assert.match(msg, /^From: keys@a\.example$/m);
  assert.match(msg, /^Subject: incremental$/m);
  assert.match(msg, /^X-Keyserver-Sent: keys@a\.example$/m);
  assert.ok(msg.includes(armored.trim()), 'the armored keys are the text, unchanged');
  await assert.rejects(
    sendMail(mailTarget, armored, { settings: settings({ sync_from: 'keys@a.example', sendmail_cmd: 'exit 3' }), sender: 'x' }),
    (e: unknown) => e instanceof TargetDown && /exited with 3/.test(e.message),
  );
  await assert.rejects(sendMail(mailTarget, armored, { settings: settings(), sender: 'x' }), /set sync_from/);
});
