// Our two protocol roles against a real SKS 1.1.6 (Debian's `sks`), at the level of the recon session alone: our
// prefix tree is a SQLite tree over digests that SKS itself computed (the spec's vectors), so no key store is
// involved and the expected differences come from SKS's own numbers. The full loop (fetch, merge, both sides
// ending with the union) is in sks-interop.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Channel } from '../../src/channel.js';
import { answer, walk, type SessionConfig, type SessionResult } from '../../src/session.js';
import { startSks, type Sks } from '../../../../test/support/sks.js';
import { writeKeySubset, DEBIAN_KEYRING } from '../../../../test/support/keyrings.js';
import { makeTempDir } from '../../../../test/support/tmp.js';
import { freePort } from '../../../../test/support/ports.js';
import { debianDigests, treeOf } from '../helpers.js';

/** SKS's digests of debian-keyring's keys, in keyring order. */
const ALL = debianDigests();
/** SKS holds keys 0..599 of the keyring. */
const SKS_HOLDS = Array.from({ length: 600 }, (_, i) => i);
const LIMITS = { maxMessageBytes: 8 << 20, readTimeoutMs: 20_000 };

let sks: Sks;
let ourPort: number;
/** A closed port: what we announce as our HKP port, so SKS's fetch after the session fails harmlessly. */
let deadHttpPort: number;

function cfg(): SessionConfig {
  return {
    httpPort: deadHttpPort, filters: 'yminsky.dedup,yminsky.merge', maxRecover: 5000,
    configTimeoutMs: 20_000, readTimeoutMs: 20_000,
  };
}

function sksLogSize(): number {
  return statSync(join(sks.basedir, 'var/log/sks/recon.log')).size;
}

/** How many digests SKS says it recovered in the first session logged after `from` (its own log line). */
async function sksRecovered(from: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const text = readFileSync(join(sks.basedir, 'var/log/sks/recon.log')).subarray(from).toString('utf8');
    const m = /(\d+|No) hashes recovered from/.exec(text);
    if (m) return m[1] === 'No' ? 0 : Number(m[1]);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('SKS logged no end of session');
}

const hex = (ds: Buffer[]) => ds.map((d) => d.toString('hex')).sort();
const pick = (idx: number[]) => idx.map((i) => ALL[i]!);

before(async () => {
  const dir = makeTempDir('recon-sks-session-');
  ourPort = await freePort();
  deadHttpPort = await freePort();
  sks = await startSks({
    keyFiles: [writeKeySubset(DEBIAN_KEYRING, SKS_HOLDS, `${dir}/sks.gpg`)],
    membership: [{ host: '127.0.0.1', port: ourPort }],
    // SKS never gossips to a member whose address equals its own hostname's (Membership.choose loops forever):
    // give it another loopback name. gossip_interval is in minutes: every ~3 s.
    extraConf: 'hostname: 127.0.0.2\ngossip_interval: 0.05',
  });
});

after(async () => {
  await sks?.stop();
});

test('SKS initiates, we walk: both learn exactly what the other has (25 keys each way)', async () => {
  // We lack keys 0..24 and hold 600..624 that SKS lacks.
  const ours = pick([...SKS_HOLDS.slice(25), ...Array.from({ length: 25 }, (_, i) => 600 + i)]);
  const { db, tree } = treeOf(ours);
  let srv: Server | undefined;
  const logFrom = sksLogSize();
  try {
    const result = await new Promise<SessionResult>((resolve, reject) => {
      srv = createServer((sock: Socket) => {
        srv!.close();
        walk(new Channel(sock, LIMITS), tree, cfg()).then(resolve, reject).finally(() => sock.destroy());
      });
      srv.listen(ourPort, '127.0.0.1');
    });
    assert.deepEqual(hex(result.missing), hex(pick(SKS_HOLDS.slice(0, 25))), 'we lack exactly SKS\'s 25 extra keys');
    assert.equal(result.peerHttpPort, sks.hkpPort, 'SKS announced its HKP port');
    assert.equal(result.peerVersion, '1.1.6');
    assert.equal(await sksRecovered(logFrom), 25, 'SKS found the 25 keys only we hold');
  } finally {
    srv?.close();
    db.close();
  }
});

for (const [name, lack, extra] of [
  ['1 key we lack', 1, 0],
  ['300 keys each way, far beyond what one node recovers (SyncFail, full lists)', 300, 300],
] as const) {
  test(`we initiate and answer SKS's walk: ${name}`, async () => {
    // SKS refuses sessions while it fetches after an earlier one (SPEC §5): retry a few times.
    const ours = pick([...SKS_HOLDS.slice(lack), ...Array.from({ length: extra }, (_, i) => 600 + i)]);
    const { db, tree } = treeOf(ours);
    try {
      let result: SessionResult | undefined;
      let logFrom = 0;
      for (let attempt = 0; attempt < 20 && !result; attempt++) {
        const sock = connect(sks.reconPort, '127.0.0.1');
        await once(sock, 'connect');
        logFrom = sksLogSize();
        try {
          result = await answer(new Channel(sock, LIMITS), tree, cfg());
        } catch (e) {
          if (!/closed|connection/.test((e as Error).message)) throw e;
          await new Promise((r) => setTimeout(r, 1000));
        } finally {
          sock.destroy();
        }
      }
      assert.ok(result, 'SKS accepted a session');
      assert.deepEqual(hex(result.missing), hex(pick(SKS_HOLDS.slice(0, lack))), 'we learn exactly what we lack');
      assert.equal(result.peerHttpPort, sks.hkpPort);
      assert.equal(await sksRecovered(logFrom), extra, 'SKS learns exactly what it lacks');
    } finally {
      db.close();
    }
  });
}
