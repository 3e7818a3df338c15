// When our store cannot work during a recon batch (here: another process holds the write lock past our busy
// timeout), the fetched keys are not refused: nothing is written, nothing goes into recon_refused, the session is
// logged as failed, and the next session fetches the same digests again and stores them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import Database from 'better-sqlite3';
import { KeyStore, createLogger } from '@sks/keystore';
import { encodeHashqueryResponse } from '@sks/hkp';
import { startRecon, type RunningRecon } from '../src/start.js';
import type { SessionSummary } from '../src/server.js';
import { Channel } from '../src/channel.js';
import { answer } from '../src/session.js';
import { USER_AGENT } from '../src/fetch.js';
import { debianDigests, treeOf } from './helpers.js';
import { freePort } from '../../../test/support/ports.js';
import { makeTempDir } from '../../../test/support/tmp.js';
import { keyBlocks, DEBIAN_KEYRING } from '../../../test/support/keyrings.js';

const FILTERS = 'yminsky.dedup,yminsky.merge';
/** The User-Agent of every hashquery request the peers saw. */
const agents: Array<string | undefined> = [];

/** One session in which a peer holding `ours + served digests` reconciles with us and serves `keys` by hashquery. */
async function sessionWithPeer(recon: RunningRecon, extra: Buffer[], keys: Buffer[]): Promise<SessionSummary> {
  let asked = 0;
  const http = createHttpServer((req, res) => {
    agents.push(req.headers['user-agent']);
    req.resume();
    req.on('end', () => {
      asked++;
      res.writeHead(200, { 'content-type': 'pgp/keys' }).end(encodeHashqueryResponse(keys));
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const httpPort = (http.address() as { port: number }).port;
  const { db, tree } = treeOf([...recon.store.digests(), ...extra]);
  try {
    const ended = once(recon.server, 'session').then(([s]) => s as SessionSummary);
    const s = connect(recon.port, '127.0.0.1');
    await once(s, 'connect');
    s.on('error', () => undefined);
    await answer(new Channel(s, { maxMessageBytes: 1 << 20, readTimeoutMs: 5000 }), tree, {
      httpPort, filters: FILTERS, maxRecover: 100, configTimeoutMs: 5000, readTimeoutMs: 5000,
    });
    s.destroy();
    const sum = await ended;
    assert.equal(asked, 1, 'the peer was asked for the keys');
    return sum;
  } finally {
    http.close();
    db.close();
  }
}

test('a store failure during a recon batch is not a refusal: the digests are fetched again next session', async () => {
  const basedir = makeTempDir('recon-store-failure-');
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1\n');
  const dbFile = join(basedir, 'keys.sqlite');
  // A short busy timeout, so a held write lock makes the store give up quickly (SQLITE_BUSY).
  const store = KeyStore.open(dbFile, { busyTimeoutMs: 100 });
  const recon = await startRecon({
    basedir, store, logger: createLogger({ service: 'sks-recon', console: false, dir: join(basedir, 'log') }),
    settings: { recon_address: ['127.0.0.1'], recon_port: await freePort(), disable_gossip: true },
  });
  try {
    const blocks = keyBlocks(readFileSync(DEBIAN_KEYRING));
    const digests = debianDigests();
    const keys = [blocks[3]!, blocks[4]!];
    const wanted = [digests[3]!, digests[4]!];

    // Another process holds the write lock for the whole first session.
    const other = new Database(dbFile);
    other.exec('BEGIN IMMEDIATE');
    let first: SessionSummary;
    try {
      first = await sessionWithPeer(recon, wanted, keys);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    assert.equal(first.ok, false);
    assert.equal(first.errorKind, 'store-unavailable', first.error);
    assert.match(first.error!, /storing fetched keys failed: the key store is unavailable/);
    assert.equal(first.recovered, 2);
    assert.equal(first.refused, 0);
    assert.equal(recon.server.refused.count(), 0, 'nothing remembered as refused');
    assert.equal(store.count(), 0, 'nothing written');

    // The lock is gone: the same digests are missing again, fetched again, and stored under the peer's digests.
    const second = await sessionWithPeer(recon, wanted, keys);
    assert.equal(second.ok, true, second.error);
    assert.equal(second.skippedRefused, 0);
    assert.equal(second.recovered, 2);
    assert.equal(second.stored, 2);
    assert.equal(second.refused, 0);
    assert.equal(store.count(), 2);
    for (const d of wanted) assert.ok(recon.server.tree.has(d), `digest ${d.toString('hex')} held`);
    // Peers log who fetches from them, as they log SKS and Hockeypuck.
    assert.deepEqual(agents, [USER_AGENT, USER_AGENT]);
    assert.match(USER_AGENT, /^sks-ts\/\d+\.\d+\.\d+ \(recon\)$/);
  } finally {
    await recon.stop();
    store.close();
  }
});
