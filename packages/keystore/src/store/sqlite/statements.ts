// The SQLite backend's statements and row shapes: every SQL string of the key tables is here.
import Database from 'better-sqlite3';
import { INSERT_LISTING_SQL, INSERT_SIGNER_REF_SQL, INSERT_SUMMARY_SQL } from '../schema.js';
import type { KeyInfo } from '../../openpgp/types.js';
import type { PolicyCut } from '../../policy.js';
import { readPacketAt, readPackets } from '../../openpgp/packet.js';
import { describeKey, keyIdOf } from '../../openpgp/key.js';
import type { IndexEntry, StoredKey, StoredListing } from '../types.js';
import type { KeyFacts } from '../listing.js';

export interface KeyRow {
  id: number;
  fingerprint: Buffer;
  digest: Buffer;
  version: number;
  data: Buffer;
  cuts: string | null;
  first_seen: number;
  updated: number;
  /** The key's summary (summary.ts: crc in keys, the rest in key_summaries); NULL only in a row of another
   * profile's form (reads.ts clientForm). */
  mr_lines: string | null;
  name: string | null;
  crc: number | null;
}

/** A KeyRow's columns in keys (aliased `k`); the summary's two follow. */
const KEYS_COLUMNS = 'k.id, k.fingerprint, k.digest, k.version, k.data, k.cuts, k.first_seen, k.updated, k.crc';
/** A stored key and its summary: keys k joined with key_summaries s. */
const KEYS_WITH_SUMMARY = `SELECT ${KEYS_COLUMNS}, s.mr_lines, s.name FROM keys k LEFT JOIN key_summaries s ON s.key = k.id`;
/** The same row without the summary (mr_lines and name NULL), from keys alone. */
const KEYS_BARE = `SELECT ${KEYS_COLUMNS}, NULL AS mr_lines, NULL AS name FROM keys k`;

/** An IndexEntry's columns, in key_summaries (aliased `s`), in this order (entryOf). The fingerprint as SQLite
 * writes it in hex: one string, where a blob became a Buffer, then hex, then upper case. */
const ENTRY_COLUMNS = 'hex(s.fingerprint), s.version, s.created, s.mr_lines';

/**
 * A bound row limit. SQLite (3.53 here) reads the value bound to a bare `LIMIT ?` while planning, so every new
 * binding marks the statement stale and the next step parses and plans it again: an indexed e-mail lookup cost
 * 3.7 µs instead of 0.7, and the whole uncached mr index statement several times that. Inside CAST the value is
 * an expression the planner does not look at; the statement is prepared once, as intended.
 */
export const LIMIT_PARAM = 'LIMIT CAST(? AS INTEGER)';

/** The ids of the keys a key-ID search finds (reads.ts keyIdQuery): read as ids, or as the keys' index entries. */
const KEY_ID_QUERIES = {
  Long: `SELECT DISTINCT key FROM key_ids WHERE short_id = ? AND long_id = ? ORDER BY key ${LIMIT_PARAM}`,
  Short: `SELECT DISTINCT key FROM key_ids WHERE short_id = ? ORDER BY key ${LIMIT_PARAM}`,
  Fpr: `SELECT DISTINCT key FROM key_ids WHERE short_id = ? AND fingerprint = ? ORDER BY key ${LIMIT_PARAM}`,
  // v3 rows only (index key_ids_v3): their MD5 fingerprint is unrelated to the key ID
  V3Fpr: `SELECT DISTINCT key FROM key_ids WHERE length(fingerprint) = 16 AND fingerprint = ? ORDER BY key ${LIMIT_PARAM}`,
} as const;
export type KeyIdQuery = keyof typeof KEY_ID_QUERIES;

const EMAIL_IDS = `SELECT key FROM key_emails WHERE email = ? ORDER BY key ${LIMIT_PARAM}`;
const WORD_IDS = `SELECT rowid FROM uid_words WHERE uid_words MATCH ? ORDER BY rowid ${LIMIT_PARAM}`;

/** Rows per multi-row INSERT of a bulk load: one statement call instead of one per row. */
export const BULK_ROWS = 64;

/** A fingerprint of 32, 40 or 64 hex digits as its bytes; undefined for anything else. Node's hex decoding stops at
 * the first character that is not a hex digit, so a decode of the whole length is a check of every digit (without
 * the regular expression that took a tenth of an uncached op=get's JavaScript, issue 17). */
export function fprBlob(hex: string): Buffer | undefined {
  if (hex.length !== 40 && hex.length !== 64 && hex.length !== 32) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  return bytes.length * 2 === hex.length ? bytes : undefined;
}

/** Whether the database has a table of this name (tables created on first writable use, read by read-only openers). */
export function tableExists(db: Database.Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

export function multiRow(db: Database.Database, head: string, cols: number, row = `(${Array.from({ length: cols }, () => '?').join(', ')})`): Database.Statement {
  return db.prepare(`${head} VALUES ${Array.from({ length: BULK_ROWS }, () => row).join(', ')}`);
}

export type ReadStatements = Record<'byFpr' | 'byFprBare' | 'packetsByFpr' | 'listingByFpr' | 'listingWithTemplateByFpr' | 'listingById' | 'listingWithTemplateById' | 'byDigest' | 'byId' | `idsBy${KeyIdQuery}` | `entriesBy${KeyIdQuery}` | 'idsByEmail' | 'entriesByEmail' | 'idsByWords' | 'entriesByWords' | 'countByWords' | 'isBlocked' | 'blocklist' | 'count' | 'digests' | 'changes' | 'seqBounds' | 'atOrAfter' | 'lastSeq' | 'keysInDigestOrder' | 'progress', Database.Statement>;
export type WriteStatements = Record<'digestById' | 'headByFpr' | 'headById' | 'dataById' | 'insertKey' | 'putSummary' | 'deleteSummary' | 'putListing' | 'deleteListing' | 'listingSigners' | 'listingTemplate' | 'setListingPage' | 'listingsNaming' | 'insertSignerRef' | 'deleteSignerRef' | 'anyBlocked' | 'getMeta' | 'setMeta' | 'deleteMeta' | 'updateKey' | 'deleteKey' | 'insertKeyId' | 'deleteKeyIds' | 'insertEmail' | 'insertKeyIdMany' | 'insertEmailMany' | 'logChangeMany' | 'deleteEmail' | 'insertWords' | 'insertWordsMany' | 'deleteWords' | 'logChange' | 'addCount' | 'block' | 'unblock' | 'pruneChanges' | 'copyDigestsToTree' | 'putProgress', Database.Statement>;

/** Each key-ID query twice: the ids it finds, and the index entries of those keys in one statement. */
function keyIdStatements(db: Database.Database) {
  const out = {} as Record<`idsBy${KeyIdQuery}` | `entriesBy${KeyIdQuery}`, Database.Statement>;
  for (const [name, sql] of Object.entries(KEY_ID_QUERIES) as Array<[KeyIdQuery, string]>) {
    out[`idsBy${name}`] = db.prepare(sql).pluck();
    out[`entriesBy${name}`] = db.prepare(`SELECT ${ENTRY_COLUMNS} FROM key_summaries s WHERE s.key IN (${sql})`).raw();
  }
  return out;
}

/** An IndexEntry from a raw row of ENTRY_COLUMNS. */
export function entryOf(row: [string, number, number, string]): IndexEntry {
  return { fingerprint: row[0], version: row[1], created: row[2], mrLines: row[3] };
}

/** A key_listings row as listingByFingerprint reads it: digest, facts, signers, page, slots, then the template (only
 * when there is no page, or always); listingOf reads it. */
const LISTING_COLUMNS = 'lower(hex(l.digest)), l.facts, l.signers, l.page, l.slots, CASE WHEN l.page IS NULL THEN l.vindex END';
const LISTING_WITH_TEMPLATE = 'lower(hex(l.digest)), l.facts, l.signers, l.page, l.slots, l.vindex';

/** A row of LISTING_COLUMNS or LISTING_WITH_TEMPLATE. */
export type ListingRow = [string, string, string, Buffer | null, Buffer | null, string | null];

export function listingOf([digest, facts, signers, page, slots, vindex]: ListingRow | [...ListingRow, number]): StoredListing {
  return {
    digest, facts: JSON.parse(facts) as KeyFacts, signers, page: page && slots ? { page, slots } : null,
    ...(vindex !== null ? { vindex } : {}),
  };
}

export function readStatements(db: Database.Database): ReadStatements {
  return {
    byFpr: db.prepare(`${KEYS_WITH_SUMMARY} WHERE k.fingerprint = ?`),
    byFprBare: db.prepare(`${KEYS_BARE} WHERE k.fingerprint = ?`),
    // [data, crc, id] as an array: no row object, no other column copied out of SQLite (reads.ts packetsByFingerprint;
    // the id is for the reader's fingerprint table, reader-fingerprints.ts)
    packetsByFpr: db.prepare('SELECT data, crc, id FROM keys WHERE fingerprint = ?').raw(),
    // the key's id from the fingerprint index alone: no keys row is read; the id comes last, for the reader's
    // fingerprint table. The template (sixth) only when there is no page: a page is 20 KB, the two take ten pages.
    listingByFpr: db.prepare(`SELECT ${LISTING_COLUMNS}, l.key FROM key_listings l WHERE l.key = (SELECT id FROM keys WHERE fingerprint = ?)`).raw(),
    listingWithTemplateByFpr: db.prepare(`SELECT ${LISTING_WITH_TEMPLATE}, l.key FROM key_listings l WHERE l.key = (SELECT id FROM keys WHERE fingerprint = ?)`).raw(),
    // by the row id the reader's fingerprint table holds (reads.ts listingByFingerprint checks the facts' fingerprint)
    listingById: db.prepare(`SELECT ${LISTING_COLUMNS} FROM key_listings l WHERE l.key = ?`).raw(),
    listingWithTemplateById: db.prepare(`SELECT ${LISTING_WITH_TEMPLATE} FROM key_listings l WHERE l.key = ?`).raw(),
    byDigest: db.prepare(`${KEYS_WITH_SUMMARY} WHERE k.digest = ?`),
    byId: db.prepare(`${KEYS_WITH_SUMMARY} WHERE k.id = ?`),
    ...keyIdStatements(db),
    idsByEmail: db.prepare(EMAIL_IDS).pluck(),
    // A join, not `key IN (EMAIL_IDS)`: the IN list, limited, was built in a temporary b-tree per call (a third of
    // the statement's time). An address has one key_emails row per key (emailsOf), so the join lists each once.
    entriesByEmail: db.prepare(`SELECT ${ENTRY_COLUMNS} FROM key_emails e JOIN key_summaries s ON s.key = e.key
      WHERE e.email = ? ORDER BY e.key ${LIMIT_PARAM}`).raw(),
    idsByWords: db.prepare(WORD_IDS).pluck(),
    entriesByWords: db.prepare(`SELECT ${ENTRY_COLUMNS} FROM key_summaries s WHERE s.key IN (${WORD_IDS})`).raw(),
    countByWords: db.prepare(`SELECT count(*) FROM (SELECT rowid FROM uid_words WHERE uid_words MATCH ? ${LIMIT_PARAM})`).pluck(),
    isBlocked: db.prepare('SELECT 1 FROM blocklist WHERE fingerprint = ?').pluck(),
    blocklist: db.prepare('SELECT fingerprint, reason, added FROM blocklist ORDER BY added, fingerprint'),
    count: db.prepare("SELECT value FROM meta WHERE name = 'key_count'").pluck(),
    digests: db.prepare('SELECT digest FROM keys ORDER BY digest').pluck(),
    changes: db.prepare(`SELECT seq, op, digest, fingerprint, at FROM changes WHERE seq > ? ORDER BY seq ${LIMIT_PARAM}`),
    seqBounds: db.prepare('SELECT min(seq) AS lo, max(seq) AS hi FROM changes'),
    atOrAfter: db.prepare('SELECT seq, at FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1'),
    lastSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM changes').pluck(),
    keysInDigestOrder: db.prepare('SELECT data FROM keys ORDER BY digest').pluck(),
    progress: db.prepare('SELECT path, size, mtime_ms, offset, counters, updated FROM load_progress WHERE path = ?'),
  };
}

export function writeStatements(db: Database.Database): WriteStatements {
  return {
    digestById: db.prepare('SELECT digest FROM keys WHERE id = ?').pluck(),
    headByFpr: db.prepare('SELECT id, digest FROM keys WHERE fingerprint = ?'),
    /** A bulk load's check of a row the fingerprint table points at (FingerprintTable.find). */
    headById: db.prepare('SELECT id, digest, fingerprint FROM keys WHERE id = ?'),
    dataById: db.prepare('SELECT data, cuts FROM keys WHERE id = ?'),
    insertKey: db.prepare('INSERT INTO keys (fingerprint, digest, version, data, cuts, first_seen, updated, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    putSummary: db.prepare(INSERT_SUMMARY_SQL),
    deleteSummary: db.prepare('DELETE FROM key_summaries WHERE key = ?'),
    putListing: db.prepare(INSERT_LISTING_SQL),
    deleteListing: db.prepare('DELETE FROM key_listings WHERE key = ?'),
    listingSigners: db.prepare('SELECT signers FROM key_listings WHERE key = ?').pluck(),
    /** [signers, vindex] of a listing, to make its page. */
    listingTemplate: db.prepare('SELECT signers, vindex FROM key_listings WHERE key = ?').raw(),
    setListingPage: db.prepare('UPDATE key_listings SET page = ?, slots = ? WHERE key = ?'),
    /** The listings that name a key ID (8 bytes). */
    listingsNaming: db.prepare('SELECT key FROM signer_refs WHERE long_id = ?').pluck(),
    insertSignerRef: db.prepare(INSERT_SIGNER_REF_SQL),
    deleteSignerRef: db.prepare('DELETE FROM signer_refs WHERE long_id = ? AND key = ?'),
    anyBlocked: db.prepare('SELECT EXISTS (SELECT 1 FROM blocklist)').pluck(),
    getMeta: db.prepare('SELECT value FROM meta WHERE name = ?').pluck(),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)'),
    deleteMeta: db.prepare('DELETE FROM meta WHERE name = ?'),
    updateKey: db.prepare('UPDATE keys SET digest = ?, version = ?, data = ?, cuts = ?, updated = ?, crc = ? WHERE id = ?'),
    deleteKey: db.prepare('DELETE FROM keys WHERE id = ?'),
    insertKeyId: db.prepare('INSERT INTO key_ids (short_id, key, fingerprint, long_id) VALUES (?, ?, ?, ?)'),
    deleteKeyIds: db.prepare('DELETE FROM key_ids WHERE short_id = ? AND key = ?'),
    insertEmail: db.prepare('INSERT INTO key_emails (email, key) VALUES (?, ?)'),
    insertKeyIdMany: multiRow(db, 'INSERT INTO key_ids (short_id, key, fingerprint, long_id)', 4),
    insertEmailMany: multiRow(db, 'INSERT INTO key_emails (email, key)', 2),
    logChangeMany: multiRow(db, 'INSERT INTO changes (op, digest, fingerprint, at, pushed)', 5),
    deleteEmail: db.prepare('DELETE FROM key_emails WHERE email = ? AND key = ?'),
    // words may be bound as UTF-8 bytes (StoredForm): CAST indexes them as text either way
    insertWords: db.prepare('INSERT INTO uid_words (rowid, uids) VALUES (?, CAST(? AS TEXT))'),
    insertWordsMany: multiRow(db, 'INSERT INTO uid_words (rowid, uids)', 2, '(?, CAST(? AS TEXT))'),
    deleteWords: db.prepare('DELETE FROM uid_words WHERE rowid = ?'),
    logChange: db.prepare('INSERT INTO changes (op, digest, fingerprint, at, pushed) VALUES (?, ?, ?, ?, ?)'),
    addCount: db.prepare("UPDATE meta SET value = value + ? WHERE name = 'key_count'"),
    block: db.prepare('INSERT OR REPLACE INTO blocklist (fingerprint, reason, added) VALUES (?, ?, ?)'),
    unblock: db.prepare('DELETE FROM blocklist WHERE fingerprint = ?'),
    pruneChanges: db.prepare('DELETE FROM changes WHERE seq <= ?'),
    /** A bulk build of the prefix tree: every stored digest into ptree_element, in key order. */
    copyDigestsToTree: db.prepare('INSERT OR IGNORE INTO ptree_element (digest) SELECT digest FROM keys ORDER BY digest'),
    putProgress: db.prepare(
      'INSERT OR REPLACE INTO load_progress (path, size, mtime_ms, offset, counters, updated) VALUES (?, ?, ?, ?, ?, ?)'),
  };
}

export interface ProgressRow {
  path: string;
  size: number;
  mtime_ms: number;
  offset: number;
  counters: string;
  updated: number;
}

/** FTS5 query: every word of the query (AND), each quoted so no word is read as query syntax. Words are split where
 * the index's tokenizer (unicode61) splits them, at everything but letters, digits and private-use characters: the
 * index keeps no positions, so "o'brien" asks for a user ID with both "o" and "brien" (as SKS does). */
export function ftsQuery(q: string): string | undefined {
  const words = q.split(/[^\p{L}\p{N}\p{Co}]+/u).filter((w) => w !== '');
  if (words.length === 0) return undefined;
  return words.map((w) => `"${w}"`).join(' ');
}

export function toStored(row: KeyRow | undefined): StoredKey | undefined {
  if (!row) return undefined;
  const fingerprint = row.fingerprint.toString('hex').toUpperCase();
  const primary = readPacketAt(row.data, 0);
  if (!primary) throw new Error(`stored key ${fingerprint} has no primary key packet`);
  const key = {
    fingerprint,
    keyId: keyIdOf(primary.packet.body, fingerprint),
    version: row.version,
    digest: row.digest.toString('hex'),
    data: row.data,
    firstSeen: row.first_seen,
    updated: row.updated,
    cuts: row.cuts ? (JSON.parse(row.cuts) as PolicyCut[]) : [],
  } as StoredKey;
  if (row.mr_lines !== null) {
    key.mrLines = row.mr_lines;
    key.name = row.name;
  }
  if (row.crc !== null) key.crc = row.crc;
  // The description is parsed from the stored packets on first use, then kept (an own, enumerable property, so
  // spreading or cloning the key carries it).
  Object.defineProperty(key, 'info', {
    enumerable: true,
    configurable: true,
    get() {
      const info = describeKey(readPackets(row.data));
      Object.defineProperty(key, 'info', { value: info, enumerable: true, configurable: true, writable: true });
      return info;
    },
    set(info: KeyInfo) {
      Object.defineProperty(key, 'info', { value: info, enumerable: true, configurable: true, writable: true });
    },
  });
  return key;
}
