// Reads of the SQLite backend: lookups by fingerprint, digest, key ID, address and words; the change log.
import type Database from 'better-sqlite3';
import { bracketedAddress, shortOf } from '../prepare.js';
import type { Change, IndexEntry, KeyPackets, StoredKey, StoredListing } from '../types.js';
import { addressesAtDomain } from './domain-index.js';
import { entryOf, fprBlob, ftsQuery, listingOf, toStored, type KeyIdQuery, type KeyRow, type ListingRow, type ReadStatements } from './statements.js';
import { LONG_KEY_ID, type SignerNames } from './signer-names.js';
import type { ProfileSet } from './profile-sets.js';
import { keepPackets } from '../profile-forms.js';
import { firstUserId, primaryUserId } from '../summary.js';
import type { ReaderFingerprintRows } from './reader-fingerprints.js';

/** A query that is one e-mail address (searched by the address index, not by words). */
const EMAIL_QUERY = /^[^\s<>@]+@[^\s<>@]+$/;

type EntryRow = Parameters<typeof entryOf>[0];

/** Which key-ID query (statements.ts KEY_ID_QUERIES) answers a search for this key ID or fingerprint, and its
 * parameters before the limit; undefined for anything else. */
function keyIdQuery(hex: string): { name: KeyIdQuery; params: unknown[] } | undefined {
  const h = hex.replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]+$/.test(h)) return undefined;
  switch (h.length) {
    case 8:
      return { name: 'Short', params: [parseInt(h, 16)] };
    case 16:
      return { name: 'Long', params: [shortOf(h), Buffer.from(h, 'hex')] };
    case 40: // v4: the key ID is the low 64 bits of the fingerprint
      return { name: 'Fpr', params: [shortOf(h.slice(24)), Buffer.from(h, 'hex')] };
    case 64: // v6: the key ID is the high 64 bits of the fingerprint
      return { name: 'Fpr', params: [shortOf(h.slice(0, 16)), Buffer.from(h, 'hex')] };
    case 32: // v3: MD5 fingerprint, unrelated to the key ID
      return { name: 'V3Fpr', params: [Buffer.from(h, 'hex')] };
    default:
      return undefined;
  }
}

export class SqliteReads {
  /** Read-only connections: the keys' row ids by fingerprint in memory, when the store was opened with a size for
   * them (OpenOptions.fingerprintTableMiB); packetsByFingerprint() reads a key through it. */
  protected fingerprintRows?: ReaderFingerprintRows;

  /** @param signers the connection's signer names (SqliteCore.signerNames, which writes use too)
   *  @param profiles the other recon profiles' digest sets this connection sees
   *  @param served the set whose form of each key clients are given (a profile that verifies signatures), if any:
   *  keys it does not hold are not served at all */
  constructor(protected readonly db: Database.Database, protected readonly r: ReadStatements, private readonly signers: SignerNames,
    protected readonly profiles: readonly ProfileSet[] = [], protected readonly served?: ProfileSet) {}

  /** A stored row as clients get it: as is, or in the served profile's form (undefined: that profile refuses it). */
  private clientForm(row: KeyRow | undefined): StoredKey | undefined {
    if (!row || !this.served) return toStored(row);
    const form = this.served.rowOfKey(row.id);
    if (!form) return undefined;
    // the stored summary describes the stored form, not this one: readers parse this form
    return toStored({ ...row, digest: form.digest, data: keepPackets(row.data, form.dropped), mr_lines: null, name: null, crc: null });
  }

  getByFingerprint(fingerprint: string, opts?: { summary?: boolean }): StoredKey | undefined {
    const fpr = fprBlob(fingerprint);
    if (!fpr) return undefined;
    // Without the summary: on a large store each table is another random page read (1M keys: 14 against 20 µs).
    return this.clientForm((opts?.summary === false ? this.r.byFprBare : this.r.byFpr).get(fpr) as KeyRow | undefined);
  }

  /** The fingerprint table's state (OpenOptions.fingerprintTableMiB): keys it knows, whether its fill is done;
   * undefined without one. */
  fingerprintTableStatus(): { keys: number; filled: boolean } | undefined {
    const rows = this.fingerprintRows;
    return rows?.active ? { keys: rows.size, filled: rows.isFilled } : undefined;
  }

  packetsByFingerprint(fingerprint: string): KeyPackets | undefined {
    if (this.served) {
      const k = this.getByFingerprint(fingerprint, { summary: false });
      return k && { data: k.data, crc: k.crc };
    }
    const fpr = fprBlob(fingerprint);
    if (!fpr) return undefined;
    const known = this.fingerprintRows?.packets(fpr);
    if (known) return { data: known[0], crc: known[1] ?? undefined };
    const row = this.r.packetsByFpr.get(fpr) as [Buffer, number | null, number] | undefined;
    if (row) this.fingerprintRows?.learn(fpr, row[2]);
    return row && { data: row[0], crc: row[1] ?? undefined };
  }

  listingByFingerprint(fingerprint: string, opts?: { template?: boolean }): StoredListing | undefined {
    // the listing describes the stored form, not the one clients get
    if (this.served) return undefined;
    const fpr = fprBlob(fingerprint);
    if (!fpr) return undefined;
    const template = opts?.template === true;
    // Through the fingerprint table where it knows the key, as packetsByFingerprint: one B-tree read, not the index's
    // first. A hit is the key's only if the listing's facts name this fingerprint; else the index decides.
    const rows = this.fingerprintRows;
    if (rows?.active) {
      const byId = template ? this.r.listingWithTemplateById : this.r.listingById;
      let hit: StoredListing | undefined;
      rows.rowOf(fpr, (id) => {
        const row = byId.get(id) as ListingRow | undefined;
        const listing = row && listingOf(row);
        if (!listing || !Buffer.from(listing.facts.fingerprint, 'hex').equals(fpr)) return false;
        hit = listing;
        return true;
      });
      if (hit) return hit;
    }
    const row = (template ? this.r.listingWithTemplateByFpr : this.r.listingByFpr).get(fpr) as [...ListingRow, number] | undefined;
    if (!row) return undefined;
    rows?.learn(fpr, row[6]);
    return listingOf(row);
  }

  /** The key whose digest in any active profile's set is this one (32 hex digits, any case), as clients get it. */
  getByDigest(digest: string): StoredKey | undefined {
    const row = this.rowByAnyDigest(digest);
    return row ? this.clientForm(row.row) : undefined;
  }

  /** The key in the very form whose digest this is, in whichever active profile's set holds it: what a recon peer
   * of that profile asked for (/pks/hashquery), so both sides hash the same packets. */
  keyForPeer(digest: string): Buffer | undefined {
    const found = this.rowByAnyDigest(digest);
    if (!found) return undefined;
    return found.dropped === undefined ? found.row.data : keepPackets(found.row.data, found.dropped);
  }

  private rowByAnyDigest(digest: string): { row: KeyRow; dropped?: Buffer | null } | undefined {
    if (!/^[0-9a-fA-F]{32}$/.test(digest)) return undefined;
    const d = Buffer.from(digest, 'hex');
    const row = this.r.byDigest.get(d) as KeyRow | undefined;
    if (row) return { row };
    for (const set of this.profiles) {
      const p = set.rowOfDigest(d);
      if (!p) continue;
      const key = this.r.byId.get(p.key) as KeyRow | undefined;
      if (key) return { row: key, dropped: p.dropped };
    }
    return undefined;
  }

  /** Keys whose primary key or a subkey has this key ID (8 or 16 hex) or fingerprint (32, 40 or 64 hex). */
  findByKeyId(hex: string, limit = -1): StoredKey[] {
    const q = keyIdQuery(hex);
    return q ? this.keysById(this.r[`idsBy${q.name}`].all(...q.params, limit) as number[]) : [];
  }

  indexEntriesByKeyId(hex: string, limit = -1): IndexEntry[] | undefined {
    if (this.served) return undefined;
    const q = keyIdQuery(hex);
    return q ? (this.r[`entriesBy${q.name}`].all(...q.params, limit) as EntryRow[]).map(entryOf) : [];
  }

  signerName(keyId: string): { name?: string } | undefined {
    if (!LONG_KEY_ID.test(keyId)) return undefined;
    const name = this.signerNames([keyId]).get(keyId);
    return name === undefined ? {} : { name };
  }

  signerNames(keyIds: readonly string[]): Map<string, string | undefined> {
    const names = new Map<string, string | undefined>();
    const valid = keyIds.filter((id) => LONG_KEY_ID.test(id));
    if (valid.length === 0) return names;
    if (!this.served) return this.signers.names(valid);
    // Clients get another form of the keys than the summaries describe: the same rule on the form they get.
    for (const id of valid) {
      const k = this.findByKeyId(id, 1)[0];
      const bySubkey = k !== undefined && !k.keyId.toUpperCase().endsWith(id.toUpperCase());
      names.set(id, !k ? undefined : bySubkey ? firstUserId(k.info) : primaryUserId(k.info));
    }
    return names;
  }

  /** searchText() (not exact) as index entries: one statement for the ids and their summaries. */
  indexEntriesByText(query: string, limit: number, countLimit = -1): { entries: IndexEntry[]; total: number } | undefined {
    if (this.served) return undefined;
    const { q, email, lim, countCap } = readTextQuery(query, limit, countLimit);
    if (email !== undefined) {
      const rows = this.r.entriesByEmail.all(email, countCap) as EntryRow[];
      return { entries: rows.slice(0, lim).map(entryOf), total: rows.length };
    }
    const match = ftsQuery(q);
    if (match === undefined) return { entries: [], total: 0 };
    const total = this.r.countByWords.get(match, countCap) as number;
    return { entries: (this.r.entriesByWords.all(match, lim) as EntryRow[]).map(entryOf), total };
  }

  private keysById(ids: number[]): StoredKey[] {
    const out: StoredKey[] = [];
    for (const id of ids) {
      const k = this.clientForm(this.r.byId.get(id) as KeyRow | undefined);
      if (k) out.push(k);
    }
    return out;
  }

  /** Keys with a user ID containing every word of `query` (case-insensitive), or exactly the e-mail address if
   * query is one. `exact` requires a user ID equal to the query. Returns at most `limit` keys; `total` counts all,
   * or stops counting at `countLimit` when given (a word in millions of keys costs seconds to count in full; pass
   * the most results you would serve plus one to learn only whether there are more). */
  searchText(query: string, limit: number, exact = false, countLimit = -1): { keys: StoredKey[]; total: number } {
    const { q, email, lim, countCap } = readTextQuery(query, limit, countLimit);
    if (email !== undefined) {
      const ids = this.r.idsByEmail.all(email, countCap) as number[];
      return { keys: this.keysById(ids.slice(0, lim)), total: ids.length };
    }
    if (!exact) {
      const match = ftsQuery(q);
      if (match === undefined) return { keys: [], total: 0 };
      const total = this.r.countByWords.get(match, countCap) as number;
      return { keys: this.keysById(this.r.idsByWords.all(match, lim) as number[]), total };
    }
    // Exact: some user ID equals the query (case-insensitive). The word index finds the keys with all of the
    // query's words, the stored description decides.
    const match = ftsQuery(q);
    if (match === undefined) return { keys: [], total: 0 };
    const want = q.toLowerCase();
    const keys: StoredKey[] = [];
    let total = 0;
    for (const id of this.r.idsByWords.iterate(match, -1) as Iterable<number>) {
      const k = this.clientForm(this.r.byId.get(id) as KeyRow | undefined);
      if (!k || !k.info.userIds.some((u) => u.kind === 'uid' && u.text.trim().toLowerCase() === want)) continue;
      total++;
      if (keys.length < lim) keys.push(k);
      if (total === countCap) break;
    }
    return { keys, total };
  }

  count(): number {
    return this.r.count.get() as number;
  }

  /** The sequence number to pass to changesSince() to read the changes made at or after `unixSeconds` (e.g. the
   * last week for the stats page) without reading the whole log. Binary search on seq: change times follow seq
   * order, except across a step back of the system clock. */
  seqBefore(unixSeconds: number): number {
    const b = this.r.seqBounds.get() as { lo: number | null; hi: number | null };
    if (b.lo === null || b.hi === null) return 0;
    let lo = b.lo;
    let hi = b.hi + 1; // first seq whose change is at or after the time lies in [lo, hi]
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      const row = this.r.atOrAfter.get(mid) as { seq: number; at: number } | undefined;
      if (!row || row.at >= unixSeconds) hi = mid;
      else lo = row.seq + 1;
    }
    return lo - 1;
  }

  changesSince(seq: number, limit: number): Change[] {
    const rows = this.r.changes.all(seq, limit) as Array<{ seq: number; op: number; digest: Buffer; fingerprint: Buffer; at: number }>;
    return rows.map((r) => ({
      seq: r.seq,
      op: r.op === 1 ? 'add' : 'remove',
      digest: r.digest.toString('hex'),
      fingerprint: r.fingerprint.toString('hex').toUpperCase(),
      at: r.at,
    }));
  }

  lastSeq(): number {
    return this.r.lastSeq.get() as number;
  }

  addressesAtDomain(domain: string): string[] {
    return addressesAtDomain(this.db, domain);
  }

  isBlocked(fingerprint: string): boolean {
    const fpr = fprBlob(fingerprint);
    return fpr !== undefined && this.r.isBlocked.get(fpr) !== undefined;
  }

  blocklist(): Array<{ fingerprint: string; reason: string; added: number }> {
    return (this.r.blocklist.all() as Array<{ fingerprint: Buffer; reason: string; added: number }>).map((r) => ({
      fingerprint: r.fingerprint.toString('hex').toUpperCase(), reason: r.reason, added: r.added,
    }));
  }
}

/** A text query as searchText and indexEntriesByText read it: trimmed, a bracketed address unwrapped, the e-mail
 * address (lower case) when it is one, and the limits made whole numbers (a count cap never below the limit). */
function readTextQuery(query: string, limit: number, countLimit: number): { q: string; email?: string; lim: number; countCap: number } {
  const t = query.trim();
  const q = bracketedAddress(t) ?? t;
  const lim = Math.max(0, Math.floor(limit));
  const countCap = countLimit < 0 ? -1 : Math.max(lim, Math.floor(countLimit));
  return { q, email: EMAIL_QUERY.test(q) ? q.toLowerCase() : undefined, lim, countCap };
}
