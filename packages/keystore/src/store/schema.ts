// The key store's SQLite schema, owned here and nowhere else. Created and migrated when a process opens the database
// writable; the version is PRAGMA user_version. Read-only openers (sks-db workers) only check the version.
import type Database from 'better-sqlite3';
import { PTREE_SCHEMA_SQL } from './sqlite/prefix-tree.js';
import { readPackets } from '../openpgp/packet.js';
import { describeKey } from '../openpgp/key.js';
import { uidText } from './prepare.js';
import { keySummary, storedListing } from './summary.js';
import { PAGES_STALE } from './sqlite/signer-names.js';

export const SCHEMA_VERSION = 7;

/** The keys table of version 2 (also what migrateV1 copies version 1's rows into). */
const KEYS_TABLE = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  id INTEGER PRIMARY KEY,
  fingerprint BLOB NOT NULL,            -- primary key fingerprint: 16 (v3), 20 (v4) or 32 (v6) bytes; unique: keys_fingerprint
  digest BLOB NOT NULL,                 -- 16-byte SKS digest of data (recon's set element); unique: keys_digest
  version INTEGER NOT NULL,
  data BLOB NOT NULL,                   -- canonical packets after policy, as writePackets writes them
  cuts TEXT,                            -- PolicyCut[] as JSON: what policy removed; NULL when nothing
  first_seen INTEGER NOT NULL,          -- unix seconds of the first store
  updated INTEGER NOT NULL,             -- unix seconds of the last change
  crc INTEGER                           -- CRC-24 of data, the armor's checksum line (since version 4)
)`;
// A store made by version 4 also has the columns mr_lines and name here, after data; version 5 moved them to
// key_summaries and leaves them unread (dropping a column rewrites every row, i.e. the whole store).

/** Version 5: what an index answer says of a key, one small row per key (rowid = keys.id), apart from keys because
 * a keys row is mostly its packets (30 KB on average on debian-keyring): reading columns stored after data walks its
 * overflow pages, and a page of keys holds a few rows where a page of summaries holds a hundred. An mr index is
 * answered from this table alone (issue 17). */
const KEY_SUMMARIES_TABLE = `
CREATE TABLE IF NOT EXISTS key_summaries (
  key INTEGER PRIMARY KEY,              -- keys.id
  fingerprint BLOB NOT NULL,            -- as keys.fingerprint
  version INTEGER NOT NULL,             -- as keys.version (v6 keys are left out of legacy answers)
  created INTEGER NOT NULL,             -- the primary key's creation time: multi-key answers list newest first
  mr_lines TEXT NOT NULL,               -- the key's mr index lines, as sent (summary.ts)
  name TEXT,                            -- its primary user ID (a signer's name in vindex); NULL: none
  first_uid TEXT                        -- its first user ID (a signer's name when a subkey signed); NULL: none
)`;

/** Version 6: a key's op=vindex listing with its holes and the facts of its card (listing.ts), for keys of at least
 * LISTING_MIN_SIGNATURES signatures (rowid = keys.id): a vindex of a 100-signature key reads this instead of parsing
 * the key and looking up its signers (issue 17). Apart from key_summaries, whose rows an mr index reads by the
 * hundred. Version 7: the page (the listing with its signers' cells filled in) instead of their names, so a vindex
 * fills only the request's slots. */
const KEY_LISTINGS_TABLE = (name = 'key_listings') => `
CREATE TABLE IF NOT EXISTS ${name} (
  key INTEGER PRIMARY KEY,              -- keys.id
  digest BLOB NOT NULL,                 -- as keys.digest (a listing's hash= line), so a vindex reads no keys row
  facts TEXT NOT NULL,                  -- KeyFacts as JSON: what the readable key list shows
  signers TEXT NOT NULL,                -- its issuers in order, 16 hex digits and a flag each (KeyListing.signers)
  page BLOB,                            -- the listing with its signers' names filled in, as sent without options
                                        -- (storedPage); NULL: not made yet (sqlite/signer-names.ts keeps it current)
  slots BLOB,                           -- where the page's option slots are (StoredPage.slots); NULL with page
  vindex TEXT NOT NULL                  -- the key's lines of SKS's verbose listing, with slots (listingPage); last:
                                        -- a vindex reads the columns before it and not its overflow pages
)`;

/** Version 6: which listings name which key ID, so a write that changes a key ID's name finds the listings to update. */
const SIGNER_REFS_TABLE = `
CREATE TABLE IF NOT EXISTS signer_refs (
  long_id BLOB NOT NULL,                -- a key ID a listing names (8 bytes)
  key INTEGER NOT NULL,                 -- the listing's key (keys.id)
  PRIMARY KEY (long_id, key)
) WITHOUT ROWID`;

/** Word index over all user IDs of a key (rowid = keys.id). Contentless: the text lives in keys.data. Without
 * positions (detail=none): a search matches keys whose user IDs hold every word, in any order and place, as SKS's
 * word index does; building it costs 40% less than with positions (1M generated keys: 2.2 instead of 3.7 s). */
const UID_WORDS_TABLE = `
CREATE VIRTUAL TABLE IF NOT EXISTS uid_words USING fts5(
  uids, content='', contentless_delete=1, detail=none, tokenize='unicode61 remove_diacritics 2'
);`;

/** Version 2. Fingerprints and digests are stored as BLOBs (half the size of hex, and byte order = digest order). */
const SCHEMA_V2 = `
-- One row per primary key: the key as served and its SKS digest. Its description (KeyInfo: user IDs, subkeys,
-- signatures) is parsed from data when a reader asks for it (describeKey). Version 1 kept it beside data as JSON:
-- the table was 1.7 times as large and a bulk load a fifth slower, to save readers of descriptions about half of a
-- few microseconds per key (op=get never needed it), and it could drift from data when describeKey changed.
-- Both unique indexes are in BULK_INDEXES: a bulk load appends rows without them and sorts them at its end.
${KEYS_TABLE('keys')};

-- Every key ID of every primary key and subkey, keyed by the short ID (low 32 bits of the key ID) so one index
-- answers short IDs, long IDs and v4/v6 fingerprints (whose key ID is part of the fingerprint); v3 fingerprints
-- (MD5, unrelated to the key ID) through a partial index that holds only v3 rows.
CREATE TABLE IF NOT EXISTS key_ids (
  short_id INTEGER NOT NULL,            -- low 32 bits of the key ID; index: key_ids_short
  key INTEGER NOT NULL,                 -- keys.id
  fingerprint BLOB NOT NULL,            -- of this primary key or subkey
  long_id BLOB NOT NULL                 -- the 8-byte key ID
);
CREATE INDEX IF NOT EXISTS key_ids_v3 ON key_ids (fingerprint) WHERE length(fingerprint) = 16;

-- E-mail addresses of user IDs (the <...> part, lower case): exact address lookups (HKP, WKD, VKS).
CREATE TABLE IF NOT EXISTS key_emails (
  email TEXT NOT NULL,                  -- index: key_emails_email
  key INTEGER NOT NULL                  -- keys.id
);

${UID_WORDS_TABLE}

${KEY_SUMMARIES_TABLE};

${KEY_LISTINGS_TABLE()};

${SIGNER_REFS_TABLE};

-- Primary fingerprints refused on every path (load, add, recon); their stored copies are removed.
CREATE TABLE IF NOT EXISTS blocklist (
  fingerprint BLOB PRIMARY KEY NOT NULL,
  reason TEXT NOT NULL,
  added INTEGER NOT NULL
) WITHOUT ROWID;

-- Digests added and removed, in order (stats, cron, anyone following the store).
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  op INTEGER NOT NULL,                  -- 1 add, 0 remove
  digest BLOB NOT NULL,
  fingerprint BLOB NOT NULL,
  at INTEGER NOT NULL
);

-- Counters kept in step with the writes (count() must not scan millions of rows).
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('key_count', 0);

-- Bulk load progress per dump file, written in the same transaction as each batch of keys.
CREATE TABLE IF NOT EXISTS load_progress (
  path TEXT PRIMARY KEY NOT NULL,
  size INTEGER NOT NULL,
  mtime_ms INTEGER NOT NULL,
  offset INTEGER NOT NULL,              -- bytes of the file whose keys are committed
  counters TEXT NOT NULL,               -- JSON totals
  updated INTEGER NOT NULL
);
`;

/** The indexes a bulk load may drop while it appends (KeyStore.beginBulkLoad) and that are built again, by
 * sorting, when it ends. Every writable open creates any that are missing, so a load that dies meanwhile leaves
 * nothing broken behind. */
export const BULK_INDEXES: ReadonlyArray<{ name: string; sql: string }> = [
  { name: 'keys_fingerprint', sql: 'CREATE UNIQUE INDEX IF NOT EXISTS keys_fingerprint ON keys (fingerprint)' },
  { name: 'keys_digest', sql: 'CREATE UNIQUE INDEX IF NOT EXISTS keys_digest ON keys (digest)' },
  { name: 'key_ids_short', sql: 'CREATE INDEX IF NOT EXISTS key_ids_short ON key_ids (short_id, key)' },
  { name: 'key_emails_email', sql: 'CREATE INDEX IF NOT EXISTS key_emails_email ON key_emails (email, key)' },
];

/** Names of BULK_INDEXES that do not exist (dropped by a bulk load that has not ended). */
export function missingIndexes(db: Database.Database): string[] {
  const have = new Set(db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index'").pluck().all() as string[]);
  return BULK_INDEXES.filter((i) => !have.has(i.name)).map((i) => i.name);
}

/** Version 1 to 2: the keys table loses its info column (KeyInfo JSON, now read from data) and the UNIQUE
 * constraint on fingerprint becomes the index keys_fingerprint (a constraint cannot be dropped for a bulk load);
 * the word index loses its positions. SQLite changes neither in place, so the rows are copied into a new table and
 * the words indexed again from the stored keys: minutes for millions of keys, once. Ids stay, so key_ids and
 * key_emails rows still point at their keys. */
function migrateV1(db: Database.Database): void {
  db.exec(KEYS_TABLE('keys_v2'));
  db.exec(`INSERT INTO keys_v2 (id, fingerprint, digest, version, data, cuts, first_seen, updated)
           SELECT id, fingerprint, digest, version, data, cuts, first_seen, updated FROM keys ORDER BY id`);
  db.exec('DROP TABLE keys'); // its indexes (the fingerprint constraint's, keys_digest) go with it
  db.exec('ALTER TABLE keys_v2 RENAME TO keys');
  db.exec('DROP TABLE uid_words');
  db.exec(UID_WORDS_TABLE);
  const page = db.prepare('SELECT id, data FROM keys WHERE id > ? ORDER BY id LIMIT 10000').raw();
  const insert = db.prepare('INSERT INTO uid_words (rowid, uids) VALUES (?, ?)');
  for (let last = 0; ;) {
    const rows = page.all(last) as Array<[number, Buffer]>;
    if (rows.length === 0) break;
    for (const [id, data] of rows) {
      const text = uidText(describeKey(readPackets(data)));
      if (text !== '') insert.run(id, text);
    }
    last = rows[rows.length - 1]![0];
  }
}

/** Version 2 to 3 (and every new store): the change log says which changes push sync sends on. A key that came
 * in by push sync or by mail is stored and reconciled as any other, but not pushed again (CKS's rule: no loops).
 * Existing rows become pushable, as they were written by add, recon and load. */
function migrateV2(db: Database.Database): void {
  const has = (db.prepare('PRAGMA table_info(changes)').all() as Array<{ name: string }>).some((c) => c.name === 'pushed');
  if (!has) db.exec('ALTER TABLE changes ADD COLUMN pushed INTEGER NOT NULL DEFAULT 1');
}

/** Keys read per batch by the version 5 migration: bounded memory for millions of keys. */
const SUMMARY_BATCH = 10000;

/** Versions 1-4 to 5: every key gets its ready summary (summary.ts), which lookups send instead of parsing the key
 * (issue 17): the checksum in keys.crc, the rest in key_summaries. Computed from the stored packets in batches by id,
 * as migrateV1 indexes words (a version 4 store had most of it in keys, but not the creation time). */
function addSummaries(db: Database.Database): void {
  const has = (db.prepare('PRAGMA table_info(keys)').all() as Array<{ name: string }>).some((c) => c.name === 'crc');
  if (!has) db.exec('ALTER TABLE keys ADD COLUMN crc INTEGER');
  db.exec(KEY_SUMMARIES_TABLE);
  const page = db.prepare('SELECT id, fingerprint, version, data FROM keys WHERE id > ? ORDER BY id LIMIT ?').raw();
  const setCrc = db.prepare('UPDATE keys SET crc = ? WHERE id = ? AND crc IS NOT ?');
  const insert = db.prepare(INSERT_SUMMARY_SQL);
  for (let last = 0; ;) {
    const rows = page.all(last, SUMMARY_BATCH) as Array<[number, Buffer, number, Buffer]>;
    if (rows.length === 0) break;
    for (const [id, fingerprint, version, data] of rows) {
      const packets = readPackets(data);
      const s = keySummary(describeKey(packets), packets, data);
      setCrc.run(s.crc, id, s.crc);
      insert.run(id, fingerprint, version, s.created, s.mrLines, s.name, s.firstUid);
    }
    last = rows[rows.length - 1]![0];
  }
}

/** Version 5 to 6: keys with many signatures get their stored listing, computed from their packets in batches. */
function addListings(db: Database.Database): void {
  db.exec(KEY_LISTINGS_TABLE());
  db.exec(SIGNER_REFS_TABLE);
  const page = db.prepare('SELECT id, digest, data FROM keys WHERE id > ? ORDER BY id LIMIT ?').raw();
  const insert = db.prepare(INSERT_LISTING_SQL);
  for (let last = 0; ;) {
    const rows = page.all(last, SUMMARY_BATCH) as Array<[number, Buffer, Buffer]>;
    if (rows.length === 0) break;
    for (const [id, digest, data] of rows) {
      const listing = storedListing(describeKey(readPackets(data)));
      if (!listing) continue;
      insert.run(id, digest, listing.facts, listing.vindex, listing.signers);
    }
    last = rows[rows.length - 1]![0];
  }
  // the pages (they show other keys' names) and signer_refs, once every key's rows are in place: by the writable open
  // that follows (finishBulkWork)
  markPagesStale(db);
}

/** Version 6 to 7: listings keep their page instead of their signers' names, before the template in the row. The
 * table is copied into the new layout; the pages are made by the writable open that follows (finishBulkWork), as
 * after a bulk load; until then readers fill the template. */
function addListingPages(db: Database.Database): void {
  db.exec(KEY_LISTINGS_TABLE('key_listings_v7'));
  db.exec('INSERT INTO key_listings_v7 (key, digest, facts, signers, vindex) SELECT key, digest, facts, signers, vindex FROM key_listings');
  db.exec('DROP TABLE key_listings');
  db.exec('ALTER TABLE key_listings_v7 RENAME TO key_listings');
  markPagesStale(db);
}

/** Leaves the listing pages and signer_refs to the writable open that follows (finishBulkWork), as a bulk load does. */
function markPagesStale(db: Database.Database): void {
  db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, 1)').run(PAGES_STALE);
}

/** Records that a listing names a key ID (long_id, key). */
export const INSERT_SIGNER_REF_SQL = 'INSERT OR IGNORE INTO signer_refs (long_id, key) VALUES (?, ?)';

/** Writes a key's row of key_listings (key, digest, facts, vindex, signers), its page not made yet. */
export const INSERT_LISTING_SQL = 'INSERT OR REPLACE INTO key_listings (key, digest, facts, vindex, signers, page, slots) VALUES (?, ?, ?, ?, ?, NULL, NULL)';

/** Writes a key's row of key_summaries (key, fingerprint, version, created, mr_lines, name, first_uid): the store's
 * one way. */
export const INSERT_SUMMARY_SQL =
  'INSERT OR REPLACE INTO key_summaries (key, fingerprint, version, created, mr_lines, name, first_uid) VALUES (?, ?, ?, ?, ?, ?, ?)';

/** Creates or migrates the schema. Call on a writable connection; safe when several processes open at once
 * (the check and the migration run under one IMMEDIATE transaction). Unless `bulk`, it also builds any index a
 * bulk load dropped and did not build again (and, after a migration, the indexes of the new keys table). Returns
 * the version the database had (0: new). */
export function migrate(db: Database.Database, bulk = false): number {
  return db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`the key store's schema is version ${version}, newer than this program's ${SCHEMA_VERSION}; upgrade the program`);
    }
    if (version < 1) {
      db.exec(SCHEMA_V2);
      db.exec(PTREE_SCHEMA_SQL);
    } else if (version === 1) {
      migrateV1(db);
    }
    if (version < 3) migrateV2(db);
    if (version >= 1 && version < 5) addSummaries(db);
    if (version >= 1 && version < 6) addListings(db);
    if (version === 6) addListingPages(db);
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
    if (!bulk) for (const i of BULK_INDEXES) db.exec(i.sql);
    return version;
  }).immediate();
}

/** For read-only openers: the schema must exist and be the version this program reads. */
export function checkVersion(db: Database.Database, file: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version === 0) {
    throw new Error(`${file} is not an initialised key store (open it writable once, e.g. sks-admin init)`);
  }
  if (version !== SCHEMA_VERSION) {
    throw new Error(`${file} has schema version ${version}, this program reads ${SCHEMA_VERSION}; open it writable once to migrate`);
  }
}
