// Both protocol roles: replayed against the bytes of a real SKS session, and against each other over TCP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { zzp } from '@sks/keystore';
import { Channel } from '../src/channel.js';
import { answer, walk, type SessionConfig } from '../src/session.js';
import { decodeBody, splitFrames, parseIntString, type ReconMessage } from '../src/messages.js';
import { reconcile, ratio } from '../src/decode.js';
import { CAPTURES, collect, debianDigests, socketPair, treeOf } from './helpers.js';

const LIMITS = { maxMessageBytes: 8 << 20, readTimeoutMs: 10_000 };

function cfg(httpPort: number): SessionConfig {
  return { httpPort, filters: 'yminsky.dedup,yminsky.merge', maxRecover: 100_000, configTimeoutMs: 10_000, readTimeoutMs: 10_000 };
}

function capture(name: string): { bytes: Buffer; messages: ReconMessage[]; httpPort: number } {
  const bytes = readFileSync(join(CAPTURES, name));
  const frames = splitFrames(bytes);
  const messages = frames.filter((_, i) => i !== 1).map((f) => decodeBody(f));
  const config = messages[0] as Extract<ReconMessage, { type: 'Config' }>;
  return { bytes, messages, httpPort: parseIntString(new Map(config.pairs).get('http port'))! };
}

const S2C = capture('01-A-initiates-to-B-initial-diff54.s2c.bin'); // B, the acceptor, walking
const C2S = capture('01-A-initiates-to-B-initial-diff54.c2s.bin'); // A, the initiator, answering
/** B's whole set: its 16 ReconRqst_Full requests list every element it had. */
const B_SET = S2C.messages.flatMap((m) => (m.type === 'ReconRqstFull' ? m.elements : []));
/** What A told B it lacked. */
const A_EXTRA = C2S.messages.flatMap((m) => (m.type === 'Elements' ? m.elements : []));

test('as the walker, holding B\'s keys, we send exactly the bytes SKS sent', async () => {
  assert.equal(B_SET.length, 1322);
  const { db, tree } = treeOf(B_SET.map((x) => zzp.zToDigest(x)));
  const [ours, peer] = await socketPair();
  const received = collect(peer);
  peer.write(C2S.bytes); // SKS A's whole side, including its answers, queued up front
  const res = await walk(new Channel(ours, LIMITS), tree, cfg(S2C.httpPort));
  ours.end();
  peer.end();
  const sent = await received;
  assert.ok(sent.equals(S2C.bytes), 'walker output equals the captured SKS walker stream byte for byte');
  assert.equal(res.missing.length, 54);
  assert.deepEqual(new Set(res.missing.map((d) => d.toString('hex'))), new Set(A_EXTRA.map((x) => zzp.zToDigest(x).toString('hex'))));
  assert.equal(res.peerHttpPort, C2S.httpPort);
  db.close();
});

test('as the answerer, holding A\'s side of the capture, we answer exactly as SKS did', async () => {
  // A's extras are known (its Elements answers). SKS answered SyncFail at '10' although A had only 5 extras there,
  // so A also lacked at least one of B's elements under '10': drop one, as A's set must have.
  const lacking = B_SET.find((x) => zzp.zToDigest(x)[0]! >> 6 === 0b10)!;
  const aSet = [...B_SET.filter((x) => x !== lacking), ...A_EXTRA];
  const { db, tree } = treeOf(aSet.map((x) => zzp.zToDigest(x)));
  const [ours, peer] = await socketPair();
  const received = collect(peer);
  peer.write(S2C.bytes);
  const res = await answer(new Channel(ours, LIMITS), tree, cfg(C2S.httpPort));
  ours.end();
  peer.end();
  const sent = await received;
  assert.ok(sent.equals(C2S.bytes), 'answerer output equals the captured SKS answerer stream byte for byte');
  assert.deepEqual(res.missing.map((d) => d.toString('hex')), [zzp.zToDigest(lacking).toString('hex')]);
  db.close();
});

test('recovery finds small differences from the sample values alone and refuses large ones', () => {
  const base = debianDigests().slice(0, 200);
  const onlyRemote = Array.from({ length: 3 }, () => randomBytes(16));
  const onlyLocal = Array.from({ length: 2 }, () => randomBytes(16));
  const remote = treeOf([...base, ...onlyRemote]);
  const local = treeOf([...base, ...onlyLocal]);
  const r = remote.tree.nodeValues('')!;
  const l = local.tree.nodeValues('')!;
  const got = reconcile(ratio(r.values, l.values), zzp.SAMPLE_POINTS, r.numElements - l.numElements)!;
  assert.ok(got, 'a difference of 5 is recoverable with mbar 5');
  const hex = (xs: bigint[]) => xs.map((x) => zzp.zToDigest(x).toString('hex')).sort();
  assert.deepEqual(hex(got.remoteOnly), onlyRemote.map((d) => d.toString('hex')).sort());
  assert.deepEqual(hex(got.localOnly), onlyLocal.map((d) => d.toString('hex')).sort());
  const same = reconcile(ratio(l.values, l.values), zzp.SAMPLE_POINTS, 0)!;
  assert.deepEqual(same, { remoteOnly: [], localOnly: [] });
  const big = treeOf([...base, ...Array.from({ length: 7 }, () => randomBytes(16))]);
  const b = big.tree.nodeValues('')!;
  assert.equal(reconcile(ratio(b.values, l.values), zzp.SAMPLE_POINTS, b.numElements - l.numElements), undefined,
    'a difference of 9 is not recoverable from one node');
  for (const t of [remote, local, big]) t.db.close();
});

for (const [name, onlyA, onlyB, size] of [
  ['1 key', 1, 0, 905], ['50 keys each way', 25, 25, 905], ['300 keys (SyncFail and full lists)', 300, 0, 905],
  ['an empty side', 400, 0, 0], ['equal sets', 0, 0, 905],
] as const) {
  test(`our walker and our answerer reconcile: ${name}`, async () => {
    const common = debianDigests().slice(0, size);
    const extraA = Array.from({ length: onlyA }, () => randomBytes(16));
    const extraB = Array.from({ length: onlyB }, () => randomBytes(16));
    const a = treeOf([...common, ...extraA]);
    const b = treeOf([...common, ...extraB]);
    const [sa, sb] = await socketPair();
    const [ra, rb] = await Promise.all([
      walk(new Channel(sa, LIMITS), a.tree, cfg(1)),
      answer(new Channel(sb, LIMITS), b.tree, cfg(2)),
    ]);
    sa.destroy();
    sb.destroy();
    const hex = (ds: Buffer[]) => ds.map((d) => d.toString('hex')).sort();
    assert.deepEqual(hex(ra.missing), hex(extraB), 'the walker learns what only the answerer has');
    assert.deepEqual(hex(rb.missing), hex(extraA), 'the answerer learns what only the walker has');
    assert.equal(ra.peerHttpPort, 2);
    assert.equal(rb.peerHttpPort, 1);
    a.db.close();
    b.db.close();
  });
}

test('a peer with another filter set is refused with both sides told why', async () => {
  const a = treeOf(debianDigests().slice(0, 10));
  const [sa, sb] = await socketPair();
  const other = { ...cfg(2), filters: 'yminsky.dedup,yminsky.merge,hockeypuck.drop' };
  const results = await Promise.allSettled([walk(new Channel(sa, LIMITS), a.tree, cfg(1)), answer(new Channel(sb, LIMITS), a.tree, other)]);
  sa.destroy();
  sb.destroy();
  // Each side finds the other's filters wrong, says "failed" with its reason, and ends the session.
  for (const r of results) {
    assert.equal(r.status, 'rejected');
    assert.match(String((r as PromiseRejectedResult).reason), /configuration: filters do not match/);
  }
  a.db.close();
});
