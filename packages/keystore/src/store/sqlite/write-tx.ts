// The SQLite backend's write transaction: one IMMEDIATE transaction per call, in which the key rows, their index
// rows (key IDs, addresses, words), the change log, the key counter and the prefix tree change together.
import type Database from 'better-sqlite3';
import type { KeyInfo } from '../../openpgp/types.js';
import type { PolicyCut } from '../../policy.js';
import { readPackets } from '../../openpgp/packet.js';
import { describeKey } from '../../openpgp/key.js';
import { emailsOf, keyIdsOf, uidText, unpackKeyIds } from '../prepare.js';
import { toBuffer, type UpsertTxn } from '../upsert.js';
import type { BatchProgress, ProfileForm, StoredForm } from '../types.js';
import type { KeySummary } from '../summary.js';
import { BULK_INDEXES } from '../schema.js';
import { listingSigners } from '../listing.js';
import { PAGES_STALE, NameUpkeep } from './signer-names.js';
import { asUnavailable, PTREE_STALE, type SqliteCore } from './core.js';
import { BULK_ROWS, type ProgressRow } from './statements.js';
import type { PrefixTree } from './prefix-tree.js';

/** Digests added and removed within one transaction, netted so an add then remove of the same digest is nothing. */
class TreeDelta {
  readonly added = new Map<string, Buffer>();
  readonly removed = new Map<string, Buffer>();
  /** Bulk load: only remember that the tree changed (it is built at the end). */
  touched = false;

  constructor(private readonly onlyTouch: boolean) {}

  add(d: Buffer): void {
    this.touched = true;
    if (this.onlyTouch) return;
    const k = d.toString('hex');
    if (this.removed.has(k)) this.removed.delete(k);
    else this.added.set(k, d);
  }

  remove(d: Buffer): void {
    this.touched = true;
    if (this.onlyTouch) return;
    const k = d.toString('hex');
    if (this.added.has(k)) this.added.delete(k);
    else this.removed.set(k, d);
  }
}

/** State of one write transaction. */
export interface TxState {
  now: number;
  /** changes.pushed of this transaction's changes: 0 when the keys arrived by push sync or mail (not sent on). */
  pushed: 0 | 1;
  /** Whether the blocklist has any entry (read once per transaction: it is empty on most servers). */
  anyBlocked: boolean;
  tree: TreeDelta;
  /** The same for each other recon profile's set, by profile (always applied at the end, bulk load or not). */
  profileTrees: Map<string, TreeDelta>;
  countDelta: number;
  /** Word-index changes, applied at the end of the transaction in rowid order: FTS5 flushes its pending index on
   * every delete and every insert below the last rowid written, so doing them as they come would flush per key. */
  words: Map<number, { inIndex: boolean; text: string | Uint8Array }>;
  /** Key-ID and address rows to insert at the end of the transaction, sorted, so the inserts walk each index in
   * order (one visit per page) instead of jumping around it once per key. Keyed by key row id and by
   * `${email}\n${id}`; a delete in the same transaction drops pending rows. */
  ids: Map<number, Array<[number, number, Buffer, Buffer]>>;
  mails: Map<string, [string, number]>;
  /** Bulk load: rows of new keys for the key_ids, key_emails, changes and word-index tables, in the order they come
   * (flat parameter lists), written BULK_ROWS rows per statement (see RowBuffer). New keys get ascending row ids, so
   * their words go to the word index in rowid order at once; a merge's words still wait in `words`. */
  rows?: { ids: RowBuffer; mails: RowBuffer; changes: RowBuffer; words: RowBuffer };
  /** The caller counts outcomes only (loadKeyBlocks): an inserted key returns the shared INSERTED outcome. */
  countsOnly: boolean;
  /** Keeps stored listing pages current (signer-names.ts); none in a bulk load, which makes them at its end. */
  names?: NameUpkeep;
}

/** Parameters of rows waiting to be inserted into one table, in order, BULK_ROWS at a time with `many` (a statement
 * of BULK_ROWS rows); flush() writes what is left with `one`. Order is kept, so the rows (and their rowids) are the
 * same as inserted one by one. */
export class RowBuffer {
  private readonly params: unknown[] = [];

  constructor(private readonly cols: number, private readonly one: Database.Statement, private readonly many: Database.Statement) {}

  push(...values: unknown[]): void {
    for (const v of values) this.params.push(v);
    if (this.params.length >= BULK_ROWS * this.cols) {
      this.many.run(this.params);
      this.params.length = 0;
    }
  }

  flush(): void {
    const p = this.params;
    for (let i = 0; i < p.length; i += this.cols) this.one.run(p.slice(i, i + this.cols));
    p.length = 0;
  }
}

/** Writes the bulk rows still waiting: before anything reads or deletes rows of those tables, and at the end. */
export function flushRows(tx: TxState): void {
  if (!tx.rows) return;
  tx.rows.ids.flush();
  tx.rows.mails.flush();
  tx.rows.changes.flush();
  tx.rows.words.flush();
}

function addKeyId(tx: TxState, short: number, id: number, fpr: Buffer, long: Buffer): void {
  const rows = tx.ids.get(id);
  if (rows) rows.push([short, id, fpr, long]);
  else tx.ids.set(id, [[short, id, fpr, long]]);
}

/** Records that key `id` should end the transaction with `text` in the word index ('' = not indexed). `inIndex`
 * says whether it is in the index now (only the first record of an id in a transaction counts). */
function setWords(tx: TxState, id: number, inIndex: boolean, text: string | Uint8Array): void {
  const had = tx.words.get(id);
  if (had) had.text = text;
  else tx.words.set(id, { inIndex, text });
}

/** Runs `fn` in one IMMEDIATE transaction, then applies the netted tree changes and the key counter in it. A
 * failure of SQLite itself leaves as StoreUnavailableError (the transaction is rolled back: nothing written). */
export function runWrite<T>(core: SqliteCore, fn: (tx: TxState) => T, countsOnly = false): T {
  const ws = core.ws;
  try {
    return core.db.transaction(() => {
      if (core.fprTable) checkForeignWrites(core);
      const tx: TxState = {
        now: Math.floor(Date.now() / 1000), pushed: 1, anyBlocked: ws.anyBlocked.get() === 1, tree: new TreeDelta(core.bulk),
        profileTrees: new Map(core.profiles.map((p) => [p.name, new TreeDelta(false)])), countDelta: 0,
        words: new Map(), ids: new Map(), mails: new Map(), countsOnly,
        names: core.bulk ? undefined : new NameUpkeep(core.signerNames, ws),
      };
      if (core.bulk) {
        tx.rows = {
          ids: new RowBuffer(4, ws.insertKeyId, ws.insertKeyIdMany),
          mails: new RowBuffer(2, ws.insertEmail, ws.insertEmailMany),
          changes: new RowBuffer(5, ws.logChange, ws.logChangeMany),
          words: new RowBuffer(2, ws.insertWords, ws.insertWordsMany),
        };
      }
      const result = fn(tx);
      flushRows(tx);
      if (tx.ids.size > 0) {
        const rows = [...tx.ids.values()].flat();
        rows.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        for (const [short, id, fpr, long] of rows) ws.insertKeyId.run(short, id, fpr, long);
      }
      if (tx.mails.size > 0) {
        const rows = [...tx.mails.values()];
        rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
        for (const [email, id] of rows) ws.insertEmail.run(email, id);
      }
      if (tx.words.size > 0) {
        const ids = [...tx.words.keys()].sort((a, b) => a - b);
        for (const id of ids) if (tx.words.get(id)!.inIndex) ws.deleteWords.run(id);
        for (const id of ids) {
          const text = tx.words.get(id)!.text;
          if (text.length > 0) ws.insertWords.run(id, typeof text === 'string' ? text : toBuffer(text));
        }
      }
      // with every row in place: pages of listings written, and of those that show a key ID whose name changed
      tx.names?.finish();
      if (core.bulk) {
        // Bulk load: the tree is built once from the stored digests when the load ends (endBulkLoad), or by the next
        // writable open if the load dies. Marked in the same transaction, so no commit leaves a stale tree unmarked.
        // Stored listing pages likewise (the load neither makes them nor keeps them current).
        if (tx.tree.touched) {
          ws.setMeta.run(PTREE_STALE, 1);
          ws.setMeta.run(PAGES_STALE, 1);
        }
      } else {
        applyTreeDelta(core.tree, tx.tree);
      }
      for (const set of core.profiles) applyTreeDelta(set.tree, tx.profileTrees.get(set.name)!);
      if (tx.countDelta !== 0) ws.addCount.run(tx.countDelta);
      if (core.fprTable) core.lastDataVersion = core.dataVersion();
      return result;
    }).immediate();
  } catch (e) {
    throw asUnavailable(e);
  }
}

/** Applies a transaction's netted digest changes to a tree, in byte order, so element inserts and node updates walk
 * the tree in order. */
function applyTreeDelta(tree: PrefixTree, delta: TreeDelta): void {
  if (delta.removed.size > 0) tree.removeMany([...delta.removed.values()].sort(Buffer.compare));
  if (delta.added.size > 0) tree.insertMany([...delta.added.values()].sort(Buffer.compare));
}

/** In a bulk load: if another connection committed since our last write (its keys are not in the fingerprint
 * table, and the rows may even have moved), give up the table and build keys_fingerprint now, inside this
 * transaction; the rest of the load finds stored copies by the index. Bulk loads are meant for a store nobody
 * else writes to yet, so this is the exception. */
function checkForeignWrites(core: SqliteCore): void {
  if (core.dataVersion() === core.lastDataVersion) return;
  core.fprTable = undefined;
  const t0 = Date.now();
  core.db.exec(BULK_INDEXES.find((i) => i.name === 'keys_fingerprint')!.sql);
  core.logger?.warn('bulk load: another connection wrote to the store; stored copies are found by keys_fingerprint from now on',
    { ms: Date.now() - t0 });
}

function isConstraintUnique(e: unknown): boolean {
  return (e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
}

/** The rows of one write transaction, as upsert.ts asks for them. */
export class SqliteTxn implements UpsertTxn {
  constructor(private readonly core: SqliteCore, readonly tx: TxState) {}

  get countsOnly(): boolean {
    return this.tx.countsOnly;
  }

  isBlocked(fpr: Buffer): boolean {
    return this.tx.anyBlocked && this.core.r.isBlocked.get(fpr) !== undefined;
  }

  /** By the keys_fingerprint index, or in a bulk load (index dropped) through the fingerprint table, whose every
   * "maybe" is checked against the row. */
  find(fpr: Buffer): { id: number; digest: Buffer } | undefined {
    const ws = this.core.ws;
    const table = this.core.fprTable;
    if (!table) return ws.headByFpr.get(fpr) as { id: number; digest: Buffer } | undefined;
    let head: { id: number; digest: Buffer } | undefined;
    table.find(fpr, (id) => {
      const row = ws.headById.get(id) as { id: number; digest: Buffer; fingerprint: Buffer } | undefined;
      if (!row || !row.fingerprint.equals(fpr)) return false; // a hash collision, or a row deleted since
      head = { id: row.id, digest: row.digest };
      return true;
    });
    return head;
  }

  storedCopy(id: number): { data: Buffer; cuts: PolicyCut[] } {
    const row = this.core.ws.dataById.get(id) as { data: Buffer; cuts: string | null };
    return { data: row.data, cuts: row.cuts ? (JSON.parse(row.cuts) as PolicyCut[]) : [] };
  }

  insert(fpr: Buffer, digest: Buffer, form: StoredForm, data: Buffer, cuts: PolicyCut[] | undefined,
    profiles: ProfileForm[] | undefined): boolean {
    const { core, tx } = this;
    const ws = core.ws;
    tx.names?.touch(unpackKeyIds(form.keyIds).map((k) => k[2].toString('hex').toUpperCase()));
    let id: number;
    try {
      id = Number(ws.insertKey.run(fpr, digest, form.version, data, cuts ? JSON.stringify(cuts) : null, tx.now, tx.now,
        form.crc).lastInsertRowid);
    } catch (e) {
      if (!isConstraintUnique(e)) throw e;
      return false; // only the statement failed; the transaction goes on without this key
    }
    core.fprTable?.add(fpr, id);
    ws.putSummary.run(id, fpr, form.version, form.created, form.mrLines, form.name, form.firstUid);
    if (form.listing) this.writeListing(id, digest, form.listing, false);
    this.indexStored(id, form);
    if (tx.rows) tx.rows.changes.push(1, digest, fpr, tx.now, tx.pushed);
    else ws.logChange.run(1, digest, fpr, tx.now, tx.pushed);
    tx.tree.add(digest);
    this.putProfileRows(id, profiles);
    tx.countDelta++;
    return true;
  }

  /** The key's digest in each other profile set that holds it. */
  profileDigests(id: number): Record<string, string> | undefined {
    if (this.core.profiles.length === 0) return undefined;
    const out: Record<string, string> = {};
    for (const set of this.core.profiles) {
      const row = set.rowOfKey(id);
      if (row) out[set.name] = row.digest.toString('hex');
    }
    return out;
  }

  /** Sets key `id`'s row in one profile set from its forms (buildProfileSets). */
  setProfileForms(id: number, forms: ProfileForm[], profile: string): void {
    this.putProfileRows(id, forms, true, profile);
  }

  /** Makes key `id`'s rows in the other profile sets those of `forms` (no form for a set: the key leaves it). */
  private putProfileRows(id: number, forms: ProfileForm[] | undefined, replacing = false, only?: string): void {
    for (const set of this.core.profiles) {
      if (only !== undefined && set.name !== only) continue;
      const delta = this.tx.profileTrees.get(set.name)!;
      const old = replacing ? set.rowOfKey(id) : undefined;
      const form = forms?.find((f) => f.profile === set.name);
      const digest = form?.digest ? toBuffer(form.digest) : undefined;
      if (old && (!digest || !old.digest.equals(digest))) {
        delta.remove(old.digest);
        set.remove(id);
      }
      if (digest) {
        set.put(id, digest, form!.dropped && form!.dropped.length > 0 ? toBuffer(form!.dropped) : null);
        if (!old || !old.digest.equals(digest)) delta.add(digest);
      }
    }
  }

  replace(id: number, fpr: Buffer, oldDigest: Buffer,
    next: { digest: Buffer; version: number; data: Buffer; cuts: PolicyCut[]; profiles?: ProfileForm[]; summary: KeySummary },
    before: KeyInfo, after: KeyInfo): boolean {
    const { core, tx } = this;
    const ws = core.ws;
    // a merge may delete key-ID and address rows and logs changes: the rows of earlier keys go first
    flushRows(tx);
    tx.names?.touch([...keyIdsOf(before), ...keyIdsOf(after)].map((k) => k[2].toString('hex').toUpperCase()));
    try {
      ws.updateKey.run(next.digest, next.version, next.data, next.cuts.length > 0 ? JSON.stringify(next.cuts) : null, tx.now,
        next.summary.crc, id);
    } catch (e) {
      if (!isConstraintUnique(e)) throw e;
      return false;
    }
    ws.putSummary.run(id, fpr, next.version, next.summary.created, next.summary.mrLines, next.summary.name, next.summary.firstUid);
    this.writeListing(id, next.digest, next.summary.listing, true);
    this.reindexKey(id, before, after);
    ws.logChange.run(0, oldDigest, fpr, tx.now, tx.pushed);
    ws.logChange.run(1, next.digest, fpr, tx.now, tx.pushed);
    tx.tree.remove(oldDigest);
    tx.tree.add(next.digest);
    this.putProfileRows(id, next.profiles, true);
    return true;
  }

  /** Removes the stored key with this fingerprint. */
  remove(fpr: Buffer): boolean {
    const { core, tx } = this;
    flushRows(tx);
    const ws = core.ws;
    const head = this.find(fpr);
    if (!head) return false;
    const info = describeKey(readPackets((ws.dataById.get(head.id) as { data: Buffer }).data));
    tx.names?.touch(keyIdsOf(info).map((k) => k[2].toString('hex').toUpperCase()));
    for (const [short] of keyIdsOf(info)) this.deleteKeyIds(short, head.id);
    for (const email of emailsOf(info)) this.deleteEmail(email, head.id);
    setWords(tx, head.id, uidText(info, core.policy.wordIndexMaxChars) !== '', '');
    ws.deleteKey.run(head.id);
    ws.deleteSummary.run(head.id);
    this.writeListing(head.id, head.digest, null, true);
    ws.logChange.run(0, head.digest, fpr, tx.now, tx.pushed);
    tx.tree.remove(head.digest);
    this.putProfileRows(head.id, undefined, true);
    tx.countDelta--;
    return true;
  }

  /** Records a file's load progress with this batch's tally (same transaction: a restart resumes exactly here). */
  recordProgress(p: BatchProgress, tally: Record<string, number>): void {
    const mtime = Math.trunc(p.file.mtimeMs);
    const row = this.core.r.progress.get(p.file.path) as ProgressRow | undefined;
    const counters: Record<string, number> =
      row && row.size === p.file.size && row.mtime_ms === mtime ? (JSON.parse(row.counters) as Record<string, number>) : {};
    const bump = (name: string, n: number) => (counters[name] = (counters[name] ?? 0) + n);
    for (const [name, n] of Object.entries(tally)) bump(name, n);
    for (const [name, n] of Object.entries(p.counters ?? {})) bump(name, n);
    this.core.ws.putProgress.run(p.file.path, p.file.size, mtime, p.offset, JSON.stringify(counters), this.tx.now);
  }

  /** Makes key `id`'s listing this one (none: removed), with the key IDs it names in signer_refs; its page is made
   * when the transaction ends. In a bulk load, which makes every page and signer_refs again at its end (or the next
   * writable open does), only the listing. `had`: it may have one now. */
  private writeListing(id: number, digest: Buffer, listing: KeySummary['listing'], had: boolean): void {
    const ws = this.core.ws;
    const bulk = this.core.bulk;
    const old = had && !bulk ? (ws.listingSigners.get(id) as string | undefined) : undefined;
    if (old !== undefined) for (const s of listingSigners(old, new Set())) ws.deleteSignerRef.run(Buffer.from(s, 'hex'), id);
    if (!listing) {
      if (had) ws.deleteListing.run(id);
      return;
    }
    ws.putListing.run(id, digest, listing.facts, listing.vindex, listing.signers);
    if (bulk) return;
    for (const s of listingSigners(listing.signers, new Set())) ws.insertSignerRef.run(Buffer.from(s, 'hex'), id);
    this.tx.names?.written(id);
  }

  private indexStored(id: number, form: StoredForm): void {
    const tx = this.tx;
    if (tx.rows) {
      // No index on these tables during a bulk load: rows append in any order, so they need not wait and be sorted.
      for (const [short, fpr, long] of unpackKeyIds(form.keyIds)) tx.rows.ids.push(short, id, fpr, long);
      for (const email of form.emails) tx.rows.mails.push(email, id);
      if (form.words.length > 0) tx.rows.words.push(id, typeof form.words === 'string' ? form.words : toBuffer(form.words));
      return;
    }
    for (const [short, fpr, long] of unpackKeyIds(form.keyIds)) addKeyId(tx, short, id, fpr, long);
    for (const email of form.emails) tx.mails.set(`${email}\n${id}`, [email, id]);
    setWords(tx, id, false, form.words);
  }

  /** Brings a key's IDs, addresses and words from `before` to `after`, touching only what changed: most updates
   * only add signatures, and an FTS5 delete is costly (it flushes the pending index of the whole transaction). */
  private reindexKey(id: number, before: KeyInfo, after: KeyInfo): void {
    const tx = this.tx;
    const idTag = (x: [number, Buffer, Buffer]) => `${x[0]}:${x[1].toString('hex')}`;
    const oldIds = keyIdsOf(before);
    const newIds = keyIdsOf(after);
    const newTags = new Set(newIds.map(idTag));
    const oldTags = new Set(oldIds.map(idTag));
    if (oldIds.some((x) => !newTags.has(idTag(x)))) {
      // A key ID went away (rare): rewrite them all, since rows are deleted per short ID.
      for (const [short] of oldIds) this.deleteKeyIds(short, id);
      for (const [short, fpr, long] of newIds) addKeyId(tx, short, id, fpr, long);
    } else {
      for (const x of newIds) if (!oldTags.has(idTag(x))) addKeyId(tx, x[0], id, x[1], x[2]);
    }
    const oldMails = new Set(emailsOf(before));
    const newMails = new Set(emailsOf(after));
    for (const m of oldMails) if (!newMails.has(m)) this.deleteEmail(m, id);
    for (const m of newMails) if (!oldMails.has(m)) tx.mails.set(`${m}\n${id}`, [m, id]);
    const max = this.core.policy.wordIndexMaxChars;
    const oldText = uidText(before, max);
    const newText = uidText(after, max);
    if (oldText !== newText || tx.words.has(id)) setWords(tx, id, oldText !== '', newText);
  }

  private deleteKeyIds(short: number, id: number): void {
    const rows = this.tx.ids.get(id);
    if (rows) this.tx.ids.set(id, rows.filter((r) => r[0] !== short));
    this.core.ws.deleteKeyIds.run(short, id);
  }

  private deleteEmail(email: string, id: number): void {
    this.tx.mails.delete(`${email}\n${id}`);
    this.core.ws.deleteEmail.run(email, id);
  }
}

