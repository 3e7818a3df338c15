// Recon profiles across processes (issue 13): servers of ours announcing Hockeypuck 2.3's Config and reconciling
// its digests, the captured Config of a real Hockeypuck 2.3 accepted or refused by a member's profile, and the
// bridge no existing server can be: real SKS 1.1.6 <-> ours (sks and hockeypuck) <-> ours as Hockeypuck, where a key
// added at either end reaches the other and nothing is fetched twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { writeKeySubset, DEBIAN_KEYRING } from './support/keyrings.js';
import { fixturePath } from './support/fixtures.js';
import { debianKeyringAsHockeypuck } from './support/hockeypuck-vectors.js';
import { makeTempDir } from './support/tmp.js';
import { startSks, sksGetDigest } from './support/sks.js';
import { startOurs, waitFor, type Ours } from './support/recon-ours.js';
import { fingerprintOf, readPackets, sksDigest, toBinary, type Settings } from '../packages/keystore/src/index.js';
import type { SessionSummary } from '../packages/sks-recon/src/server.js';
import { encodeMessage, intString } from '../packages/sks-recon/src/messages.js';

const DEBIAN = debianKeyringAsHockeypuck();
const { blocks: BLOCKS, fingerprints: FPR, digests: HP, kept: KEPT, changed: CHANGED } = DEBIAN;
const HOCKEYPUCK_ONLY: Partial<Settings> = { recon_profiles: ['hockeypuck'] };
const BOTH: Partial<Settings> = { recon_profiles: ['sks', 'hockeypuck'] };

const keys = (idx: number[]) => Buffer.concat(idx.map((i) => BLOCKS[i]!));
const hpSet = (idx: number[]) => idx.map((i) => HP[i]!).sort();

function fetchedTotal(sessions: SessionSummary[]): number {
  return sessions.reduce((n, s) => n + s.fetched, 0);
}

const COMMON = KEPT.filter((i) => !CHANGED.includes(i)).slice(0, 250);
const SPARE = KEPT.filter((i) => !COMMON.includes(i));

for (const c of [
  { name: '1 key', onlyA: SPARE.slice(0, 1), onlyB: [] as number[] },
  { name: '50 keys (25 each way), changed by Hockeypuck\'s normalisation', onlyA: CHANGED.slice(0, 25), onlyB: CHANGED.slice(25, 50) },
  { name: '400 keys (200 each way): more than can be recovered at the root', onlyA: SPARE.slice(60, 260), onlyB: SPARE.slice(260, 460) },
]) {
  test(`two servers of ours with the hockeypuck profile end with the union of Hockeypuck's digests: ${c.name}`, async () => {
    const a = await startOurs({ keys: keys([...COMMON, ...c.onlyA]), settings: HOCKEYPUCK_ONLY });
    const b = await startOurs({ keys: keys([...COMMON, ...c.onlyB]), settings: HOCKEYPUCK_ONLY, peers: [{ host: '127.0.0.1', port: a.reconPort }] });
    try {
      await a.setPeers([{ host: '127.0.0.1', port: b.reconPort }]);
      assert.deepEqual([...a.digestSet('hockeypuck')].sort(), hpSet([...COMMON, ...c.onlyA]), 'A holds Hockeypuck 2.3\'s digests of its keys');
      const s = await a.recon.server.syncWith({ host: '127.0.0.1', port: b.reconPort });
      assert.equal(s.ok, true, s.error);
      assert.equal(s.profile, 'hockeypuck');
      await waitFor('the acceptor to finish', () => b.sessions.some((x) => x.role === 'acceptor'));
      const union = hpSet([...COMMON, ...c.onlyA, ...c.onlyB]);
      await waitFor('both to hold the union', () => a.digestSet('hockeypuck').size === union.length && b.digestSet('hockeypuck').size === union.length, 30_000);
      assert.deepEqual([...a.digestSet('hockeypuck')].sort(), union);
      assert.deepEqual([...b.digestSet('hockeypuck')].sort(), union);
      assert.deepEqual(a.store.reconViewOf('hockeypuck').verify(), []);
      assert.deepEqual(b.store.reconViewOf('hockeypuck').verify(), []);
      // each fetched exactly what it lacked, once; another round finds nothing to do
      assert.equal(fetchedTotal(a.sessions), c.onlyB.length);
      assert.equal(fetchedTotal(b.sessions), c.onlyA.length);
      const again = await b.recon.server.syncWith({ host: '127.0.0.1', port: a.reconPort });
      assert.equal(again.ok, true, again.error);
      assert.equal(again.recovered, 0);
      await waitFor('the second acceptor to finish', () => a.sessions.filter((x) => x.role === 'acceptor').length === 1);
      assert.equal(a.sessions.find((x) => x.role === 'acceptor')!.recovered, 0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
}

/** The captured Config of a real Hockeypuck 2.3 (test/fixtures/recon/captures/hockeypuck-2.3-config.md). */
function capturedConfig(): Buffer {
  const md = readFileSync(fixturePath('recon/captures/hockeypuck-2.3-config.md'), 'utf8');
  const hex = /## Raw bytes[^\n]*\n\n```\n([0-9a-f\n]+)```/.exec(md)![1]!.replace(/\n/g, '');
  return Buffer.from(hex, 'hex');
}

/** Connects to a recon port as a peer sending `config`; returns the peer's Config pairs and its verdict. */
async function replayConfig(port: number, config: Buffer): Promise<{ pairs: Map<string, string>; verdict: string; reason?: string }> {
  const sock = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  sock.on('data', (d: Buffer) => chunks.push(d));
  await new Promise<void>((r) => sock.once('connect', () => r()));
  sock.write(config);
  const have = () => Buffer.concat(chunks);
  const str = (b: Buffer, o: number): [string, number] => {
    const n = b.readUInt32BE(o);
    return [b.subarray(o + 4, o + 4 + n).toString('latin1'), o + 4 + n];
  };
  // our Config message, then our verdict string
  await waitFor('the Config and verdict', () => {
    const b = have();
    if (b.length < 4) return false;
    const end = 4 + b.readUInt32BE(0);
    return b.length >= end + 4 && b.length >= end + 4 + b.readUInt32BE(end);
  }, 10_000);
  const b = have();
  const len = b.readUInt32BE(0);
  assert.equal(b[4], 10, 'a Config message');
  const count = b.readUInt32BE(5);
  const pairs = new Map<string, string>();
  let o = 9;
  for (let i = 0; i < count; i++) {
    const [k, o1] = str(b, o);
    let v: string;
    [v, o] = str(b, o1);
    pairs.set(k, v);
  }
  assert.equal(o, 4 + len);
  const [verdict, o2] = str(b, o);
  let reason: string | undefined;
  if (verdict === 'failed') {
    await waitFor('the reason', () => have().length >= o2 + 4 && have().length >= o2 + 4 + have().readUInt32BE(o2), 10_000);
    reason = str(have(), o2)[0];
  }
  sock.destroy();
  return { pairs, verdict, reason };
}

test('with both profiles, HKP clients get only verified packets: the key Hockeypuck refuses is not served, hget takes either digest', async () => {
  const refusedIndex = FPR.findIndex((f) => f === DEBIAN.refused[0]!.fingerprint);
  const changed = CHANGED[0]!;
  const ours = await startOurs({ keys: keys([refusedIndex, changed]), settings: BOTH });
  try {
    const base = `http://127.0.0.1:${ours.hkpPort}/pks/lookup`;
    const get = async (q: string) => {
      const r = await fetch(`${base}?${q}`);
      return { status: r.status, body: await r.text() };
    };
    assert.equal((await get(`op=get&search=0x${FPR[refusedIndex]}`)).status, 404, 'no valid self-signature: not served');
    const served = await get(`op=get&options=mr&search=0x${FPR[changed]}`);
    assert.equal(served.status, 200);
    const key = toBinary(served.body);
    assert.equal(sksDigest(readPackets(key)).toString('hex'), HP[changed], 'served exactly as Hockeypuck 2.3 serves it');
    assert.equal((await get(`op=hget&search=${HP[changed]}`)).status, 200);
    const sksDigestOfStored = [...ours.store.digests('sks')].map((d) => d.toString('hex'))
      .find((d) => fingerprintOf(readPackets(ours.store.keyForPeer(d)!)[0]!.body) === FPR[changed])!;
    const byOther = await get(`op=hget&options=mr&search=${sksDigestOfStored}`);
    assert.equal(byOther.status, 200);
    assert.equal(sksDigest(readPackets(toBinary(byOther.body))).toString('hex'), HP[changed], 'by the sks digest too, in the verified form');
  } finally {
    await ours.stop();
  }
});

test('a member of the hockeypuck profile is answered with Hockeypuck 2.3\'s own Config and passed; one of the sks profile is refused', async () => {
  const ours = await startOurs({ keys: keys(COMMON.slice(0, 20)), settings: BOTH, peers: [{ host: '127.0.0.1', port: 1, profile: 'hockeypuck' }] });
  try {
    const hp = await replayConfig(ours.reconPort, capturedConfig());
    assert.equal(hp.verdict, 'passed');
    assert.equal(hp.pairs.get('filters'), DEBIAN.filters, 'we announce exactly Hockeypuck 2.3\'s filters');
    assert.equal(hp.pairs.get('version'), '1.1.6');
    await ours.setPeers([{ host: '127.0.0.1', port: 1, profile: 'sks' }]);
    const sks = await replayConfig(ours.reconPort, capturedConfig());
    assert.equal(sks.verdict, 'failed');
    assert.equal(sks.pairs.get('filters'), 'yminsky.dedup,yminsky.merge');
    assert.match(sks.reason ?? '', /filters do not match/);
  } finally {
    await ours.stop();
  }
});

test('members of both profiles at one address: each caller is answered in the profile its Config announces', async () => {
  const extra = SPARE.slice(0, 2);
  const bridge = await startOurs({ keys: keys(COMMON.slice(0, 20)), settings: BOTH });
  const sksPeer = await startOurs({ keys: keys([...COMMON.slice(0, 20), extra[0]!]) });
  const hpPeer = await startOurs({ keys: keys([...COMMON.slice(0, 20), extra[1]!]), settings: HOCKEYPUCK_ONLY });
  try {
    // SKS and Hockeypuck on one host: both members are 127.0.0.1, and the hockeypuck one is listed first.
    await bridge.setPeers([
      { host: '127.0.0.1', port: hpPeer.reconPort, profile: 'hockeypuck' },
      { host: '127.0.0.1', port: sksPeer.reconPort, profile: 'sks' },
    ]);
    const hp = await replayConfig(bridge.reconPort, capturedConfig());
    assert.equal(hp.verdict, 'passed');
    assert.equal(hp.pairs.get('filters'), DEBIAN.filters);
    const sksConfig = encodeMessage({ type: 'Config', pairs: [
      ['bitquantum', intString(2)], ['filters', 'yminsky.merge,yminsky.dedup'], ['http port', intString(11371)],
      ['mbar', intString(5)], ['version', '1.1.6'],
    ] });
    const sks = await replayConfig(bridge.reconPort, sksConfig);
    assert.equal(sks.verdict, 'passed', sks.reason);
    assert.equal(sks.pairs.get('filters'), 'yminsky.dedup,yminsky.merge', 'answered in the sks profile');
    const other = encodeMessage({ type: 'Config', pairs: [
      ['bitquantum', intString(2)], ['filters', 'yminsky.dedup,yminsky.merge,other.filter'], ['http port', intString(11371)],
      ['mbar', intString(5)], ['version', '1.1.6'],
    ] });
    const refused = await replayConfig(bridge.reconPort, other);
    assert.equal(refused.verdict, 'failed');
    assert.equal(refused.pairs.get('filters'), DEBIAN.filters, 'a Config of neither profile is answered in the first member\'s');
    assert.match(refused.reason ?? '', /filters do not match/);
    // the three replayed sessions end (one session per address at a time); then real sessions, both started from
    // 127.0.0.1: each reconciles its own profile's set
    await waitFor('the replayed sessions to end', () => bridge.sessions.length === 3);
    assert.deepEqual(bridge.sessions.map((x) => x.profile), ['hockeypuck', 'sks', 'hockeypuck']);
    for (const [peer, profile, index] of [[sksPeer, 'sks', extra[0]!], [hpPeer, 'hockeypuck', extra[1]!]] as const) {
      const seen = bridge.sessions.length;
      const s = await peer.recon.server.syncWith({ host: '127.0.0.1', port: bridge.reconPort, profile });
      assert.equal(s.ok, true, s.error);
      await waitFor(`the bridge's ${profile} session to finish`, () => bridge.sessions.length > seen);
      const accepted = bridge.sessions[seen]!;
      assert.equal(accepted.profile, profile);
      assert.equal(accepted.ok, true, accepted.error);
      assert.equal(accepted.fetched, 1, `the bridge fetched the ${profile} peer's one new key`);
      await waitFor('the key to be stored', () => bridge.store.getByFingerprint(FPR[index]!) !== undefined);
    }
    assert.equal(bridge.store.count(), 22);
  } finally {
    await hpPeer.stop();
    await sksPeer.stop();
    await bridge.stop();
  }
});

test('SKS 1.1.6 <-> ours (sks and hockeypuck) <-> ours as Hockeypuck: a key added at either end reaches the other, fetched once', async () => {
  const dir = makeTempDir('recon-bridge-');
  const base = COMMON.slice(0, 150);
  const atSks = CHANGED.slice(0, 5);
  const atHockeypuck = CHANGED.slice(5, 10);
  const sks = await startSks({
    keyFiles: [writeKeySubset(DEBIAN_KEYRING, [...base, ...atSks], `${dir}/sks.gpg`)],
    membership: [{ host: '127.0.0.1', port: 1 }],
    extraConf: 'hostname: 127.0.0.2',
  });
  const bridge = await startOurs({ keys: keys(base), settings: BOTH });
  // The bridge tells its peers' profiles apart by address when they call: the Hockeypuck side lives on 127.0.0.3.
  const hockeypuck = await startOurs({ keys: keys([...base, ...atHockeypuck]),
    settings: { ...HOCKEYPUCK_ONLY, recon_address: ['127.0.0.3'], hkp_address: ['127.0.0.3'] },
    peers: [{ host: '127.0.0.1', port: bridge.reconPort, profile: 'hockeypuck' }] });
  try {
    await bridge.setPeers([
      { host: '127.0.0.1', port: sks.reconPort, profile: 'sks' },
      { host: '127.0.0.3', port: hockeypuck.reconPort, profile: 'hockeypuck' },
    ]);
    const sksSession = () => waitFor('a session with SKS', async () => (await bridge.recon.server.syncWith({ host: '127.0.0.1', port: sks.reconPort, profile: 'sks' })).ok);
    // 1. the bridge learns SKS's keys; 2. the Hockeypuck side and the bridge swap theirs; 3. SKS learns the bridge's
    await sksSession();
    await waitFor('the bridge to hold SKS\'s keys', () => bridge.store.count() === base.length + atSks.length);
    const s = await hockeypuck.recon.server.syncWith({ host: '127.0.0.1', port: bridge.reconPort });
    assert.equal(s.ok, true, s.error);
    await waitFor('both sides of the hockeypuck session to finish',
      () => bridge.sessions.some((x) => x.role === 'acceptor' && x.profile === 'hockeypuck'));
    const all = [...base, ...atSks, ...atHockeypuck];
    assert.deepEqual([...hockeypuck.digestSet('hockeypuck')].sort(), hpSet(all), 'the Hockeypuck side holds Hockeypuck 2.3\'s digests of every key');
    assert.deepEqual([...bridge.digestSet('hockeypuck')].sort(), hpSet(all));
    // what SKS gets of a key that came from the Hockeypuck side: the bridge's sks form of it
    const expectAtSks = atHockeypuck.map((i) => bridge.store.getByFingerprint(FPR[i]!)!).map((k) => k.fingerprint);
    const sksDigests = expectAtSks.map((f) => {
      const d = [...bridge.store.digests('sks')].find((x) => {
        const key = bridge.store.keyForPeer(x.toString('hex'));
        return key !== undefined && fingerprintOf(readPackets(key)[0]!.body) === f;
      });
      assert.ok(d, `the bridge holds ${f} in its sks set`);
      assert.equal(sksDigest(readPackets(bridge.store.keyForPeer(d.toString('hex'))!)).toString('hex'), d.toString('hex'));
      return d.toString('hex');
    });
    await sksSession();
    await waitFor('SKS to fetch the keys from the Hockeypuck side', async () => {
      for (const d of sksDigests) if (!(await sksGetDigest(sks.hkpUrl, d))) return false;
      return true;
    }, 90_000);
    // nothing is fetched twice: every later session of either profile finds nothing missing
    const fetchedBefore = fetchedTotal(bridge.sessions) + fetchedTotal(hockeypuck.sessions);
    await sksSession();
    const again = await hockeypuck.recon.server.syncWith({ host: '127.0.0.1', port: bridge.reconPort });
    assert.equal(again.ok, true, again.error);
    assert.equal(again.recovered, 0);
    const last = bridge.sessions.filter((x) => x.ok && x.profile === 'sks').at(-1)!;
    assert.equal(last.recovered, 0, 'the bridge lacks nothing of SKS');
    assert.equal(fetchedTotal(bridge.sessions) + fetchedTotal(hockeypuck.sessions), fetchedBefore);
    assert.equal(fetchedTotal(hockeypuck.sessions), atSks.length, 'the Hockeypuck side fetched each key of SKS once');
    assert.equal(bridge.sessions.filter((x) => x.profile === 'hockeypuck').reduce((n, x) => n + x.fetched, 0), atHockeypuck.length);
  } finally {
    await hockeypuck.stop();
    await bridge.stop();
    await sks.stop();
  }
});
