// The stored vindex listing (listing.ts, table key_listings): kept for exactly the keys of many signatures, always the
// listing of the key as stored now (insert, merge, delete, bulk hand-off, migration), and filled in per request as
// the request asks (link options, signer names, expiry against the time of the page). What the filled-in lines
// must be is pinned against real SKS in sks-db (vindex-sks-lines.test.ts, sks-side-by-side.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KeyStore, LISTING_MIN_SIGNATURES, describeKey, htmlQuote, keyFacts, keyListing, listingPage, listingSigners, readPackets, renderListing,
  signatureCount, splitKeys, storedPage, type KeyInfo, type SignatureInfo, type StoredPage,
} from '../src/index.js';
import { PackedBlockReader, packPreparedBlocks, type PreparedBlock } from '../src/store/keystore.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { preparedAsLoaderThreadsSend, splitCopies } from './store-helpers.js';
import { sqliteHandle } from './support/sqlite-handle.js';

const keyring = readFileSync(DEBIAN_KEYRING);
const blocks = keyBlocks(keyring);

function open(): { store: KeyStore; file: string } {
  const file = join(makeTempDir('listing-'), 'keys.sqlite');
  return { store: KeyStore.open(file), file };
}

/** The stored listing of every key, by fingerprint, read straight from the table. */
type ListingRow = { facts: string; vindex: string; signers: string; page: Buffer | null; slots: Buffer | null };
function storedListings(store: KeyStore): Map<string, ListingRow> {
  const rows = sqliteHandle(store)
    .prepare('SELECT hex(k.fingerprint) AS fpr, l.facts, l.vindex, l.signers, l.page, l.slots FROM key_listings l JOIN keys k ON k.id = l.key')
    .all() as Array<ListingRow & { fpr: string }>;
  return new Map(rows.map(({ fpr, ...r }) => [fpr, r]));
}

/** What the listing of the key as stored now must be: made from its stored packets. */
function expectedListing(store: KeyStore, fpr: string) {
  const info = describeKey(readPackets(store.getByFingerprint(fpr)!.data));
  return signatureCount(info) >= LISTING_MIN_SIGNATURES ? keyListing(info) : undefined;
}

/** A listing's page with the names of its signers as the store looks them up now. */
function pageNow(store: KeyStore, listing: { vindex: string; signers: string }): StoredPage {
  return storedPage(listingPage(listing.vindex, listing.signers, store.signerNames([...listingSigners(listing.signers, new Set())])));
}

/** Every key with enough signatures has its listing stored, the one its stored packets make; no other key has one.
 * Returns how many have one. */
function assertListingsMatch(store: KeyStore): number {
  const stored = storedListings(store);
  let heavy = 0;
  for (const d of store.digests()) {
    const k = store.getByDigest(d.toString('hex'))!;
    const want = expectedListing(store, k.fingerprint);
    const got = stored.get(k.fingerprint);
    if (!want) {
      assert.equal(got, undefined, `${k.fingerprint} has ${signatureCount(k.info)} signatures and no listing`);
      assert.equal(store.listingByFingerprint(k.fingerprint), undefined);
      continue;
    }
    heavy++;
    assert.ok(got, `${k.fingerprint}: no stored listing`);
    assert.equal(got.vindex, want.vindex, k.fingerprint);
    assert.equal(got.signers, want.signers, k.fingerprint);
    assert.deepEqual(JSON.parse(got.facts), want.facts, k.fingerprint);
    const { page, ...rest } = store.listingByFingerprint(k.fingerprint)!;
    assert.deepEqual(rest, { digest: k.digest, facts: want.facts, signers: want.signers }, 'with a page, no template is read');
    assert.deepEqual(page, pageNow(store, want), `${k.fingerprint}: its stored page, with the signers' names of now`);
  }
  assert.equal(stored.size, heavy);
  // signer_refs: exactly the key IDs each listing names
  const db = sqliteHandle(store);
  const refs = db.prepare('SELECT hex(long_id) || \':\' || key FROM signer_refs ORDER BY 1').pluck().all() as string[];
  const named = (db.prepare('SELECT key, signers FROM key_listings').raw().all() as Array<[number, string]>)
    .flatMap(([key, signers]) => [...listingSigners(signers, new Set())].map((id) => `${id}:${key}`)).sort();
  assert.deepEqual(refs, named, 'signer_refs holds the key IDs the listings name');
  return heavy;
}

test('keys of many signatures, and only they, keep their listing: the one made from the stored key', () => {
  const { store } = open();
  try {
    store.upsert(splitKeys(readPackets(keyring)), 'load');
    const heavy = assertListingsMatch(store);
    assert.ok(heavy > 100 && heavy < store.count(), `${heavy} of ${store.count()} keys of debian-keyring with a listing`);
  } finally {
    store.close();
  }
});

test('a merge that brings a key to many signatures stores its listing, a later one replaces it, a delete removes it', () => {
  const { store } = open();
  try {
    // a key whose first user ID alone carries too few signatures, and the whole key enough
    const picked = blocks.map((b) => ({ b, parts: splitCopies(b) })).find(({ b, parts }) => {
      if (!parts) return false;
      const part = signatureCount(describeKey(readPackets(parts[0])));
      return part < LISTING_MIN_SIGNATURES && signatureCount(describeKey(readPackets(b))) >= LISTING_MIN_SIGNATURES + 5;
    });
    assert.ok(picked, 'debian-keyring has such a key');
    const fpr = describeKey(readPackets(picked.b)).fingerprint;
    store.upsert([readPackets(picked.parts![0])], 'add');
    assert.equal(storedListings(store).get(fpr), undefined, 'too few signatures: nothing stored');
    store.upsert([readPackets(picked.parts![1])], 'add');
    const merged = storedListings(store).get(fpr);
    assert.ok(merged, 'the merged key has its listing');
    assert.equal(merged.vindex, expectedListing(store, fpr)!.vindex);
    // and one that already has a listing gets the merged one
    const big = blocks.map((b) => ({ b, parts: splitCopies(b) })).find(({ parts }) =>
      parts && signatureCount(describeKey(readPackets(parts[0]))) >= LISTING_MIN_SIGNATURES &&
      signatureCount(describeKey(readPackets(parts[1]))) > 1);
    assert.ok(big);
    const bigFpr = describeKey(readPackets(big.b)).fingerprint;
    store.upsert([readPackets(big.parts![0])], 'add');
    const before = storedListings(store).get(bigFpr)!.vindex;
    store.upsert([readPackets(big.parts![1])], 'add');
    const after = storedListings(store).get(bigFpr)!.vindex;
    assert.notEqual(after, before);
    assert.equal(after, expectedListing(store, bigFpr)!.vindex);
    assert.equal(store.listingByFingerprint(bigFpr)!.digest, store.getByFingerprint(bigFpr)!.digest, 'the merged key\'s digest');
    assert.ok(store.deleteKey(bigFpr, 'test'));
    assert.equal(storedListings(store).get(bigFpr), undefined, 'a deleted key leaves no listing');
    assert.equal(store.listingByFingerprint(bigFpr), undefined);
    assert.ok(storedListings(store).has(fpr), 'the other key keeps its own');
  } finally {
    store.close();
  }
});

test('a bulk load of keys packed as the loader\'s threads send them stores the same listings', () => {
  const { store } = open();
  try {
    const results = preparedAsLoaderThreadsSend(splitKeys(readPackets(keyring)), store.policy);
    const reader = new PackedBlockReader(packPreparedBlocks(results));
    const read: PreparedBlock[] = [];
    while (!reader.done) read.push(...reader.next());
    store.beginBulkLoad();
    store.upsert(read, 'load');
    store.endBulkLoad();
    assert.ok(assertListingsMatch(store) > 100);
  } finally {
    store.close();
  }
});

test('a listing\'s stored page follows the names of its signers: one that arrives, one that goes', () => {
  const { store } = open();
  try {
    const infos = blocks.map((b) => describeKey(readPackets(b)));
    const byKeyId = new Map(infos.map((info, i) => [info.keyId, i]));
    // a much-signed key A with a signer B that is a key of the keyring (by its primary key)
    let a = -1;
    let b = -1;
    for (let i = 0; i < infos.length && b < 0; i++) {
      if (signatureCount(infos[i]!) < LISTING_MIN_SIGNATURES) continue;
      const signer = [...listingSigners(keyListing(infos[i]!).signers, new Set())].find((id) => byKeyId.has(id) && byKeyId.get(id) !== i);
      if (signer !== undefined) [a, b] = [i, byKeyId.get(signer)!];
    }
    assert.ok(b >= 0, 'debian-keyring has such a pair');
    const [A, B] = [infos[a]!, infos[b]!];
    // the text of B's name cells in A's stored page (each the same)
    const nameOfB = () => {
      const page = store.listingByFingerprint(A.fingerprint)!.page!.page.toString('utf8');
      const cells = [...page.matchAll(new RegExp(`op=vindex&amp;search=0x${B.keyId}">([^<]*)</a>`, 'g'))].map((m) => m[1]);
      assert.ok(cells.length > 0);
      assert.equal(new Set(cells).size, 1);
      return cells[0];
    };
    store.upsert(blocks.filter((_, i) => i !== b).map((x) => readPackets(x)), 'add');
    assert.equal(nameOfB(), '[]', 'B is not stored: no name');
    store.upsert([readPackets(blocks[b]!)], 'add');
    const name = store.signerName(B.keyId)!.name;
    assert.ok(name);
    assert.equal(nameOfB(), htmlQuote(name), 'B arrived: A\'s page names it');
    assert.ok(store.deleteKey(B.fingerprint, 'test'));
    assert.equal(nameOfB(), '[]', 'B went: no name again');
  } finally {
    store.close();
  }
});

/** Stores keys, turns the store back into schema `version` by `downgrade` (SQL), and opens it writable again: the
 * migration must give every listing back as it was, with its page and signer_refs. */
function assertMigratedFrom(version: number, downgrade: string): void {
  const { store, file } = open();
  store.upsert(splitKeys(readPackets(keyring)).slice(0, 150), 'load');
  const want = storedListings(store);
  assert.ok([...want.values()].every((l) => l.page !== null) && want.size > 10);
  const db = sqliteHandle(store);
  db.exec(downgrade);
  db.pragma(`user_version = ${version}`);
  store.close();
  assert.throws(() => KeyStore.open(file, { readonly: true }), new RegExp(`version ${version}`), 'readers wait for a writer to migrate');
  const migrated = KeyStore.open(file);
  try {
    assert.equal(migrated.migratedFrom, version);
    assert.deepEqual(storedListings(migrated), want);
    assertListingsMatch(migrated);
  } finally {
    migrated.close();
  }
}

test('a version 5 store is migrated: the keys of many signatures get their listing', () => {
  assertMigratedFrom(5, 'DROP TABLE key_listings; DROP TABLE signer_refs');
});

test('a version 6 store is migrated: its listings keep their page instead of their signers\' names', () => {
  // version 6's table: names (JSON) where version 7 has the page
  assertMigratedFrom(6, `ALTER TABLE key_listings DROP COLUMN page; ALTER TABLE key_listings DROP COLUMN slots;
    ALTER TABLE key_listings ADD COLUMN names TEXT; UPDATE key_listings SET names = '[]'`);
});

/** A certification as KeyInfo describes one. */
function cert(over: Partial<SignatureInfo>): SignatureInfo {
  return { type: 0x10, issuerKeyId: '', issuerFingerprint: '', created: 1_600_000_000, expires: null, keyExpires: null, self: false, ...over };
}

test('a listing is filled in per request: link options, names of signers, expiry against the time of the page', () => {
  const SIGNER = '0123456789ABCDEF';
  const OTHER = 'FEDCBA9876543210';
  // a user ID holding the template's own marker and what would read as slots: it must come out as written
  const tricky = 'Eve \u0001n0123456789ABCDEF \u0001x \u0001o <eve@example.org>';
  const info: KeyInfo = {
    version: 4, fingerprint: 'AA'.repeat(20), keyId: 'AAAAAAAAAAAAAAAA', algorithm: 22, bits: 255, created: 1_500_000_000,
    expires: null, revoked: false, signatures: [], subkeys: [],
    userIds: [{
      kind: 'uid', text: tricky, created: 1_500_000_000, expires: null, revoked: false, primary: true,
      signatures: [
        cert({ issuerKeyId: SIGNER, created: 1_600_000_000, expires: 1_700_000_000 }),
        cert({ issuerKeyId: OTHER, created: 1_600_000_100, type: 0x13 }),
        cert({ issuerKeyId: 'AAAAAAAAAAAAAAAA', self: true, created: 1_600_000_200, type: 0x13 }),
      ],
    }],
  };
  const { vindex, facts, signers } = keyListing(info);
  assert.deepEqual(facts, keyFacts(info));
  assert.deepEqual([...listingSigners(signers, new Set())], [SIGNER, OTHER], 'signers in listing order, the key itself not');
  const names = new Map([[SIGNER, 'Signer \u0001x <s@example.org>']]);
  const fill = (now: number, o = { fingerprint: false, hash: false }) =>
    renderListing(vindex, signers, { options: o, names, now, extra: '\r\nEXTRA' }).toString('utf8');
  const before = fill(1_650_000_000);
  const after = fill(1_750_000_000);
  const lines = (s: string) => s.split('\r\n');
  assert.ok(lines(before).some((l) => l.startsWith('sig  sig   <a href="/pks/lookup?op=get&amp;search=0x0123456789ABCDEF">89ABCDEF</a> 2020-09-13 2023-11-14 __________ <a href="/pks/lookup?op=vindex&amp;search=0x0123456789ABCDEF">Signer \u0001x &lt;s@example.org&gt;</a>')), before);
  assert.ok(lines(after).some((l) => l.startsWith('sig <span class="warn"> exp  </span> <a href="/pks/lookup?op=get&amp;search=0x0123456789ABCDEF">')), after);
  // a signer without a name, and the key's own signature
  assert.ok(lines(before).some((l) => l.startsWith('sig  sig3  ') && l.endsWith('search=0xFEDCBA9876543210">[]</a>')));
  assert.ok(lines(before).some((l) => l.endsWith('search=0xAAAAAAAAAAAAAAAA">[selfsig]</a>')));
  // the user ID as written, HTML-quoted; the extra lines where SKS puts them (after the key's own signatures)
  assert.ok(before.includes(`<span class="uid">Eve \u0001n0123456789ABCDEF \u0001x \u0001o &lt;eve@example.org&gt;</span>`), before);
  assert.equal(lines(before).indexOf('EXTRA'), 2, 'the extra lines follow the pub line');
  assert.equal(before.split('\u0001').length - 1, 4, 'no slot left: only the user ID\'s and the name\'s own markers');
  // link options go on every link but the key's own op=get
  const withOpts = fill(1_650_000_000, { fingerprint: true, hash: true });
  assert.ok(withOpts.includes('op=vindex&amp;hash=on&amp;fingerprint=on&amp;search=0x0123456789ABCDEF'));
  assert.ok(withOpts.includes('op=get&amp;search=0xAAAAAAAAAAAAAAAA">AAAAAAAA</a>'));
});
