// Row ids of the stored keys by primary fingerprint, in a read-only connection's memory (OpenOptions
// fingerprintTableMiB, setting db_reader_fingerprint_table_mib). op=get by fingerprint, most of what a public
// keyserver is asked, then reads the keys row by its id: one B-tree instead of two (the keys_fingerprint index, then
// the table). On random keys of a 1M-key store the index's part was 6-7 of the 14-18 µs the read took (issue 17).
// A vindex reads the key's listing by its id the same way (rowOf; reads.ts listingByFingerprint).
//
// The table is only a hint. Every hit is confirmed by the row's own fingerprint (the read is `WHERE id = ? AND
// fingerprint = ?`), and a key the table does not know (stored after it was filled, or past its size) is found
// through the index as before and then learned. So a stale table costs time, never a wrong answer: a key removed or
// stored again under another row id fails the check and is looked up by the index.
import type Database from 'better-sqlite3';
import type { Logger } from '../../log.js';
import { FingerprintTable } from './fingerprint-table.js';

/** Rows read per turn of the event loop while the table is filled: a worker keeps answering meanwhile. */
const FILL_ROWS_PER_TURN = 20_000;

export class ReaderFingerprintRows {
  private table: FingerprintTable | undefined;
  private readonly byIdAndFpr: Database.Statement;
  private readonly fingerprintsAfter: Database.Statement | undefined;
  private filling?: NodeJS.Immediate;
  private filled = false;
  /** The row the last confirm() read (find() takes a predicate; keeping the row here spares a closure per lookup). */
  private row: [Buffer, number | null] | undefined;
  private fpr: Uint8Array = new Uint8Array(0);
  private readonly confirm = (id: number): boolean =>
    (this.row = this.byIdAndFpr.get(id, this.fpr) as [Buffer, number | null] | undefined) !== undefined;

  /** @param keyCount the store's key count, to size the table once
   *  @param maxBytes the most the table may hold; a store whose keys do not fit gets no table */
  constructor(db: Database.Database, keyCount: number, private readonly maxBytes: number, private readonly logger?: Logger) {
    this.byIdAndFpr = db.prepare('SELECT data, crc FROM keys WHERE id = ? AND fingerprint = ?').raw();
    try {
      // the index alone (fingerprint, then the row id it carries), in fingerprint order, a slice at a time
      this.fingerprintsAfter = db.prepare(
        'SELECT fingerprint, id FROM keys INDEXED BY keys_fingerprint WHERE fingerprint > ? ORDER BY fingerprint LIMIT ?').raw();
    } catch (e) {
      // no keys_fingerprint index: a bulk load is in progress (it drops the index); lookups use the usual path
      logger?.warn('no fingerprint table in memory', { error: (e as Error).message });
      return;
    }
    const bytes = FingerprintTable.bytesFor(keyCount);
    if (bytes > maxBytes) {
      logger?.info('no fingerprint table in memory: the store has more keys than db_reader_fingerprint_table_mib holds',
        { keys: keyCount, needMiB: Math.ceil(bytes / 1048576), maxMiB: Math.floor(maxBytes / 1048576) });
      return;
    }
    this.table = new FingerprintTable(keyCount);
  }

  /** Fills the table from the fingerprint index, FILL_ROWS_PER_TURN rows a turn; lookups use what is there so far. */
  start(): void {
    if (!this.table || this.filling || this.filled) return;
    let after: Buffer = Buffer.alloc(0);
    const step = () => {
      this.filling = undefined;
      let rows: [Buffer, number][];
      try {
        rows = this.fingerprintsAfter!.all(after, FILL_ROWS_PER_TURN) as [Buffer, number][];
      } catch (e) {
        // the store went away (closed, or a bulk load began and dropped the index): lookups use the index path
        this.logger?.warn('fingerprint table not filled', { error: (e as Error).message });
        return;
      }
      let full = false;
      for (const [fpr, id] of rows) {
        if (!this.table!.add(fpr, id, this.maxBytes)) {
          full = true; // keys stored since the open: the rest are read through the index
          break;
        }
      }
      if (full || rows.length < FILL_ROWS_PER_TURN) {
        this.filled = true;
        this.logger?.debug('fingerprint table filled', { keys: this.table!.size, MiB: +(this.table!.bytes / 1048576).toFixed(1) });
        return;
      }
      after = rows[rows.length - 1]![0];
      this.filling = setImmediate(step);
    };
    this.filling = setImmediate(step);
  }

  /** The stored packets and CRC of the key with this fingerprint if the table knows its row, else undefined. */
  packets(fpr: Uint8Array): [Buffer, number | null] | undefined {
    if (!this.table) return undefined;
    this.fpr = fpr;
    this.row = undefined;
    const found = this.table.find(fpr, this.confirm) !== 0;
    const row = this.row;
    this.row = undefined;
    return found ? row : undefined;
  }

  /** The row id the table holds for this fingerprint that `isIt` accepts (it reads that row and checks that it is
   * this key's), or 0: for reads of another table by the key's id (reads.ts listingByFingerprint). */
  rowOf(fpr: Uint8Array, isIt: (id: number) => boolean): number {
    return this.table ? this.table.find(fpr, isIt) : 0;
  }

  /** Remembers a row the index found (a key the table did not know). */
  learn(fpr: Uint8Array, id: number): void {
    this.table?.add(fpr, id, this.maxBytes);
  }

  /** Whether there is a table (false: the store had more keys than maxBytes holds). */
  get active(): boolean {
    return this.table !== undefined;
  }

  /** Keys the table knows (tests, logs). */
  get size(): number {
    return this.table?.size ?? 0;
  }

  get isFilled(): boolean {
    return this.filled;
  }

  stop(): void {
    if (this.filling) clearImmediate(this.filling);
    this.filling = undefined;
  }
}
