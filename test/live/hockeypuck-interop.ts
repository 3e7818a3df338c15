// Interop with a REAL Hockeypuck 2.3, for a developer's machine (CI cannot build Hockeypuck: its source is not
// reachable there; CI runs test/recon-profiles.test.ts against the vectors instead). Needs Hockeypuck built as
// ../shared/hockeypuck/BUILD.md says, and PostgreSQL 15:
//   HP_BIN=/path/to/bin HP_RUN=/path/to/run.sh npx tsx test/live/hockeypuck-interop.ts
// Runs, each on a fresh Hockeypuck state: we initiate with 1, 50 and 400 differences (more than recon can recover at
// the root), Hockeypuck initiates (its own gossip), and SKS 1.1.6 <-> ours <-> Hockeypuck with keys uploaded at
// either end. Checks both sides end with the same digest set and nobody fetches a key twice; prints one JSON line
// per case and exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { debianKeyringAsHockeypuck } from '../support/hockeypuck-vectors.js';
import { makeTempDir } from '../support/tmp.js';
import { setSksMembership, startSks, sksGetDigest } from '../support/sks.js';
import { startOurs, waitFor, type Ours } from '../support/recon-ours.js';
import { armor, fingerprintOf, readPackets, type Settings } from '../../packages/keystore/src/index.js';

const HP_BIN = process.env.HP_BIN;
const HP_RUN = process.env.HP_RUN;
if (!HP_BIN || !HP_RUN) {
  console.error('set HP_BIN (Hockeypuck 2.3 binaries) and HP_RUN (its run.sh), see ../shared/hockeypuck/BUILD.md');
  process.exit(2);
}

const { blocks: BLOCKS, fingerprints: FPR, digests: HP, kept: KEPT, changed: CHANGED } = debianKeyringAsHockeypuck();
const BOTH: Partial<Settings> = { recon_profiles: ['sks', 'hockeypuck'] };

interface Hockeypuck {
  state: string;
  hkp: string;
  log(): string;
  stop(): void;
}

function startHockeypuck(keys: number[], partner: Ours, ports = { recon: 12450, hkp: 12451, pg: 12452, metrics: 12453 }): Hockeypuck {
  const state = makeTempDir('hp-live-');
  chmodSync(state, 0o755); // run.sh runs PostgreSQL as the postgres user, which must reach its folder
  const env = {
    ...process.env, HP_BIN, HP_STATE: state, HP_RECON_PORT: String(ports.recon), HP_HKP_PORT: String(ports.hkp),
    HP_PG_PORT: String(ports.pg), HP_METRICS_PORT: String(ports.metrics),
    HP_PARTNER_RECON: `127.0.0.1:${partner.reconPort}`, HP_PARTNER_HTTP: `127.0.0.1:${partner.hkpPort}`,
  };
  const run = (...args: string[]) => execFileSync('bash', [HP_RUN!, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  run('pg-init');
  if (keys.length > 0) {
    const file = join(state, 'load.pgp');
    writeFileSync(file, Buffer.concat(keys.map((i) => BLOCKS[i]!)));
    run('load', file);
  }
  run('start');
  return {
    state,
    hkp: `http://127.0.0.1:${ports.hkp}`,
    log: () => readFileSync(join(state, 'hockeypuck.log'), 'utf8'),
    stop() {
      try { run('stop'); } catch { /* already stopped */ }
      try { run('pg-stop'); } catch { /* already stopped */ }
    },
  };
}

async function hpHas(hp: Hockeypuck, digest: string): Promise<boolean> {
  const r = await fetch(`${hp.hkp}/pks/lookup?op=hget&search=${digest}`);
  await r.arrayBuffer();
  return r.status === 200;
}

async function hpTotal(hp: Hockeypuck): Promise<number> {
  const r = await fetch(`${hp.hkp}/pks/lookup?op=stats&options=mr`);
  return ((await r.json()) as { Total: number }).Total;
}

/** How often Hockeypuck's log says it fetched or inserted keys from its partner (its recon log lines). */
function hpFetchLines(hp: Hockeypuck): string[] {
  return hp.log().split('\n').filter((l) => /hashquery|recovered|inserted|updated/i.test(l));
}

async function differencesCase(name: string, hpOnly: number[], oursOnly: number[], common: number[], hpInitiates: boolean): Promise<void> {
  const ours = await startOurs({ keys: Buffer.concat([...common, ...oursOnly].map((i) => BLOCKS[i]!)), settings: BOTH,
    peers: [{ host: '127.0.0.1', port: 12450, profile: 'hockeypuck' }] });
  const hp = startHockeypuck([...common, ...hpOnly], ours);
  const t0 = Date.now();
  try {
    const union = [...common, ...hpOnly, ...oursOnly].map((i) => HP[i]!);
    if (hpInitiates) {
      await waitFor('Hockeypuck to start a session', () => ours.sessions.some((s) => s.role === 'acceptor' && s.ok), 120_000);
    } else {
      const s = await ours.recon.server.syncWith({ host: '127.0.0.1', port: 12450 });
      assert.equal(s.ok, true, s.error);
    }
    await waitFor('us to hold the union', () => ours.digestSet('hockeypuck').size === union.length, 120_000);
    await waitFor('Hockeypuck to hold the union', async () => (await hpTotal(hp)) === union.length, 120_000);
    assert.deepEqual([...ours.digestSet('hockeypuck')].sort(), [...union].sort(), 'our hockeypuck set is the union of Hockeypuck\'s digests');
    for (const d of union) assert.ok(await hpHas(hp, d), `Hockeypuck holds ${d}`);
    const fetched = ours.sessions.reduce((n, s) => n + s.fetched, 0);
    assert.equal(fetched, hpOnly.length, 'we fetched each key Hockeypuck alone held, once');
    // another round in each direction: nothing missing on either side
    const again = await ours.recon.server.syncWith({ host: '127.0.0.1', port: 12450 });
    assert.equal(again.ok, true, again.error);
    assert.equal(again.recovered, 0, 'a second session finds nothing missing');
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await hpTotal(hp), union.length, 'Hockeypuck fetched nothing more');
    console.log(JSON.stringify({
      case: name, ok: true, union: union.length, weFetched: fetched, hockeypuckTotal: await hpTotal(hp), ms: Date.now() - t0,
      sessions: ours.sessions.map((s) => ({ role: s.role, ok: s.ok, recovered: s.recovered, fetched: s.fetched, stored: s.stored, refused: s.refused, sent: s.sent, received: s.received })),
      hockeypuckLog: hpFetchLines(hp).slice(-6),
    }));
  } finally {
    hp.stop();
    await ours.stop();
  }
}

async function bridgeCase(): Promise<void> {
  const dir = makeTempDir('hp-bridge-');
  const common = KEPT.slice(0, 200);
  const changed = CHANGED.filter((i) => !common.includes(i));
  const [toSks, toHp] = [changed.slice(0, 3), changed.slice(3, 6)];
  const sks = await startSks({ keyFiles: [writeFile(join(dir, 'sks.pgp'), common)], membership: [{ host: '127.0.0.1', port: 1 }],
    extraConf: 'hostname: 127.0.0.2\ngossip_interval: 0.05' });
  const ours = await startOurs({ keys: Buffer.concat(common.map((i) => BLOCKS[i]!)), settings: BOTH });
  const hp = startHockeypuck(common, ours);
  try {
    await ours.setPeers([{ host: '127.0.0.1', port: sks.reconPort, profile: 'sks' }, { host: '127.0.0.1', port: 12450, profile: 'hockeypuck' }]);
    // upload at the ends: some keys to SKS, others to Hockeypuck
    for (const i of toSks) await post(`${sks.hkpUrl}/pks/add`, BLOCKS[i]!);
    for (const i of toHp) await post(`${hp.hkp}/pks/add`, BLOCKS[i]!);
    const sksRound = () => waitFor('a session with SKS', async () => (await ours.recon.server.syncWith({ host: '127.0.0.1', port: sks.reconPort, profile: 'sks' })).ok);
    const hpRound = async () => assert.ok((await ours.recon.server.syncWith({ host: '127.0.0.1', port: 12450, profile: 'hockeypuck' })).ok);
    // SKS and Hockeypuck take new uploads into their recon sets a few seconds later: round after round until then
    await waitFor('us to hold the keys uploaded to SKS', async () => {
      await sksRound();
      return toSks.every((i) => ours.store.getByFingerprint(FPR[i]!));
    }, 120_000);
    await waitFor('Hockeypuck to hold the keys uploaded to SKS, and us those uploaded to Hockeypuck', async () => {
      await hpRound();
      await new Promise((r) => setTimeout(r, 2000));
      for (const i of toSks) if (!(await hpHas(hp, HP[i]!))) return false;
      return toHp.every((i) => ours.store.getByFingerprint(FPR[i]!));
    }, 120_000);
    const sksDigestsOf = toHp.map((i) => [...ours.store.digests('sks')].find((d) => {
      const k = ours.store.keyForPeer(d.toString('hex'));
      return k && fingerprintOf(readPackets(k)[0]!.body) === FPR[i];
    })!.toString('hex'));
    await waitFor('SKS to hold the keys uploaded to Hockeypuck', async () => {
      await sksRound();
      await new Promise((r) => setTimeout(r, 2000));
      for (const d of sksDigestsOf) if (!(await sksGetDigest(sks.hkpUrl, d))) return false;
      return true;
    }, 120_000);
    const fetchedBefore = ours.sessions.reduce((n, s) => n + s.fetched, 0);
    await sksRound();
    await hpRound();
    await new Promise((r) => setTimeout(r, 3000));
    const fetchedAfter = ours.sessions.reduce((n, s) => n + s.fetched, 0);
    assert.equal(fetchedAfter, fetchedBefore, 'nothing is fetched again');
    // SKS and Hockeypuck both call in from 127.0.0.1: each must be answered in its own profile (read from its Config)
    setSksMembership(sks, [{ host: '127.0.0.1', port: ours.reconPort }]);
    await waitFor('SKS and Hockeypuck each to start a session answered in its own profile', () =>
      ['sks', 'hockeypuck'].every((p) => ours.sessions.some((s) => s.role === 'acceptor' && s.ok && s.profile === p)), 180_000);
    setSksMembership(sks, [{ host: '127.0.0.1', port: 1 }]);
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(ours.sessions.reduce((n, s) => n + s.fetched, 0), fetchedBefore, 'nothing is fetched again by the sessions they started');
    const acceptorFailures = ours.sessions.filter((s) => s.role === 'acceptor' && !s.ok).map((s) => `${s.profile ?? '-'}: ${s.error}`);
    // Hockeypuck's stats Total is recomputed now and then: ask for every digest instead
    for (const i of [...common, ...toSks, ...toHp]) assert.ok(await hpHas(hp, HP[i]!), `Hockeypuck holds ${HP[i]}`);
    assert.deepEqual([...ours.digestSet('hockeypuck')].sort(), [...common, ...toSks, ...toHp].map((i) => HP[i]!).sort(),
      'our hockeypuck set is Hockeypuck\'s');
    console.log(JSON.stringify({
      case: 'SKS 1.1.6 <-> ours <-> Hockeypuck 2.3, keys uploaded at either end', ok: true, weFetched: fetchedAfter, acceptorFailures,
      hockeypuckTotal: await hpTotal(hp),
      sessions: ours.sessions.map((s) => ({ profile: s.profile, role: s.role, ok: s.ok, recovered: s.recovered, fetched: s.fetched, stored: s.stored, refused: s.refused })),
      hockeypuckLog: hpFetchLines(hp).slice(-8),
    }));
  } finally {
    hp.stop();
    await ours.stop();
    await sks.stop();
  }
}

function writeFile(file: string, idx: number[]): string {
  writeFileSync(file, Buffer.concat(idx.map((i) => BLOCKS[i]!)));
  return file;
}

async function post(url: string, key: Buffer): Promise<void> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ keytext: armor(key) }).toString() });
  const text = await r.text();
  assert.ok(r.status === 200, `${url}: ${r.status} ${text.slice(0, 200)}`);
}

const common = KEPT.slice(0, 300);
const rest = KEPT.slice(300);
const only = process.argv[2];
const cases: Array<[string, () => Promise<void>]> = [
  ['1 key only Hockeypuck holds, we initiate', () => differencesCase('1 key, we initiate', rest.slice(0, 1), [], common, false)],
  ['50 keys (25 each way), we initiate', () => differencesCase('50 keys, we initiate', rest.slice(1, 26), rest.slice(26, 51), common, false)],
  ['50 keys (25 each way), Hockeypuck initiates', () => differencesCase('50 keys, Hockeypuck initiates', rest.slice(51, 76), rest.slice(76, 101), common, true)],
  ['400 keys (200 each way), we initiate', () => differencesCase('400 keys, we initiate', rest.slice(101, 301), rest.slice(301, 501), common.slice(0, 100), false)],
  ['400 keys (200 each way), Hockeypuck initiates', () => differencesCase('400 keys, Hockeypuck initiates', rest.slice(101, 301), rest.slice(301, 501), common.slice(0, 100), true)],
  ['bridge', bridgeCase],
];
for (const [name, run] of cases) {
  if (only && !name.includes(only)) continue;
  try {
    await run();
  } catch (e) {
    console.log(JSON.stringify({ case: name, ok: false, error: (e as Error).message }));
    process.exitCode = 1;
    break;
  }
}
