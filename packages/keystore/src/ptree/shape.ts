// The shape of the recon prefix tree (SKS prefixTree.ml), independent of where it is stored: constants, bit
// prefixes, sample values of a set of digests, and the canonical node rows of a sorted set. The shape is canonical:
// a node is internal exactly when it holds more than PTREE_SPLIT_THRESHOLD elements, so every way of building the
// tree gives the same rows for the same set. The SQLite tables that hold it: store/sqlite/prefix-tree.ts.
import { NUM_SAMPLES, P, digestToZ, factorsOf, inv, samplesToBuffer } from './zzp.js';

export interface PTreeNode {
  /** Bit prefix as a string of '0'/'1' characters ('' is the root). */
  prefix: string;
  numElements: number;
  /** 6 sample values (characteristic polynomial evaluated at the sample points), 17-byte little-endian each. */
  samples: Buffer[];
  isLeaf: boolean;
}

/** SKS bitquantum: bits of the digest consumed per tree level (4 children per node). */
export const PTREE_BITQUANTUM = 2;
/** SKS mbar × ptree_thresh_mult (5 × 10): a leaf with more elements than this splits into 4 children.
 * A protocol constant rather than a setting: recon peers assume nodes of this size are leaves. */
export const PTREE_SPLIT_THRESHOLD = 50;
/** Digests are MD5 values. */
export const DIGEST_BYTES = 16;

export interface NodeRow {
  num: number;
  values: bigint[];
  leaf: boolean;
}

export interface Delta {
  n: number;
  f: bigint[];
}

/** Bit `i` of a digest, counting from the most significant bit of byte 0. */
export function bitAt(digest: Buffer, i: number): number {
  return (digest[i >> 3]! >> (7 - (i & 7))) & 1;
}

/** Child index (0..3) of a digest at a node whose prefix has `len` bits. */
export function childIndex(digest: Buffer, off: number, len: number): number {
  const i = len;
  const b0 = (digest[off + (i >> 3)]! >> (7 - (i & 7))) & 1;
  const j = i + 1;
  const b1 = (digest[off + (j >> 3)]! >> (7 - (j & 7))) & 1;
  return (b0 << 1) | b1;
}

export const CHILD_BITS = ['00', '01', '10', '11'] as const;

/** Lowest and highest 16-byte digest starting with `prefix` (for range scans of ptree_element). */
export function prefixRange(prefix: string): [Buffer, Buffer] {
  const lo = Buffer.alloc(DIGEST_BYTES, 0);
  const hi = Buffer.alloc(DIGEST_BYTES, 0xff);
  for (let i = 0; i < prefix.length && i < DIGEST_BYTES * 8; i++) {
    const mask = 1 << (7 - (i & 7));
    if (prefix[i] === '1') lo[i >> 3]! |= mask;
    else hi[i >> 3]! &= ~mask;
  }
  return [lo, hi];
}

/** The prefix string of the first `bits` bits of a digest. */
export function digestPrefix(digest: Buffer, bits: number): string {
  let s = '';
  for (let i = 0; i < bits; i++) s += bitAt(digest, i) ? '1' : '0';
  return s;
}

export function isPrefixString(prefix: string): boolean {
  return /^[01]*$/.test(prefix) && prefix.length <= DIGEST_BYTES * 8;
}

/** n 16-byte records of buf sorted in byte order into a new buffer: a counting sort on the first two bytes, then
 * insertion sort inside each of the 65 536 buckets (a few records each for random digests). Throws on duplicates. */
export function sortDigests(buf: Buffer, n: number): Buffer {
  const D = DIGEST_BYTES;
  const start = new Uint32Array(65537);
  for (let i = 0; i < n; i++) start[((buf[i * D]! << 8) | buf[i * D + 1]!) + 1]!++;
  for (let b = 0; b < 65536; b++) start[b + 1]! += start[b]!;
  const fill = start.slice(0, 65536);
  const out = Buffer.alloc(n * D);
  for (let i = 0; i < n; i++) {
    const b = (buf[i * D]! << 8) | buf[i * D + 1]!;
    buf.copy(out, fill[b]! * D, i * D, (i + 1) * D);
    fill[b]!++;
  }
  const tmp = Buffer.alloc(D);
  for (let b = 0; b < 65536; b++) {
    const lo = start[b]!;
    const hi = start[b + 1]!;
    for (let i = lo + 1; i < hi; i++) {
      let j = i;
      while (j > lo && out.compare(out, (j - 1) * D, j * D, j * D, (j + 1) * D) > 0) {
        out.copy(tmp, 0, j * D, (j + 1) * D);
        out.copy(out, j * D, (j - 1) * D, j * D);
        tmp.copy(out, (j - 1) * D);
        j--;
      }
    }
  }
  for (let i = 1; i < n; i++) {
    if (out.compare(out, (i - 1) * D, i * D, i * D, (i + 1) * D) === 0) throw new Error('prefix tree: a digest occurs twice');
  }
  return out;
}

/** Sample values of a set of digests held as consecutive 16-byte records in `buf[start..end)`. */
export function leafValues(buf: Buffer, start: number, end: number): bigint[] {
  const v = Array.from({ length: NUM_SAMPLES }, () => 1n);
  let r = start;
  // Two elements per reduction: (s - x)(s - y) < p², times v < p³, one `% P` instead of two (same values; bulk
  // builds spend most of their time here).
  for (; r + 1 < end; r += 2) {
    const fx = factorsOf(digestToZ(buf, r * DIGEST_BYTES));
    const fy = factorsOf(digestToZ(buf, (r + 1) * DIGEST_BYTES));
    for (let i = 0; i < NUM_SAMPLES; i++) v[i] = (v[i]! * fx[i]! * fy[i]!) % P;
  }
  if (r < end) {
    const f = factorsOf(digestToZ(buf, r * DIGEST_BYTES));
    for (let i = 0; i < NUM_SAMPLES; i++) v[i] = (v[i]! * f[i]!) % P;
  }
  return v;
}

/** What a recon session reads of a set of digests: the nodes a peer names and the elements under them. */
export interface ReconView {
  nodeValues(prefix: string): { prefix: string; numElements: number; values: bigint[]; isLeaf: boolean } | undefined;
  elements(prefix: string): Buffer[];
  has(digest: Buffer): boolean;
  size(): number;
  /** The node with this prefix, sample values as stored. */
  node(prefix: string): PTreeNode | undefined;
  /** Prefixes of nodes that disagree with their elements (empty when the tree is sound). */
  verify(): string[];
}

/** Writes the node for `prefix` over the sorted records buf[start..end) and, if it must be internal, its
 * subtree; returns its sample values. Bottom-up, so each element costs six multiplications in all. */
export function buildSubtree(prefix: string, buf: Buffer, start: number, end: number,
sink: (prefix: string, row: NodeRow) => void): bigint[] {
  const count = end - start;
  if (count <= PTREE_SPLIT_THRESHOLD || prefix.length >= DIGEST_BYTES * 8) {
    const values = leafValues(buf, start, end);
    sink(prefix, { num: count, values, leaf: true });
    return values;
  }
  const values = Array.from({ length: NUM_SAMPLES }, () => 1n);
  let r = start;
  for (let c = 0; c < 4; c++) {
    const from = r;
    while (r < end && childIndex(buf, r * DIGEST_BYTES, prefix.length) === c) r++;
    const cv = buildSubtree(prefix + CHILD_BITS[c], buf, from, r, sink);
    for (let i = 0; i < NUM_SAMPLES; i++) values[i] = (values[i]! * cv[i]!) % P;
  }
  sink(prefix, { num: count, values, leaf: false });
  return values;
}


/** The node rows of the tree of n sorted, distinct digests (computed only: no database access, so it can run while
 * another connection writes). */
export function computeRows(buf: Buffer, n: number): Array<{ prefix: string; row: NodeRow }> {
  const rows: Array<{ prefix: string; row: NodeRow }> = [];
  buildSubtree('', buf, 0, n, (prefix, row) => rows.push({ prefix, row }));
  return rows;
}

/** Copies 16-byte digests into one contiguous buffer (millions of small Buffers would cost far more memory).
 * `check`: refuse anything that is not a 16-byte digest (input from outside the tree's own tables). */
export function collectDigests(it: Iterable<Buffer>, check = false): { buf: Buffer; n: number } {
  let buf = Buffer.alloc(DIGEST_BYTES * 64);
  let n = 0;
  for (const d of it) {
    if (check) checkDigest(d);
    if ((n + 1) * DIGEST_BYTES > buf.length) {
      const bigger = Buffer.alloc(buf.length * 2);
      buf.copy(bigger, 0, 0, n * DIGEST_BYTES);
      buf = bigger;
    }
    d.copy(buf, n * DIGEST_BYTES);
    n++;
  }
  return { buf, n };
}

/** Inverses of several non-zero elements with a single field inversion (Montgomery's trick). */
export function invertAll(xs: bigint[]): bigint[] {
  const prefix = new Array<bigint>(xs.length);
  let acc = 1n;
  for (let i = 0; i < xs.length; i++) {
    prefix[i] = acc;
    acc = (acc * xs[i]!) % P;
  }
  let accInv = inv(acc);
  const out = new Array<bigint>(xs.length);
  for (let i = xs.length - 1; i >= 0; i--) {
    out[i] = (accInv * prefix[i]!) % P;
    accInv = (accInv * xs[i]!) % P;
  }
  return out;
}

export function checkDigest(d: Buffer): void {
  if (!Buffer.isBuffer(d) || d.length !== DIGEST_BYTES) {
    throw new TypeError(`a prefix-tree element is a ${DIGEST_BYTES}-byte digest, got ${Buffer.isBuffer(d) ? d.length + ' bytes' : typeof d}`);
  }
}

export function toNode(prefix: string, row: NodeRow): PTreeNode {
  return {
    prefix,
    numElements: row.num,
    samples: row.values.map((v) => samplesToBuffer([v])),
    isLeaf: row.leaf,
  };
}

