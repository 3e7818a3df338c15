// Figures at network scale (issue 16): the suite on stores of BENCH_SCALE_SIZES keys (default 100 000, 2 000 000 and
// 6 000 000, the size of the public keydump), each the first whole files of one generated public-profile dump
// (generated once and cached; 6M keys take ~70 min on two cores), beside real SKS 1.1.6 at the sizes it can build
// here (BENCH_SCALE_SKS_MAX, default 2 000 000). At each size:
//   - the load (`sks-admin load`; SKS: `sks build` + cleandb + pbuild) and the database size on disk;
//   - sks-db, sks-recon and sks-cron as an operator runs them (processes, default settings, caches on), with
//     lookups at c=64 of keys drawn at random from the whole store (op=get by fingerprint, mr index by e-mail),
//     asked in turn of SKS and of an sks-db without reply caches on the same store,
//     BENCH_SCALE_ROUNDS rounds of BENCH_SCALE_SECONDS each with keys of their own (the median is reported);
//   - recon d=100 and d=1000 between two nodes of that size (B, on a copy of the store, reconciles with A after A
//     took d new keys; timed until B holds them), and the same between two SKS on copies of its store;
//   - BENCH_SCALE_ADD_SECONDS of sustained uploads of new keys (/pks/add, 4 clients, one key a request) while wrk
//     asks A for random keys and B reconciles with A again and again: keys/s accepted, the lookups meanwhile
//     beside the lookups alone, and B holding every accepted key at the end;
//   - the resident memory of each process after all of that.
// Needs about 2.5 times the dump's size free on disk at the largest size (two stores and the dump).
// Run alone: node --conditions=source --import tsx bench/scale.ts     (make bench-scale)
//   BENCH_SCALE_SIZES=100000,2000000,6000000   BENCH_SCALE_SKS_MAX=2000000   BENCH_SCALE_SKS_RECON=0 skips SKS's pair
//   BENCH_SCALE_SECONDS=10   BENCH_SCALE_ROUNDS=3   BENCH_SCALE_ADD_SECONDS=30
//   BENCH_SCALE_SAMPLE=150000 keys a round: more than a run asks for, so wrk, which cycles through its list, asks no
//   key twice (with 60 000, every key came twice, and the caches kept each answer on its second miss for nothing)
//   BENCH_SCALE_DUMP=6000000  the dump the stores are cut from (default: the largest size's)
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync, linkSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyStore, armor, defaultSettings, policyFromSettings } from '../packages/keystore/src/index.js';
import { cachedDump } from '../packages/sks-admin/src/gen.js';
import { keyBlocks } from '../test/support/keyrings.js';
import { buildSks, startSks, type Sks } from '../test/support/sks.js';
import { freePort, freePortPair, waitForPort } from '../test/support/ports.js';
import { treeRssMiB } from '../test/support/procs.js';
import { startDbProcess } from './db-process.js';
import { makeTempDir } from '../test/support/tmp.js';
import { dumpFor, loadOurs, publicProfileParams } from './load.js';
import { drawKeys } from './lookup-random.js';
import { measureOurs, measureSks, relay, service, sksPairFrom, startOurB, type Measured, type OurA } from './recon.js';
import type { Row } from './row.js';
import { luaScript, medianRun, runWrk, type WrkResult } from './wrk.js';

const KEYS_PER_FILE = 15000;
const log = (l: string) => console.error(`bench scale: ${l}`);

/** Bytes of a file or of everything under a folder. */
function diskBytes(path: string): number {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, e) => n + diskBytes(join(path, e)), 0);
}

/** A node as an operator runs it: sks-db (default workers), sks-recon and sks-cron in processes of their own. */
interface Node extends OurA {
  url: string;
  procs: Record<'sks-db' | 'sks-recon' | 'sks-cron', ChildProcess>;
  /** Seconds from start until HKP and recon both answer. */
  startS: number;
}

async function startNode(basedir: string): Promise<Node> {
  const [reconPort, hkpPort] = await freePortPair();
  writeFileSync(join(basedir, 'sksconf'), [
    'recon_address: 127.0.0.1', `recon_port: ${reconPort}`, 'hkp_address: 127.0.0.1', `hkp_port: ${hkpPort}`,
    'disable_gossip:', 'log_level: warn',
    // the hourly statistics job would land in a measurement now and then; everything else keeps its schedule
    'cron_stats: off', '',
  ].join('\n'));
  writeFileSync(join(basedir, 'membership'), '127.0.0.1 1\n');
  const env = { ...process.env, SKS_QUIET: '1' };
  const t0 = Date.now();
  const procs = Object.fromEntries((['sks-db', 'sks-recon', 'sks-cron'] as const).map((pkg) =>
    [pkg, spawn(process.execPath, [...service(pkg), '--basedir', basedir], { env, stdio: 'ignore' })])) as Node['procs'];
  await waitForPort(hkpPort, 600_000);
  await waitForPort(reconPort, 600_000);
  const startS = (Date.now() - t0) / 1000;
  const store = KeyStore.open(join(basedir, 'keys.sqlite'), { policy: policyFromSettings(defaultSettings()) });
  return {
    store, reconPort, url: `http://127.0.0.1:${hkpPort}`, procs, startS,
    async stop() {
      await Promise.all(Object.values(procs).map((p) => new Promise<void>((r) => {
        if (p.exitCode !== null) return r();
        p.once('exit', () => r());
        p.kill('SIGTERM');
      })));
      store.close();
    },
  };
}

function medianMs(xs: Measured[]): number {
  const s = xs.map((x) => x.ms).sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** New keys for recon and uploads: a public-profile dump of another seed (none of them in the big dump). */
async function newKeys(n: number): Promise<Buffer[]> {
  const { dir, manifest } = await cachedDump({ ...publicProfileParams(n), seed: 'bench-scale-new' });
  return manifest.files.flatMap((f) => keyBlocks(readFileSync(join(dir, f))));
}

/** Uploads keys one per request from `clients` clients until `until`; resolves with the keys accepted. */
async function upload(url: string, keys: Buffer[], clients: number, until: number): Promise<{ ok: number; failed: number; sent: Buffer[] }> {
  let next = 0;
  let ok = 0;
  let failed = 0;
  const sent: Buffer[] = [];
  await Promise.all(Array.from({ length: clients }, async () => {
    while (Date.now() < until && next < keys.length) {
      const key = keys[next++]!;
      const res = await fetch(`${url}/pks/add`, {
        method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ keytext: armor(key, 'PUBLIC KEY BLOCK') }).toString(),
      });
      await res.arrayBuffer();
      if (res.status === 200) {
        ok++;
        sent.push(key);
      } else failed++;
    }
  }));
  return { ok, failed, sent };
}

interface SizeFigures {
  keys: number;
  rows: Row[];
  /** Lookup rates (req/s) by load and server, for the comparison across sizes. */
  rates: Record<string, number>;
}

interface ScaleDump {
  dir: string;
  manifest: { keys: number; files: string[] };
}

async function oneSize(size: number, dump: ScaleDump, extras: Buffer[], withSks: boolean): Promise<SizeFigures> {
  const seconds = Number(process.env.BENCH_SCALE_SECONDS ?? 10);
  const rounds = Math.max(1, Number(process.env.BENCH_SCALE_ROUNDS ?? 3));
  const addSeconds = Number(process.env.BENCH_SCALE_ADD_SECONDS ?? 30);
  const sample = Number(process.env.BENCH_SCALE_SAMPLE ?? 150_000);
  // The first whole files of the dump, hard-linked into a folder of their own (the loader reads regular files).
  const files = dump.manifest.files.slice(0, Math.ceil(size / KEYS_PER_FILE));
  const keys = Math.min(dump.manifest.keys, files.length * KEYS_PER_FILE);
  const prefix = makeTempDir(`bench-scale-${keys}-dump-`);
  for (const f of files) linkSync(join(dump.dir, f), join(prefix, f));
  const bytes = files.reduce((n, f) => n + statSync(join(dump.dir, f)).size, 0);
  const label = `${keys}-key`;
  const at = ` (${keys} keys)`;
  const rows: Row[] = [];

  // 1. Load, and the size on disk.
  const ours = await loadOurs(prefix, keys, bytes, label);
  const dbFile = join(ours.basedir, 'keys.sqlite');
  const oursDisk = diskBytes(dbFile) + diskBytes(`${dbFile}-wal`);
  let sksBuilt: { basedir: string; ms: number } | undefined;
  if (withSks) {
    sksBuilt = await buildSks({ keyFiles: files.map((f) => join(dump.dir, f)), tolerateCleandbCrash: true });
    log(`SKS built ${keys} keys in ${(sksBuilt.ms / 1000).toFixed(0)} s`);
  }
  const sksDisk = sksBuilt ? diskBytes(join(sksBuilt.basedir, 'var/lib/sks')) : undefined;
  rows.push({ metric: `load${at}`, ours: ours.rate, sks: sksBuilt ? keys / (sksBuilt.ms / 1000) : 'not run', ratio: sksBuilt ? ours.rate / (keys / (sksBuilt.ms / 1000)) : undefined, unit: 'keys/s' });
  rows.push({ metric: `load${at}, peak RSS`, ours: ours.peakMiB, sks: '', unit: 'MiB' });
  rows.push({ metric: `database on disk${at}`, ours: oursDisk / 2 ** 30, sks: sksDisk === undefined ? 'not run' : sksDisk / 2 ** 30, ratio: sksDisk ? sksDisk / oursDisk : undefined, unit: 'GiB' });

  // 2. Node B's store: a copy made before A runs, written past the page cache. This machine holds two stores of the
  // size at once (2 x 17 GB at 6M keys, against 24 GiB of memory) where a real node holds one; a copy kept in the
  // cache pushed A's own store out of it just before A's lookups, which then waited on the disk by chance.
  const bDir = makeTempDir(`bench-scale-${keys}-b-`);
  const c0 = Date.now();
  copyPastPageCache(dbFile, join(bDir, 'keys.sqlite'));
  log(`copied the store for node B in ${((Date.now() - c0) / 1000).toFixed(0)} s`);

  // 3. Node A under random lookups.
  const drawn = drawKeys(dbFile, sample * (rounds + 1), 2000);
  const slice = <T>(list: T[], r: number) => list.slice(Math.floor((r * list.length) / (rounds + 1)), Math.floor(((r + 1) * list.length) / (rounds + 1)));
  const dir = makeTempDir('bench-scale-lua-');
  const gets = (r: number) => luaScript(dir, `get${keys}-${r}`, slice(drawn.fps, r).map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`));
  const loads = [
    { name: 'get by fingerprint', scripts: Array.from({ length: rounds }, (_, r) => gets(r)), warm: luaScript(dir, `getw${keys}`, drawn.warmFps.map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`)) },
    {
      name: 'mr index by e-mail',
      scripts: Array.from({ length: rounds }, (_, r) =>
        luaScript(dir, `email${keys}-${r}`, slice(drawn.emails, r).map((e) => `/pks/lookup?op=index&options=mr&search=${encodeURIComponent(e)}`))),
      warm: luaScript(dir, `emailw${keys}`, drawn.warmEmails.map((e) => `/pks/lookup?op=index&options=mr&search=${encodeURIComponent(e)}`)),
    },
  ];
  const a = await startNode(ours.basedir);
  log(`node A up in ${a.startS.toFixed(1)} s`);
  rows.push({ metric: `start until HKP and recon answer${at}`, ours: a.startS, sks: '', unit: 's' });
  const sks: Sks | undefined = sksBuilt ? await startSks({ basedir: sksBuilt.basedir, gossip: false }) : undefined;
  // and sks-db without its reply caches (lookup_cache_bytes 0) on the same store, asked in turn with the others
  const uncached = await startDbProcess({
    basedir: ours.basedir, workers: availableParallelism(),
    settings: { hkp_address: ['127.0.0.1'], hkp_port: await freePort(), log_level: 'warn', lookup_cache_bytes: 0 },
  });
  const alone: WrkResult[] = [];
  const rates: Record<string, number> = {};
  try {
    for (const load of loads) {
      const servers = [
        { name: 'ours', url: a.url, runs: [] as WrkResult[] },
        ...(sks ? [{ name: 'SKS', url: sks.hkpUrl, runs: [] as WrkResult[] }] : []),
        { name: 'ours, caches off', url: uncached.url, runs: [] as WrkResult[] },
      ];
      for (const s of servers) await runWrk(s.url, load.warm, 8, 2);
      for (let r = 0; r < rounds; r++) for (const s of servers) s.runs.push(await runWrk(s.url, load.scripts[r]!, 64, seconds));
      for (const s of servers) log(`${load.name}${at}, ${s.name}: ${s.runs.map((x) => `${x.rps.toFixed(0)} req/s p99 ${x.p99}ms (${x.errors} errors)`).join(' / ')}`);
      const o = medianRun(servers[0]!.runs);
      const b = sks ? medianRun(servers[1]!.runs) : undefined;
      const off = medianRun(servers.at(-1)!.runs);
      if (load === loads[0]) alone.push(o);
      rates[load.name] = o.rps;
      rates[`${load.name}, caches off`] = off.rps;
      rows.push({ metric: `${load.name}, random keys${at}, c=64`, ours: o.rps, sks: b?.rps ?? 'not run', ratio: b ? o.rps / b.rps : undefined, unit: 'req/s' });
      rows.push({ metric: `${load.name}, random keys${at}, c=64, p99`, ours: o.p99, sks: b?.p99 ?? 'not run', ratio: b ? b.p99 / o.p99 : undefined, unit: 'ms', target: '< 25 ms' });
      rows.push({ metric: `${load.name}, random keys${at}, c=64, caches off`, ours: off.rps, sks: b?.rps ?? 'not run', ratio: b ? off.rps / b.rps : undefined, unit: 'req/s' });
      rows.push({ metric: `${load.name}, random keys${at}, c=64, caches off, p99`, ours: off.p99, sks: b?.p99 ?? 'not run', ratio: b ? b.p99 / off.p99 : undefined, unit: 'ms', target: '< 25 ms' });
      const errors = servers.flatMap((s) => s.runs).reduce((n, x) => n + x.errors, 0);
      if (errors > 0) rows.push({ metric: `${load.name}${at}: errors in the runs above`, ours: errors, sks: '' });
    }
    if (sks) {
      const [db, recon] = sks.pids().map(treeRssMiB);
      rows.push({ metric: `RSS after the lookups${at}: SKS db, recon`, ours: '', sks: `${db!.toFixed(0)}, ${recon!.toFixed(0)}`, unit: 'MiB' });
    }
  } finally {
    await sks?.stop();
    await uncached.stop();
  }

  // 4. Recon between two nodes of this size. B's store is read into the page cache first, as a node's own store is
  // (it was copied past the cache for A's lookups, which are done by now).
  const w0 = Date.now();
  readIntoPageCache(join(bDir, 'keys.sqlite'));
  log(`read node B's store into the page cache in ${((Date.now() - w0) / 1000).toFixed(0)} s`);
  const b = await startOurB(join(bDir, 'keys.sqlite'), ['sks'], true);
  let extra = 0;
  const take = (n: number) => extras.slice(extra, (extra += n));
  const ds = [100, 1000];
  try {
    await measureOurs(a, b, take(2)); // warm-up
    const recon = new Map<number, Measured[]>(ds.map((d) => [d, []]));
    for (let r = 0; r < 3; r++) for (const d of ds) {
      const m = await measureOurs(a, b, take(d));
      log(`recon d=${d}${at}, ours: ${m.ms.toFixed(0)} ms (${m.detail})`);
      recon.get(d)!.push(m);
    }
    const sksRecon = new Map<number, number>();
    if (sksBuilt && process.env.BENCH_SCALE_SKS_RECON !== '0') {
      const pair = await sksPairFrom(sksBuilt.basedir, true);
      const via = await relay(pair.a.reconPort);
      try {
        await measureSks(pair.a, pair.b, via, take(2));
        for (const d of ds) {
          const m = await measureSks(pair.a, pair.b, via, take(d));
          log(`recon d=${d}${at}, SKS: ${m.ms.toFixed(0)} ms`);
          sksRecon.set(d, m.ms);
        }
      } finally {
        via.server.close();
        await pair.a.stop();
        await pair.b.stop();
      }
    }
    for (const d of ds) {
      const o = medianMs(recon.get(d)!);
      const s = sksRecon.get(d);
      rows.push({ metric: `recon d=${d} between two nodes${at}`, ours: o, sks: s ?? 'not run', ratio: s ? s / o : undefined, unit: 'ms', target: d === 100 ? '< 200 ms' : undefined });
    }

    // 5. Sustained uploads while lookups and recon run.
    const until = Date.now() + addSeconds * 1000;
    let sessions = 0;
    let fetched = 0;
    const reconLoop = (async () => {
      while (Date.now() < until) {
        const s = await b.recon.server.syncWith({ host: '127.0.0.1', port: a.reconPort });
        if (!s.ok) throw new Error(`recon during uploads failed: ${s.error}`);
        sessions++;
        fetched += s.fetched;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const [during, up] = await Promise.all([
      runWrk(a.url, gets(rounds), 64, addSeconds, { waitForQuiet: false }),
      upload(a.url, extras.slice(extra), 4, until),
      reconLoop,
    ]);
    const final = await b.recon.server.syncWith({ host: '127.0.0.1', port: a.reconPort });
    if (!final.ok) throw new Error(`the last recon session failed: ${final.error}`);
    log(`uploads${at}: ${up.ok} accepted, ${up.failed} refused in ${addSeconds} s; lookups meanwhile ${during.rps.toFixed(0)} req/s p99 ${during.p99} ms; ` +
      `${sessions} recon sessions fetched ${fetched} keys; B ${b.store.count()} keys, A ${a.store.count()}`);
    if (b.store.count() !== a.store.count()) throw new Error(`after the uploads B holds ${b.store.count()} keys, A ${a.store.count()}`);
    rows.push({ metric: `uploads while lookups and recon run${at}`, ours: up.ok / addSeconds, sks: '', unit: 'keys/s' });
    rows.push({ metric: `get by fingerprint during the uploads${at} (alone: ${alone[0]?.rps.toFixed(0)} req/s, p99 ${alone[0]?.p99} ms)`, ours: during.rps, sks: '', unit: 'req/s' });
    rows.push({ metric: `get by fingerprint during the uploads${at}, p99`, ours: during.p99, sks: '', unit: 'ms' });
    if (during.errors + up.failed > 0) rows.push({ metric: `errors during the uploads${at} (lookups, uploads)`, ours: `${during.errors}, ${up.failed}`, sks: '' });

    // 6. Memory of each process after all of that.
    const rss = Object.fromEntries(Object.entries(a.procs).map(([n, p]) => [n, treeRssMiB(p.pid!)]));
    rows.push({ metric: `RSS at the end${at}: sks-db (all workers), sks-recon, sks-cron`, ours: `${rss['sks-db']!.toFixed(0)}, ${rss['sks-recon']!.toFixed(0)}, ${rss['sks-cron']!.toFixed(0)}`, sks: '', unit: 'MiB' });
  } finally {
    await b.stop();
    await a.stop();
    rmSync(bDir, { recursive: true, force: true });
    rmSync(ours.basedir, { recursive: true, force: true });
    if (sksBuilt) rmSync(sksBuilt.basedir, { recursive: true, force: true });
  }
  return { keys, rows, rates };
}

export async function runScaleBench(): Promise<Row[]> {
  const sizes = (process.env.BENCH_SCALE_SIZES ?? '100000,2000000,6000000').split(',').map(Number).sort((x, y) => x - y);
  const sksMax = Number(process.env.BENCH_SCALE_SKS_MAX ?? 2_000_000);
  // the dump whose prefixes the stores are: the largest size's, or a bigger one already generated (BENCH_SCALE_DUMP)
  const dumpKeys = Number(process.env.BENCH_SCALE_DUMP ?? Math.ceil(sizes[sizes.length - 1]! / KEYS_PER_FILE) * KEYS_PER_FILE);
  const dump = await dumpFor(publicProfileParams(dumpKeys), 'public-profile');
  return scaleRows(dump, sizes, sksMax);
}

/** The figures at each size, on stores cut from `dump` (a folder of whole dump files and what they hold). */
export async function scaleRows(dump: ScaleDump, sizes: number[], sksMax: number): Promise<Row[]> {
  const extras = await newKeys(20_000);
  const rows: Row[] = [];
  const done: SizeFigures[] = [];
  for (const size of sizes) {
    const r = await oneSize(size, dump, extras, size <= sksMax);
    rows.push(...r.rows);
    done.push(r);
  }
  // how the lookups hold up from the smallest store to the largest
  const [small, large] = [done[0]!, done.at(-1)!];
  if (done.length > 1) {
    for (const [what, rate] of Object.entries(large.rates)) {
      rows.push({ metric: `${what}: req/s at ${small.keys} keys / at ${large.keys} keys`, ours: small.rates[what]! / rate, sks: '', target: '<= 2' });
    }
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runScaleBench();
  for (const r of rows) console.log(JSON.stringify(r));
}

/** Reads `file` once (dd), which leaves its pages in the page cache. */
function readIntoPageCache(file: string): void {
  dd([`if=${file}`, 'of=/dev/null', 'bs=16M', 'status=none']);
}

/** Copies `from` to `to` (dd) and then drops the copy's pages from the page cache (dd's nocache flag, which only
 * drops what is already on disk, hence the fdatasync and the second, zero-length pass over the whole file). */
function copyPastPageCache(from: string, to: string): void {
  dd([`if=${from}`, `of=${to}`, 'bs=16M', 'oflag=nocache', 'conv=fdatasync', 'status=none']);
  dd([`of=${to}`, 'oflag=nocache', 'conv=notrunc,fdatasync', 'count=0', 'status=none']);
}

function dd(args: string[]): void {
  const r = spawnSync('dd', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dd ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}
