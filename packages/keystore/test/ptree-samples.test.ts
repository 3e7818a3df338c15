// The prefix tree against values real SKS 1.1.6 computed, and insert/remove/rebuild against each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { PrefixTree, PTREE_SCHEMA_SQL, PTREE_SPLIT_THRESHOLD } from '../src/index.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { RECON_VECTORS as VECTORS } from '../../../test/support/fixtures.js';

const digestsJson = JSON.parse(readFileSync(join(VECTORS, 'debian-keyring-sks-digests.json'), 'utf8')) as {
  vectors: Array<{ fingerprint: string; sks_hash: string }>;
};
const samplesJson = JSON.parse(readFileSync(join(VECTORS, 'debian-keyring-ptree-samples.json'), 'utf8')) as {
  nodes: Array<{ prefix: string; size: number; samples_le17_hex: string[] }>;
};
const DEBIAN_DIGESTS = digestsJson.vectors.map((v) => Buffer.from(v.sks_hash, 'hex'));

function openTree(): { db: Database.Database; tree: PrefixTree } {
  const db = new Database(join(makeTempDir('ptree-'), 'tree.sqlite'));
  db.pragma('journal_mode = WAL');
  db.exec(PTREE_SCHEMA_SQL);
  return { db, tree: new PrefixTree(db) };
}

/** Every stored node row, for comparing two trees exactly. */
function dumpNodes(db: Database.Database): string {
  const rows = db.prepare('SELECT prefix, num_elements, hex(samples) AS s, is_leaf FROM ptree_node ORDER BY prefix').all();
  return JSON.stringify(rows);
}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

test('905 Debian digests give the root and depth-1 nodes real SKS sent, byte for byte', () => {
  assert.equal(DEBIAN_DIGESTS.length, 905);
  const { db, tree } = openTree();
  db.transaction(() => {
    for (const d of DEBIAN_DIGESTS) assert.equal(tree.insert(d), true);
  })();
  for (const expected of samplesJson.nodes) {
    const node = tree.node(expected.prefix);
    assert.ok(node, `node "${expected.prefix}" exists`);
    assert.equal(node.numElements, expected.size, `size of "${expected.prefix}"`);
    assert.deepEqual(node.samples.map((b) => b.toString('hex')), expected.samples_le17_hex, `samples of "${expected.prefix}"`);
    assert.equal(node.isLeaf, false);
  }
  assert.deepEqual(tree.verify(), []);
  db.close();
});

test('insertMany and rebuild reach the same tree as one-by-one inserts', () => {
  const a = openTree();
  a.db.transaction(() => { for (const d of shuffle(DEBIAN_DIGESTS)) a.tree.insert(d); })();
  const b = openTree();
  b.db.transaction(() => assert.equal(b.tree.insertMany(shuffle(DEBIAN_DIGESTS)), 905))();
  const c = openTree();
  c.tree.rebuild(shuffle(DEBIAN_DIGESTS));
  // A bulk load in several batches into a non-empty tree.
  const d = openTree();
  const order = shuffle(DEBIAN_DIGESTS);
  for (let i = 0; i < order.length; i += 200) d.db.transaction(() => d.tree.insertMany(order.slice(i, i + 200)))();
  const expected = dumpNodes(a.db);
  assert.equal(dumpNodes(b.db), expected);
  assert.equal(dumpNodes(c.db), expected);
  assert.equal(dumpNodes(d.db), expected);
  assert.equal(a.tree.node('')!.samples.map((x) => x.toString('hex')).join(), samplesJson.nodes[0]!.samples_le17_hex.join());
  for (const t of [a, b, c, d]) {
    assert.deepEqual(t.tree.verify(), []);
    t.db.close();
  }
});

test('removing inserted digests in any order returns to the same tree, down to the empty root', () => {
  const full = openTree();
  full.tree.rebuild(DEBIAN_DIGESTS);
  const extra = Array.from({ length: 300 }, () => randomBytes(16));
  const t = openTree();
  t.tree.rebuild(DEBIAN_DIGESTS);
  t.db.transaction(() => { for (const d of shuffle(extra)) assert.equal(t.tree.insert(d), true); })();
  assert.equal(t.tree.size(), 905 + 300);
  assert.equal(t.tree.insert(extra[0]!), false, 'a digest already present is not counted twice');
  t.db.transaction(() => { for (const d of shuffle(extra)) assert.equal(t.tree.remove(d), true); })();
  assert.equal(t.tree.remove(extra[0]!), false, 'a digest not present is not removed');
  assert.equal(dumpNodes(t.db), dumpNodes(full.db), 'joins restore exactly the tree of the smaller set');
  // Remove a random half with removeMany, the rest one by one: an empty root with all samples 1.
  const order = shuffle(DEBIAN_DIGESTS);
  t.db.transaction(() => assert.equal(t.tree.removeMany(order.slice(0, 450)), 450))();
  assert.deepEqual(t.tree.verify(), []);
  t.db.transaction(() => { for (const d of order.slice(450)) t.tree.remove(d); })();
  const root = t.tree.node('')!;
  assert.equal(root.numElements, 0);
  assert.equal(root.isLeaf, true);
  assert.deepEqual(root.samples.map((s) => s.toString('hex')), Array(6).fill('01' + '00'.repeat(16)));
  assert.equal((t.db.prepare('SELECT count(*) AS n FROM ptree_node').get() as { n: number }).n, 1);
  full.db.close();
  t.db.close();
});

test('a leaf splits only above the threshold and nodes below a leaf are computed from its elements', () => {
  const t = openTree();
  // All digests share the first byte 0x00, so every split goes down the '00' path.
  const ds = Array.from({ length: PTREE_SPLIT_THRESHOLD + 1 }, () => {
    const b = randomBytes(16);
    b[0] = 0;
    return b;
  });
  t.db.transaction(() => t.tree.insertMany(ds.slice(0, PTREE_SPLIT_THRESHOLD)))();
  assert.equal(t.tree.node('')!.isLeaf, true);
  const below = t.tree.node('0000')!;
  assert.equal(below.numElements, PTREE_SPLIT_THRESHOLD, 'computed node below the root leaf');
  assert.equal(t.tree.node('01')!.numElements, 0);
  t.tree.insert(ds[PTREE_SPLIT_THRESHOLD]!);
  assert.equal(t.tree.node('')!.isLeaf, false);
  assert.equal(t.tree.node('00')!.isLeaf, false, 'all 51 share 8 leading zero bits, so the split goes deeper');
  assert.equal(t.tree.node('00000000')!.numElements, PTREE_SPLIT_THRESHOLD + 1);
  assert.deepEqual(t.tree.verify(), []);
  assert.equal(t.tree.node('0x'), undefined);
  assert.throws(() => t.tree.insert(Buffer.alloc(15)), /16-byte digest/);
  t.db.close();
});

test('a failed transaction leaves the tree as it was', () => {
  const t = openTree();
  t.tree.rebuild(DEBIAN_DIGESTS.slice(0, 100));
  const before = dumpNodes(t.db);
  assert.throws(() => t.db.transaction(() => {
    t.tree.insertMany(DEBIAN_DIGESTS.slice(100));
    throw new Error('key write failed');
  })());
  assert.equal(dumpNodes(t.db), before);
  assert.equal(t.tree.size(), 100);
  t.db.close();
});
