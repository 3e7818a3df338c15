// Bad peers end their own session with a clear reason and change nothing: non-member, garbage, oversized message,
// stalled peer, disconnect mid-session, another filter profile. Each leaves a clear line in sks-recon's log, and
// after all of them the server still serves a well-behaved member. Then peers whose /pks/hashquery misbehaves.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer, type Socket } from 'node:net';
import { writeFileSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { KeyStore, createLogger } from '@sks/keystore';
import { startRecon, type RunningRecon } from '../src/start.js';
import type { SessionSummary } from '../src/server.js';
import { encodeMessage, encodeString, frame, intString, splitFrames } from '../src/messages.js';
import { collect, debianDigests, treeOf } from './helpers.js';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Channel } from '../src/channel.js';
import { answer, walk } from '../src/session.js';
import { freePort } from '../../../test/support/ports.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { keyBlocks, splitKeyring, DEBIAN_KEYRING } from '../../../test/support/keyrings.js';

let recon: RunningRecon;
let basedir: string;
let before_: { count: number; root: string };

function snapshot(): { count: number; root: string } {
  const root = recon.server.tree.node('')!;
  return { count: recon.store.count(), root: root.samples.map((s) => s.toString('hex')).join('') + root.numElements };
}

const FILTERS = 'yminsky.dedup,yminsky.merge';
const peerConfig = encodeMessage({ type: 'Config', pairs: [
  ['bitquantum', intString(2)], ['filters', FILTERS], ['http port', intString(9)], ['mbar', intString(5)], ['version', '1.1.6'],
] });

/** Waits for a line in sks-recon's JSON log whose message matches `re` (the file transport writes asynchronously). */
async function logLine(re: RegExp): Promise<Record<string, unknown>> {
  const file = join(basedir, 'log', 'sks-recon.log');
  for (let i = 0; i < 100; i++) {
    if (existsSync(file)) {
      const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const hit = lines.find((l) => re.test(String(l.message)));
      if (hit) return hit;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no log line matches ${re}`);
}

function logLines(re: RegExp): Array<Record<string, unknown>> {
  const file = join(basedir, 'log', 'sks-recon.log');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => re.test(String(l.message)));
}

function nextSession(): Promise<SessionSummary> {
  return once(recon.server, 'session').then(([s]) => s as SessionSummary);
}

async function dial(): Promise<Socket> {
  const s = connect(recon.port, '127.0.0.1');
  await once(s, 'connect');
  s.on('error', () => undefined);
  return s;
}

before(async () => {
  basedir = makeTempDir('recon-robust-');
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1   # the tests connect from loopback\n');
  const part = splitKeyring(DEBIAN_KEYRING, 8, makeTempDir('recon-robust-keys-'))[0]!;
  const port = await freePort();
  const logger = createLogger({ service: 'sks-recon', console: false, dir: join(basedir, 'log') });
  recon = await startRecon({
    basedir, logger,
    settings: {
      recon_address: ['127.0.0.1'], recon_port: port, disable_gossip: true, recon_read_timeout_s: 1,
      recon_config_timeout_s: 1, recon_max_message_bytes: 4096,
    },
  });
  recon.store.upsertMaterial(readFileSync(part), 'load');
  before_ = snapshot();
  assert.ok(before_.count > 100);
});

after(async () => {
  await recon.stop();
});

test('a host not in membership is refused at once', async () => {
  writeFileSync(join(basedir, 'membership'), '127.0.0.2 11370\n');
  await recon.server.reloadMembership();
  const ended = nextSession();
  const s = await dial();
  const closed = once(s, 'close');
  const sum = await ended;
  await closed;
  assert.equal(sum.errorKind, 'membership');
  assert.equal((await logLine(/not in membership refused/)).level, 'warn');
  // A stranger connecting again and again is refused every time but logged once a minute, not once per connection.
  for (let i = 0; i < 20; i++) {
    const again = nextSession();
    (await dial()).on('error', () => undefined);
    assert.equal((await again).errorKind, 'membership');
  }
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(logLines(/not in membership refused/).length, 1);
  assert.deepEqual(snapshot(), before_);
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1\n');
  await recon.server.reloadMembership();
});

test('garbage bytes end the session as a protocol error', async () => {
  const ended = nextSession();
  const s = await dial();
  s.write(peerConfig);
  s.write(encodeString('passed'));
  s.write(frame(Buffer.from([99, 1, 2, 3])));
  const sum = await ended;
  s.destroy();
  assert.equal(sum.ok, false);
  assert.equal(sum.errorKind, 'protocol');
  assert.match(sum.error!, /unknown message type 99/);
  await logLine(/recon session ended: malformed message from peer: unknown message type 99/);
  assert.deepEqual(snapshot(), before_);
});

test('a message longer than recon_max_message_bytes ends the session before it is read', async () => {
  const ended = nextSession();
  const s = await dial();
  const head = Buffer.alloc(4);
  head.writeUInt32BE(4097);
  s.write(head);
  s.write(Buffer.alloc(100));
  const sum = await ended;
  s.destroy();
  assert.equal(sum.errorKind, 'oversized');
  assert.match(sum.error!, /4097-byte message; the limit is 4096/);
  await logLine(/recon session ended: peer announced a 4097-byte message; the limit is 4096 \(recon_max_message_bytes\)/);
  assert.deepEqual(snapshot(), before_);
});

test('a peer that stops talking is dropped after recon_read_timeout_s', async () => {
  const ended = nextSession();
  const s = await dial();
  s.write(peerConfig);
  s.write(encodeString('passed'));
  const sum = await ended;
  s.destroy();
  assert.equal(sum.errorKind, 'timeout');
  await logLine(/recon session ended: peer did not send a whole message within 1 s \(recon_read_timeout_s\)/);
  assert.deepEqual(snapshot(), before_);
});

test('a member trickling one byte at a time is cut after recon_read_timeout_s; another peer reconciles meanwhile', async () => {
  const ended = new Promise<SessionSummary>((resolve) => {
    const on = (x: SessionSummary) => {
      if (x.role !== 'acceptor') return;
      recon.server.off('session', on);
      resolve(x);
    };
    recon.server.on('session', on);
  });
  const s = await dial();
  s.write(peerConfig);
  s.write(encodeString('passed'));
  // A valid request, one byte every 150 ms: every read sees progress, the message takes 30 s to arrive.
  const request = encodeMessage({ type: 'ReconRqstFull', prefix: '', elements: Array.from({ length: 10 }, () => 1n) });
  let i = 0;
  const trickle = setInterval(() => {
    if (i < request.length && !s.destroyed) s.write(request.subarray(i, ++i));
  }, 150);
  try {
    // While the trickler holds its session, a well-behaved peer (under another name) gets a session of its own.
    const other = createNetServer((sock) => {
      void walk(new Channel(sock, { maxMessageBytes: 1 << 20, readTimeoutMs: 5000 }), recon.server.tree, {
        httpPort: 9, filters: FILTERS, maxRecover: 100, configTimeoutMs: 5000, readTimeoutMs: 5000,
      }).catch(() => undefined).finally(() => sock.end());
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const meanwhile = await recon.server.syncWith({ host: 'localhost', port: (other.address() as { port: number }).port });
    other.close();
    assert.equal(meanwhile.ok, true, meanwhile.error);
    const sum = await ended;
    assert.equal(sum.errorKind, 'timeout');
    assert.ok(sum.ms < 5000, `cut after ${sum.ms} ms, not kept alive by the trickle`);
    assert.ok(i < request.length, 'the request had not arrived yet');
  } finally {
    clearInterval(trickle);
    s.destroy();
  }
  assert.deepEqual(snapshot(), before_);
});

test('a peer that disconnects mid-session ends it cleanly', async () => {
  const ended = nextSession();
  const s = await dial();
  s.write(peerConfig);
  s.write(encodeString('passed'));
  // Wait for the first request of our walker, then hang up.
  await once(s, 'data');
  s.destroy();
  const sum = await ended;
  assert.equal(sum.errorKind, 'closed');
  await logLine(/recon session ended: (peer closed the connection|connection closed|connection error)/);
  assert.deepEqual(snapshot(), before_);
});

test('a peer announcing another filter profile is refused, told why, and the refusal is logged', async () => {
  const ended = nextSession();
  const s = await dial();
  const received = collect(s);
  s.write(encodeMessage({ type: 'Config', pairs: [
    ['bitquantum', intString(2)], ['filters', 'yminsky.dedup,yminsky.merge,hockeypuck.something'],
    ['http port', intString(9)], ['mbar', intString(5)], ['version', '2.2.0'],
  ] }));
  const sum = await ended;
  const frames = splitFrames(await received);
  s.destroy();
  assert.equal(sum.errorKind, 'config');
  assert.match(sum.error!, /filters do not match/);
  const line = await logLine(/recon session ended: refused the peer's configuration: filters do not match/);
  assert.equal(line.level, 'warn');
  // What the peer was told, as SKS tells it: our Config, then "failed" and the reason.
  assert.equal(frames[1]!.toString('latin1'), 'failed');
  assert.match(frames[2]!.toString('latin1'), /^filters do not match/);
  assert.deepEqual(snapshot(), before_);
});

test('after all that, a well-behaved member still reconciles (nothing to fetch: same keys)', async () => {
  const ended = nextSession();
  const s = await dial();
  // Answer with the server's own tree: equal sets, so the session ends with nothing missing on either side.
  const res = await answer(new Channel(s, { maxMessageBytes: 1 << 20, readTimeoutMs: 5000 }), recon.server.tree, {
    httpPort: 9, filters: FILTERS, maxRecover: 100, configTimeoutMs: 5000, readTimeoutMs: 5000,
  });
  const sum = await ended;
  s.destroy();
  assert.equal(res.missing.length, 0);
  assert.equal(sum.ok, true, sum.error);
  assert.equal(sum.recovered, 0);
  assert.deepEqual(snapshot(), before_);
});

/** A peer that reconciles properly (its tree: ours plus `extra`) but whose HKP port answers with `reply`. */
async function peerWithHashquery(extra: Buffer[], reply: (res: ServerResponse) => void): Promise<SessionSummary> {
  const http = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => reply(res));
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  const { db, tree } = treeOf([...recon.store.digests(), ...extra]);
  try {
    const ended = nextSession();
    const s = await dial();
    await answer(new Channel(s, { maxMessageBytes: 1 << 20, readTimeoutMs: 5000 }), tree, {
      httpPort, filters: FILTERS, maxRecover: 100, configTimeoutMs: 5000, readTimeoutMs: 5000,
    });
    s.destroy();
    return await ended;
  } finally {
    http.close();
    db.close();
  }
}

test('a peer whose /pks/hashquery fails: the session is logged as failed, nothing stored or remembered', async () => {
  const sum = await peerWithHashquery([randomBytes(16)], (res) => res.writeHead(500).end('broken'));
  assert.equal(sum.ok, false);
  assert.equal(sum.errorKind, 'fetch');
  assert.match(sum.error!, /hashquery answered HTTP 500/);
  await logLine(/recon session ended: fetching from 127\.0\.0\.1:\d+ failed: hashquery answered HTTP 500/);
  assert.deepEqual(snapshot(), before_);
  assert.equal(recon.server.refused.count(), 0, 'a failed fetch is not a refusal: the next session tries again');
});

test('a peer serving an unreadable key beside a good one: the good key is stored, the other remembered', async () => {
  const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  const good = blocks[1]!; // part 1 of the keyring: not held
  const goodDigest = debianDigests()[1]!;
  const bad = randomBytes(16);
  const sum = await peerWithHashquery([goodDigest, bad], (res) => {
    const garbage = Buffer.from('this is not an OpenPGP key');
    const body = Buffer.alloc(4 + 4 + good.length + 4 + garbage.length);
    let off = body.writeUInt32BE(2, 0);
    off = body.writeUInt32BE(good.length, off);
    off += good.copy(body, off);
    off = body.writeUInt32BE(garbage.length, off);
    garbage.copy(body, off);
    res.writeHead(200, { 'content-type': 'pgp/keys' }).end(body);
  });
  assert.equal(sum.ok, true, sum.error);
  assert.equal(sum.recovered, 2);
  assert.equal(sum.stored, 1);
  assert.equal(sum.refused, 1);
  assert.equal(recon.store.count(), before_.count + 1);
  assert.ok(recon.server.tree.has(goodDigest), 'the good key is stored under the digest the peer has');
  const remembered = recon.server.refused.list();
  assert.deepEqual(remembered.map((r) => r.digest), [bad.toString('hex')]);
  assert.match(remembered[0]!.reason, /unreadable/);
  assert.deepEqual(recon.server.tree.verify(), []);
});
