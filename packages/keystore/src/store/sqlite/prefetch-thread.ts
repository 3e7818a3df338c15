// Worker thread of PagePrefetcher (prefetch.ts): looks up, on a read-only connection of its own, what the write of
// each key will look up, so the pages are in the OS's file cache when the writer needs them. What it reads is
// thrown away; an error ends the thread (the prefetcher then stops prefetching).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { PrefixTree, SKS_TREE } from './prefix-tree.js';
import type { KeyProbe } from './prefetch.js';

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
// Its own page cache only keeps the indexes' upper pages between probes; the leaves are what it is here to read.
db.pragma('cache_size = -8192');

const existing = db.prepare('SELECT id, digest, data FROM keys WHERE fingerprint = ?').raw();
const byDigest = db.prepare('SELECT 1 FROM keys WHERE digest = ?').pluck();
const byShortId = db.prepare('SELECT key FROM key_ids WHERE short_id = ? LIMIT 1').pluck();
const byEmail = db.prepare('SELECT key FROM key_emails WHERE email = ? LIMIT 1').pluck();
const summary = db.prepare('SELECT 1 FROM key_summaries WHERE key = ?').pluck();
const trees = new Map<string, PrefixTree>();

const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The element's place and the nodes from the root down to the leaf it falls in (what an insert or removal reads),
 * read the way the writer's PrefixTree reads them. */
function walk(element: string, node: string, digest: Buffer): void {
  let tree = trees.get(element);
  if (!tree) trees.set(element, (tree = new PrefixTree(db, { element, node })));
  tree.has(digest);
  tree.leafPrefix(digest);
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
