// Worker thread of PagePrefetcher (prefetch.ts): looks up, on a read-only connection of its own, what the write of
// each key will look up, so the pages are in the OS's file cache when the writer needs them. What it reads is
// thrown away; an error ends the thread (the prefetcher then stops prefetching).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { CHILD_BITS, childIndex } from '../../ptree/shape.js';
import { SKS_TREE } from './prefix-tree.js';
import type { KeyProbe } from './prefetch.js';

/** Deeper than any prefix tree gets (2 bits a level; 6M keys need about 9 levels): a bound on the walk. */
const MAX_TREE_DEPTH = 64;

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
// Its own page cache only keeps the indexes' upper pages between probes; the leaves are what it is here to read.
db.pragma('cache_size = -8192');

const existing = db.prepare('SELECT id, digest, data FROM keys WHERE fingerprint = ?').raw();
const byDigest = db.prepare('SELECT 1 FROM keys WHERE digest = ?').pluck();
const byShortId = db.prepare('SELECT key FROM key_ids WHERE short_id = ? LIMIT 1').pluck();
const byEmail = db.prepare('SELECT key FROM key_emails WHERE email = ? LIMIT 1').pluck();
const summary = db.prepare('SELECT 1 FROM key_summaries WHERE key = ?').pluck();
const trees = new Map<string, { element: Database.Statement; node: Database.Statement }>();

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function tree(element: string, node: string) {
  let t = trees.get(element);
  if (!t) {
    t = {
      element: db.prepare(`SELECT 1 FROM ${element} WHERE digest = ?`).pluck(),
      node: db.prepare(`SELECT is_leaf FROM ${node} WHERE prefix = ?`).pluck(),
    };
    trees.set(element, t);
  }
  return t;
}

/** The element's place and the nodes from the root down to the leaf it falls in (what an insert or removal reads). */
function walk(element: string, node: string, digest: Buffer): void {
  const t = tree(element, node);
  t.element.get(digest);
  let prefix = '';
  for (let depth = 0; depth < MAX_TREE_DEPTH; depth++) {
    const leaf = t.node.get(prefix) as number | undefined;
    if (leaf === undefined || leaf === 1) return;
    prefix += CHILD_BITS[childIndex(digest, 0, prefix.length)];
  }
}

function probe(p: KeyProbe): void {
  const fingerprint = buf(p.fingerprint);
  const digest = buf(p.digest);
  const row = existing.get(fingerprint) as [number, Buffer, Buffer] | undefined;
  if (row) {
    // an update: the old digest leaves the digest index and the tree, the summary row is rewritten
    byDigest.get(row[1]);
    walk(SKS_TREE.element, SKS_TREE.node, row[1]);
    summary.get(row[0]);
  }
  byDigest.get(digest);
  walk(SKS_TREE.element, SKS_TREE.node, digest);
  for (const s of p.shortIds) byShortId.get(s);
  for (const e of p.emails) byEmail.get(e);
  for (const [element, node, d] of p.trees) walk(element, node, buf(d));
}

parentPort!.on('message', (m: { id: number; probes: KeyProbe[] }) => {
  for (const p of m.probes) probe(p);
  parentPort!.postMessage({ id: m.id });
});
