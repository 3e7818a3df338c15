// The lookup front's small replies (those that fit the front's single-copy write, COPY_BELOW_BYTES: nearly every key
// of the public keydump, every mr index and refusal) kept outside the JavaScript heap: one byte buffer written as a
// circular log, and an open-addressing table of typed arrays that finds a query string's record. No object is kept
// per entry.
//
// Why: kept as objects (a Map entry, the reply, its head and body buffers, in three cache layers), a cache of some
// 100 000 replies was 800 000 objects in each worker's heap, each admission promoted more of them to the old
// generation, and each eviction left them there as garbage. V8's mark-compact ran every 2 s per worker with
// incremental steps of up to 25 ms, and random lookups of a 105k-key store at c=64 had a p99 of 45-70 ms with the
// caches on against 12 ms with them off (issue 16). Records in a byte buffer cost the collector nothing.
//
// The policy is AnswerCache's: kept on the second miss of its key (the doorkeeper), and in a full log only if
// asked for more often lately than the record it would evict (the frequency sketch). Eviction is CLOCK on the log:
// the oldest record goes, unless it was hit since it was written; then it is moved to the head (its mark cleared)
// and the next oldest is looked at. Moving is a copy within the buffer, bounded per admission
// (MAX_MOVES_PER_ADMISSION).
//
// A hit returns views into the log, valid only until the next admission: the front copies a small reply into the
// wire buffer it writes at once (hkp-front.ts, COPY_BELOW_BYTES), so nothing holds a view across a turn.
import { admissionFor, hash, type Doorkeeper, type FrequencySketch } from './answer-cache.js';

/** A record's fixed part: six 32-bit fields (its length, hash, key length, status and route, head and body lengths). */
const RECORD_HEADER_BYTES = 24;
/** Keys longer than this are not kept (a query string longer than any client sends). */
const MAX_KEY_BYTES = 2048;
/** The largest log: offsets are kept in 32-bit signed slots. A larger lookup_cache_bytes leaves the rest unused. */
const MAX_LOG_BYTES = 1 << 30;
/** The fewest bytes a record is counted for when sizing the index: a refusal's head and body. */
const MIN_RECORD_BYTES = 256;
/** Marked records moved to the head per admission at most; past that the oldest is weighed whatever its mark. Each
 * move is a copy and an index update: with 32, a cold cache of random keys (1M store, mr index, c=64) answered
 * 45.7k req/s in its first round against 52.6k with 2 (single runs). A hot record also survives by its count. */
const MAX_MOVES_PER_ADMISSION = 2;

export interface SlabHit {
  status: number;
  /** The route class given with the reply (for the metrics). */
  route: string;
  head: Buffer;
  body: Buffer;
}

export class ReplySlab {
  private log: Buffer | undefined;
  private words: Uint32Array | undefined;
  /** Index: a record's offset + 1 (0: empty slot), and its key's hash. */
  private readonly slots: Int32Array;
  private readonly hashes: Uint32Array;
  private readonly mask: number;
  private readonly maxEntries: number;
  /** The log: records from `tail` to `head`, or from `tail` to `wrapAt` and then from 0 to `head` once wrapped. */
  private tail = 0;
  private head = 0;
  private wrapAt = 0;
  private wrapped = false;
  private count = 0;
  private readonly seen: Doorkeeper;
  private readonly counts: FrequencySketch;
  private readonly routes: string[] = [];
  private version: number | undefined;
  private lastKey: string | undefined;
  private lastHash = 0;

  constructor(private readonly maxBytes: number) {
    this.maxBytes = Math.max(0, Math.floor(Math.min(maxBytes, MAX_LOG_BYTES) / 4) * 4);
    let slots = 1024;
    while (slots < (2 * this.maxBytes) / MIN_RECORD_BYTES) slots *= 2;
    this.slots = new Int32Array(this.maxBytes > 0 ? slots : 1);
    this.hashes = new Uint32Array(this.slots.length);
    this.mask = this.slots.length - 1;
    this.maxEntries = Math.floor(this.slots.length / 2);
    ({ seen: this.seen, counts: this.counts } = admissionFor(this.maxBytes));
  }

  get size(): number {
    return this.count;
  }

  /** Forgets every record when the database version moved (replies are valid for one version). */
  sync(version: number): void {
    if (version === this.version) return;
    this.version = version;
    this.clear();
  }

  /** The reply kept for `key`, as views into the log (valid until the next offer), or undefined. */
  get(key: string): SlabHit | undefined {
    if (this.maxBytes === 0) return undefined;
    const h = hash(key);
    this.lastKey = key; // a miss is offered next: its hash is not computed twice
    this.lastHash = h;
    this.counts.add(h);
    if (this.count === 0) return undefined;
    const slot = this.find(key, h);
    if (slot < 0) return undefined;
    const at = this.slots[slot]! - 1;
    const w = this.words!;
    const i = at >>> 2;
    const keyBytes = w[i + 2]! & 0xffff;
    const status = w[i + 3]! & 0xffff;
    const route = this.routes[w[i + 3]! >>> 16]!;
    const headBytes = w[i + 4]!;
    const bodyBytes = w[i + 5]!;
    w[i + 2] = keyBytes | 0x10000; // hit since written: the record's second chance
    const start = at + RECORD_HEADER_BYTES + keyBytes;
    return { status, route, head: this.log!.subarray(start, start + headBytes), body: this.log!.subarray(start + headBytes, start + headBytes + bodyBytes) };
  }

  /** Offers a reply for `key` after a miss; it is copied into the log if the policy keeps it. */
  offer(key: string, status: number, route: string, head: Buffer, body: readonly Buffer[]): void {
    if (this.maxBytes === 0 || key.length > MAX_KEY_BYTES) return;
    let bodyBytes = 0;
    for (const b of body) bodyBytes += b.length;
    const bytes = RECORD_HEADER_BYTES + key.length + head.length + bodyBytes;
    const size = (bytes + 3) & ~3;
    if (size > this.maxBytes / 4) return;
    const h = key === this.lastKey ? this.lastHash : hash(key);
    if (!this.seen.checkAndAdd(h)) return; // first miss: remembered, not kept
    if (this.find(key, h) >= 0) return;
    const at = this.makeRoom(size, h);
    if (at < 0) return;
    let r = this.routes.indexOf(route);
    if (r < 0) r = this.routes.push(route) - 1;
    const w = this.words!;
    const i = at >>> 2;
    w[i] = size;
    w[i + 1] = h;
    w[i + 2] = key.length;
    w[i + 3] = status | (r << 16);
    w[i + 4] = head.length;
    w[i + 5] = bodyBytes;
    const log = this.log!;
    let o = at + RECORD_HEADER_BYTES;
    o += log.write(key, o, 'latin1');
    o += head.copy(log, o);
    for (const b of body) o += b.copy(log, o);
    this.head = at + size;
    this.count++;
    this.insertSlot(h, at);
  }

  clear(): void {
    if (this.count > 0) {
      if (this.count * 8 < this.slots.length) this.forEachRecord((at) => this.deleteSlot(this.slotOf(at)));
      else this.slots.fill(0);
    }
    this.count = 0;
    this.tail = this.head = this.wrapAt = 0;
    this.wrapped = false;
  }

  /** The slot of `key`, or -1. */
  private find(key: string, h: number): number {
    const log = this.log!;
    for (let s = h & this.mask; ; s = (s + 1) & this.mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (this.hashes[s] !== h) continue;
      const at = v - 1;
      if ((this.words![(at >>> 2) + 2]! & 0xffff) !== key.length) continue;
      let o = at + RECORD_HEADER_BYTES;
      let c = 0;
      while (c < key.length && log[o] === key.charCodeAt(c)) (o++, c++);
      if (c === key.length) return s;
    }
  }

  /** The slot that points at the record at `at`. */
  private slotOf(at: number): number {
    const h = this.words![(at >>> 2) + 1]!;
    for (let s = h & this.mask, n = 0; n < this.slots.length; s = (s + 1) & this.mask, n++) if (this.slots[s] === at + 1) return s;
    throw new Error(`reply log: the record at ${at} is not in the index`); // a bug: fail loudly, not loop
  }

  private insertSlot(h: number, at: number): void {
    let s = h & this.mask;
    while (this.slots[s] !== 0) s = (s + 1) & this.mask;
    this.slots[s] = at + 1;
    this.hashes[s] = h;
  }

  /** Empties a slot, moving later slots of the same probe run back (linear probing keeps no tombstones). */
  private deleteSlot(s: number): void {
    let hole = s;
    for (let j = (s + 1) & this.mask; this.slots[j] !== 0; j = (j + 1) & this.mask) {
      const home = this.hashes[j]! & this.mask;
      // the entry at j may move to the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      this.slots[hole] = this.slots[j]!;
      this.hashes[hole] = this.hashes[j]!;
      hole = j;
    }
    this.slots[hole] = 0;
  }

  private forEachRecord(f: (at: number) => void): void {
    if (this.count === 0) return;
    const w = this.words!;
    let at = this.tail;
    const end = this.wrapped ? this.wrapAt : this.head;
    for (; at < end; at += w[at >>> 2]!) f(at);
    if (this.wrapped) for (at = 0; at < this.head; at += w[at >>> 2]!) f(at);
  }

  /** Where a record of `size` bytes goes, after evicting (or moving on) the oldest records; -1 when the record at
   * the tail outweighs the newcomer (key hash `h`), which is then not kept. */
  private makeRoom(size: number, h: number): number {
    if (!this.log) {
      this.log = Buffer.allocUnsafeSlow(this.maxBytes);
      this.words = new Uint32Array(this.log.buffer, this.log.byteOffset, this.maxBytes >>> 2);
    }
    const w = this.words!;
    let moves = 0;
    let weighed = false;
    for (;;) {
      if (this.count === 0) {
        this.tail = this.head = this.wrapAt = 0;
        this.wrapped = false;
        return 0;
      }
      const full = this.count >= this.maxEntries;
      if (!full) {
        if (!this.wrapped && this.maxBytes - this.head >= size) return this.head;
        if (this.wrapped && this.tail - this.head >= size) return this.head;
        if (!this.wrapped) {
          // the rest of the buffer is too small: the log goes on at its start, before the oldest record
          this.wrapAt = this.head;
          this.head = 0;
          this.wrapped = true;
          continue;
        }
      } else if (!this.wrapped) {
        // as many records as the index takes (tiny ones): the oldest goes, whatever its mark
        this.evictTail(this.tail, w[this.tail >>> 2]!);
        continue;
      }
      // the oldest record: moved on if it was hit since written (a bounded number per admission), else weighed
      const at = this.tail;
      const i = at >>> 2;
      const recSize = w[i]!;
      const marked = (w[i + 2]! & 0x10000) !== 0;
      if (marked && moves < MAX_MOVES_PER_ADMISSION) {
        moves++;
        w[i + 2] = w[i + 2]! & 0xffff;
        this.moveTailToHead(at, recSize);
        continue;
      }
      if (!weighed) {
        weighed = true;
        const mine = this.counts.estimate(h);
        const theirs = this.counts.estimate(w[i + 1]!);
        if (mine < theirs) {
          // outweighed: that record gets another round, so the next newcomer is weighed against the next one
          this.moveTailToHead(at, recSize);
          return -1;
        }
        if (mine === theirs) return -1; // a tie: the oldest of equals stays, as in AnswerCache
      }
      this.evictTail(at, recSize);
    }
  }

  /** Moves the oldest record to the head of a wrapped log: the free space lies right before it, so this is one copy
   * within the buffer and the free space moves past the record. */
  private moveTailToHead(at: number, recSize: number): void {
    const s = this.slotOf(at);
    this.log!.copyWithin(this.head, at, at + recSize);
    this.slots[s] = this.head + 1;
    this.head += recSize;
    this.advanceTail(at + recSize);
  }

  private evictTail(at: number, recSize: number): void {
    this.deleteSlot(this.slotOf(at));
    this.count--;
    this.advanceTail(at + recSize);
  }

  private advanceTail(next: number): void {
    this.tail = next;
    if (this.wrapped && this.tail >= this.wrapAt) {
      this.tail = 0;
      this.wrapped = false;
    }
    if (this.count === 0) {
      this.tail = this.head = this.wrapAt = 0;
      this.wrapped = false;
    }
  }
}
