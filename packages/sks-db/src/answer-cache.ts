// Ready-made answers per key: the armored key and its machine-readable index lines, computed once per worker and
// reused. Entries are keyed by the key's SKS digest, which changes with every change of the key, so a cached answer
// is never stale: a new version of a key simply has a new key in the cache, and the old entry ages out.
// Bounded in bytes (setting lookup_cache_bytes). Eviction is CLOCK (second chance): a hit only marks its entry, and
// the eviction scan moves marked entries to the young end instead of dropping them. An exact LRU would move the
// entry on every hit (a Map delete and set), which on the lookup path cost more than the rest of a cached answer.
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
    // Scan from the oldest: used entries get a second chance at the young end, unused ones go. Every entry is
    // looked at at most twice, so the scan ends.
    let budget = this.map.size * 2;
    for (const [k, e] of this.map) {
      if (this.bytes <= this.maxBytes || budget-- <= 0) break;
      this.map.delete(k);
      if (e.used && k !== key) {
        e.used = false;
        this.map.set(k, e);
      } else if (k !== key) {
        this.bytes -= sizeOf(e.value) + k.length;
      } else {
        this.map.set(k, e); // the entry just added stays
      }
    }
    return value;
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
