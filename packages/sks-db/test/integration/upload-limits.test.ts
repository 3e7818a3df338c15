// max_uploads_per_client: one client address may have that many uploads in progress per sks-db worker; the next is
// answered 429 at once (with Retry-After), while another client's upload is served, and a slot comes back when an
// upload ends. Behind a trusted proxy (loopback by default) the client is the last X-Forwarded-For address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { armor } from '@sks/keystore';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { startOurs } from './helpers.js';
import { isTrusted } from '../../src/client-limits.js';

const KEYS = keyBlocks(readFileSync(DEBIAN_KEYRING));

/** An upload that sends its headers and half its body, then waits: an upload in progress. */
function stalledUpload(port: number, client: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(`POST /pks/add HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 203.0.113.9, ${client}\r\n` +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nkeytext=');
      setTimeout(() => resolve(s), 200);
    });
    s.on('error', reject);
  });
}

async function upload(port: number, client: string, key: Buffer): Promise<{ status: number; retryAfter: string | null; text: string }> {
  const r = await fetch(`http://127.0.0.1:${port}/pks/add`, {
    method: 'POST', body: new URLSearchParams({ keytext: armor(key) }).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': client },
  });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), text: await r.text() };
}

test('an eager uploader gets 429 beyond max_uploads_per_client while another client is served; slots come back', async () => {
  const ours = await startOurs({ settings: { max_uploads_per_client: 2 } });
  const port = ours.port;
  try {
    const held = [await stalledUpload(port, '192.0.2.1'), await stalledUpload(port, '192.0.2.1')];
    const over = await upload(port, '192.0.2.1', KEYS[0]!);
    assert.equal(over.status, 429, over.text);
    assert.equal(over.retryAfter, '10');
    assert.match(over.text, /max_uploads_per_client/);
    const other = await upload(port, '192.0.2.2', KEYS[1]!);
    assert.equal(other.status, 200, other.text);
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await upload(port, '192.0.2.1', KEYS[2]!);
    assert.equal(again.status, 200, 'the slots were given back when those uploads ended');
  } finally {
    await ours.stop();
  }
});

test('trusted_proxies takes exact addresses and IPv4 ranges; an untrusted peer\'s X-Forwarded-For is ignored', () => {
  assert.ok(isTrusted('127.0.0.1', ['127.0.0.1', '::1']));
  assert.ok(isTrusted('172.18.0.5', ['172.16.0.0/12']));
  assert.ok(!isTrusted('172.32.0.5', ['172.16.0.0/12']));
  assert.ok(!isTrusted('198.51.100.7', ['127.0.0.1', '::1']));
});
