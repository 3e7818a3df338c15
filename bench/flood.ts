// Flood benchmark (issue 18): flooded keys (BENCH_FLOOD_CERTS third-party certifications on one user ID, default
// 20 000, i.e. a 2.4 MB key; BENCH_FLOOD_KEYS distinct keys, default 8, generated once and cached) uploaded to
// /pks/add at full speed by BENCH_FLOOD_UPLOADERS loops (default 2) while wrk asks for keys of debian-keyring by
// fingerprint (c=8), for BENCH_FLOOD_SECONDS (default 20), against our sks-db and real SKS 1.1.6 in turn. Reported:
// lookup rate and p99 without and with the flood, uploads answered and their median time, and the peak RSS of every
// process of each server (VmHWM: the most it ever held).
// Run alone: BENCH_ONLY=flood node --conditions=source --import tsx bench/run.ts
import cluster from 'node:cluster';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { KeyStore, armor, fingerprintOf, readPackets } from '../packages/keystore/src/index.js';
import { startDb } from '../packages/sks-db/src/index.js';
import { cachedDump } from '../packages/sks-admin/src/gen.js';
import { DEBIAN_KEYRING, keyBlocks } from '../test/support/keyrings.js';
import { startSks } from '../test/support/sks.js';
import { makeTempDir } from '../test/support/tmp.js';
import { freePort } from '../test/support/ports.js';
import type { Row } from './row.js';
import { luaScript, runWrk } from './wrk.js';

/** Uploads the keys in turn, `loops` at a time, until `until`; counts answers and their times. */
async function flood(url: string, bodies: string[], loops: number, until: number): Promise<{ ok: number; failed: number; ms: number[] }> {
  const ms: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  await Promise.all(Array.from({ length: loops }, async () => {
    while (Date.now() < until) {
      const body = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      try {
        const r = await fetch(`${url}/pks/add`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, signal: AbortSignal.timeout(120_000),
        });
        await r.arrayBuffer();
        if (r.status === 200) ok++;
        else failed++;
      } catch {
        failed++;
      }
      ms.push(performance.now() - t0);
    }
  }));
  return { ok, failed, ms };
}

/** Peak resident memory (VmHWM) of a process, MiB. */
function peakMiB(pid: number): number {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  } catch {
    return NaN;
  }
}

function median(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v.length === 0 ? NaN : v[Math.floor(v.length / 2)]!;
}

export async function runFloodBench(): Promise<Row[]> {
  const certs = Number(process.env.BENCH_FLOOD_CERTS ?? 20_000);
  const nKeys = Number(process.env.BENCH_FLOOD_KEYS ?? 8);
  const seconds = Number(process.env.BENCH_FLOOD_SECONDS ?? 20);
  const loops = Number(process.env.BENCH_FLOOD_UPLOADERS ?? 2);
  const log = (l: string) => console.error(l);

  const dump = await cachedDump({ keys: nKeys, seed: 'bench-flood', flooded: nKeys, floodCerts: certs, dups: 0, keysPerFile: nKeys, v6: false });
  const flooded = dump.manifest.files.flatMap((f) => keyBlocks(readFileSync(join(dump.dir, f))));
  const bodies = flooded.map((k) => new URLSearchParams({ keytext: armor(k) }).toString());
  log(`bench flood: ${flooded.length} flooded keys, ${certs} certifications each, ${(median(bodies.map((b) => b.length)) / 1048576).toFixed(1)} MB per upload`);

  const dir = makeTempDir('bench-flood-');
  const fps = keyBlocks(readFileSync(DEBIAN_KEYRING)).map((b) => fingerprintOf(readPackets(b)[0]!.body));
  const script = luaScript(dir, 'get', fps.map((f) => `/pks/lookup?op=get&options=mr&search=0x${f}`));

  const measure = async (name: string, url: string, pids: () => number[]) => {
    await runWrk(url, script, 8, 3); // warm-up
    const quiet = await runWrk(url, script, 8, Math.min(10, seconds));
    const until = Date.now() + seconds * 1000;
    const [loaded, up] = await Promise.all([runWrk(url, script, 8, seconds, { waitForQuiet: false }), flood(url, bodies, loops, until)]);
    const rss = pids().map((p) => peakMiB(p));
    log(`bench flood: ${name}: lookups ${quiet.rps.toFixed(0)} -> ${loaded.rps.toFixed(0)} req/s, p99 ${quiet.p99} -> ${loaded.p99} ms ` +
      `(${loaded.errors} errors); uploads ${up.ok} ok, ${up.failed} failed, median ${median(up.ms).toFixed(0)} ms; peak RSS ${rss.map((r) => r.toFixed(0)).join(' / ')} MiB`);
    return { quiet, loaded, up, rss };
  };

  // ours: sks-db as deployed (a cluster of one worker per core, each its own process)
  const basedir = makeTempDir('bench-flood-ours-');
  const store = KeyStore.open(join(basedir, 'keys.sqlite'));
  store.upsertMaterial(readFileSync(DEBIAN_KEYRING), 'load');
  store.close();
  const port = await freePort();
  const ours = await startDb({ basedir, workers: availableParallelism(), settings: { hkp_port: port, hkp_address: ['127.0.0.1'], log_level: 'warn' } });
  let o;
  try {
    o = await measure('ours', ours.url, () => [process.pid, ...Object.values(cluster.workers ?? {}).map((w) => w!.process.pid!)]);
  } finally {
    await ours.stop();
  }

  const sks = await startSks({ keyFiles: [DEBIAN_KEYRING], gossip: false });
  let s;
  try {
    const sksPids = () => execFileSync('pgrep', ['-f', sks.basedir]).toString().trim().split('\n').map(Number).filter((n) => n > 0);
    s = await measure('SKS', sks.hkpUrl, sksPids);
  } finally {
    await sks.stop();
  }

  const ratio = (a: number, b: number) => (a > 0 && b > 0 ? a / b : undefined);
  return [
    { metric: `flooded keys uploaded (${certs} certifications on one user ID, ${loops} uploaders, ${seconds} s)`, ours: o.up.ok, sks: s.up.ok,
      ratio: ratio(o.up.ok, s.up.ok) },
    { metric: 'flooded uploads refused or failed', ours: o.up.failed, sks: s.up.failed },
    { metric: 'flooded upload, median time', unit: 'ms', ours: median(o.up.ms), sks: median(s.up.ms), ratio: ratio(median(s.up.ms), median(o.up.ms)) },
    { metric: 'get c=8 without flood', unit: 'req/s', ours: o.quiet.rps, sks: s.quiet.rps, ratio: ratio(o.quiet.rps, s.quiet.rps) },
    { metric: 'get c=8 during flood', unit: 'req/s', ours: o.loaded.rps, sks: s.loaded.rps, ratio: ratio(o.loaded.rps, s.loaded.rps) },
    { metric: 'get c=8 p99 without flood', unit: 'ms', ours: o.quiet.p99, sks: s.quiet.p99, ratio: ratio(s.quiet.p99, o.quiet.p99) },
    { metric: 'get c=8 p99 during flood', unit: 'ms', ours: o.loaded.p99, sks: s.loaded.p99, ratio: ratio(s.loaded.p99, o.loaded.p99) },
    { metric: 'lookup errors during flood', ours: o.loaded.errors, sks: s.loaded.errors },
    { metric: 'peak RSS per process (ours: the bench process, which is the cluster primary and the uploading client, / each worker; SKS: db / recon)', unit: 'MiB',
      ours: o.rss.map((r) => r.toFixed(0)).join(' / '), sks: s.rss.map((r) => r.toFixed(0)).join(' / ') },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.table(await runFloodBench());
  process.exit(0);
}
