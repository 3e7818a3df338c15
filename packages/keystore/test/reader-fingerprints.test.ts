// A read-only store's table of row ids by fingerprint (store/sqlite/reader-fingerprints.ts) is only a hint: a key
// read through it is the key a store without it reads through the index, for keys stored before the table was
// filled, after it, removed, and stored again under another row id; and the table never grows past its size.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { KeyStore } from '../src/store/keystore.js';
import { readPackets, splitKeys, type KeyPackets } from '../src/index.js';
import { ReaderFingerprintRows } from '../src/store/sqlite/reader-fingerprints.js';
import { FingerprintTable } from '../src/store/sqlite/fingerprint-table.js';
import { DEBIAN_KEYRING } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';

const groups = splitKeys(readPackets(readFileSync(DEBIAN_KEYRING)));

function storeWith(count: number): { file: string; writer: KeyStore; fingerprints: string[] } {
  const file = join(makeTempDir('reader-fpr-'), 'keys.sqlite');
  const writer = KeyStore.open(file, { busyTimeoutMs: 10000 });
  const fingerprints: string[] = [];
  for (let i = 0; i < count; i += 100) {
    for (const o of writer.upsert(groups.slice(i, Math.min(i + 100, count)), 'load')) fingerprints.push(o.fingerprint!);
  }
  return { file, writer, fingerprints };
}

function sqliteRowId(file: string, fingerprint: string): number | undefined {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('SELECT id FROM keys WHERE fingerprint = ?').pluck().get(Buffer.from(fingerprint, 'hex')) as number | undefined;
  } finally {
    db.close();
  }
}

async function filled(store: KeyStore): Promise<void> {
  while (!store.fingerprintTableStatus()?.filled) await nextTurn();
}

/** The listing (vindex) the table's reader and the index's reader give, with and without its template (a key may
 * have none); returns whether there is one. */
const sameListing = (viaTable: KeyStore, viaIndex: KeyStore, fp: string, what: string): boolean => {
  let found = false;
  for (const template of [false, true]) {
    const a = viaTable.listingByFingerprint(fp, { template });
    assert.deepEqual(a, viaIndex.listingByFingerprint(fp, { template }), `${what}: the same listing (template ${template})`);
    if (a) assert.equal(a.facts.fingerprint.toUpperCase(), fp.toUpperCase(), `${what}: the key's own`);
    found = a !== undefined;
  }
  return found;
};

const same = (a: KeyPackets | undefined, b: KeyPackets | undefined, what: string) => {
  assert.ok(a && b, `${what}: found by both readers`);
  assert.ok(a.data.equals(b.data), `${what}: the same packets`);
  assert.equal(a.crc, b.crc, `${what}: the same CRC`);
};

test('keys read through the table are the keys the index finds, before and after writes, and it learns new keys once', async () => {
  const { file, writer, fingerprints } = storeWith(600);
  const viaTable = KeyStore.open(file, { readonly: true, fingerprintTableMiB: 1 });
  const viaIndex = KeyStore.open(file, { readonly: true });
  try {
    assert.equal(viaIndex.fingerprintTableStatus(), undefined, 'no table unless asked for');
    await filled(viaTable);
    assert.deepEqual(viaTable.fingerprintTableStatus(), { keys: 600, filled: true });
    for (const fp of fingerprints) {
      same(viaTable.packetsByFingerprint(fp), viaIndex.packetsByFingerprint(fp), fp);
      same(viaTable.packetsByFingerprint(fp.toLowerCase()), viaIndex.packetsByFingerprint(fp), `${fp} in lower case`);
    }
    const listed = fingerprints.filter((fp) => sameListing(viaTable, viaIndex, fp, `${fp}'s listing`));
    assert.ok(listed.length > 300, `${listed.length} keys with a listing read through the table`);
    assert.equal(viaTable.fingerprintTableStatus()!.keys, 600, 'every key was found in the table: none learned again');

    // keys stored after the fill: found through the index, then learned, each once
    const later: string[] = [];
    for (let i = 600; i < groups.length; i += 100) {
      for (const o of writer.upsert(groups.slice(i, i + 100), 'load')) later.push(o.fingerprint!);
    }
    for (const fp of later) same(viaTable.packetsByFingerprint(fp), viaIndex.packetsByFingerprint(fp), `${fp} stored later`);
    for (const fp of later) same(viaTable.packetsByFingerprint(fp), viaIndex.packetsByFingerprint(fp), `${fp} asked again`);
    for (const fp of later.slice(0, 50)) sameListing(viaTable, viaIndex, fp, `${fp}'s listing, stored later`);
    assert.equal(viaTable.fingerprintTableStatus()!.keys, groups.length, 'each later key learned once');

    // a key removed: the table's row id no longer holds it
    // a key with a listing, so that its old row id leads to one
    const goneAt = fingerprints.findIndex((fp, i) => i >= 10 && listed.includes(fp));
    const gone = fingerprints[goneAt]!;
    assert.equal(writer.deleteKey(gone, 'test'), true);
    assert.equal(viaTable.packetsByFingerprint(gone), undefined, 'a removed key is not found through its old row id');
    assert.equal(viaTable.listingByFingerprint(gone), undefined, 'nor its listing');
    // the key in the last row removed, then the first stored again: SQLite gives it the freed last row id, so the
    // table's entry for the removed key points at a row that holds another key now
    const last = later.at(-1)!;
    const lastRow = () => sqliteRowId(file, last);
    const freed = lastRow();
    assert.equal(writer.deleteKey(last, 'test'), true);
    assert.equal(writer.upsert([groups[goneAt]!], 'load')[0]!.status, 'inserted');
    assert.equal(sqliteRowId(file, gone), freed, 'the key stored again took the freed row id');
    assert.equal(viaTable.packetsByFingerprint(last), undefined, 'not the other key that now lies in its old row');
    assert.equal(viaTable.listingByFingerprint(last), undefined, 'nor that key\'s listing');
    assert.ok(sameListing(viaTable, viaIndex, gone, 'the listing of the key stored again'));
    same(viaTable.packetsByFingerprint(gone), viaIndex.packetsByFingerprint(gone), 'stored again, under another row id');
    assert.equal(viaTable.fingerprintTableStatus()!.keys, groups.length + 1, 'its new row id learned');
    same(viaTable.packetsByFingerprint(fingerprints[goneAt + 1]!), viaIndex.packetsByFingerprint(fingerprints[goneAt + 1]!), 'a neighbour');

    assert.equal(viaTable.packetsByFingerprint('00'.repeat(20)), undefined, 'a fingerprint no key has');
    assert.equal(viaTable.fingerprintTableStatus()!.keys, groups.length + 1, 'nothing learned from a miss');
  } finally {
    viaTable.close();
    viaIndex.close();
    writer.close();
  }
});

test('the table stays within its bytes: a store too large gets none, and learning stops at the size', async () => {
  const { file, writer, fingerprints } = storeWith(905);
  const db = new Database(file, { readonly: true });
  try {
    const none = new ReaderFingerprintRows(db, 905, FingerprintTable.bytesFor(905) - 1);
    assert.equal(none.active, false, 'a table for 905 keys does not fit one byte less');
    none.start();
    assert.equal(none.packets(Buffer.from(fingerprints[0]!, 'hex')), undefined);

    // room for 600 keys' table (1024 slots, at most 768 used): filling stops at 768, the rest come from the index
    const small = new ReaderFingerprintRows(db, 600, FingerprintTable.bytesFor(600));
    small.start();
    while (!small.isFilled) await nextTurn();
    assert.equal(small.size, 768, 'filled up to three quarters of its slots, not grown');
    let known = 0;
    for (const fp of fingerprints) {
      const fpr = Buffer.from(fp, 'hex');
      const row = small.packets(fpr);
      if (row) known++;
      small.learn(fpr, 1); // learning past the size is refused, whatever the id
    }
    assert.equal(known, 768, 'the keys it holds are read through it');
    assert.equal(small.size, 768, 'learning past the size refused');
    small.stop();
  } finally {
    db.close();
    writer.close();
  }
});
