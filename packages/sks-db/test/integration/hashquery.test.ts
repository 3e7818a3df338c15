// POST /pks/hashquery: a recon peer (real SKS's own format) asks for keys by SKS digest and gets the same bytes
// from us as from SKS 1.1.6 holding the same keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { DEBIAN_KEYRING, writeKeySubset } from '../../../../test/support/keyrings.js';
import { startSks, sksDigestSet, type Sks } from '../../../../test/support/sks.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { startOurs, withStore, type Ours } from './helpers.js';

/** Builds a request body by hand from SPEC §5 (int count, then length-prefixed strings). */
function request(digests: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0]!.writeUInt32BE(digests.length);
  for (const d of digests) {
    const l = Buffer.alloc(4);
    l.writeUInt32BE(d.length);
    parts.push(l, d);
  }
  return Buffer.concat(parts);
}

/** Reads a response by hand: the keys, and the bytes after them (SKS puts CRLF there). */
function response(body: Buffer): { keys: Buffer[]; tail: string } {
  const n = body.readUInt32BE(0);
  let off = 4;
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const len = body.readUInt32BE(off);
    keys.push(body.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return { keys, tail: body.subarray(off).toString('latin1') };
}

async function hashquery(url: string, body: Buffer): Promise<Response> {
  return fetch(`${url}/pks/hashquery`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } });
}

let sks: Sks;
let ours: Ours;
let digests: string[];

before(async () => {
  const dir = makeTempDir('hq-keys-');
  const subset = writeKeySubset(DEBIAN_KEYRING, Array.from({ length: 25 }, (_, i) => i * 7), join(dir, 'subset.gpg'));
  [sks, ours] = await Promise.all([startSks({ keyFiles: [subset], gossip: false }), startOurs({ keyFiles: [subset] })]);
  digests = [...(await sksDigestSet(sks))].sort();
});

after(async () => {
  await Promise.all([sks?.stop(), ours?.stop()]);
});

/** The packets of a binary key, each with its header (RFC 9580 §4.2), split here independently of our code. */
function packetsOf(key: Buffer): string[] {
  const out: string[] = [];
  let off = 0;
  while (off < key.length) {
    const hdr = key[off]!;
    let len: number;
    let body: number;
    if (hdr & 0x40) {
      const b0 = key[off + 1]!;
      if (b0 < 192) [len, body] = [b0, off + 2];
      else if (b0 < 224) [len, body] = [((b0 - 192) << 8) + key[off + 2]! + 192, off + 3];
      else [len, body] = [key.readUInt32BE(off + 2), off + 6];
    } else {
      const lt = hdr & 3;
      if (lt === 0) [len, body] = [key[off + 1]!, off + 2];
      else if (lt === 1) [len, body] = [key.readUInt16BE(off + 1), off + 3];
      else [len, body] = [key.readUInt32BE(off + 1), off + 5];
    }
    out.push(key.subarray(off, body + len).toString('hex'));
    off = body + len;
  }
  return out;
}

test('hashquery returns the keys SKS 1.1.6 returns for every digest SKS holds, with the same packets', async () => {
  assert.equal(digests.length, 25);
  // Our store assigned the same SKS digests to these keys as SKS did.
  const ourDigests = withStore(ours.dbPath, (s) => new Set([...s.digests()].map((d) => d.toString('hex'))));
  assert.deepEqual(digests.filter((d) => !ourDigests.has(d)), []);
  const body = request(digests.map((d) => Buffer.from(d, 'hex')));
  const [a, b] = await Promise.all([hashquery(ours.url, body), hashquery(sks.hkpUrl, body)]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(a.headers.get('content-type'), 'pgp/keys');
  const mine = response(Buffer.from(await a.arrayBuffer()));
  const theirs = response(Buffer.from(await b.arrayBuffer()));
  assert.equal(mine.tail, '\r\n', 'the body ends with CRLF like every SKS body');
  assert.equal(mine.keys.length, theirs.keys.length);
  // SKS answers with its keys in the packet order it stored them in; we send the canonical order (the one SKS's
  // op=get shows, see sks-compat.test.ts). The digest does not depend on the order; the packets must be the same.
  const canon = (ks: Buffer[]) => ks.map((k) => packetsOf(k).sort().join(',')).sort();
  assert.deepEqual(canon(mine.keys), canon(theirs.keys));
});

test('unknown digests are skipped, known ones still served', async () => {
  const unknown = Buffer.alloc(16, 0xab);
  const res = await hashquery(ours.url, request([unknown, Buffer.from(digests[0]!, 'hex')]));
  assert.equal(res.status, 200);
  assert.equal(response(Buffer.from(await res.arrayBuffer())).keys.length, 1);
  const none = await hashquery(ours.url, request([unknown]));
  assert.equal(response(Buffer.from(await none.arrayBuffer())).keys.length, 0);
});

test('malformed hashquery bodies get 400 with a reason', async () => {
  const truncated = request([Buffer.from(digests[0]!, 'hex')]).subarray(0, 12);
  for (const body of [Buffer.from([0, 0]), truncated, request([Buffer.alloc(5)]), Buffer.concat([request([]), Buffer.from('xx')])]) {
    const res = await hashquery(ours.url, body);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /hashquery/);
  }
});

test('more digests than max_hashquery_keys get 413', async () => {
  const big = Buffer.alloc(4);
  big.writeUInt32BE(10_000_000);
  const res = await hashquery(ours.url, big);
  assert.equal(res.status, 413);
  assert.match(await res.text(), /max_hashquery_keys/);
});

test('GET on /pks/hashquery is refused with 405', async () => {
  const res = await fetch(`${ours.url}/pks/hashquery`);
  assert.equal(res.status, 405);
});
