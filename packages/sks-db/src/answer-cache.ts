// Ready-made answers per key: the armored key and its machine-readable index lines, computed once per worker and
// reused. Entries are keyed by the key's SKS digest, which changes with every change of the key, so a cached answer
// is never stale: a new version of a key simply has a new key in the cache, and the old entry ages out.
// Bounded in bytes (setting lookup_cache_bytes). Eviction is CLOCK (second chance): a hit only marks its entry; a
// hand goes round the entries in insertion order, across calls, clearing marks and dropping unmarked entries until
// the budget holds. An exact LRU would move the entry on every hit (a Map delete and set), which on the lookup path
// cost more than the rest of a cached answer. The hand is kept between evictions because a scan that starts at the
// oldest entry every time walks the slots V8's ordered hash table keeps for deleted entries until it rehashes:
// ~12 µs per insertion into a full cache of 22k entries (bench micro-test), 4% of sks-db's CPU on random keys.
// Admission: a value is kept on the second miss of its key, not the first (a "doorkeeper", as in TinyLFU). On a
// public server most lookups ask for a key nobody asked for lately; keeping each of those answers (and evicting an
// older one) cost more than it saved: random keys of a 1M-key store, c=64, were answered at 8.6-10.9k req/s with
// the caches on against 14.5-15.7k with them off (bench lookup-random), the kept buffers making V8's full
// collections more frequent and longer. A key asked for twice is kept from its second answer on.

interface Entry<V> {
  value: V;
  used: boolean;
}

export class AnswerCache<V extends { length: number } | string> {
  private readonly map = new Map<string, Entry<V>>();
  private bytes = 0;
  /** The CLOCK hand: where the last eviction stopped. */
  private hand: IterableIterator<[string, Entry<V>]> | undefined;
  /** Keys missed once since the doorkeeper was last emptied (it is emptied when full). */
  private readonly seen = new Set<string>();
  private readonly seenMax: number;

  constructor(private readonly maxBytes: number) {
    // about one remembered key per KiB of budget: several times the entries the budget holds
    this.seenMax = Math.max(1024, Math.floor(maxBytes / 1024));
  }

  /** The cached value for `key`, computing and storing it with `make` on a miss. */
  get(key: string, make: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      hit.used = true;
      return hit.value;
    }
    const value = make();
    const size = sizeOf(value) + key.length;
    if (this.maxBytes <= 0 || size > this.maxBytes / 4) return value;
    if (!this.seen.delete(key)) {
      if (this.seen.size >= this.seenMax) this.seen.clear();
      this.seen.add(key);
      return value; // first miss: remembered, not kept
    }
    this.map.set(key, { value, used: false });
    this.bytes += size;
    this.evict(key);
    return value;
  }

  /** Moves the hand on until the budget holds: marked entries lose their mark, unmarked ones go (`keep` stays).
   * Every entry is passed at most twice (once to clear its mark), so this ends. */
  private evict(keep: string): void {
    for (let budget = this.map.size * 2 + 2; this.bytes > this.maxBytes && budget > 0; budget--) {
      let step = this.hand?.next();
      if (!step || step.done) {
        this.hand = this.map.entries(); // a new turn, from the oldest entry
        step = this.hand.next();
        if (step.done) return;
      }
      const [k, e] = step.value;
      if (k === keep) continue;
      if (e.used) {
        e.used = false;
        continue;
      }
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

function sizeOf(v: { length: number } | string): number {
  return typeof v === 'string' ? v.length * 2 : v.length;
}
