// Bad input gets a clear HTTP error and never changes what is stored: malformed queries, unknown ops, invalid
// armor, truncated packets, oversized bodies, flooded keys; plus HTTP/1.0, Expect: 100-continue, odd headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { startOurs, withStore, rawHttp, makeGpg, genKey, type Ours } from './helpers.js';

let ours: Ours;
let blocks: Buffer[];
let stateBefore: string;

/** Every stored digest, to prove a refused request changed nothing. */
function state(): string {
  return withStore(ours.dbPath, (s) => [...s.digests()].map((d) => d.toString('hex')).join(','));
}

function armorOf(bin: Buffer): string {
  // Independent armor writer (RFC 9580 §6.2) without checksum, which the checksum is optional for.
  const b64 = bin.toString('base64').replace(/(.{64})/g, '$1\n');
  return `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${b64}\n-----END PGP PUBLIC KEY BLOCK-----\n`;
}

async function add(body: string | Buffer, type = 'application/x-www-form-urlencoded'): Promise<{ status: number; text: string }> {
  const res = await fetch(`${ours.url}/pks/add`, { method: 'POST', body: typeof body === 'string' ? body : new Uint8Array(body), headers: { 'content-type': type } });
  return { status: res.status, text: await res.text() };
}

before(async () => {
  blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
  ours = await startOurs({ keys: blocks.slice(0, 5), settings: { max_body_bytes: 256 * 1024, max_index_results: 3, max_certs_per_uid: 10 } });
  stateBefore = state();
});

after(async () => {
  await ours?.stop();
});

test('malformed lookups get 400 with a message; unknown ops get 501', async () => {
  const cases: Array<[string, number, RegExp]> = [
    ['/pks/lookup', 400, /op=/],
    ['/pks/lookup?op=get', 400, /search/],
    ['/pks/lookup?op=frobnicate&search=x', 501, /not supported/],
    ['/pks/lookup?op=get&search=0x123', 400, /hex digits/],
    ['/pks/lookup?op=hget&search=nothex', 400, /digest/],
    ['/pks/lookup?op=index&search=x&limit=abc', 400, /limit/],
    ['/pks/lookup?op=index&search=x&fingerprint=maybe', 400, /fingerprint/],
  ];
  for (const [path, status, re] of cases) {
    const res = await fetch(ours.url + path);
    assert.equal(res.status, status, path);
    assert.match(await res.text(), re, path);
  }
});

test('a search that matches nothing is 404', async () => {
  const res = await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=0x0123456789ABCDEF`);
  assert.equal(res.status, 404);
  assert.match(await res.text(), /No keys found/);
});

test('too many results is a clear 4xx, and limit= truncates instead', async () => {
  // All debian keys carry "debian"; the server here answers at most 3.
  const res = await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=debian.org`);
  assert.ok(res.status >= 400 && res.status < 500, `status ${res.status}`);
  assert.match(await res.text(), /^Too many responses: more keys match "debian\.org" than the 3 this server returns; give a more specific search, or ask for the first ones with limit=/);
  const html = await fetch(`${ours.url}/pks/lookup?op=index&search=debian.org`);
  assert.equal(html.status, res.status);
  assert.match(await html.text(), /<h1>Too many responses<\/h1>/);
  const lim = await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=debian.org&limit=2`);
  assert.equal(lim.status, 200);
  // as SKS 1.1.6: the count is of the keys that match (counted up to one past the cap), not of the keys sent
  assert.equal(lim.headers.get('x-hkp-results-count'), '4', 'the count says more keys match than the answer holds');
  assert.equal((await lim.text()).split('\n').filter((l) => l.startsWith('pub:')).length, 2);
});

test('invalid armor, truncated packets and a body without keytext are refused; nothing stored changes', async () => {
  const good = armorOf(blocks[10]!);
  const cases: Array<[string | Buffer, string]> = [
    ['keytext=' + encodeURIComponent('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!notbase64@@@\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n'), 'application/x-www-form-urlencoded'],
    // A correct key with a wrong armor checksum.
    ['keytext=' + encodeURIComponent(good.replace('\n-----END', '\n=AAAA\n-----END')), 'application/x-www-form-urlencoded'],
    ['keytext=' + encodeURIComponent(armorOf(blocks[10]!.subarray(0, blocks[10]!.length - 37))), 'application/x-www-form-urlencoded'],
    [blocks[11]!.subarray(0, 100), 'application/pgp-keys'],
    ['keytext=hello', 'application/x-www-form-urlencoded'],
    ['nothing=here', 'application/x-www-form-urlencoded'],
    ['', 'application/x-www-form-urlencoded'],
    ['<xml/>', 'application/xml'],
  ];
  for (const [body, type] of cases) {
    const r = await add(body, type);
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status} for ${String(body).slice(0, 40)}: ${r.text.slice(0, 200)}`);
    assert.ok(r.text.length > 20, 'a human-readable message');
  }
  assert.equal(state(), stateBefore);
});

test('a secret key upload is refused', async () => {
  const gpg = makeGpg(ours.url);
  try {
    const fp = genKey(gpg, 'Secret <secret@example.org>');
    const sec = gpg.run(['--armor', '--pinentry-mode', 'loopback', '--passphrase', '', '--export-secret-keys', fp]).stdout;
    const r = await add('keytext=' + encodeURIComponent(sec));
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
    assert.match(r.text, /secret/i);
  } finally {
    gpg.cleanup();
  }
  assert.equal(state(), stateBefore);
});

test('an oversized body gets 413 naming the limit; nothing stored changes', async () => {
  const big = 'keytext=' + 'A'.repeat(300 * 1024);
  const r = await add(big);
  assert.equal(r.status, 413);
  assert.match(r.text, /max_body_bytes/);
  // Also when the client does not announce a length (chunked).
  const chunked = await rawHttp(ours.port,
    `POST /pks/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n` +
    `${(300 * 1024).toString(16)}\r\n${'A'.repeat(300 * 1024)}\r\n0\r\n\r\n`);
  assert.equal(chunked.status, 413);
  assert.equal(state(), stateBefore);
});

/** A fresh key certified by 15 other keys (a small CVE-2019-13050 flood), made once by real GnuPG. */
let floodCache: { fp: string; flooded: string } | undefined;
function floodedKey(): { fp: string; flooded: string } {
  if (floodCache) return floodCache;
  const gpg = makeGpg(ours.url);
  try {
    const fp = genKey(gpg, 'Flooded <flood@example.org>');
    for (let i = 0; i < 15; i++) {
      const a = genKeyQuick(gpg, i);
      gpg.run(['--pinentry-mode', 'loopback', '--passphrase', '', '-u', a, '--quick-sign-key', fp]);
    }
    floodCache = { fp, flooded: gpg.run(['--armor', '--export', fp]).stdout };
    return floodCache;
  } finally {
    gpg.cleanup();
  }
}

test('a flooded key (CVE-2019-13050) is stored without the flood', async () => {
  // The server keeps at most max_certs_per_uid (10) third-party certifications per user ID.
  const { fp, flooded } = floodedKey();
  const r = await add('keytext=' + encodeURIComponent(flooded));
  assert.equal(r.status, 200, r.text);
  const res = await fetch(`${ours.url}/pks/lookup?op=vindex&search=0x${fp}`);
  const sigs = (await res.text()).split('\n').filter((l) => l.startsWith('sig ')).length;
  assert.ok(sigs >= 2 && sigs <= 11, `${sigs} signatures kept; max_certs_per_uid is 10 (+1 self-signature)`);
});

test('the uploader is told per key what was kept and what policy cut, in HTML and machine-readable', async () => {
  const { fp, flooded } = floodedKey();
  const wiped = await startOurs({ settings: { max_certs_per_uid: 10 } });
  try {
    const post = (options = '') => fetch(`${wiped.url}/pks/add${options}`, {
      method: 'POST', body: 'keytext=' + encodeURIComponent(flooded), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const html = await (await post()).text();
    assert.match(html, new RegExp(`${fp}: inserted; the server keeps \\d+ packets \\(\\d+ bytes\\)`));
    assert.match(html, /removed by this server's policy: 5 packet\(s\), certs-per-uid \(kept the newest 10 third-party certifications on 1 user ID\(s\)\)/);
    const again = await fetch(`${wiped.url}/pks/add?options=mr`, {
      method: 'POST', body: 'keytext=' + encodeURIComponent(flooded), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const json = (await again.json()) as { keys: Array<{ status: string; kept?: { packets: number }; cuts: Array<{ rule: string; packets: number }> }> };
    assert.equal(json.keys[0]!.status, 'unchanged');
    assert.ok(json.keys[0]!.kept!.packets > 10);
  } finally {
    await wiped.stop();
  }
});

test('a key still too large after the per-user-ID cap is refused with 422 naming the reason; nothing stored', async () => {
  const { fp, flooded } = floodedKey();
  const small = await startOurs({ settings: { max_key_bytes: 1500 } });
  try {
    const before = withStore(small.dbPath, (s) => s.count());
    const res = await fetch(`${small.url}/pks/add`, {
      method: 'POST', body: 'keytext=' + encodeURIComponent(flooded), headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    const text = await res.text();
    assert.equal(res.status, 422, text);
    assert.match(text, /key-too-large/);
    assert.equal(withStore(small.dbPath, (s) => s.count()), before);
    assert.equal((await fetch(`${small.url}/pks/lookup?op=get&options=mr&search=0x${fp}`)).status, 404);
  } finally {
    await small.stop();
  }
});

function genKeyQuick(gpg: ReturnType<typeof makeGpg>, i: number): string {
  return genKey(gpg, `Attacker ${i} <a${i}@example.net>`);
}

test('HTTP/1.0 without Host or User-Agent, and Expect: 100-continue, both work', async () => {
  const fp = 'AAAAAAAAAAAAAAAA';
  const r10 = await rawHttp(ours.port, `GET /pks/lookup?op=stats&options=mr HTTP/1.0\r\n\r\n`);
  assert.equal(r10.status, 200);
  assert.match(r10.body.toString(), /total_keys/);
  const key = 'keytext=' + encodeURIComponent(armorOf(blocks[6]!));
  const r = await rawHttp(ours.port,
    `POST /pks/add HTTP/1.1\r\nHost: anything.example\r\nExpect: 100-continue\r\nConnection: close\r\n` +
    `Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(key)}\r\n\r\n${key}`);
  assert.ok(r.status === 100 || r.status === 200, r.headers);
  if (r.status === 100) assert.match(r.body.toString('latin1'), /HTTP\/1\.1 200/);
  void fp;
});

test('a client that stalls inside its header or its body gets 408 and is disconnected', async () => {
  const strict = await startOurs({ settings: { request_header_timeout_ms: 1000, request_timeout_ms: 2000 } });
  try {
    const header = await rawHttp(strict.port, 'GET /pks/lookup?op=stats HTTP/1.1\r\nHost: x\r\n', 15_000);
    assert.equal(header.status, 408, header.headers);
    const body = await rawHttp(strict.port,
      'POST /pks/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nkeytext=', 15_000);
    assert.equal(body.status, 408, body.headers);
    // The server is still there for everyone else.
    assert.equal((await fetch(`${strict.url}/pks/lookup?op=stats&options=mr`)).status, 200);
  } finally {
    await strict.stop();
  }
});

test('lookups carry CORS headers', async () => {
  const res = await fetch(`${ours.url}/pks/lookup?op=index&options=mr&search=debian.org&limit=1`, { headers: { origin: 'https://example.com' } });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  void join;
});

test('a binary key posted as application/pgp-keys is stored; the JSON report names what happened to it', async () => {
  const res = await fetch(`${ours.url}/pks/add`, {
    method: 'POST', body: new Uint8Array(blocks[20]!), headers: { 'content-type': 'application/pgp-keys', accept: 'application/json' },
  });
  assert.equal(res.status, 200);
  const report = (await res.json()) as { inserted: number; keys: Array<{ status: string; fingerprint: string }> };
  assert.equal(report.inserted, 1);
  assert.equal(report.keys[0]!.status, 'inserted');
  const fp = report.keys[0]!.fingerprint;
  const again = await fetch(`${ours.url}/pks/add`, {
    method: 'POST', body: new Uint8Array(blocks[20]!), headers: { 'content-type': 'application/pgp-keys', accept: 'application/json' },
  });
  assert.equal(((await again.json()) as { unchanged: number }).unchanged, 1);
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=get&options=mr&search=0x${fp}`)).status, 200);
});

test('a store that cannot write answers 503 with a reason, logs once per cause, and recovers by itself', async () => {
  const busy = await startOurs({ settings: { db_busy_timeout_ms: 200, log_level: 'warn' } });
  const post = () => fetch(`${busy.url}/pks/add`, {
    method: 'POST', body: 'keytext=' + encodeURIComponent(armorOf(blocks[7]!)),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const log = join(busy.basedir, 'log', 'sks-db.log');
  const lines = (re: RegExp) => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((l) => re.test(l)).length : 0);
  try {
    // Another process holds the write lock longer than db_busy_timeout_ms.
    const other = new Database(busy.dbPath);
    other.exec('BEGIN IMMEDIATE');
    try {
      for (let i = 0; i < 3; i++) {
        const r = await post();
        const text = await r.text();
        assert.equal(r.status, 503, text);
        assert.match(text, /the key store is busy or unavailable .*nothing was changed, try again later/);
      }
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    const r = await post();
    assert.equal(r.status, 200, await r.text());
    for (let i = 0; i < 50 && lines(/accepts uploads again/) === 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(lines(/uploads refused with 503: the key store cannot write/), 1, 'one line for three refusals of one cause');
    assert.equal(lines(/accepts uploads again/), 1);
  } finally {
    await busy.stop();
  }
});

test('an upload of a key and thousands of tiny packets is refused by count before it is parsed (max_upload_packets)', async () => {
  const small = await startOurs({ settings: { max_upload_packets: 1000 } });
  try {
    // One real key, then 5,000 empty packets of a private tag: 10 KB that would become thousands of objects.
    const body = Buffer.concat([blocks[8]!, Buffer.alloc(2 * 5000, Buffer.from([0xfc, 0x00]))]);
    const res = await fetch(`${small.url}/pks/add`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } });
    const text = await res.text();
    assert.equal(res.status, 413, text);
    assert.match(text, /more than 1000 OpenPGP packets \(max_upload_packets\); nothing was stored/);
    assert.equal(withStore(small.dbPath, (st) => st.count()), 0);
    // The key alone is welcome.
    const ok = await fetch(`${small.url}/pks/add`, { method: 'POST', body: new Uint8Array(blocks[8]!), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(ok.status, 200, await ok.text());
  } finally {
    await small.stop();
  }
});

/** Uploads `bytes` the way many HTTP clients do: the whole body first, the answer read only afterwards. */
function sendAllThenRead(port: number, bytes: number): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    let error: string | undefined;
    s.pause();
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); });
    s.on('error', (e: NodeJS.ErrnoException) => { error = e.code ?? e.message; });
    s.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve(m ? { status: Number(m[1]) } : { error: error ?? 'closed without an answer' });
    });
    s.on('connect', async () => {
      s.write(`POST /pks/add HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${bytes}\r\n\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      for (let sent = 0; sent < bytes && !s.destroyed; sent += chunk.length) {
        if (!s.write(chunk.subarray(0, Math.min(chunk.length, bytes - sent)))) await new Promise((r) => s.once('drain', r));
      }
      s.resume();
    });
  });
}

test('clients that send a whole over-limit body before reading get the 413, not a reset connection', async () => {
  const small = await startOurs({ settings: { max_body_bytes: 1024 * 1024 } });
  try {
    const results = await Promise.all(Array.from({ length: 9 }, () => sendAllThenRead(small.port, 7 * 1024 * 1024)));
    assert.deepEqual(results, Array.from({ length: 9 }, () => ({ status: 413 })));
    assert.equal((await fetch(`${small.url}/pks/lookup?op=stats&options=mr`)).status, 200, 'still serving');
  } finally {
    await small.stop();
  }
});

