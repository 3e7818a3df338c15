// Two of our servers (each: key store + sks-db + sks-recon) reconcile debian-keyring subsets to the union, as our
// server does with SKS in sks-interop.test.ts: one initiating, the other initiating, and on their own by gossip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { keyBlocks, DEBIAN_KEYRING } from './support/keyrings.js';
import { debianDigests } from '../packages/sks-recon/test/helpers.js';
import { startOurs, waitFor, type Ours } from './support/recon-ours.js';
import type { Settings } from '../packages/keystore/src/index.js';

const BLOCKS = keyBlocks(readFileSync(DEBIAN_KEYRING));
/** SKS's own digest of each keyring key (the spec's vectors). */
const DIGEST = debianDigests().map((d) => d.toString('hex'));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const COMMON = range(0, 300);

async function pair(onlyA: number[], onlyB: number[], settings: Partial<Settings> = {}): Promise<[Ours, Ours]> {
  const keys = (idx: number[]) => Buffer.concat(idx.map((i) => BLOCKS[i]!));
  const a = await startOurs({ keys: keys([...COMMON, ...onlyA]), settings });
  const b = await startOurs({ keys: keys([...COMMON, ...onlyB]), peers: [{ host: '127.0.0.1', port: a.reconPort }], settings });
  await a.setPeers([{ host: '127.0.0.1', port: b.reconPort }]);
  return [a, b];
}

function expectUnion(a: Ours, b: Ours, onlyA: number[], onlyB: number[]): void {
  const union = [...COMMON, ...onlyA, ...onlyB].map((i) => DIGEST[i]!).sort();
  assert.deepEqual([...a.digestSet()].sort(), union, 'A holds the union');
  assert.deepEqual([...b.digestSet()].sort(), union, 'B holds the union');
  assert.equal(a.recon.server.tree.verify().length, 0, 'A\'s prefix tree matches its keys');
  assert.equal(b.recon.server.tree.verify().length, 0, 'B\'s prefix tree matches its keys');
}

for (const c of [
  { name: '1 key, A initiates', onlyA: [300], onlyB: [] as number[], initiator: 'a' },
  { name: '50 keys (25 each way), B initiates', onlyA: range(301, 25), onlyB: range(326, 25), initiator: 'b' },
  { name: '400 keys (200 each way), A initiates: SyncFail, then full lists', onlyA: range(351, 200), onlyB: range(551, 200), initiator: 'a' },
  // B's nodes hold 150 or more keys where A's hold far fewer: A cannot recover and answers with full element lists.
  { name: '360 keys (10 + 350), A initiates: the walker lists its leaves', onlyA: range(351, 10), onlyB: range(361, 350), initiator: 'a', fallback: true },
]) {
  test(`two of our servers end with the union: ${c.name}`, async (t) => {
    const [a, b] = await pair(c.onlyA, c.onlyB);
    try {
      const [from, to] = c.initiator === 'a' ? [a, b] : [b, a];
      const s = await from.recon.server.syncWith({ host: '127.0.0.1', port: to.reconPort });
      assert.equal(s.ok, true, s.error);
      assert.equal(s.role, 'initiator');
      // The accepting side fetches after its walk; its summary comes when it is done.
      await waitFor('the acceptor to finish', () => to.sessions.some((x) => x.role === 'acceptor'));
      const acc = to.sessions.find((x) => x.role === 'acceptor')!;
      assert.equal(acc.ok, true, acc.error);
      const [onlyFrom, onlyTo] = c.initiator === 'a' ? [c.onlyA, c.onlyB] : [c.onlyB, c.onlyA];
      assert.equal(s.stored, onlyTo.length, 'the initiator stored what only the acceptor had');
      assert.equal(acc.stored, onlyFrom.length, 'the acceptor stored what only the initiator had');
      t.diagnostic(JSON.stringify({ ms: s.ms, bytesIn: s.bytesIn, bytesOut: s.bytesOut, sent: s.sent, received: s.received }));
      expectUnion(a, b, c.onlyA, c.onlyB);
      if (c.onlyA.length + c.onlyB.length > 10) assert.ok((s.sent?.SyncFail ?? 0) > 0, 'the root was too different to recover');
      if ('fallback' in c) {
        // Where recovery fails under a node the walker still splits, the answerer says SyncFail rather than sending
        // its full element list (a Hockeypuck walker never sends the reply that list asks for): the walker lists
        // its leaves in ReconRqst_Full instead.
        assert.equal(s.sent?.FullElements ?? 0, 0, 'no full element list for a walker node with children');
        assert.ok((s.received?.ReconRqstFull ?? 0) > 0, 'the walker listed its leaves');
      }
    } finally {
      await a.stop();
      await b.stop();
    }
  });
}

test('with gossip on, two servers find each other and converge on their own (gossip_interval_s)', async () => {
  const onlyA = range(800, 20);
  const onlyB = range(820, 30);
  const [a, b] = await pair(onlyA, onlyB, { disable_gossip: false, gossip_interval_s: 1 });
  try {
    await waitFor('both to hold the union', () => a.store.count() === 350 && b.store.count() === 350, 30_000);
    expectUnion(a, b, onlyA, onlyB);
    const initiated = [...a.sessions, ...b.sessions].filter((s) => s.role === 'initiator' && s.ok);
    assert.ok(initiated.length >= 1, 'a gossip round ran without anyone asking');
  } finally {
    await a.stop();
    await b.stop();
  }
});
