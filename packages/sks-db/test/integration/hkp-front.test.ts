// The lookup front (src/hkp-front.ts) on raw sockets: keep-alive and pipelining, HTTP/1.0, hand-over of a
// connection to node's http server at the first request the front does not serve, answers that follow the
// database as soon as any process writes, idle and oversized-header connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import * as openpgp from 'openpgp';
import { startOurs, withStore, type Ours } from './helpers.js';
import { KeyStore } from '@sks/keystore';

interface Reply {
  status: number;
  /** The header's lines as sent, in order, the status line first. */
  lines: string[];
  headers: Map<string, string>;
  body: Buffer;
}

/** One client connection that reads replies one after another (Content-Length framed, as every answer is). */
class Client {
  private readonly socket: net.Socket;
  private buf = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;

  constructor(port: number) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => undefined);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(raw: string): void {
    this.socket.write(raw);
  }

  /** Stops reading: the server's answers wait in the kernel, then in the server's socket. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** The next reply; `head`: the request was HEAD (no body follows the header). */
  async reply(head = false, timeoutMs = 10_000): Promise<Reply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(lines[0]!)?.[1]);
        const headers = new Map<string, string>();
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers.set(l.slice(0, i).toLowerCase(), l.slice(i + 1).trim());
        }
        const length = head ? 0 : Number(headers.get('content-length') ?? 0);
        if (this.buf.length >= end + 4 + length) {
          const body = this.buf.subarray(end + 4, end + 4 + length);
          this.buf = this.buf.subarray(end + 4 + length);
          return { status, lines, headers, body };
        }
      }
      if (this.closed) throw new Error(`connection closed before a whole reply (${this.buf.length} bytes pending)`);
      if (Date.now() > deadline) throw new Error('no reply in time');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Resolves when the server has closed the connection (or rejects after timeoutMs). */
  async closedByServer(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('the server kept the connection open');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  end(): void {
    this.socket.destroy();
  }
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: front.test\r\n${extra}\r\n`;

let ours: Ours;
const keys: Array<{ armored: string; fp: string; email: string }> = [];

before(async () => {
  for (const name of ['alpha', 'beta', 'gamma', 'delta']) {
    const { publicKey } = await openpgp.generateKey({
      type: 'curve25519', userIDs: [{ name, email: `${name}@front.test` }], format: 'armored',
    });
    const fp = (await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase();
    keys.push({ armored: publicKey, fp, email: `${name}@front.test` });
  }
  // alpha and beta stored; gamma and delta come later (by upload, by another process)
  ours = await startOurs({ keys: [keys[0]!.armored, keys[1]!.armored], workers: 2, settings: { keepalive_timeout_ms: 1000 } });
});

after(async () => {
  await ours?.stop();
});

test('a reply sent again from the cache carries the current Date and the Connection header of its request', async () => {
  const path = `/pks/lookup?op=index&options=mr&search=${keys[0]!.email}`;
  const c = new Client(ours.port);
  try {
    c.send(get(path));
    const first = await c.reply();
    c.send(get(path)); // the second answer is kept (the caches keep a key's answer from its second miss)
    assert.equal((await c.reply()).body.toString(), first.body.toString());
    // into the next second of the clock (Date has whole seconds), with requests in between: this server closes
    // connections idle for a second
    const until = Date.now() + 1100;
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 300));
      c.send(get('/pks/lookup?op=index&options=mr&search=nobody@front.test'));
      assert.equal((await c.reply()).status, 404);
    }
    c.send(get(path));
    const again = await c.reply();
    assert.equal(again.body.toString(), first.body.toString());
    assert.ok(Date.parse(again.headers.get('date')!) > Date.parse(first.headers.get('date')!), 'a later Date');
    assert.equal(again.headers.get('connection'), 'keep-alive');
    c.send(get(path, 'Connection: close\r\n'));
    const last = await c.reply();
    assert.equal(last.headers.get('connection'), 'close');
    assert.equal(last.body.toString(), first.body.toString());
    await c.closedByServer(5000);
  } finally {
    c.end();
  }
});

test('pipelined lookups on one connection are answered in order; HEAD gets the header alone', async () => {
  const viaFetch = await (await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=${keys[1]!.email}`)).text();
  const c = new Client(ours.port);
  try {
    c.send(
      get(`/pks/lookup?op=get&options=mr&search=0x${keys[0]!.fp}`) +
      `HEAD /pks/lookup?op=get&options=mr&search=0x${keys[0]!.fp} HTTP/1.1\r\nHost: x\r\n\r\n` +
      get(`/pks/lookup?op=index&options=mr&search=${keys[1]!.email}`) +
      get('/pks/lookup?op=index&options=mr&search=nobody@front.test'),
    );
    const a = await c.reply();
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('content-type'), 'application/pgp-keys; charset=UTF-8');
    const key = await openpgp.readKey({ armoredKey: a.body.toString() });
    assert.equal(key.getFingerprint().toUpperCase(), keys[0]!.fp);
    const h = await c.reply(true);
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('content-length'), String(a.body.length));
    const b = await c.reply();
    assert.equal(b.status, 200);
    assert.equal(b.body.toString(), viaFetch);
    assert.match(b.body.toString(), new RegExp(`^info:1:1\npub:${keys[1]!.fp}:`));
    const none = await c.reply();
    assert.equal(none.status, 404);
    assert.equal(none.headers.get('connection'), 'keep-alive');
    assert.equal(none.headers.get('access-control-allow-origin'), '*');
  } finally {
    c.end();
  }
});

test('answers sent together at the end of a turn: past 64 KiB of them, on several connections, all arrive in order', async () => {
  // 150 pipelined op=get answers (~1 KiB each) arrive in one read, so the front answers them in one turn and sends
  // them as they pass TURN_FLUSH_BYTES; the other connection's answers are held to the turn's end with them.
  const [a, b] = [keys[0]!, keys[1]!];
  const conns = [new Client(ours.port), new Client(ours.port)];
  try {
    const order = Array.from({ length: 150 }, (_, i) => (i % 3 === 0 ? b : a));
    const batch = order.map((k) => get(`/pks/lookup?op=get&options=mr&search=0x${k.fp}`)).join('');
    for (const c of conns) c.send(batch);
    let bytes = 0;
    for (const c of conns) {
      for (const [i, k] of order.entries()) {
        const r = await c.reply();
        assert.equal(r.status, 200, `answer ${i}`);
        assert.equal((await openpgp.readKey({ armoredKey: r.body.toString() })).getFingerprint().toUpperCase(), k.fp, `answer ${i}`);
        bytes += r.body.length;
      }
    }
    assert.ok(bytes > 2 * 64 * 1024, `${bytes} bytes of answers`);
  } finally {
    for (const c of conns) c.end();
  }
});

test('an upload after lookups on the same connection is served, and the next lookup finds the key', async () => {
  const gamma = keys[2]!;
  const c = new Client(ours.port);
  try {
    c.send(get(`/pks/lookup?op=get&options=mr&search=0x${gamma.fp}`));
    assert.equal((await c.reply()).status, 404);
    const form = `keytext=${encodeURIComponent(gamma.armored)}`;
    c.send(`POST /pks/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `Content-Length: ${Buffer.byteLength(form)}\r\n\r\n${form}`);
    const added = await c.reply();
    assert.equal(added.status, 200, added.body.toString());
    // (not pipelined behind the upload: a client may not expect a request queued behind a POST to see its effect)
    c.send(get(`/pks/lookup?op=get&options=mr&search=0x${gamma.fp}`));
    const found = await c.reply();
    assert.equal(found.status, 200);
    assert.equal((await openpgp.readKey({ armoredKey: found.body.toString() })).getFingerprint().toUpperCase(), gamma.fp);
  } finally {
    c.end();
  }
  withStore(ours.dbPath, (s) => assert.ok(s.getByFingerprint(gamma.fp)));
});

test('a key another process stores is found by every worker at once (answers follow the database version)', async () => {
  const delta = keys[3]!;
  const path = `/pks/lookup?op=index&options=mr&search=${delta.email}`;
  // Ask often enough that both workers have the 404 ready.
  for (let i = 0; i < 6; i++) assert.equal((await fetch(`${ours.url}${path}`)).status, 404);
  const writer = KeyStore.open(ours.dbPath);
  try {
    assert.equal(writer.upsertMaterial(delta.armored, 'admin')[0]!.status, 'inserted');
  } finally {
    writer.close();
  }
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${ours.url}${path}`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), new RegExp(`pub:${delta.fp}:`));
  }
});

test('GnuPG\'s op=get, written in place without the caches: the general path\'s bytes with either Connection line', async () => {
  // lookup_cache_bytes 0: every reply is computed, so GnuPG's spelling takes the path whose head the front moves into
  // the reply's own room (server.ts wireReply); the other order of the fields takes the general path
  const uncached = await startOurs({ keys: [keys[0]!.armored, keys[1]!.armored], settings: { lookup_cache_bytes: 0 } });
  const c = new Client(uncached.port);
  const gnupg = (k: { fp: string }) => `/pks/lookup?op=get&options=mr&search=0x${k.fp}`;
  const general = (k: { fp: string }) => `/pks/lookup?search=0x${k.fp}&options=mr&op=get`;
  try {
    c.send(get(gnupg(keys[0]!)) + get(general(keys[0]!)) + get(gnupg(keys[1]!)) +
      `HEAD ${gnupg(keys[1]!)} HTTP/1.1\r\n\r\n` + get(general(keys[1]!), 'Connection: close\r\n'));
    const [a0, b0, a1] = [await c.reply(), await c.reply(), await c.reply()];
    const h1 = await c.reply(true);
    const b1 = await c.reply();
    for (const [a, b, k] of [[a0, b0, keys[0]!], [a1, b1, keys[1]!]] as const) {
      assert.equal(a.status, 200);
      assert.equal((await openpgp.readKey({ armoredKey: a.body.toString() })).getFingerprint().toUpperCase(), k.fp);
      assert.ok(a.body.equals(b.body), 'the same body');
    }
    // the same header lines in the same order, but for the date (the two may fall in different seconds) and the
    // Connection line of the last request, which asked to close
    const withoutDate = (r: Reply) => r.lines.filter((l) => !l.startsWith('Date: '));
    assert.deepEqual(withoutDate(a0), withoutDate(b0));
    assert.equal(a1.headers.get('connection'), 'keep-alive');
    assert.equal(b1.headers.get('connection'), 'close');
    const keepAliveLines = withoutDate(a1);
    const closeLines = withoutDate(b1);
    assert.deepEqual(keepAliveLines.filter((l) => !/^(Connection|Keep-Alive): /.test(l)), closeLines.filter((l) => !/^Connection: /.test(l)));
    assert.equal(h1.status, 200);
    assert.equal(h1.headers.get('content-length'), String(a1.body.length));
    await c.closedByServer(2000);
    // HTTP/1.0 without keep-alive: GnuPG's spelling with the close line
    const old = new Client(uncached.port);
    old.send(`GET ${gnupg(keys[0]!)} HTTP/1.0\r\n\r\n`);
    const r = await old.reply();
    assert.equal(r.headers.get('connection'), 'close');
    assert.ok(r.body.equals(a0.body));
    await old.closedByServer(2000);
  } finally {
    c.end();
    await uncached.stop();
  }
});

test('replies written in place stay intact while a client that does not read holds them, as others are answered', async () => {
  // Uncached GnuPG op=get replies are written into a block that is written again from its start once every reply in
  // it has left for the kernel (server.ts WireArena, hkp-front.ts SendTurn). A client that stops reading leaves
  // replies waiting in its socket: the block they lie in must not be written again while another client is served.
  const [alpha, beta, gamma] = [keys[0]!, keys[1]!, keys[2]!];
  const uncached = await startOurs({ keys: [alpha.armored, beta.armored, gamma.armored], settings: { lookup_cache_bytes: 0, send_timeout_ms: 60_000 } });
  const gnupg = (k: { fp: string }) => get(`/pks/lookup?op=get&options=mr&search=0x${k.fp}`);
  const slow = new Client(uncached.port);
  const fast = new Client(uncached.port);
  try {
    // the reference answers, each checked by openpgp.js
    const expected = new Map<string, Buffer>();
    for (const k of [alpha, beta, gamma]) {
      fast.send(gnupg(k));
      const r = await fast.reply();
      assert.equal((await openpgp.readKey({ armoredKey: r.body.toString() })).getFingerprint().toUpperCase(), k.fp);
      expected.set(k.fp, r.body);
    }
    slow.pause();
    // some 10 MB of answers, alpha's and beta's: more than the kernel holds for a client that does not read
    const order = Array.from({ length: 12_000 }, (_, i) => (i % 3 === 0 ? beta : alpha));
    slow.send(order.map((k) => gnupg(k)).join(''));
    await new Promise((r) => setTimeout(r, 1000));
    // meanwhile another client is answered from the same worker's blocks, with gamma's answer: any of it found in
    // the slow client's answers was written over them
    for (let batch = 0; batch < 20; batch++) {
      fast.send(gnupg(gamma).repeat(20));
      for (let i = 0; i < 20; i++) assert.ok((await fast.reply()).body.equals(expected.get(gamma.fp)!), `fast answer ${batch}.${i}`);
    }
    slow.resume();
    for (const [i, k] of order.entries()) {
      const r = await slow.reply();
      assert.equal(r.status, 200, `answer ${i}`);
      if (!r.body.equals(expected.get(k.fp)!)) assert.fail(`answer ${i} is not ${k.email}'s answer`);
    }
  } finally {
    slow.end();
    fast.end();
    await uncached.stop();
  }
});

test('HTTP/1.0 is closed after the answer unless it asks for keep-alive; Connection: close is honoured', async () => {
  const path = `/pks/lookup?op=index&options=mr&search=0x${keys[0]!.fp}`;
  const plain = new Client(ours.port);
  plain.send(`GET ${path} HTTP/1.0\r\n\r\n`);
  const r1 = await plain.reply();
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get('connection'), 'close');
  await plain.closedByServer(2000);

  const kept = new Client(ours.port);
  try {
    kept.send(`GET ${path} HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n`);
    assert.equal((await kept.reply()).headers.get('connection'), 'keep-alive');
    kept.send(`GET ${path} HTTP/1.0\r\nConnection: keep-alive\r\n\r\n`);
    assert.equal((await kept.reply()).status, 200);
    kept.send(get(path, 'Connection: close\r\n'));
    assert.equal((await kept.reply()).headers.get('connection'), 'close');
    await kept.closedByServer(2000);
  } finally {
    kept.end();
  }
});

test('an idle keep-alive connection is closed after keepalive_timeout_ms; a header over 16 KiB gets 431', async () => {
  const idle = new Client(ours.port);
  idle.send(get(`/pks/lookup?op=index&options=mr&search=0x${keys[0]!.fp}`));
  assert.equal((await idle.reply()).status, 200);
  await idle.closedByServer(5000); // keepalive_timeout_ms is 1000 here

  const big = new Client(ours.port);
  try {
    big.send(get('/pks/lookup?op=stats', `X-Filler: ${'a'.repeat(20_000)}\r\n`));
    assert.equal((await big.reply()).status, 431);
  } finally {
    big.end();
  }
});

test('a request that arrives a few bytes at a time is answered once its header is complete', async () => {
  const c = new Client(ours.port);
  try {
    const raw = get(`/pks/lookup?op=index&options=mr&search=${keys[0]!.email}`);
    for (let i = 0; i < raw.length; i += 3) {
      c.send(raw.slice(i, i + 3));
      await new Promise((r) => setTimeout(r, 2));
    }
    const r = await c.reply();
    assert.equal(r.status, 200);
    assert.match(r.body.toString(), new RegExp(`pub:${keys[0]!.fp}:`));
  } finally {
    c.end();
  }
});

test('a client that pipelines lookups and never reads the answers is disconnected after send_timeout_ms', async () => {
  const slow = await startOurs({ keys: [keys[0]!.armored], settings: { send_timeout_ms: 1000 } });
  try {
    const s = net.connect(slow.port, '127.0.0.1');
    s.pause(); // never reads
    let closed = false;
    s.on('close', () => { closed = true; });
    s.on('error', () => undefined);
    await new Promise<void>((r) => s.once('connect', () => r()));
    const request = Buffer.from(get(`/pks/lookup?op=get&options=mr&search=0x${keys[0]!.fp}`));
    for (let i = 0; i < 20_000 && !closed; i++) s.write(request);
    // A paused socket does not notice the server's close; read after the timeout has passed: what the kernel kept
    // arrives, then the end, instead of the ~20,000 answers asked for.
    await new Promise((r) => setTimeout(r, 3500));
    let received = 0;
    s.on('data', (d: Buffer) => { received += d.length; });
    s.resume();
    const t0 = Date.now();
    while (!closed && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 100));
    assert.ok(closed, `the server closed the connection of a client that read nothing (${received} bytes read afterwards)`);
    // Others are still served.
    assert.equal((await fetch(`${slow.url}/pks/lookup?op=get&options=mr&search=0x${keys[0]!.fp}`)).status, 200);
  } finally {
    await slow.stop();
  }
});
