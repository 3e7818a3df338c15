// Ready-made answers per key: the armored key and its machine-readable index lines, computed once per worker and
// reused. Entries are keyed by the key's SKS digest, which changes with every change of the key, so a cached answer
// is never stale: a new version of a key simply has a new key in the cache, and the old entry ages out.
// Bounded in bytes (setting lookup_cache_bytes). Eviction is CLOCK (second chance): a hit only marks its entry; a
// hand goes round the entries in insertion order, across calls, clearing marks and dropping unmarked entries until
// the budget holds. An exact LRU would move the entry on every hit (a Map delete and set), which on the lookup path
// cost more than the rest of a cached answer. The hand is kept between evictions because a scan that starts at the
// oldest entry every time walks the slots V8's ordered hash table keeps for deleted entries until it rehashes:
// ~12 µs per insertion into a full cache of 22k entries (bench micro-test), 4% of sks-db's CPU on random keys.
// Admission, as in TinyLFU: a value is kept on the second miss of its key, not the first (the "doorkeeper", a Bloom
// filter), and once the cache is full only if its key has been asked for more often lately than the entry it would
// evict (counts kept approximately in a small sketch, halved now and then so old popularity fades). A newcomer
// outweighed by that entry moves the hand on, so the next one is weighed against the next entry: otherwise one
// entry asked for very often long ago, resting under the hand, shut out every newcomer until its count faded
// (millions of asks; in a simulation of a moving hot set the hit ratio fell to 0-2%). A tie leaves the hand where
// it is, so the oldest of equals goes first, as CLOCK has it. On a public
// server most lookups ask for a key nobody asked for lately, and keeping each of those answers (evicting an older
// one) only costs: with random keys every count is about the same, so a full cache stops taking new entries, while
// a hot key's count rises above the rest and gets it in. (Random keys of a 1M-key store, in one process without
// HTTP: the whole front answer takes 8-11% longer with the caches on than off, 5-8% even when nothing is ever
// kept, against 2% between two contexts with the caches off; this class's own work is ~0.5 µs per miss and layer,
// and the rest was not found to sit in any one function; see issue 17.)

interface Entry<V> {
  value: V;
  used: boolean;
}

export class AnswerCache<V extends { length: number } | string> {
  private readonly map = new Map<string, Entry<V>>();
  private bytes = 0;
  /** The CLOCK hand: where the last eviction stopped. */
  private hand: IterableIterator<[string, Entry<V>]> | undefined;
  /** The entry the hand points at, not yet passed (admission compares a newcomer with it). */
  private candidate: [string, Entry<V>] | undefined;
  /** Keys missed once since the doorkeeper was last emptied (it is emptied when full). */
  private readonly seen: Doorkeeper;
  private readonly counts: FrequencySketch;

  /** `own` makes a value fit to be kept (ownBuffer by default); it runs when a value is admitted. */
  constructor(private readonly maxBytes: number, private readonly own: (value: V) => V = ownBuffer as (value: V) => V) {
    ({ seen: this.seen, counts: this.counts } = admissionFor(maxBytes));
  }

  /** The cached value for `key`, computing and storing it with `make` on a miss. */
  get(key: string, make: () => V): V {
    const hit = this.lookup(key);
    return hit !== undefined ? hit : this.offer(key, make());
  }

  /** The cached value for `key`, or undefined (a miss, counted: offer() the value computed for it next). */
  lookup(key: string): V | undefined {
    if (this.maxBytes <= 0) return undefined;
    const hit = this.map.get(key);
    this.counts.add(hash(key));
    if (hit === undefined) return undefined;
    hit.used = true;
    return hit.value;
  }

  /** Offers the value computed after a miss of `key`; returns what to use: the kept copy, or the value itself. */
  offer(key: string, value: V): V {
    if (this.maxBytes <= 0) return value;
    const h = hash(key);
    const size = sizeOf(value) + key.length;
    if (size > this.maxBytes / 4) return value;
    if (!this.seen.checkAndAdd(h)) return value; // first miss: remembered, not kept
    if (this.bytes + size > this.maxBytes) {
      const victim = this.victim();
      // not asked for more often than what it would evict: not kept (it stays remembered for its next miss)
      if (victim !== undefined) {
        const mine = this.counts.estimate(h);
        const theirs = this.counts.estimate(hash(victim));
        if (mine < theirs) this.candidate = undefined; // outweighed: the next newcomer is weighed against the next entry
        if (mine <= theirs) return value;
      }
    }
    const kept = this.own(value);
    this.map.set(key, { value: kept, used: false });
    this.bytes += size;
    this.evict(key);
    return kept;
  }

  /** The hand's next entry, moved past marked entries (clearing their marks) and past `skip`: the one an eviction
   * drops next. Every entry is passed at most twice (once to clear its mark), so this ends. */
  private victim(skip?: string): string | undefined {
    for (let budget = this.map.size * 2 + 2; budget > 0; budget--) {
      const c = this.candidate ?? this.advance();
      if (c === undefined) return undefined;
      const [k, e] = c;
      if (k !== skip && this.map.has(k) && !e.used) return k;
      e.used = false; // a marked entry's second chance (the newcomer and deleted entries are simply passed)
      this.candidate = undefined;
    }
    return undefined;
  }

  /** Moves the hand to the next entry (a new turn from the oldest one at the end) and makes it the candidate. */
  private advance(): [string, Entry<V>] | undefined {
    let step = this.hand?.next();
    if (!step || step.done) {
      this.hand = this.map.entries();
      step = this.hand.next();
      if (step.done) return undefined;
    }
    this.candidate = step.value;
    return step.value;
  }

  /** Drops the hand's victims until the budget holds (`keep`, the entry just added, stays). */
  private evict(keep: string): void {
    while (this.bytes > this.maxBytes) {
      const k = this.victim(keep);
      if (k === undefined) return;
      const e = this.candidate![1];
      this.candidate = undefined;
      this.map.delete(k); // deleting what an iterator has just passed is allowed: it goes on from the next one
      this.bytes -= sizeOf(e.value) + k.length;
    }
  }

  /** Whether a value for `key` is kept. */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /** Forgets one entry. */
  delete(key: string): void {
    const had = this.map.get(key);
    if (had === undefined) return;
    this.map.delete(key);
    this.bytes -= sizeOf(had.value) + key.length;
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
    this.hand = undefined;
    this.candidate = undefined;
    this.seen.clear();
    this.bytes = 0;
  }
}

/** Whole answers to lookups, valid for one version of the database: `sync(version)` forgets everything as soon as
 * any process has committed a change (SQLite's PRAGMA data_version moves), so an answer is never stale. */
export class LookupCache<V extends { length: number }> extends AnswerCache<V> {
  private version: number | undefined;

  sync(version: number): void {
    if (version !== this.version) {
      this.clear();
      this.version = version;
    }
  }
}

/** How often keys were asked for lately, approximately (TinyLFU's count-min sketch): a counter at two places per
 * key, the smaller of the two read; every counter is halved after `period` additions, so a count says "lately".
 * Collisions only ever make a count too high; with 8 slots per addition of a period, a key with no asks of its own
 * reads as asked for at least once in about 5% of cases. */
export class FrequencySketch {
  private readonly table: Uint8Array;
  private readonly mask: number;
  private readonly period: number;
  private additions = 0;

  /** `period`: additions between halvings. */
  constructor(period: number) {
    this.period = period;
    let slots = 1024;
    while (slots < period * 8) slots *= 2;
    this.table = new Uint8Array(slots);
    this.mask = slots - 1;
  }

  /** Counts one ask of the key with hash `h`. */
  add(h: number): void {
    const a = h & this.mask;
    const b = this.second(h);
    if (this.table[a]! < 255) this.table[a]!++;
    if (this.table[b]! < 255) this.table[b]!++;
    if (++this.additions >= this.period) {
      this.additions = 0;
      for (let i = 0; i < this.table.length; i++) this.table[i]! >>>= 1;
    }
  }

  estimate(h: number): number {
    return Math.min(this.table[h & this.mask]!, this.table[this.second(h)]!);
  }

  /** A key's second place, from other bits of its hash than the first. */
  private second(h: number): number {
    return (Math.imul(h, 0x9e3779b1) >>> 7) & this.mask;
  }
}

/** The doorkeeper: which keys were missed once since it was last emptied, as a Bloom filter (three bits of 16 per
 * key it is sized for; about 0.5% of new keys read as seen when it is full). It holds no strings: a Set of the
 * missed keys kept every looked-up key alive until the next emptying, and on random keys that was one string per
 * request surviving into the old generation. Emptied once it took `capacity` keys. */
export class Doorkeeper {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  private added = 0;

  constructor(private readonly capacity: number) {
    let bits = 1024;
    while (bits < capacity * 16) bits *= 2;
    this.bits = new Uint32Array(bits / 32);
    this.mask = bits - 1;
  }

  /** Whether the key with hash `h` was seen since the last emptying; remembers it if not. */
  checkAndAdd(h: number): boolean {
    // three places from one 32-bit hash (double hashing: h1 + i * h2, h2 odd)
    const h2 = (Math.imul(h, 0x9e3779b1) >>> 15) | 1;
    let seen = true;
    for (let i = 0; i < 3; i++) {
      const bit = (h + i * h2) & this.mask;
      const word = bit >>> 5;
      const m = 1 << (bit & 31);
      if ((this.bits[word]! & m) === 0) {
        seen = false;
        this.bits[word]! |= m;
      }
    }
    if (seen) return true;
    if (++this.added >= this.capacity) this.clear();
    return false;
  }

  clear(): void {
    this.bits.fill(0);
    this.added = 0;
  }
}

/** The doorkeeper and frequency sketch of a cache of `maxBytes` (AnswerCache, ReplySlab): about one remembered key
 * per KiB of budget, several times the entries the budget holds; counts halved after 4 times that many asks
 * (262 144 for a 64 MiB budget, ~10 times its entries). */
export function admissionFor(maxBytes: number): { seen: Doorkeeper; counts: FrequencySketch } {
  const seenMax = Math.max(1024, Math.floor(maxBytes / 1024));
  return { seen: new Doorkeeper(maxBytes > 0 ? seenMax : 0), counts: new FrequencySketch(maxBytes > 0 ? seenMax * 4 : 0) };
}

/** FNV-1a over the string's UTF-16 code units. */
export function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A buffer that holds only its own bytes: node carves buffers under 4 KiB (an armored key of the public keydump,
 * ~2.9 KB; a reply's head) out of shared 8 KiB slabs, and keeping one keeps its whole slab alive. Cached such
 * buffers made sks-db workers hold several times their cache budgets (RSS 600 MiB per worker against 175 MiB
 * without caches on a 100k-key store; 420 MiB with this copy). Anything else is returned as it is. */
export function ownBuffer<T>(value: T): T {
  if (!Buffer.isBuffer(value) || value.byteLength === value.buffer.byteLength) return value;
  const copy = Buffer.allocUnsafeSlow(value.length);
  value.copy(copy);
  return copy as T;
}

function sizeOf(v: { length: number } | string): number {
  return typeof v === 'string' ? v.length * 2 : v.length;
}
