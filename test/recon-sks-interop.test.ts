// The whole loop against a real SKS 1.1.6: our server (key store + sks-db + sks-recon) and SKS start from
// different subsets of debian-keyring, reconcile, fetch what they lack from each other's /pks/hashquery, and end
// with the union and identical digest sets. One SKS instance serves every case; each case starts a fresh server of
// ours holding the SKS set of the moment minus some keys plus some SKS has never seen.
// SKS's digests are read from SKS itself (sksDigestSet: its dump and its own op=index&hash=on pages).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSks, setSksMembership, sksDigestSet, sksGetDigest, type Sks } from './support/sks.js';
import { keyBlocks, writeKeySubset, DEBIAN_KEYRING } from './support/keyrings.js';
import { makeTempDir } from './support/tmp.js';
import { debianDigests } from '../packages/sks-recon/test/helpers.js';
import { startOurs, waitFor, type Ours, type OursOptions } from './support/recon-ours.js';

const BLOCKS = keyBlocks(readFileSync(DEBIAN_KEYRING));
/** SKS's own digest of each keyring key (the spec's vectors), by keyring index. */
const DIGEST = debianDigests().map((d) => d.toString('hex'));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

let sks: Sks;
/** Keyring indexes SKS holds now. */
const sksHolds = new Set(range(0, 400));

before(async () => {
  const dir = makeTempDir('recon-interop-');
  sks = await startSks({
    keyFiles: [writeKeySubset(DEBIAN_KEYRING, [...sksHolds], `${dir}/sks.gpg`)],
    membership: [{ host: '127.0.0.1', port: 1 }],
    // SKS never gossips to a member on the address its hostname resolves to: give it another loopback name.
    // gossip_interval is in minutes (~3 s).
    extraConf: 'hostname: 127.0.0.2\ngossip_interval: 0.05',
  });
});

after(async () => {
  await sks?.stop();
});

/** A server of ours holding SKS's current keys minus `lack`, plus `extra` (keyring indexes). */
async function oursWith(lack: number[], extra: number[], o: Pick<OursOptions, 'settings' | 'peers'> = {}): Promise<Ours> {
  const without = new Set(lack);
  const idx = [...[...sksHolds].filter((i) => !without.has(i)), ...extra];
  const ours = await startOurs({
    keys: Buffer.concat(idx.map((i) => BLOCKS[i]!)),
    peers: o.peers ?? [{ host: '127.0.0.1', port: sks.reconPort }],
    ...(o.settings ? { settings: o.settings } : {}),
  });
  assert.deepEqual([...ours.digestSet()].sort(), idx.map((i) => DIGEST[i]!).sort(),
    'our store computes SKS\'s digests for the keys it loaded');
  return ours;
}

/** Waits until SKS serves every digest of `ours` by hash (it fetches in its own time), then compares the sets. */
async function assertConverged(ours: Ours, union: number[]): Promise<void> {
  const expected = union.map((i) => DIGEST[i]!).sort();
  await waitFor('our store to hold the union', () => ours.store.count() === union.length);
  assert.deepEqual([...ours.digestSet()].sort(), expected, 'we hold exactly the union');
  const fresh = union.filter((i) => !sksHolds.has(i)).map((i) => DIGEST[i]!);
  let pending = [...fresh];
  await waitFor('SKS to fetch our keys', async () => {
    const still: string[] = [];
    for (const d of pending) if (!(await sksGetDigest(sks.hkpUrl, d))) still.push(d);
    pending = still;
    return pending.length === 0;
  });
  assert.deepEqual([...(await sksDigestSet(sks))].sort(), expected, 'SKS holds exactly the union');
  for (const i of union) sksHolds.add(i);
}

async function sksInitiates(ours: Ours): Promise<void> {
  setSksMembership(sks, [{ host: '127.0.0.1', port: ours.reconPort }]);
  try {
    await waitFor('a session initiated by SKS', () => ours.sessions.some((s) => s.role === 'acceptor' && s.ok));
  } finally {
    setSksMembership(sks, [{ host: '127.0.0.1', port: 1 }]);
  }
}

/** We initiate; SKS turns sessions away while it fetches after an earlier one, so retry until one runs. */
async function weInitiate(ours: Ours): Promise<void> {
  await waitFor('a session we initiate', async () => {
    const s = await ours.recon.server.syncWith({ host: '127.0.0.1', port: sks.reconPort });
    return s.ok;
  });
}

for (const c of [
  { name: 'SKS initiates, 50 keys (25 each way)', lack: range(0, 25), extra: range(400, 25), sksStarts: true },
  { name: 'we initiate, 1 key only we hold', lack: [], extra: [425], sksStarts: false },
  { name: 'SKS initiates, 1 key only SKS holds', lack: [30], extra: [], sksStarts: true },
  // SKS's nodes hold fewer than 150 keys where ours hold more: it cannot recover and sends its full element lists.
  { name: 'SKS initiates, 305 keys (5 + 300): SKS falls back to full element lists', lack: range(40, 5), extra: range(426, 300), sksStarts: true, fallback: true },
  // Now ours are the small nodes: we answer SKS's polynomials with our full element lists.
  { name: 'we initiate, 210 keys (200 + 10): SKS lists its leaves after our SyncFail', lack: range(50, 200), extra: range(726, 10), sksStarts: false, leaves: true },
  { name: 'we initiate, 50 keys (25 each way)', lack: range(300, 25), extra: range(736, 25), sksStarts: false },
]) {
  test(`ours and SKS end with the union: ${c.name}`, async (t) => {
    const ours = await oursWith(c.lack, c.extra);
    try {
      if (c.sksStarts) await sksInitiates(ours);
      else await weInitiate(ours);
      const union = [...new Set([...sksHolds, ...c.extra])];
      await assertConverged(ours, union);
      const done = ours.sessions.filter((s) => s.ok);
      assert.equal(done.reduce((n, s) => n + s.stored, 0), c.lack.length, 'we stored exactly the keys we lacked');
      assert.ok(done.every((s) => s.refused === 0), 'nothing refused');
      const s = done[done.length - 1]!;
      t.diagnostic(JSON.stringify({ sent: s.sent, received: s.received, ms: s.ms, bytesIn: s.bytesIn, bytesOut: s.bytesOut }));
      if ('fallback' in c) {
        const m = { ...s.sent, ...s.received };
        assert.ok((m.SyncFail ?? 0) > 0 && (m.FullElements ?? 0) > 0,
          'the root could not be recovered and full element lists were exchanged');
      }
      if ('leaves' in c) {
        // We answer SyncFail, not FullElements, under a node SKS still splits (see session.ts answer); SKS then
        // sends ReconRqst_Full for its leaves.
        assert.ok((s.sent?.SyncFail ?? 0) > 0, 'the root could not be recovered');
        assert.equal(s.sent?.FullElements ?? 0, 0);
        assert.ok((s.received?.ReconRqstFull ?? 0) > 0, 'SKS listed its leaves');
      }
    } finally {
      await ours.stop();
    }
  });
}

// SKS and a Hockeypuck peer on one host: both members are 127.0.0.1, the hockeypuck one listed first. SKS sends its
// Config without waiting for ours, so we read it first and answer in the sks profile it announces.
test('SKS initiates while a member of the hockeypuck profile shares its address: answered in the sks profile', async () => {
  const lack = [70];
  const extra = [761];
  const ours = await oursWith(lack, extra, {
    settings: { recon_profiles: ['sks', 'hockeypuck'] },
    peers: [{ host: '127.0.0.1', port: 1, profile: 'hockeypuck' }, { host: '127.0.0.1', port: sks.reconPort, profile: 'sks' }],
  });
  try {
    await sksInitiates(ours);
    await assertConverged(ours, [...new Set([...sksHolds, ...extra])]);
    const accepted = ours.sessions.filter((s) => s.role === 'acceptor' && s.ok);
    assert.ok(accepted.length > 0 && accepted.every((s) => s.profile === 'sks'));
    assert.equal(accepted.reduce((n, s) => n + s.stored, 0), lack.length, 'we stored exactly the key we lacked');
  } finally {
    await ours.stop();
  }
});
