// One set of packet-header rules on every path that reads keys: the parser behind /pks/add (KeyStore.upsertMaterial) and
// the bulk loader (its scanner cuts key blocks, its workers parse them) accept and refuse the same keys. Five-octet
// lengths are fine; partial body lengths and indeterminate lengths are refused in keys, as SKS 1.1.6 and GnuPG
// refuse them (RFC 9580 §4.2.1.4); a key cut off by the end of its input is refused whole, not stored in part. The
// scanner skips a refused or oversized key exactly, so the keys after it load.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyInputError, KeyStore, defaultSettings, policyFromSettings } from '@sks/keystore';
import { loadFiles } from '../src/load.js';
import { KeyBlockScanner } from '../src/scan.js';
import { DEBIAN_KEYRING, keyBlocks, packetWithHeader, rawPackets, withHeaderForm } from '../../../test/support/keyrings.js';
import { sksDigestVectors } from '../../../test/support/fixtures.js';
import { makeTempDir } from '../../../test/support/tmp.js';

const policy = policyFromSettings(defaultSettings());
const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 8);
const SKS = new Map(sksDigestVectors().map((v) => [v.fingerprint.toUpperCase(), v.sks_hash.toLowerCase()]));

/** Index of the first user ID packet of a key block. */
const firstUid = (block: Buffer) => rawPackets(block).findIndex((p) => p.tag === 13);

function freshStore(): KeyStore {
  return KeyStore.open(join(makeTempDir('headers-db-'), 'keys.sqlite'), { policy });
}

/** What /pks/add's parser makes of `input`: its outcomes, or the reason it refused the whole input. */
function viaAdd(input: Buffer): { stored: string[] } | { refused: string } {
  const store = freshStore();
  try {
    store.upsertMaterial(input, 'add');
    return { stored: storedDigests(store) };
  } catch (e) {
    assert.ok(e instanceof KeyInputError, `KeyInputError, not ${(e as Error).name}: ${(e as Error).message}`);
    assert.equal(store.count(), 0, 'a refused input stores nothing');
    return { refused: e.message };
  } finally {
    store.close();
  }
}

/** What the loader makes of a dump file holding `input`: digests stored and the run's counts. */
async function viaLoader(input: Buffer): Promise<{ stored: string[]; run: Record<string, number> }> {
  const dir = makeTempDir('headers-dump-');
  writeFileSync(join(dir, 'sks-dump-0000.pgp'), input);
  const store = freshStore();
  try {
    const summary = await loadFiles({ store, files: [join(dir, 'sks-dump-0000.pgp')], policy, workers: 0, progress: false });
    return { stored: storedDigests(store), run: summary.run };
  } finally {
    store.close();
  }
}

function storedDigests(store: KeyStore): string[] {
  return [...store.digests()].map((d) => d.toString('hex')).sort();
}

const sksDigestOf = (block: Buffer) => {
  const d = SKS.get(rawFingerprint(block));
  assert.ok(d, 'the key is one of the SKS vectors');
  return d;
};

/** Fingerprint of a v4 key block's primary key, computed here (SHA-1 over 0x99, length, body: RFC 9580 §5.5.4.2). */
function rawFingerprint(block: Buffer): string {
  const body = rawPackets(block)[0]!.body;
  const h = createHash('sha1').update(Buffer.from([0x99, body.length >> 8, body.length & 0xff])).update(body);
  return h.digest('hex').toUpperCase();
}

test('keys with new-format five-octet lengths are stored alike by /pks/add and the loader, as SKS digests them', async () => {
  const input = Buffer.concat(blocks.slice(0, 4).map((b) => withHeaderForm(b, 'five-octet')));
  const want = blocks.slice(0, 4).map(sksDigestOf).sort();
  assert.deepEqual(viaAdd(input), { stored: want });
  const loaded = await viaLoader(input);
  assert.deepEqual(loaded.stored, want);
  assert.equal(loaded.run.inserted, 4);
});

test('a key with a partial body length is refused whole by /pks/add and the loader, which loads the keys around it', async () => {
  const bad = withHeaderForm(blocks[1]!, 'partial', firstUid(blocks[1]!));
  const added = viaAdd(bad);
  assert.ok('refused' in added && /partial body length/.test(added.refused), JSON.stringify(added));
  const loaded = await viaLoader(Buffer.concat([blocks[0]!, bad, blocks[2]!]));
  assert.deepEqual(loaded.stored, [blocks[0]!, blocks[2]!].map(sksDigestOf).sort(), 'nothing of the refused key is stored');
  assert.equal(loaded.run.inserted, 2);
  assert.equal(loaded.run['rejected:malformed'], 1, JSON.stringify(loaded.run));
});

test('a key ending in an indeterminate-length packet is refused whole by /pks/add and by the loader', async () => {
  const last = rawPackets(blocks[3]!).length - 1;
  const bad = withHeaderForm(blocks[3]!, 'indeterminate', last);
  const added = viaAdd(bad);
  assert.ok('refused' in added && /indeterminate length/.test(added.refused), JSON.stringify(added));
  const loaded = await viaLoader(Buffer.concat([blocks[0]!, bad]));
  assert.deepEqual(loaded.stored, [sksDigestOf(blocks[0]!)]);
  assert.equal(loaded.run['rejected:malformed'], 1, JSON.stringify(loaded.run));
});

test('a key cut off by the end of its input is refused whole by /pks/add and by the loader, not stored in part', async () => {
  const cut = blocks[4]!.subarray(0, blocks[4]!.length - 10);
  assert.ok('refused' in viaAdd(cut));
  const loaded = await viaLoader(Buffer.concat([blocks[5]!, cut]));
  assert.deepEqual(loaded.stored, [sksDigestOf(blocks[5]!)]);
  assert.equal(loaded.run['rejected:malformed'], 1, JSON.stringify(loaded.run));
});

/** Every item the scanner reads from a file through a small window, as [kind, offset, bytes or reason]. */
function scanFile(data: Buffer, opts: { readBytes: number; maxBlockBytes: number }): Array<[string, number, number | string]> {
  const file = join(makeTempDir('headers-scan-'), 'dump.pgp');
  writeFileSync(file, data);
  const scanner = KeyBlockScanner.file(file, 0, opts);
  const items: Array<[string, number, number | string]> = [];
  try {
    for (let it = scanner.next(); it; it = scanner.next()) {
      items.push([it.kind, it.offset, it.kind === 'block' ? it.data.length : it.reason]);
    }
  } finally {
    scanner.close();
  }
  return items;
}

test('the scanner skips a key with partial body lengths exactly, chunk by chunk, even through a small read window', () => {
  const packets = rawPackets(blocks[1]!);
  // the key's largest packet in chunks of 2^k octets: several chunks, each longer than the 64-byte window
  const big = packets.reduce((a, p, i) => (p.body.length > packets[a]!.body.length ? i : a), 1);
  assert.ok(packets[big]!.body.length > 300);
  const bad = withHeaderForm(blocks[1]!, 'partial', big);
  const data = Buffer.concat([blocks[0]!, bad, blocks[2]!]);
  assert.deepEqual(scanFile(data, { readBytes: 64, maxBlockBytes: 1 << 20 }), [
    ['block', 0, blocks[0]!.length],
    ['bad', blocks[0]!.length, 'malformed'],
    ['block', blocks[0]!.length + bad.length, blocks[2]!.length],
  ]);
});

test('a key over max_input_key_bytes is skipped whole, also when its primary key packet alone is over it', () => {
  const huge = packetWithHeader(6, Buffer.concat([Buffer.from([4]), Buffer.alloc(5000, 1)]), 'five-octet');
  const small = Buffer.concat(rawPackets(blocks[7]!).slice(0, 2).map((p) => p.bytes));
  assert.ok(small.length < 4000);
  assert.deepEqual(scanFile(Buffer.concat([huge, small]), { readBytes: 64, maxBlockBytes: 4000 }), [
    ['bad', 0, 'key-too-large'],
    ['block', huge.length, small.length],
  ]);
});
