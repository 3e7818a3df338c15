// Recon benchmark: two of our servers (key store, sks-db, sks-recon) and two real SKS 1.1.6 servers, each pair
// holding the same BENCH_RECON_KEYS generated keys (default 100 000). For each d in BENCH_RECON_D (default 10, 100,
// 1000), d new keys are added to server A outside the measurement; then server B initiates one reconciliation with
// A, and we time it until B holds the d keys in its store and its prefix tree:
//   ours: B's syncWith(A): session, /pks/hashquery fetch, merge into the store and tree (the call returns then);
//   SKS:  from B's "Initiating reconciliation" log line to its key database answering the recon server's catch-up
//         with the d new keys (SKS's recon server only learns of fetched keys through that catch-up).
// Bytes are the recon session's bytes in both directions (for SKS counted by a TCP relay between B and A); the
// /pks/hashquery transfer is not counted on either side. Every server but our B runs in its own processes.
// Run alone: node --conditions=source --import tsx bench/recon.ts
//   BENCH_RECON_KEYS=20000   keys each server holds (a generated v4-only dump, cached; see sks-admin gen)
//   BENCH_RECON_D=10,100     differences to measure
//   BENCH_RECON_SKS=0        skip the SKS pair
//   BENCH_RECON_REPEAT=3     rounds per d (the median is reported)
//   BENCH_RECON_HP_D=100     differences measured again between two of ours with recon_profiles hockeypuck (issue 13:
//                            Hockeypuck's digests, signature verification on every fetched key); 0 skips
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createServer, connect, type Server } from 'node:net';
import {
  KeyStore, armor, createLogger, defaultSettings, packetHeaderLength, policyFromSettings, type Settings,
} from '../packages/keystore/src/index.js';
import { startRecon, type RunningRecon } from '../packages/sks-recon/src/index.js';
import { cachedDump } from '../packages/sks-admin/src/gen.js';
import { keyBlocks } from '../test/support/keyrings.js';
import { buildSks, startSks, setSksMembership, type Sks } from '../test/support/sks.js';
import { makeTempDir } from '../test/support/tmp.js';
import { freePortPair, waitForPort } from '../test/support/ports.js';
import type { Row } from './row.js';

export interface ReconBenchOptions {
  keys?: number;
  ds?: number[];
  sks?: boolean;
  /** Rounds per d; the median is reported. */
  repeat?: number;
  log?: (line: string) => void;
}

export interface Measured {
  ms: number;
  bytes: number;
  detail?: string;
}

/** Version byte of a key block's primary key packet. */
function keyVersion(block: Buffer): number {
  return block[packetHeaderLength(block, 0)]!;
}

/** BENCH_RECON_KEYS base keys plus the extra keys of every round, all v4 (SKS 1.1.6 cannot build v6 keys). */
async function benchKeys(n: number, extra: number, log: (l: string) => void): Promise<{ base: Buffer[]; extras: Buffer[] }> {
  const want = n + extra;
  // The dump depends on n alone (so the cached stores and SKS builds of the base keys stay valid for any d).
  const { dir, manifest, cached } = await cachedDump({
    keys: n + Math.max(5000, Math.ceil(extra * 1.05)), seed: 'bench-recon', dups: 0, flooded: 0, floodCerts: 0, keysPerFile: 15000, v6: false,
  });
  log(`bench recon: ${manifest.keys} generated keys in ${dir}${cached ? ' (cached)' : ` (${(manifest.ms / 1000).toFixed(0)} s)`}`);
  const blocks: Buffer[] = [];
  for (const f of manifest.files) {
    for (const b of keyBlocks(readFileSync(join(dir, f)))) if (keyVersion(b) === 4) blocks.push(b);
  }
  if (blocks.length < want) throw new Error(`bench recon: only ${blocks.length} v4 keys generated, ${want} needed`);
  return { base: blocks.slice(0, n), extras: blocks.slice(n, want) };
}

// --- ours --------------------------------------------------------------------------------------------------------
// Server A runs as in production: sks-db and sks-recon each in their own process on A's base directory. Server B's
// sks-recon runs in this process (we start its session and read its summary); B needs no sks-db (nobody fetches
// from it). New keys reach A's store through a writer opened here on A's database, as sks-admin or /pks/add would.

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function policyOf(profiles: string[]) {
  return policyFromSettings({ ...defaultSettings(), recon_profiles: profiles });
}

/** A store of the base keys, loaded once per size and copied for each server. */
function baseStore(base: Buffer[], cacheDir: string, log: (l: string) => void, profiles = ['sks']): string {
  const file = join(cacheDir, `ours-${base.length}${profiles.join('') === 'sks' ? '' : `-${profiles.join('-')}`}.sqlite`);
  if (existsSync(file)) return file;
  const tmp = `${file}.tmp-${process.pid}`;
  const t0 = Date.now();
  const store = KeyStore.open(tmp, { policy: policyOf(profiles) });
  for (let i = 0; i < base.length; i += 2000) store.upsertMaterial(Buffer.concat(base.slice(i, i + 2000)), 'load');
  store.checkpoint();
  store.close();
  renameSync(tmp, file);
  log(`bench recon: our store of ${base.length} keys loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return file;
}

/** How to start one of our services: its built dist/main.js, or the sources (BENCH_FROM_SOURCE=1 or no build). */
export function service(pkg: string): string[] {
  const dist = join(ROOT, `packages/${pkg}/dist/main.js`);
  if (existsSync(dist) && process.env.BENCH_FROM_SOURCE !== '1') return [dist];
  return ['--conditions=source', '--import', 'tsx', join(ROOT, `packages/${pkg}/src/main.ts`)];
}

export interface OurA {
  store: KeyStore;
  reconPort: number;
  stop(): Promise<void>;
}

async function startOurA(dbFile: string, profiles = ['sks']): Promise<OurA> {
  const basedir = makeTempDir('bench-recon-a-');
  cpSync(dbFile, join(basedir, 'keys.sqlite'));
  const [reconPort, hkpPort] = await freePortPair();
  writeFileSync(join(basedir, 'sksconf'), [
    'recon_address: 127.0.0.1', `recon_port: ${reconPort}`, 'hkp_address: 127.0.0.1', `hkp_port: ${hkpPort}`,
    'db_workers: 1', 'disable_gossip:', 'log_level: warn', `recon_profiles: ${profiles.join(',')}`, '',
  ].join('\n'));
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1\n');
  const env = { ...process.env, SKS_QUIET: '1' };
  const procs = ['sks-db', 'sks-recon'].map((pkg) =>
    spawn(process.execPath, [...service(pkg), '--basedir', basedir], { env, stdio: 'ignore' }));
  await waitForPort(hkpPort, 60_000);
  await waitForPort(reconPort, 60_000);
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { policy: policyOf(profiles) });
  return {
    store, reconPort,
    async stop() {
      await Promise.all(procs.map((p) => new Promise<void>((r) => {
        if (p.exitCode !== null) return r();
        p.once('exit', () => r());
        p.kill('SIGTERM');
      })));
      store.close();
    },
  };
}

/** Server B: sks-recon in this process (so a session can be started and timed), on a copy of dbFile, or on the
 * base directory dbFile is in when `inPlace` (a store too big to copy twice). */
export async function startOurB(dbFile: string, profiles = ['sks'], inPlace = false): Promise<{ store: KeyStore; recon: RunningRecon; stop(): Promise<void> }> {
  const basedir = inPlace ? dirname(dbFile) : makeTempDir('bench-recon-b-');
  if (!inPlace) cpSync(dbFile, join(basedir, 'keys.sqlite'));
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1\n');
  const [reconPort] = await freePortPair();
  const settings: Partial<Settings> = {
    recon_address: ['127.0.0.1'], recon_port: reconPort, disable_gossip: true, log_level: 'warn', recon_profiles: profiles,
  };
  // opened as startRecon opens its own (checkpoints on a thread of their own)
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), {
    policy: policyOf(profiles), checkpointEveryMs: defaultSettings().wal_checkpoint_interval_ms,
    prefetchThreads: defaultSettings().db_prefetch_threads,
  });
  const recon = await startRecon({
    basedir, settings, store, logger: createLogger({ service: 'sks-recon', console: false, dir: join(basedir, 'log'), level: 'warn' }),
  });
  return {
    store, recon,
    async stop() {
      await recon.stop();
      store.close();
    },
  };
}

export async function measureOurs(a: OurA, b: { store: KeyStore; recon: RunningRecon }, extras: Buffer[]): Promise<Measured> {
  a.store.upsertMaterial(Buffer.concat(extras), 'load');
  const profile = b.recon.server.profileOf({});
  const before = b.store.count();
  const setBefore = b.store.reconViewOf(profile).size();
  const t0 = performance.now();
  const s = await b.recon.server.syncWith({ host: '127.0.0.1', port: a.reconPort });
  const ms = performance.now() - t0;
  if (!s.ok) throw new Error(`our session failed: ${s.error}`);
  if (b.store.count() !== before + extras.length || b.store.reconViewOf(profile).size() !== setBefore + extras.length) {
    throw new Error(`our B holds ${b.store.count() - before} of the ${extras.length} new keys after the session`);
  }
  return { ms, bytes: s.bytesIn + s.bytesOut, detail: `session ${s.sessionMs} ms, hashquery ${s.fetchMs} ms, store ${s.storeMs} ms` };
}

// --- SKS ---------------------------------------------------------------------------------------------------------

/** Relays TCP from a local port to `port`, counting the bytes both ways. */
export async function relay(port: number): Promise<{ server: Server; port: number; bytes: () => number; reset: () => void }> {
  let bytes = 0;
  const server = createServer((inbound) => {
    const out = connect(port, '127.0.0.1');
    inbound.on('data', (c: Buffer) => (bytes += c.length));
    out.on('data', (c: Buffer) => (bytes += c.length));
    inbound.pipe(out);
    out.pipe(inbound);
    inbound.on('error', () => out.destroy());
    out.on('error', () => inbound.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port, bytes: () => bytes, reset: () => (bytes = 0) };
}

/** Follows a growing log file; `since()` returns what was appended after the last mark. */
function follow(file: string) {
  let mark = existsSync(file) ? statSync(file).size : 0;
  return {
    mark() {
      mark = existsSync(file) ? statSync(file).size : 0;
    },
    since(): string {
      return existsSync(file) ? readFileSync(file).subarray(mark).toString('utf8') : '';
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs: number, stepMs = 10): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (cond()) return performance.now();
    if (performance.now() > deadline) throw new Error(`bench recon: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Sum of the "Sending LogResp size N" lines (SKS's db answering a catch-up query with N new keys). */
function logResp(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/Sending LogResp size (\d+)/g)) n += Number(m[1]);
  return n;
}

async function sksPair(base: Buffer[], cacheDir: string, log: (l: string) => void) {
  const built = join(cacheDir, `sks-${base.length}`);
  if (!existsSync(join(built, 'var/lib/sks/DB'))) {
    const keyFile = join(cacheDir, `base-${base.length}.pgp`);
    writeFileSync(keyFile, Buffer.concat(base));
    const tmp = `${built}.tmp-${process.pid}`;
    const r = await buildSks({ keyFiles: [keyFile], basedir: tmp });
    renameSync(tmp, built);
    log(`bench recon: SKS built with ${base.length} keys in ${(r.ms / 1000).toFixed(0)} s`);
  }
  return sksPairFrom(built);
}

/** Two SKS servers on copies of a built SKS base directory (A on the directory itself with `aInPlace`): A only
 * answers, B initiates (see measureSks). */
export async function sksPairFrom(built: string, aInPlace = false) {
  const copy = (name: string) => {
    const d = makeTempDir(`bench-recon-sks-${name}-`);
    // (a directory SKS has run on holds its sockets under var/run/sks: not copied, SKS makes them again)
    for (const e of readdirSync(built)) cpSync(join(built, e), join(d, e), { recursive: true, filter: (src) => !/\/var\/run\/sks\/./.test(src) });
    return d;
  };
  const dirA = aInPlace ? built : copy('a');
  const dirB = copy('b');
  const [bRecon, bHkp] = await freePortPair();
  // A only answers (dontgossip) and admits B's address; B gossips every ~3 s to whatever its membership names.
  const a = await startSks({ basedir: dirA, gossip: false, membership: [{ host: '127.0.0.1', port: bRecon }] });
  const b = await startSks({
    basedir: dirB, reconPort: bRecon, hkpPort: bHkp, membership: [],
    extraConf: 'hostname: 127.0.0.2\ngossip_interval: 0.05',
  });
  return { a, b };
}

export async function measureSks(a: Sks, b: Sks, via: Awaited<ReturnType<typeof relay>>, extras: Buffer[]): Promise<Measured> {
  const aDb = follow(join(a.basedir, 'var/log/sks/db.log'));
  // Add the new keys to A and wait until A's recon server has them in its tree (its catch-up took them).
  const add = await fetch(`${a.hkpUrl}/pks/add`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ keytext: armor(Buffer.concat(extras), 'PUBLIC KEY BLOCK') }).toString(),
  });
  if (add.status !== 200) throw new Error(`SKS A refused /pks/add: ${add.status}`);
  await until('SKS A to index the new keys', () => logResp(aDb.since()) >= extras.length, 120_000, 100);
  const bRecon = follow(join(b.basedir, 'var/log/sks/recon.log'));
  const bDb = follow(join(b.basedir, 'var/log/sks/db.log'));
  via.reset();
  setSksMembership(b, [{ host: '127.0.0.1', port: via.port }]);
  const t0 = await until('SKS B to start a session', () => /Initiating reconciliation/.test(bRecon.since()), 60_000, 5);
  setSksMembership(b, []);
  const t1 = await until('SKS B to take the new keys', () => logResp(bDb.since()) >= extras.length, 300_000, 5);
  return { ms: t1 - t0, bytes: via.bytes() };
}

export async function runReconBench(opts: ReconBenchOptions = {}): Promise<Row[]> {
  const n = opts.keys ?? Number(process.env.BENCH_RECON_KEYS ?? 100_000);
  const ds = opts.ds ?? (process.env.BENCH_RECON_D ?? '10,100,1000').split(',').map(Number);
  const withSks = opts.sks ?? process.env.BENCH_RECON_SKS !== '0';
  const repeat = opts.repeat ?? Number(process.env.BENCH_RECON_REPEAT ?? 3);
  const log = opts.log ?? ((l: string) => console.error(l));
  const cacheDir = join(process.env.SKS_GEN_CACHE ?? join(tmpdir(), 'sks-gen-cache'), 'bench-recon');
  mkdirSync(cacheDir, { recursive: true });

  // Unreported warm-up rounds of 2 keys on each side, so neither is measured cold (JIT, statements, caches), as a
  // long-running server never is. Then `repeat` rounds for each d, in turn; each figure is the median.
  const WARMUP = 6;
  const hpD = Number(process.env.BENCH_RECON_HP_D ?? 100);
  const { base, extras } = await benchKeys(n, WARMUP + repeat * (ds.reduce((x, y) => x + y, 0) + Math.max(0, hpD)), log);
  const warmups = [0, 2, 4].map((i) => extras.slice(i, i + 2));
  const rounds: Array<{ i: number; keys: Buffer[] }> = [];
  let off = WARMUP;
  for (let r = 0; r < repeat; r++) {
    for (const [i, d] of ds.entries()) {
      rounds.push({ i, keys: extras.slice(off, off + d) });
      off += d;
    }
  }

  const ours: Measured[][] = ds.map(() => []);
  const dbFile = baseStore(base, cacheDir, log);
  const a = await startOurA(dbFile);
  const b = await startOurB(dbFile);
  try {
    for (const w of warmups) await measureOurs(a, b, w);
    for (const { i, keys } of rounds) {
      const m = await measureOurs(a, b, keys);
      log(`bench recon: ours d=${keys.length}: ${m.ms.toFixed(0)} ms (${m.detail}), ${m.bytes} bytes`);
      ours[i]!.push(m);
    }
  } finally {
    await a.stop();
    await b.stop();
  }

  // The same between two of ours that reconcile Hockeypuck 2.3's digests (a hockeypuck-only set on both sides).
  const hpRounds = hpD > 0 ? Array.from({ length: repeat }, (_, r) => extras.slice(off + r * hpD, off + (r + 1) * hpD)) : [];
  const hp: Measured[] = [];
  if (hpRounds.length > 0 && hpRounds.every((k) => k.length === hpD)) {
    const hpFile = baseStore(base, cacheDir, log, ['hockeypuck']);
    const ha = await startOurA(hpFile, ['hockeypuck']);
    const hb = await startOurB(hpFile, ['hockeypuck']);
    try {
      for (const w of [extras.slice(0, 2), extras.slice(2, 4)]) await measureOurs(ha, hb, w);
      for (const keys of hpRounds) {
        const m = await measureOurs(ha, hb, keys);
        log(`bench recon: ours (hockeypuck profile) d=${keys.length}: ${m.ms.toFixed(0)} ms (${m.detail}), ${m.bytes} bytes`);
        hp.push(m);
      }
    } finally {
      await ha.stop();
      await hb.stop();
    }
  }

  const sks: Measured[][] = ds.map(() => []);
  if (withSks) {
    const pair = await sksPair(base, cacheDir, log);
    const via = await relay(pair.a.reconPort);
    try {
      for (const w of warmups) await measureSks(pair.a, pair.b, via, w);
      for (const { i, keys } of rounds) {
        const m = await measureSks(pair.a, pair.b, via, keys);
        log(`bench recon: SKS d=${keys.length}: ${m.ms.toFixed(0)} ms, ${m.bytes} bytes`);
        sks[i]!.push(m);
      }
    } finally {
      via.server.close();
      await pair.a.stop();
      await pair.b.stop();
    }
  }

  const median = (xs: number[]) => {
    const v = [...xs].sort((x, y) => x - y);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const rows: Row[] = [
    { metric: 'keys on each server', ours: n, sks: withSks ? n : 'skipped' },
    { metric: 'rounds per d (median shown)', ours: String(repeat), sks: withSks ? String(repeat) : 'skipped' },
  ];
  for (const [i, d] of ds.entries()) {
    const o = { ms: median(ours[i]!.map((m) => m.ms)), bytes: median(ours[i]!.map((m) => m.bytes)) };
    const s = sks[i]!.length ? { ms: median(sks[i]!.map((m) => m.ms)), bytes: median(sks[i]!.map((m) => m.bytes)) } : undefined;
    rows.push({
      metric: `converge d=${d}`, unit: 'ms', ours: o.ms, sks: s ? s.ms : 'skipped', ratio: s ? s.ms / o.ms : undefined,
      target: d === 100 ? '< 2000, >= 5x SKS' : undefined,
    });
    rows.push({ metric: `recon bytes d=${d}`, unit: 'B', ours: o.bytes, sks: s ? s.bytes : 'skipped', ratio: s ? s.bytes / o.bytes : undefined });
  }
  if (hp.length > 0) {
    const o = median(hp.map((m) => m.ms));
    const i = ds.indexOf(hpD);
    const s = i >= 0 && sks[i]!.length ? median(sks[i]!.map((m) => m.ms)) : undefined;
    rows.push({
      metric: `converge d=${hpD}, hockeypuck profile (SKS: its own)`, unit: 'ms', ours: o, sks: s ?? 'not measured',
      ratio: s ? s / o : undefined,
    });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runReconBench();
  console.table(rows);
}
