// The key store's SQLite schema, owned here and nowhere else. Created and migrated when a process opens the database
// writable; the version is PRAGMA user_version. Read-only openers (sks-db workers) only check the version.
import type Database from 'better-sqlite3';
import { PTREE_SCHEMA_SQL } from '../ptree/prefix-tree.js';

export const SCHEMA_VERSION = 1;

/** Version 1. Fingerprints and digests are stored as BLOBs (half the size of hex, and byte order = digest order). */
const SCHEMA_V1 = `
-- One row per primary key: the key as served, its SKS digest, and its description (KeyInfo JSON) so reads never
-- re-parse packets.
CREATE TABLE IF NOT EXISTS keys (
  id INTEGER PRIMARY KEY,
  fingerprint BLOB NOT NULL UNIQUE,     -- primary key fingerprint: 16 (v3), 20 (v4) or 32 (v6) bytes
  digest BLOB NOT NULL UNIQUE,          -- 16-byte SKS digest of data (recon's set element)
  version INTEGER NOT NULL,
  data BLOB NOT NULL,                   -- canonical packets after policy, as writePackets writes them
  info TEXT NOT NULL,                   -- KeyInfo as compact JSON (info-codec.ts)
  cuts TEXT,                            -- PolicyCut[] as JSON: what policy removed; NULL when nothing
  first_seen INTEGER NOT NULL,          -- unix seconds of the first store
  updated INTEGER NOT NULL              -- unix seconds of the last change
);

-- Every key ID of every primary key and subkey, keyed by the short ID (low 32 bits of the key ID) so one index
-- answers short IDs, long IDs and v4/v6 fingerprints (whose key ID is part of the fingerprint); v3 fingerprints
-- (MD5, unrelated to the key ID) through a partial index that holds only v3 rows.
CREATE TABLE IF NOT EXISTS key_ids (
  short_id INTEGER NOT NULL,            -- low 32 bits of the key ID
  key INTEGER NOT NULL,                 -- keys.id
  fingerprint BLOB NOT NULL,            -- of this primary key or subkey
  long_id BLOB NOT NULL,                -- the 8-byte key ID
  PRIMARY KEY (short_id, key, fingerprint)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS key_ids_v3 ON key_ids (fingerprint) WHERE length(fingerprint) = 16;

-- E-mail addresses of user IDs (the <...> part, lower case): exact address lookups (HKP, WKD, VKS).
CREATE TABLE IF NOT EXISTS key_emails (
  email TEXT NOT NULL,
  key INTEGER NOT NULL,                 -- keys.id
  PRIMARY KEY (email, key)
) WITHOUT ROWID;

-- Word index over all user IDs of a key (rowid = keys.id). Contentless: the text lives in keys.info.
CREATE VIRTUAL TABLE IF NOT EXISTS uid_words USING fts5(
  uids, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2'
);

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

/** Creates or migrates the schema. Call on a writable connection; safe when several processes open at once
 * (the check and the migration run under one IMMEDIATE transaction). */
export function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new Error(`the key store's schema is version ${version}, newer than this program's ${SCHEMA_VERSION}; upgrade the program`);
    }
    if (version < 1) {
      db.exec(SCHEMA_V1);
      db.exec(PTREE_SCHEMA_SQL);
    }
    if (version !== SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
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
