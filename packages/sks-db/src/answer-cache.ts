// Ready-made answers per key: the armored key and its machine-readable index lines, computed once per worker and
// reused. Entries are keyed by the key's SKS digest, which changes with every change of the key, so a cached answer
// is never stale: a new version of a key simply has a new key in the cache, and the old entry ages out.
// Bounded in bytes (setting lookup_cache_bytes); least recently used entries go first.

export class AnswerCache<V extends { length: number } | string> {
  private readonly map = new Map<string, V>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** The cached value for `key`, computing and storing it with `make` on a miss. */
  get(key: string, make: () => V): V {
    const hit = this.map.get(key);
    if (hit !== undefined) {
      // Refresh its place in the LRU order (Map keeps insertion order).
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const value = make();
    const size = sizeOf(value) + key.length;
    if (this.maxBytes <= 0 || size > this.maxBytes / 4) return value;
    this.map.set(key, value);
    this.bytes += size;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= sizeOf(v) + k.length;
    }
    return value;
  }

  /** Forgets one entry. */
  delete(key: string): void {
    const had = this.map.get(key);
    if (had === undefined) return;
    this.map.delete(key);
    this.bytes -= sizeOf(had) + key.length;
  }

  get size(): number {
    return this.map.size;
  }

  clear(): void {
    this.map.clear();
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
