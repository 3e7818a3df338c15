// Hockeypuck 2.1-2.3, walking its tree in a session we initiated, answers our FullElements by queueing its Elements
// reply (the keys we lack) and then ends the session without sending it (seen against a real Hockeypuck 2.1: 12 of
// 30 of its keys never reached us in 35-73 sessions). A walker that behaves exactly so is played here against our
// answerer: every key it holds that we lack must still reach us, in one session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { zzp, type PrefixTree } from '@sks/keystore';
import { Channel } from '../src/channel.js';
import { answer, exchangeConfig, FULL_THRESHOLD, type SessionConfig } from '../src/session.js';
import { socketPair, treeOf } from './helpers.js';

const LIMITS = { maxMessageBytes: 8 << 20, readTimeoutMs: 10_000 };
const CFG: SessionConfig = {
  httpPort: 11371, filters: 'yminsky.dedup,yminsky.merge', maxRecover: 100_000, configTimeoutMs: 10_000, readTimeoutMs: 10_000,
};

/** SKS's walk (SPEC §4) with Hockeypuck's flaw: the Elements it owes after a FullElements answer is never sent. */
async function hockeypuckWalk(ch: Channel, tree: PrefixTree): Promise<{ fullElementsAnswers: number }> {
  await exchangeConfig(ch, CFG);
  let fullElementsAnswers = 0;
  const queue = [''];
  while (queue.length > 0) {
    const prefix = queue.shift()!;
    const node = tree.nodeValues(prefix)!;
    const full = node.isLeaf || node.numElements < FULL_THRESHOLD;
    ch.sendMessage(full
      ? { type: 'ReconRqstFull', prefix, elements: tree.elements(prefix).map((d) => zzp.digestToZ(d)) }
      : { type: 'ReconRqstPoly', prefix, size: node.numElements, samples: node.values });
    ch.sendMessage({ type: 'Flush' });
    const reply = await ch.readMessage();
    if (reply.type === 'SyncFail') for (const c of ['00', '01', '10', '11']) queue.push(prefix + c);
    else if (reply.type === 'FullElements') fullElementsAnswers++; // the Elements reply is queued, never flushed
    else assert.equal(reply.type, 'Elements');
  }
  ch.sendMessage({ type: 'Done' });
  return { fullElementsAnswers };
}

test('keys only a Hockeypuck-style walker holds reach us, though it never sends the Elements it owes', async () => {
  // 120 shared keys under each 4-bit prefix, and 40 keys we lack under '0000': no node on their path can be recovered
  // by interpolation, and under '0000' our node (120 keys) is below SKS's full-list size while the walker's (160)
  // still has children, the case where SKS's answerer sends FullElements.
  const shared = Array.from({ length: 16 * 120 }, (_, i) => {
    const d = randomBytes(16);
    d[0] = (i % 16 << 4) | (d[0]! & 0x0f);
    return d;
  });
  const theirs = Array.from({ length: 40 }, () => {
    const d = randomBytes(16);
    d[0] = d[0]! & 0x0f;
    return d;
  });
  const ours = treeOf(shared);
  const peer = treeOf([...shared, ...theirs]);
  const [a, b] = await socketPair();
  try {
    const [res, walked] = await Promise.all([
      answer(new Channel(a, LIMITS), ours.tree, CFG),
      hockeypuckWalk(new Channel(b, LIMITS), peer.tree),
    ]);
    assert.equal(walked.fullElementsAnswers, 0, 'we never answered with FullElements where the walker has children');
    assert.deepEqual(new Set(res.missing.map((d) => d.toString('hex'))), new Set(theirs.map((d) => d.toString('hex'))));
  } finally {
    a.destroy();
    b.destroy();
    ours.db.close();
    peer.db.close();
  }
});
