// Lookups as a public server sees them (issue 17): keys drawn at random from a large store, so nearly every request
// asks for a key no recent request asked for. The public-profile dump (BENCH_RANDOM_KEYS keys, default 1 000 000;
// the load part's cached files) is loaded into ours (`sks-admin load`) and into real SKS 1.1.6 (`sks build`, as
// the load part runs it); then wrk at c=64 asks each server, in turn, for op=get by fingerprint and an mr index by
// e-mail address of keys drawn at random, against sks-db with its caches (the default) and without
// (lookup_cache_bytes 0). Each round has keys of its own (BENCH_RANDOM_SAMPLE, default 150 000 a round, far more than
// sks-db's reply caches hold: ~3 KB a key against 64 MiB per worker), so no round is served from what an earlier one
// left in a cache; the three servers get the same keys in a round. Warm-up (JIT, SKS's process start) uses other keys.
// Before each run the server's store is read into the OS page cache (residentFiles: this VM pages out file pages idle
// for a minute), so a run measures the server, not the disk; the servers' own caches stay as configured.
// Run alone: node --conditions=source --import tsx bench/lookup-random.ts   (BENCH_RANDOM_SECONDS=8 per run)
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { KeyStore } from '../packages/keystore/src/index.js';
import { startDbProcess } from './db-process.js';
import { buildSks, startSks } from '../test/support/sks.js';
import { freePort } from '../test/support/ports.js';
import { makeTempDir } from '../test/support/tmp.js';
import { dumpFor, loadOurs, publicProfileParams } from './load.js';
import type { Row } from './row.js';
import { luaScript, medianRun, residentFiles, runWrk, type WrkResult } from './wrk.js';
import { hundredSignatureKeys, vindexBesideGet } from './vindex-beside-get.js';

/** A seeded generator of numbers in [0, 1): the same draws every run. Math.imul keeps the product in 32 bits (a
 * product in doubles passes 2^53 and loses its low bits, which made the sequence repeat after 10,466 draws). */
export function seededRandom(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff) / 0x80000000);
}

/** Fingerprints and e-mail addresses of `n` keys drawn at random (fixed seed) from the store, and of `warm` others;
 * and the drawn keys with 90-110 signatures (issue 17's vindex target). */
export function drawKeys(file: string, n: number, warm: number): {
  fps: string[]; emails: string[]; warmFps: string[]; warmEmails: string[]; hundred: string[];
} {
  const store = KeyStore.open(file, { readonly: true });
  try {
    const digests = [...store.digests()];
    const rand = seededRandom(1789);
    // a partial Fisher-Yates shuffle: n + warm distinct keys
    const want = Math.min(digests.length, n + warm);
    for (let i = 0; i < want; i++) {
      const j = i + Math.floor(rand() * (digests.length - i));
      [digests[i], digests[j]] = [digests[j]!, digests[i]!];
    }
    const fps: string[] = [];
    const emails: string[] = [];
    const hundred: string[] = [];
    for (const d of digests.slice(0, want)) {
      const key = store.getByDigest(d.toString('hex'))!;
      const entry = store.indexEntriesByKeyId(key.fingerprint)?.[0];
      if (!entry) continue;
      // only a key with a stored listing has 20 signatures or more: the others are not described
      if (store.listingByFingerprint(key.fingerprint) && hundredSignatureKeys([key]).length === 1) hundred.push(key.fingerprint);
      fps.push(entry.fingerprint);
      // the first address in the key's uid lines (mr escaping: %XX for bytes >= 128 and ':')
      const m = /^uid:[^:\n]*<([A-Za-z0-9._+-]+@[A-Za-z0-9.-]+)>/m.exec(entry.mrLines);
      emails.push(m ? m[1]!.toLowerCase() : '');
    }
    const cut = Math.max(0, fps.length - warm);
    return {
      fps: fps.slice(0, cut), emails: emails.slice(0, cut).filter((e) => e !== ''),
      warmFps: fps.slice(cut), warmEmails: emails.slice(cut).filter((e) => e !== ''), hundred,
    };
  } finally {
    store.close();
  }
}

export async function runLookupRandomBench(): Promise<Row[]> {
  const keys = Number(process.env.BENCH_RANDOM_KEYS ?? 1_000_000);
  const sample = Number(process.env.BENCH_RANDOM_SAMPLE ?? 150_000);
  const seconds = Number(process.env.BENCH_RANDOM_SECONDS ?? 8);
  const rounds = Math.max(1, Number(process.env.BENCH_RANDOM_ROUNDS ?? 3));
  const log = (l: string) => console.error(`bench lookup-random: ${l}`);

  const dump = await dumpFor(publicProfileParams(keys), 'public-profile');
  const ours = await loadOurs(dump.dir, dump.manifest.blocks, dump.manifest.bytes, 'public-profile');
  const built = await buildSks({ keyFiles: dump.manifest.files.map((f) => join(dump.dir, f)), tolerateCleandbCrash: true });
  log(`SKS built its store in ${(built.ms / 1000).toFixed(0)} s${built.cleandbCrash ? ` (cleandb: ${built.cleandbCrash})` : ''}`);
  const drawn = drawKeys(join(ours.basedir, 'keys.sqlite'), sample * rounds, 2000);
  log(`${drawn.fps.length} keys drawn at random from ${dump.manifest.keys}, ${drawn.emails.length} with an address, ` +
    `${drawn.hundred.length} with 90-110 signatures`);
  // round r's keys: the r-th slice of the draw
  const slice = <T>(list: T[], r: number) => list.slice(Math.floor((r * list.length) / rounds), Math.floor(((r + 1) * list.length) / rounds));

  const dir = makeTempDir('bench-random-');
  const loads = [
    {
      name: 'get by fingerprint',
      scripts: Array.from({ length: rounds }, (_, r) =>
        luaScript(dir, `get${r}`, slice(drawn.fps, r).map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`))),
      warm: luaScript(dir, 'get-warm', drawn.warmFps.map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`)),
    },
    {
      name: 'mr index by e-mail',
      scripts: Array.from({ length: rounds }, (_, r) =>
        luaScript(dir, `email${r}`, slice(drawn.emails, r).map((e) => `/pks/lookup?op=index&options=mr&search=${encodeURIComponent(e)}`))),
      warm: luaScript(dir, 'email-warm', drawn.warmEmails.map((e) => `/pks/lookup?op=index&options=mr&search=${encodeURIComponent(e)}`)),
    },
  ];

  const workers = availableParallelism();
  const common = { hkp_address: ['127.0.0.1'], log_level: 'warn', max_index_results: 5000, max_get_results: 5000 };
  const cached = await startDbProcess({ basedir: ours.basedir, workers, settings: { ...common, hkp_port: await freePort() } });
  const uncached = await startDbProcess({ basedir: ours.basedir, workers, settings: { ...common, hkp_port: await freePort(), lookup_cache_bytes: 0 } });
  const sks = await startSks({ basedir: built.basedir, gossip: false });
  // what each server reads its keys from (SKS: its KDB and PTree databases), read into the page cache before its runs
  const stores = { ours: [join(ours.basedir, 'keys.sqlite')], sks: [join(built.basedir, 'var/lib/sks')] };
  const rows: Row[] = [];
  try {
    for (const load of loads) {
      const servers = [
        { name: 'ours, caches on', url: cached.url, store: stores.ours, runs: [] as WrkResult[] },
        { name: 'ours, caches off', url: uncached.url, store: stores.ours, runs: [] as WrkResult[] },
        { name: 'SKS', url: sks.hkpUrl, store: stores.sks, runs: [] as WrkResult[] },
      ];
      for (const s of servers) await runWrk(s.url, load.warm, 8, 2);
      // in turn, round by round: a drift of the machine touches all three alike; each with its store in the page cache
      for (let r = 0; r < rounds; r++) {
        for (const s of servers) {
          residentFiles(s.store);
          s.runs.push(await runWrk(s.url, load.scripts[r]!, 64, seconds));
        }
      }
      const [on, off, base] = servers.map((s) => medianRun(s.runs)) as [WrkResult, WrkResult, WrkResult];
      for (const s of servers) {
        log(`${load.name} c=64, ${s.name}: ${s.runs.map((x) => `${x.rps.toFixed(0)} req/s p99 ${x.p99}ms (${x.errors} errors)`).join(' / ')}`);
      }
      const what = `${load.name}, random keys of ${dump.manifest.keys}, c=64`;
      rows.push({ metric: `${what}, caches off`, ours: off.rps, sks: base.rps, ratio: off.rps / base.rps, unit: 'req/s', target: '>= 10x' });
      rows.push({ metric: `${what}, caches off, p99`, ours: off.p99, sks: base.p99, ratio: base.p99 / off.p99, unit: 'ms', target: load === loads[0] ? 'ours < 25 ms' : undefined });
      rows.push({ metric: `${what}, caches on`, ours: on.rps, sks: base.rps, ratio: on.rps / base.rps, unit: 'req/s' });
      const errors = servers.flatMap((s) => s.runs).reduce((n, x) => n + x.errors, 0);
      if (errors > 0) rows.push({ metric: `${what}: errors in the runs above`, ours: errors, sks: '' });
    }
    if (drawn.hundred.length > 0) {
      rows.push(...(await vindexBesideGet({
        dir, keys: drawn.hundred, oursUrl: uncached.url, sksUrl: sks.hkpUrl, concurrency: 64, rounds, seconds, stores,
        what: `100-signature keys drawn at random from ${dump.manifest.keys}`, log,
      })));
    }
  } finally {
    await Promise.allSettled([cached.stop(), uncached.stop(), sks.stop()]);
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await runLookupRandomBench();
  for (const r of rows) console.log(JSON.stringify(r));
}
