// vindex's signer names (SKS index.ml get_uid), and keeping the stored listing pages that show them current.
//
// A signer's name is another key's: its primary user ID when the signer's key ID is that key's primary key, its first
// user ID when it is a subkey; of the first key in key order with that ID. A listing (listing.ts) stores its page,
// the names of the signers it shows filled in (key_listings.page), so a vindex looks none up; signer_refs says which
// listings show which key ID. When a write changes what a key ID's name is (the key arrives, goes, or changes its
// user IDs), the listings that show it get their page made again in the same transaction. A bulk load leaves pages
// NULL and makes them all at its end (finishBulkWork); a reader fills the template, looking names up, while a
// listing's page is NULL. (During a bulk load, a listing written before it does not yet name a signer that arrived
// in it.)
import type Database from 'better-sqlite3';
import { shortOf } from '../prepare.js';
import { listingPage, listingSigners, storedPage, type StoredPage } from '../listing.js';

/** The write statements the upkeep uses (statements.ts; not imported from there: schema.ts imports this module). */
type UpkeepStatements = Record<'listingTemplate' | 'setListingPage' | 'listingsNaming', Database.Statement>;

/** meta row present while stored listing pages may be missing or show out-of-date names (a bulk load, a migration):
 * the next writable open makes them all (bulk-load.ts finishBulkWork). (Named after what schema 6 stored.) */
export const PAGES_STALE = 'listing_names_stale';

/** The most key IDs one statement asks for: a page asks in groups of this many (one statement per group size,
 * prepared when first used). */
const SIGNERS_PER_STATEMENT = 32;

/** A long key ID: 16 hex digits, any case. */
export const LONG_KEY_ID = /^[0-9a-fA-F]{16}$/;
/** Hex digits as SQLite's hex() writes them. */
const UPPER_HEX = /^[0-9A-F]*$/;

/** A row of the statement: long ID (hex), key, is that key's primary key (0/1), the name it goes by there. */
type SignerRow = [string, number, number, string | null];

/** Signer names from a connection's view of the store. */
export class SignerNames {
  /** Statements by group size. */
  private readonly statements = new Map<number, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** The candidates for the names of `n` signers, by the short IDs of their key IDs: per key ID row its long ID in
   * hex, its key, whether it is that key's primary key, and the name the ID goes by in that key. Plain columns, no
   * blob: a Buffer per row cost more than the lookup. */
  private statement(n: number): Database.Statement {
    let s = this.statements.get(n);
    if (s === undefined) {
      s = this.db.prepare(`SELECT hex(i.long_id), i.key, i.fingerprint = s.fingerprint,
        CASE WHEN i.fingerprint = s.fingerprint THEN s.name ELSE s.first_uid END
        FROM key_ids i JOIN key_summaries s ON s.key = i.key WHERE i.short_id IN (${Array(n).fill('?').join(', ')})`).raw();
      this.statements.set(n, s);
    }
    return s;
  }

  /** Each valid ID's name (undefined where none); IDs that are not 16 hex digits are left out. */
  names(keyIds: readonly string[]): Map<string, string | undefined> {
    const names = new Map<string, string | undefined>();
    const valid = keyIds.filter((id) => LONG_KEY_ID.test(id));
    // of the rows of an ID: the first key in key order, its primary key's row first
    const best = new Map<string, SignerRow>();
    for (let at = 0; at < valid.length; at += SIGNERS_PER_STATEMENT) {
      const group = valid.slice(at, at + SIGNERS_PER_STATEMENT);
      const rows = this.statement(group.length).all(...group.map(shortOf)) as SignerRow[];
      for (const row of rows) {
        const b = best.get(row[0]);
        if (!b || row[1] < b[1] || (row[1] === b[1] && row[2] > b[2])) best.set(row[0], row);
      }
    }
    for (const id of valid) names.set(id, best.get(UPPER_HEX.test(id) ? id : id.toUpperCase())?.[3] ?? undefined);
    return names;
  }
}

/** What one write transaction must do about stored listing pages: the names its keys' IDs had when it first touched
 * them, and the listings it wrote (whose pages are made when it ends, once every row is in place). */
export class NameUpkeep {
  private readonly before = new Map<string, string | undefined>();
  private readonly listings = new Set<number>();

  constructor(private readonly signers: SignerNames, private readonly ws: UpkeepStatements) {}

  /** Call before a key's rows change: its key IDs (16 hex digits), before and after the change. */
  touch(keyIds: Iterable<string>): void {
    const fresh = [...new Set(keyIds)].filter((id) => !this.before.has(id));
    if (fresh.length === 0) return;
    for (const [id, name] of this.signers.names(fresh)) this.before.set(id, name);
  }

  /** A listing (by its key's row id) was written without its page. */
  written(key: number): void {
    this.listings.add(key);
  }

  /** At the end of the transaction: every listing that shows a key ID whose name changed, and every listing written,
   * gets its page with the names as they are now. */
  finish(): void {
    const ws = this.ws;
    if (this.before.size > 0) {
      const now = this.signers.names([...this.before.keys()]);
      for (const [id, was] of this.before) {
        if (now.get(id) === was) continue;
        for (const key of ws.listingsNaming.all(Buffer.from(id, 'hex')) as number[]) this.listings.add(key);
      }
    }
    for (const key of this.listings) {
      const row = ws.listingTemplate.get(key) as [string, string] | undefined;
      if (row !== undefined) setPage(ws, key, pageOf((ids) => this.signers.names(ids), row[0], row[1]));
    }
  }
}

/** key_listings.page of a listing: its template with the names its signers go by now (`names`: looks them up). */
export function pageOf(names: (keyIds: string[]) => ReadonlyMap<string, string | undefined>, signers: string, vindex: string): StoredPage {
  const ids = [...listingSigners(signers, new Set())];
  return storedPage(listingPage(vindex, signers, ids.length > 0 ? names(ids) : new Map()));
}

function setPage(ws: UpkeepStatements, key: number, p: StoredPage): void {
  ws.setListingPage.run(p.page, p.slots, key);
}

/** Names kept while makeAllPages runs, at most: signers recur across listings (a few well-connected keys sign many),
 * and looking names up was half of the work. ~100 bytes an entry. */
const NAME_CACHE_ENTRIES = 200_000;

/** Makes the page of every listing, and signer_refs again from the listings' issuer lists (after a bulk load,
 * which leaves pages NULL, writes no signer_refs and keeps neither current), in batches by key, in one transaction
 * (no name changes meanwhile). signer_refs is filled in key order from a temporary table: written during the load,
 * its rows went into the middle of the tree, one random page each. Returns how many listings it made pages for. */
export function makeAllPages(db: Database.Database, ws: UpkeepStatements): number {
  const signerNames = new SignerNames(db);
  const cache = new Map<string, string | undefined>();
  const names = (ids: string[]) => {
    const missing = ids.filter((id) => !cache.has(id));
    if (missing.length > 0) {
      if (cache.size + missing.length > NAME_CACHE_ENTRIES) cache.clear();
      for (const [id, name] of signerNames.names(missing)) cache.set(id, name);
    }
    return new Map(ids.map((id) => [id, cache.get(id)]));
  };
  db.exec('DROP TABLE IF EXISTS temp.unsorted_signer_refs; CREATE TEMP TABLE unsorted_signer_refs (long_id BLOB, key INTEGER)');
  const ref = db.prepare('INSERT INTO temp.unsorted_signer_refs VALUES (?, ?)');
  const batch = db.prepare('SELECT key, signers, vindex FROM key_listings WHERE key > ? ORDER BY key LIMIT 1000').raw();
  let n = 0;
  for (let last = 0; ;) {
    const rows = batch.all(last) as Array<[number, string, string]>;
    if (rows.length === 0) break;
    for (const [key, signers, vindex] of rows) {
      setPage(ws, key, pageOf(names, signers, vindex));
      for (const id of listingSigners(signers, new Set())) ref.run(Buffer.from(id, 'hex'), key);
    }
    n += rows.length;
    last = rows[rows.length - 1]![0];
  }
  db.exec(`DELETE FROM signer_refs;
    INSERT OR IGNORE INTO signer_refs (long_id, key) SELECT long_id, key FROM temp.unsorted_signer_refs ORDER BY long_id, key;
    DROP TABLE temp.unsorted_signer_refs`);
  return n;
}
