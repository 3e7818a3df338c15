// Property-based, over HTTP against a running sks-db: broken uploads, arbitrary lookup query strings and hashquery
// bodies never get a 5xx, the server keeps answering, and the keys stored before are unchanged afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { armor } from '@sks/keystore';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { FUZZ_RUNS, mutate, type Mutation } from '../../../../test/support/fuzz.js';
import { startOurs, withStore, type Ours } from './helpers.js';

const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 30);
let ours: Ours;
let stored: string;

function state(): string {
  return withStore(ours.dbPath, (s) => [...s.digests()].map((d) => d.toString('hex')).join(','));
}

before(async () => {
  ours = await startOurs({ keys: blocks.slice(0, 10), settings: { max_body_bytes: 1 << 20 } });
  stored = state();
});

after(async () => {
  await ours?.stop();
});

const mutation = fc.record<Mutation>({
  kind: fc.constantFrom('flip', 'truncate', 'insert', 'repeat', 'zero'), at: fc.nat(), len: fc.nat(), value: fc.nat(),
});

test('/pks/add with broken keys in every encoding: never a 5xx; the keys stored before are untouched', async () => {
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 10, max: blocks.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 }),
    fc.constantFrom('form', 'armored', 'binary'),
    async (i, ms, encoding) => {
      let data = blocks[i]!;
      for (const m of ms) data = mutate(data, m);
      const body = encoding === 'binary' ? new Uint8Array(data)
        : encoding === 'armored' ? armor(data, 'PUBLIC KEY BLOCK')
        : 'keytext=' + encodeURIComponent(armor(data, 'PUBLIC KEY BLOCK'));
      const type = encoding === 'binary' ? 'application/octet-stream' : encoding === 'armored' ? 'application/pgp-keys'
        : 'application/x-www-form-urlencoded';
      const res = await fetch(`${ours.url}/pks/add`, { method: 'POST', body, headers: { 'content-type': type } });
      const text = await res.text();
      assert.ok(res.status < 500, `${res.status} ${text.slice(0, 300)}`);
    }), { numRuns: Math.ceil(FUZZ_RUNS / 3) });
  // Uploads may add keys (mutations of other keys that are still valid keys); the ten stored before never change.
  const now = new Set(state().split(','));
  for (const d of stored.split(',')) assert.ok(now.has(d), `digest ${d} kept`);
});

test('/pks/lookup with arbitrary query strings and /pks/hashquery with arbitrary bodies: never a 5xx', async () => {
  const word = fc.oneof(fc.constantFrom('op=', 'search=', 'options=', 'limit=', '&', 'get', 'index', 'vindex', 'hget', 'stats',
    'mr', '0x', 'debian', '%', '%zz', '<', '>', '@', '+', '=on', 'fingerprint=', 'exact='), fc.string({ maxLength: 12 }));
  await fc.assert(fc.asyncProperty(fc.array(word, { maxLength: 10 }), fc.uint8Array({ maxLength: 200 }), async (parts, body) => {
    const q = parts.join('').replace(/[#\s]/g, '');
    const res = await fetch(`${ours.url}/pks/lookup?${encodeURI(q).replace(/%25/g, '%')}`).catch(() => undefined);
    if (res) {
      assert.ok(res.status < 500 || res.status === 501, `lookup?${q}: ${res.status}`);
      await res.arrayBuffer();
    }
    const hq = await fetch(`${ours.url}/pks/hashquery`, { method: 'POST', body: new Uint8Array(body), headers: { 'content-type': 'application/octet-stream' } });
    assert.ok(hq.status < 500, `hashquery: ${hq.status}`);
    await hq.arrayBuffer();
  }), { numRuns: Math.ceil(FUZZ_RUNS / 3) });
  assert.equal((await fetch(`${ours.url}/pks/lookup?op=stats&options=mr`)).status, 200, 'still answering');
});
