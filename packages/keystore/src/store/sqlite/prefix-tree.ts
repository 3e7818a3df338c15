// The recon prefix tree stored in the key store's SQLite database (SKS prefixTree.ml's shape, ptree/shape.ts) and
// updated inside the store's write transactions, so it can never drift from the stored keys (Hockeypuck issue #170).
// The store calls insertMany/removeMany (or the bulk builders); sks-recon reads nodes through ReconView.
//
// Layout (see PTREE_SCHEMA_SQL):
// - ptree_element holds every digest in the tree. The elements of a node are exactly the digests that start with
//   the node's bit prefix, i.e. one range scan of this table, so leaves store no element lists and splitting or
//   joining a node never loses an element.
// - ptree_node holds one row per node: its bit prefix ('' = root, then 2 bits per level), the number of elements
//   under it and its 6 sample values (the characteristic polynomial of its set at the sample points, zzp.ts).
import type Database from 'better-sqlite3';
import { NUM_SAMPLES, P, digestToZ, factorsOf, samplesFromBuffer, samplesToBuffer } from '../../ptree/zzp.js';
import {
  CHILD_BITS, DIGEST_BYTES, PTREE_BITQUANTUM, PTREE_SPLIT_THRESHOLD, buildSubtree, checkDigest, childIndex,
  collectDigests, invertAll, isPrefixString, leafValues, prefixRange, toNode,
  type Delta, type NodeRow, type PTreeNode, type ReconView,
} from '../../ptree/shape.js';

const ONES = samplesToBuffer(Array.from({ length: NUM_SAMPLES }, () => 1n));

/** The two tables of one prefix tree. The `sks` set uses ptree_element/ptree_node; every other recon profile's set
 * has its own pair (ptree_<profile>_element, ...), see treeTables(). */
export interface TreeTables {
  element: string;
  node: string;
}

export const SKS_TREE: TreeTables = { element: 'ptree_element', node: 'ptree_node' };

/** The tables of a recon profile's tree (profile names are checked by the registry: lower-case letters, digits). */
export function treeTables(profile: string): TreeTables {
  if (profile === 'sks') return SKS_TREE;
  if (!/^[a-z][a-z0-9]*$/.test(profile)) throw new TypeError(`not a recon profile name: ${profile}`);
  return { element: `ptree_${profile}_element`, node: `ptree_${profile}_node` };
}

/** SQL that creates a tree's tables; the key store's schema runs it. Idempotent. */
export function ptreeSchemaSql(t: TreeTables = SKS_TREE): string {
  return `
CREATE TABLE IF NOT EXISTS ${t.element} (
  digest BLOB PRIMARY KEY NOT NULL            -- 16-byte key digest
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ${t.node} (
  prefix TEXT PRIMARY KEY NOT NULL,           -- '' root, else '0'/'1' characters, 2 per level
  num_elements INTEGER NOT NULL,
  samples BLOB NOT NULL,                      -- 6 x 17 bytes, little-endian field elements
  is_leaf INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO ${t.node} (prefix, num_elements, samples, is_leaf) VALUES ('', 0, X'${ONES.toString('hex')}', 1);
`;
}

/** The `sks` tree's tables. */
export const PTREE_SCHEMA_SQL = ptreeSchemaSql(SKS_TREE);

export class PrefixTree implements ReconView {
  // Statements are prepared on first use: the key store may construct the tree before running the schema.
  private stmts?: ReturnType<PrefixTree['prepare']>;

  constructor(readonly db: Database.Database, readonly tables: TreeTables = SKS_TREE) {}

  private prepare() {
    const db = this.db;
    const { element, node } = this.tables;
    return {
      insertElement: db.prepare(`INSERT OR IGNORE INTO ${element} (digest) VALUES (?)`),
      deleteElement: db.prepare(`DELETE FROM ${element} WHERE digest = ?`),
      hasElement: db.prepare(`SELECT 1 FROM ${element} WHERE digest = ?`).pluck(),
      range: db.prepare(`SELECT digest FROM ${element} WHERE digest >= ? AND digest <= ? ORDER BY digest`).pluck(),
      countRange: db.prepare(`SELECT count(*) FROM ${element} WHERE digest >= ? AND digest <= ?`).pluck(),
      allElements: db.prepare(`SELECT digest FROM ${element} ORDER BY digest`).pluck(),
      getNode: db.prepare(`SELECT num_elements AS num, samples, is_leaf AS leaf FROM ${node} WHERE prefix = ?`),
      putNode: db.prepare(
        `INSERT OR REPLACE INTO ${node} (prefix, num_elements, samples, is_leaf) VALUES (?, ?, ?, ?)`),
      deleteBelow: db.prepare(`DELETE FROM ${node} WHERE prefix > ? AND prefix < ?`),
      clearNodes: db.prepare(`DELETE FROM ${node}`),
      clearElements: db.prepare(`DELETE FROM ${element}`),
    };
  }

  private get s() {
    return (this.stmts ??= this.prepare());
  }

  // --- writes -------------------------------------------------------------------------------------------------

  /** Adds a 16-byte digest; false if it was already there. Call inside the caller's write transaction. */
  insert(digest: Buffer): boolean {
    return this.insertMany([digest]) === 1;
  }

  /** Removes a 16-byte digest; false if it was not there. Call inside the caller's write transaction. */
  remove(digest: Buffer): boolean {
    return this.removeMany([digest]) === 1;
  }

  /** Adds many digests at once (bulk loads): each touched node is read and written once, and the sample products
   * are aggregated bottom-up, so the cost per digest is about one element insert and six multiplications.
   * Returns how many were new. Call inside a transaction (one per batch). */
  insertMany(digests: Iterable<Buffer>): number {
    const s = this.s;
    const cache = new Map<string, NodeRow>();
    const leafDeltas = new Map<string, Delta>();
    let added = 0;
    for (const d of digests) {
      checkDigest(d);
      if (s.insertElement.run(d).changes === 0) continue;
      added++;
      const leaf = this.leafFor(d, cache);
      let delta = leafDeltas.get(leaf);
      if (!delta) leafDeltas.set(leaf, (delta = { n: 0, f: Array.from({ length: NUM_SAMPLES }, () => 1n) }));
      const f = factorsOf(digestToZ(d));
      for (let i = 0; i < NUM_SAMPLES; i++) delta.f[i] = (delta.f[i]! * f[i]!) % P;
      delta.n++;
    }
    if (added === 0) return 0;
    const all = this.propagate(leafDeltas);
    for (const [prefix, delta] of all) {
      const row = cache.get(prefix)!;
      for (let i = 0; i < NUM_SAMPLES; i++) row.values[i] = (row.values[i]! * delta.f[i]!) % P;
      row.num += delta.n;
      if (row.leaf && row.num > PTREE_SPLIT_THRESHOLD) this.buildFromElements(prefix);
      else this.writeRow(prefix, row);
    }
    return added;
  }

  /** Removes many digests at once; returns how many were present. Call inside a transaction. */
  removeMany(digests: Iterable<Buffer>): number {
    const s = this.s;
    const cache = new Map<string, NodeRow>();
    const leafDeltas = new Map<string, Delta>();
    let removed = 0;
    for (const d of digests) {
      checkDigest(d);
      // Find the leaf before deleting: the path does not depend on the element table, only on the nodes.
      if (s.hasElement.get(d) === undefined) continue;
      s.deleteElement.run(d);
      removed++;
      const leaf = this.leafFor(d, cache);
      let delta = leafDeltas.get(leaf);
      if (!delta) leafDeltas.set(leaf, (delta = { n: 0, f: Array.from({ length: NUM_SAMPLES }, () => 1n) }));
      // Removing divides by the element's factors: multiply by their inverses (one inversion for all six).
      const f = invertAll(factorsOf(digestToZ(d)));
      for (let i = 0; i < NUM_SAMPLES; i++) delta.f[i] = (delta.f[i]! * f[i]!) % P;
      delta.n++;
    }
    if (removed === 0) return 0;
    const all = this.propagate(leafDeltas);
    // Shortest prefixes first, so a node that becomes small enough to be a leaf absorbs its whole subtree once.
    const prefixes = [...all.keys()].sort((a, b) => a.length - b.length);
    const joined: string[] = [];
    for (const prefix of prefixes) {
      if (joined.some((j) => prefix.startsWith(j) && prefix !== j)) continue;
      const delta = all.get(prefix)!;
      const row = cache.get(prefix)!;
      for (let i = 0; i < NUM_SAMPLES; i++) row.values[i] = (row.values[i]! * delta.f[i]!) % P;
      row.num -= delta.n;
      if (!row.leaf && row.num <= PTREE_SPLIT_THRESHOLD) {
        // Join: this node becomes a leaf; its elements stay in ptree_element, its subtree rows go.
        s.deleteBelow.run(prefix, prefix + '2');
        row.leaf = true;
        joined.push(prefix);
      }
      this.writeRow(prefix, row);
    }
    return removed;
  }

  /** Recomputes the whole tree from `digests` (e.g. the key store's digest column), replacing what was there.
   * Runs in one transaction (a savepoint if the caller already has one). */
  rebuild(digests: Iterable<Buffer>): void {
    const s = this.s;
    // Collect first: the iterable may be a live query on this same connection, which must finish before we write.
    const { buf, n } = collectDigests(digests, true);
    this.db.transaction(() => {
      s.clearNodes.run();
      s.clearElements.run();
      for (let r = 0; r < n; r++) s.insertElement.run(buf.subarray(r * DIGEST_BYTES, (r + 1) * DIGEST_BYTES));
      // Read back in byte order (the table's key order): sorted and without duplicates.
      const sorted = collectDigests(s.allElements.iterate() as Iterable<Buffer>);
      buildSubtree('', sorted.buf, 0, sorted.n, (p, row) => this.writeRow(p, row));
    })();
  }

  /** The elements in byte order (the table's key order). Read in chunks of hex text (one
   * string per 65 536 digests) rather than one Buffer per row: 1M digests take a fifth of the time. Checked: every
   * digest read, 16 bytes each, strictly increasing. */
  private readSortedElements(): { buf: Buffer; n: number } {
    const n = this.db.prepare(`SELECT count(*) FROM ${this.tables.element}`).pluck().get() as number;
    const buf = Buffer.alloc(n * DIGEST_BYTES);
    const chunk = this.db.prepare(`SELECT group_concat(h, '') FROM (SELECT hex(digest) AS h FROM ${this.tables.element} ` +
      'WHERE digest > ? ORDER BY digest LIMIT 65536)').pluck();
    let r = 0;
    let last = Buffer.alloc(0);
    while (r < n) {
      const hex = chunk.get(last) as string | null;
      if (!hex) break;
      if (hex.length % (DIGEST_BYTES * 2) !== 0) throw new TypeError(`prefix tree: ptree_element holds values that are not ${DIGEST_BYTES}-byte digests`);
      const got = hex.length / (DIGEST_BYTES * 2);
      if (r + got > n) throw new Error('prefix tree: more digests than counted (changed while read)');
      buf.write(hex, r * DIGEST_BYTES, 'hex');
      for (let i = Math.max(1, r); i < r + got; i++) {
        if (buf.compare(buf, (i - 1) * DIGEST_BYTES, i * DIGEST_BYTES, i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES) <= 0) {
          throw new Error('prefix tree: digests read out of order');
        }
      }
      r += got;
      last = buf.subarray((r - 1) * DIGEST_BYTES, r * DIGEST_BYTES);
    }
    if (r !== n) throw new Error(`prefix tree: counted ${n} digests, read ${r}`);
    return { buf, n };
  }

  /** Empties the tree (nodes and elements). The caller then fills ptree_element and calls writeRows() or
   * rebuildNodes(), all inside its write transaction. */
  clear(): void {
    this.s.clearNodes.run();
    this.s.clearElements.run();
  }

  /** Writes node rows computed by computeRows() (shape.ts) from exactly the digests now in ptree_element. */
  writeRows(rows: Array<{ prefix: string; row: NodeRow }>): void {
    for (const { prefix, row } of rows) this.writeRow(prefix, row);
  }

  /** Builds every node from the elements now in ptree_element (after clear() and a bulk copy of digests into it):
   * one sorted pass. Call inside the caller's write transaction. */
  rebuildNodes(): void {
    const bad = this.db.prepare(`SELECT count(*) FROM ${this.tables.element} WHERE length(digest) <> ${DIGEST_BYTES}`).pluck().get() as number;
    if (bad > 0) throw new TypeError(`prefix tree rebuild: ${bad} elements are not ${DIGEST_BYTES}-byte digests`);
    const { buf, n } = this.readSortedElements();
    this.s.clearNodes.run();
    buildSubtree('', buf, 0, n, (p, row) => this.writeRow(p, row));
  }

  // --- reads --------------------------------------------------------------------------------------------------

  /** The node with this bit prefix. A prefix below a leaf is answered with a computed leaf-like node of the
   * elements under it (so any prefix a peer names can be answered); undefined only for a malformed prefix. */
  node(prefix: string): PTreeNode | undefined {
    const row = this.readRow(prefix);
    if (row) return toNode(prefix, row);
    if (!isPrefixString(prefix)) return undefined;
    const computed = this.computedNode(prefix);
    return computed ? toNode(prefix, computed) : undefined;
  }

  /** Like node(), with the sample values as field elements (what the recon code computes with). */
  nodeValues(prefix: string): { prefix: string; numElements: number; values: bigint[]; isLeaf: boolean } | undefined {
    const row = this.readRow(prefix) ?? (isPrefixString(prefix) ? this.computedNode(prefix) : undefined);
    return row ? { prefix, numElements: row.num, values: row.values, isLeaf: row.leaf } : undefined;
  }

  /** The digests under a prefix, in byte order. */
  elements(prefix: string): Buffer[] {
    const [lo, hi] = prefixRange(prefix);
    return this.s.range.all(lo, hi) as Buffer[];
  }

  has(digest: Buffer): boolean {
    return this.s.hasElement.get(digest) !== undefined;
  }

  /** Number of digests in the tree (the root's count). */
  size(): number {
    return this.readRow('')?.num ?? 0;
  }

  /** Prefixes of the children of a node (empty for a leaf). */
  childPrefixes(prefix: string): string[] {
    const row = this.readRow(prefix);
    if (!row || row.leaf) return [];
    return CHILD_BITS.map((c) => prefix + c);
  }

  /** Recomputes every stored node from the elements and returns the prefixes whose rows disagree (empty when the
   * tree is sound). For tests and the integrity job; reads the whole tree. */
  verify(): string[] {
    const bad: string[] = [];
    const rows = this.db.prepare(`SELECT prefix, num_elements AS num, samples, is_leaf AS leaf FROM ${this.tables.node}`)
      .all() as Array<{ prefix: string; num: number; samples: Buffer; leaf: number }>;
    const seen = new Set(rows.map((r) => r.prefix));
    for (const r of rows) {
      const [lo, hi] = prefixRange(r.prefix);
      const elems = collectDigests(this.s.range.iterate(lo, hi) as Iterable<Buffer>);
      const expectLeaf = elems.n <= PTREE_SPLIT_THRESHOLD;
      const values = leafValues(elems.buf, 0, elems.n);
      const parentOk = r.prefix === '' || seen.has(r.prefix.slice(0, -PTREE_BITQUANTUM));
      if (r.num !== elems.n || !samplesToBuffer(values).equals(r.samples) || (r.leaf === 1) !== expectLeaf || !parentOk) {
        bad.push(r.prefix);
      }
      if (r.leaf === 0 && CHILD_BITS.some((c) => !seen.has(r.prefix + c))) bad.push(r.prefix);
    }
    return bad;
  }

  // --- internals ----------------------------------------------------------------------------------------------

  private readRow(prefix: string): NodeRow | undefined {
    const r = this.s.getNode.get(prefix) as { num: number; samples: Buffer; leaf: number } | undefined;
    return r ? { num: r.num, values: samplesFromBuffer(r.samples), leaf: r.leaf === 1 } : undefined;
  }

  private writeRow(prefix: string, row: NodeRow): void {
    this.s.putNode.run(prefix, row.num, samplesToBuffer(row.values), row.leaf ? 1 : 0);
  }

  /** Computes a node for a prefix that lies below a stored leaf (no row of its own). */
  private computedNode(prefix: string): NodeRow | undefined {
    for (let len = prefix.length - 1; len >= 0; len--) {
      const anc = this.s.getNode.get(prefix.slice(0, len)) as { leaf: number } | undefined;
      if (!anc) continue;
      if (anc.leaf !== 1) return undefined; // below an internal node every level has rows: a malformed prefix
      const [lo, hi] = prefixRange(prefix);
      const elems = collectDigests(this.s.range.iterate(lo, hi) as Iterable<Buffer>);
      return { num: elems.n, values: leafValues(elems.buf, 0, elems.n), leaf: true };
    }
    return undefined;
  }

  /** The prefix of the leaf `digest` falls in, read from the root down as an insert or removal of it reads it
   * (prefetch-thread.ts reads those pages ahead of a write). */
  leafPrefix(digest: Buffer): string {
    return this.leafFor(digest, new Map());
  }

  /** Prefix of the leaf a digest belongs to, reading (and caching) the nodes on its path. */
  private leafFor(digest: Buffer, cache: Map<string, NodeRow>): string {
    let prefix = '';
    for (;;) {
      let row = cache.get(prefix);
      if (!row) {
        row = this.readRow(prefix);
        if (!row) throw new Error(`prefix tree is missing node "${prefix}" (run the schema, or rebuild the tree)`);
        cache.set(prefix, row);
      }
      if (row.leaf) return prefix;
      prefix += CHILD_BITS[childIndex(digest, 0, prefix.length)];
    }
  }

  /** Turns per-leaf deltas into deltas for every node on their paths, merging children into parents level by
   * level (one multiplication per touched node instead of one per element per level). */
  private propagate(leafDeltas: Map<string, Delta>): Map<string, Delta> {
    const all = new Map(leafDeltas);
    let maxLen = 0;
    const byLen = new Map<number, string[]>();
    for (const p of leafDeltas.keys()) {
      if (p.length > maxLen) maxLen = p.length;
      const l = byLen.get(p.length) ?? [];
      l.push(p);
      byLen.set(p.length, l);
    }
    for (let len = maxLen; len > 0; len -= PTREE_BITQUANTUM) {
      for (const p of byLen.get(len) ?? []) {
        const d = all.get(p)!;
        const parent = p.slice(0, -PTREE_BITQUANTUM);
        let pd = all.get(parent);
        if (!pd) {
          all.set(parent, (pd = { n: 0, f: Array.from({ length: NUM_SAMPLES }, () => 1n) }));
          const l = byLen.get(parent.length) ?? [];
          l.push(parent);
          byLen.set(parent.length, l);
        }
        for (let i = 0; i < NUM_SAMPLES; i++) pd.f[i] = (pd.f[i]! * d.f[i]!) % P;
        pd.n += d.n;
      }
    }
    return all;
  }

  /** Rewrites a node and its whole subtree from the element table (used when a leaf grows past the threshold). */
  private buildFromElements(prefix: string): void {
    const [lo, hi] = prefixRange(prefix);
    const elems = collectDigests(this.s.range.iterate(lo, hi) as Iterable<Buffer>);
    this.s.deleteBelow.run(prefix, prefix + '2');
    buildSubtree(prefix, elems.buf, 0, elems.n, (p, row) => this.writeRow(p, row));
  }
}
