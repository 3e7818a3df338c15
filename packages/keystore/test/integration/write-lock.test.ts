// A huge key costs its uploader time, not every other writer's: its parsing, canonical form and policy run before
// the write transaction. Another process uploads a key with 300,000 certifications; this one uploads an ordinary
// key meanwhile, and is done before the huge one is (with the work under the lock, it waited for all of it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyStore } from '../../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');

test('an ordinary upload is stored while another process is still preparing a huge key', async () => {
  const dir = makeTempDir('write-lock-');
  const dbFile = join(dir, 'keys.sqlite');
  KeyStore.open(dbFile).close();
  const script = join(dir, 'huge.ts');
  writeFileSync(script, `
    import { readFileSync } from 'node:fs';
    import { KeyStore, TAG, readPackets, splitKeys, writePackets } from ${JSON.stringify(join(ROOT, 'packages/keystore/src/index.ts'))};
    import { keyBlocks } from ${JSON.stringify(join(ROOT, 'test/support/keyrings.ts'))};
    const packets = splitKeys(readPackets(keyBlocks(readFileSync(${JSON.stringify(DEBIAN_KEYRING)}))[1]))[0];
    const uid = packets.findIndex((p) => p.tag === TAG.USER_ID);
    const sig = packets[uid + 1];
    const hashed = sig.body.readUInt16BE(4);
    const unhashed = sig.body.readUInt16BE(6 + hashed);
    const head = sig.body.subarray(0, 8 + hashed + unhashed + 2);
    const extra = [];
    for (let i = 0; i < 300000; i++) extra.push({ tag: TAG.SIGNATURE, body: Buffer.concat([head, Buffer.from([0, 24, i >> 16, (i >> 8) & 255, i & 255])]) });
    const key = writePackets([...packets.slice(0, uid + 1), ...extra, ...packets.slice(uid + 1)]);
    const store = KeyStore.open(${JSON.stringify(dbFile)}, { busyTimeoutMs: 60000 });
    console.log('start ' + Date.now());
    const [o] = store.upsertMaterial(key, 'add');
    console.log('done ' + Date.now() + ' ' + o.status);
    store.close();
  `);
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  while (!/start \d+/.test(out)) await new Promise((r) => setTimeout(r, 5));
  const store = KeyStore.open(dbFile, { busyTimeoutMs: 60000 });
  let ordinaryDone: number;
  try {
    const [o] = store.upsertMaterial(keyBlocks(readFileSync(DEBIAN_KEYRING))[0]!, 'add');
    ordinaryDone = Date.now();
    assert.equal(o!.status, 'inserted');
  } finally {
    store.close();
  }
  await new Promise((r) => child.once('exit', r));
  const m = /done (\d+) (\w+)/.exec(out);
  assert.ok(m, out);
  assert.equal(m[2], 'inserted', 'the huge key is stored, cut to the cap');
  assert.ok(ordinaryDone < Number(m[1]), `the ordinary upload finished first (${ordinaryDone} < ${m[1]})`);
});
