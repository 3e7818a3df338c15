// Row ids of stored keys by primary fingerprint, in memory: how a bulk load finds the stored copy of a key while the
// keys_fingerprint index is dropped (schema.ts BULK_INDEXES). Inserting millions of random 20-byte fingerprints into
// a B-tree index larger than the page cache cost a bulk load about a fifth of its time; a hash table in a typed array
// costs 8 bytes per slot (at most 3/4 full: about 64 MiB for the 6 million keys of the public keydump).
//
// A slot holds a 32-bit hash of the fingerprint and the row id. The hash is only a "maybe": the caller reads the
// row and compares the whole fingerprint, so a collision costs one extra read and never merges two keys. The hash
// covers every byte of the fingerprint with a per-table random seed, so keys made to share a short key ID (the
// fingerprint's last 4 bytes, as the evil32 keys in the public keydump do) do not pile up in one probe chain.
import { randomBytes } from 'node:crypto';

const EMPTY = 0; // row ids start at 1
const MAX_LOAD = 0.75;

export class FingerprintTable {
  /** Pairs [hash, id]; id EMPTY marks a free slot. Linear probing over pairs. */
  private slots: Uint32Array;
  private mask: number;
  private used = 0;
  private readonly seed = randomBytes(4).readUInt32LE(0);

  constructor(expected = 1 << 16) {
    const cap = FingerprintTable.bytesFor(expected) / 8;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  get size(): number {
    return this.used;
  }

  /** Bytes held by the table. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  private hash(fpr: Uint8Array): number {
    // murmur3-style mixing of each 32-bit word, then its finalizer
    let h = this.seed;
    let i = 0;
    for (; i + 4 <= fpr.length; i += 4) {
      let k = (fpr[i]! | (fpr[i + 1]! << 8) | (fpr[i + 2]! << 16) | (fpr[i + 3]! << 24)) >>> 0;
      k = Math.imul(k, 0xcc9e2d51);
      k = (k << 15) | (k >>> 17);
      h ^= Math.imul(k, 0x1b873593);
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    for (; i < fpr.length; i++) h = Math.imul(h ^ fpr[i]!, 0x01000193);
    h ^= fpr.length;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** The bytes the table would hold for `expected` entries. */
  static bytesFor(expected: number): number {
    let cap = 1 << 10;
    while (cap * MAX_LOAD < expected) cap *= 2;
    return cap * 8;
  }

  /** Remembers that row `id` holds the key with this fingerprint; false (and nothing remembered) when that would
   * grow the table past `maxBytes`. */
  add(fpr: Uint8Array, id: number, maxBytes = Infinity): boolean {
    if (!Number.isInteger(id) || id < 1 || id > 0xffffffff) throw new RangeError(`fingerprint table: row id ${id} out of range`);
    if ((this.used + 1) > (this.mask + 1) * MAX_LOAD) {
      if (this.slots.byteLength * 2 > maxBytes) return false;
      this.grow();
    }
    this.place(this.hash(fpr), id);
    this.used++;
    return true;
  }

  private place(h: number, id: number): void {
    const s = this.slots;
    let i = h & this.mask;
    while (s[2 * i + 1] !== EMPTY) i = (i + 1) & this.mask;
    s[2 * i] = h;
    s[2 * i + 1] = id;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    for (let i = 0; i < old.length; i += 2) if (old[i + 1] !== EMPTY) this.place(old[i]!, old[i + 1]!);
  }

  /** The first row id remembered for a fingerprint with this hash that `isIt` confirms (the caller reads the row
   * and compares fingerprints), or 0 if none. */
  find(fpr: Uint8Array, isIt: (id: number) => boolean): number {
    const s = this.slots;
    const h = this.hash(fpr);
    for (let i = h & this.mask; s[2 * i + 1] !== EMPTY; i = (i + 1) & this.mask) {
      if (s[2 * i] === h && isIt(s[2 * i + 1]!)) return s[2 * i + 1]!;
    }
    return 0;
  }
}
