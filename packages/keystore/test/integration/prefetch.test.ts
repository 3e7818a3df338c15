// upsertPrefetched (sqlite/prefetch.ts): the batch's index pages are read by threads of their own before the write,
// so a write on a store that is not in the file cache does not read them from disk one at a time; and the outcome of
// the batch is that of upsert(). The pages are dropped from the file cache with dd's nocache flag, and what the
// writing thread read from disk is its own line of /proc (/proc/self/task/<tid>/io; the main thread's tid is the pid).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { KeyStore, TAG, readPackets, splitKeys, type Logger, type Packet, type WriteOutcome } from '../../src/index.js';
import { PagePrefetcher } from '../../src/store/sqlite/prefetch.js';
import { generateDump } from '../../../sks-admin/src/gen.js';
import { keyBlocks } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';

const STORED = 20_000;
const NEW = 100;
let base: string;
let batch: Packet[][];

/** Bytes this thread read from the disk so far (page-cache hits count nothing). */
function diskReadBytes(): number {
  const io = readFileSync(`/proc/self/task/${process.pid}/io`, 'utf8');
  return Number(/^read_bytes: (\d+)$/m.exec(io)![1]);
}

/** Drops a file's pages from the file cache (what is on disk; hence the fdatasync). */
function dropFromCache(file: string): void {
  const r = spawnSync('dd', [`of=${file}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
  assert.equal(r.status, 0, String(r.stderr));
}

/** The key without its subkeys (the packets before the first subkey). */
function withoutSubkeys(block: Packet[]): Packet[] {
  const at = block.findIndex((p) => p.tag === TAG.PUBLIC_SUBKEY);
  return at > 0 ? block.slice(0, at) : block;
}

before(async () => {
  const dump = makeTempDir('prefetch-dump-');
  const m = await generateDump(dump, { keys: STORED + NEW, seed: 'prefetch-test', flooded: 0, floodCerts: 0, dups: 0, keysPerFile: 50_000 }, { workers: 2 });
  const blocks = m.files.flatMap((f) => keyBlocks(readFileSync(join(dump, f)))).map((b) => splitKeys(readPackets(b))[0]!);
  assert.equal(blocks.length, STORED + NEW);
  const withSub = blocks.findIndex((b, i) => i < STORED && withoutSubkeys(b).length < b.length);
  assert.ok(withSub >= 0, 'the dump has a key with a subkey');
  base = join(makeTempDir('prefetch-base-'), 'keys.sqlite');
  const store = KeyStore.open(base, { bulkLoad: true });
  store.loadKeyBlocks(blocks.slice(0, STORED).map((b, i) => (i === withSub ? withoutSubkeys(b) : b)));
  store.endBulkLoad();
  store.checkpoint();
  store.close();
  // new keys, one that gains its subkey (updated), one as stored (unchanged), one without a primary key (refused)
  batch = [...blocks.slice(STORED), blocks[withSub]!, blocks[withSub + 1]!, blocks[0]!.filter((p) => p.tag === TAG.USER_ID)];
});

/** Writes the batch into a copy of the base store with `threads` prefetch threads, its file dropped from the cache
 * first; what the writing thread read from disk meanwhile, and the outcomes and digests afterwards. */
async function writeCold(threads: number) {
  const file = join(makeTempDir('prefetch-run-'), 'keys.sqlite');
  copyFileSync(base, file);
  const store = KeyStore.open(file, { prefetchThreads: threads });
  try {
    dropFromCache(file);
    const before = diskReadBytes();
    const outcomes = await store.upsertPrefetched(batch, 'recon');
    const read = diskReadBytes() - before;
    return { read, outcomes, digests: [...store.digests()].map((d) => d.toString('hex')).sort(), tree: store.reconView.verify(), count: store.count() };
  } finally {
    store.close();
  }
}

const summary = (o: WriteOutcome) => `${o.status} ${o.fingerprint ?? ''} ${o.digest ?? ''} ${o.reason ?? ''}`;

test('a prefetched batch write reads a fraction of its pages from disk itself, with the outcome of a plain one', async (t) => {
  const plain = await writeCold(0);
  const prefetched = await writeCold(4);
  // same outcomes, same store afterwards
  assert.deepEqual(prefetched.outcomes.map(summary), plain.outcomes.map(summary));
  assert.deepEqual(plain.outcomes.map((o) => o.status), [...Array(NEW).fill('inserted'), 'updated', 'unchanged', 'rejected']);
  assert.deepEqual(prefetched.digests, plain.digests);
  assert.equal(prefetched.count, STORED + NEW);
  assert.deepEqual(prefetched.tree, []);
  if (plain.read === 0) {
    t.skip('this filesystem kept the file in memory (dd nocache dropped nothing): nothing to compare');
    return;
  }
  t.diagnostic(`read from disk by the writing thread: ${plain.read >> 10} KiB plain, ${prefetched.read >> 10} KiB prefetched`);
  // about eight 16 KiB pages a new key without prefetching
  assert.ok(plain.read >= NEW * 16384, `the plain write read ${plain.read} bytes: the store was not cold`);
  // What the writer still reads itself: the tables' last pages it appends to, the neighbours of the index leaves
  // it splits (a bulk load packs its index pages full, so a fresh store's first inserts split them), and what the
  // kernel's read-ahead around those brings in. Measured: 1.0-2.0 of 3.9 MiB; the same 3.9 without the threads.
  assert.ok(prefetched.read * 4 < plain.read * 3, `prefetched ${prefetched.read} bytes, plain ${plain.read}`);
});

test('prefetch threads that cannot read the store stop prefetching, warn once, and hold up no write', async () => {
  const warnings: string[] = [];
  const logger = { warn: (msg: string) => warnings.push(msg) } as unknown as Logger;
  const prefetcher = new PagePrefetcher(join(makeTempDir('prefetch-none-'), 'absent.sqlite'), 2, logger);
  const probe = { fingerprint: new Uint8Array(20), digest: new Uint8Array(16), shortIds: [1], emails: ['a@example.org'], trees: [] };
  try {
    await prefetcher.warm([probe, probe, probe]);
    await prefetcher.warm([probe]);
    assert.deepEqual(warnings, ['prefetch threads stopped; writes read their pages themselves']);
  } finally {
    prefetcher.close();
  }
});
