// Load benchmark: generated keydumps (made once and cached under the temp dir) loaded by `sks-admin load` into a
// fresh base directory, timed as whole processes.
//   1. The full default-profile dump (BENCH_LOAD_KEYS keys, default 1 000 000; split duplicates to merge, flooded
//      keys to cut): ours only.
//   2. The same dump without split duplicates (dups: 0, same seed), which Debian's SKS 1.1.6 can process (its
//      cleandb aborts on the split copies): ours and real SKS (`sks build` + `cleandb` + `pbuild`, as
//      test/support/sks.ts buildSks runs them) on the same files, as a ratio.
//   3. A dump of the public profile (BENCH_LOAD_PUBLIC_KEYS keys, default 1 000 000, ~2 KB a key, shaped like the
//      public SKS keydump: RSA/DSA, certifications, photo IDs): ours and SKS again, and what the measured rates
//      project for the public keydump itself (6 million keys, 12 GB), which this machine cannot download.
//   BENCH_LOAD_KEYS=100000        default-profile dump size
//   BENCH_LOAD_PUBLIC_KEYS=0      skip part 3 (generating 1M public-profile keys takes ~13 min once)
//   BENCH_LOAD_SKS=0              skip SKS (and part 2's dump)
//   BENCH_LOAD_WORKERS=N          loader worker threads (default: one per core)
//   BENCH_LOAD_HOCKEYPUCK=0       skip loading the public-profile dump again with recon_profiles sks,hockeypuck
//                                 (issue 13: every self-signature verified, Hockeypuck's digest set kept beside SKS's)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedDump, type GenParams } from '../packages/sks-admin/src/gen.js';
import { Progress } from '../packages/sks-admin/src/progress.js';
import { buildSks } from '../test/support/sks.js';
import { makeTempDir } from '../test/support/tmp.js';
import type { Row } from './row.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The loader command: the built CLI when there is one (make bench builds first), else the sources. */
function loaderCommand(): string[] {
  const dist = join(ROOT, 'packages/sks-admin/dist/main.js');
  if (existsSync(dist) && process.env.BENCH_FROM_SOURCE !== '1') return [process.execPath, dist];
  return [process.execPath, '--conditions=source', '--import', 'tsx', join(ROOT, 'packages/sks-admin/src/main.ts')];
}

interface Measured {
  ms: number;
  peakRssKb: number;
  stdout: string;
  stderr: string;
}

/** Runs a command, sampling the peak RSS of the process (VmHWM; worker threads share it) until it exits. */
function measure(cmd: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  return new Promise((resolveRun, reject) => {
    const t0 = Date.now();
    const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      process.stderr.write(d);
    });
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peak = Math.max(peak, Number(m[1]));
      } catch {
        // exited
      }
    }, 200);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      if (code !== 0) reject(new Error(`${cmd.join(' ')} exited ${code}:\n${stderr.slice(-2000)}`));
      else resolveRun({ ms: Date.now() - t0, peakRssKb: peak, stdout, stderr });
    });
  });
}

/** Flush dirty pages before a timed run: a freshly generated dump (2 GB for the public profile) or the previous
 * run's database is still being written back, and whichever side ran next paid for it (ours: 46 s settled, 55 s
 * right after generating). Both sides start from a settled disk. */
function settleDisk(): void {
  execFileSync('sync');
}

/** A generated dump, made once and cached (announced on stderr). */
export async function dumpFor(params: GenParams, label: string) {
  const gp = new Progress(`bench gen ${label}`);
  const r = await cachedDump(params, {
    onProgress: (k, _b, bytes) => gp.update({ keys: k, bytes, totalBytes: undefined }),
  });
  if (!r.cached) gp.done({ keys: r.manifest.keys, bytes: r.manifest.bytes });
  console.error(`bench load: ${label} dump of ${r.manifest.keys} keys (${r.manifest.blocks} blocks, ` +
    `${(r.manifest.bytes / 1048576).toFixed(0)} MB) in ${r.dir}` +
    `${r.cached ? ' (cached)' : `, generated in ${(r.manifest.ms / 1000).toFixed(0)} s`}`);
  return r;
}

interface OursRun {
  /** The base directory loaded into (left for a later part to serve). */
  basedir: string;
  s: number;
  rate: number;
  mbs: number;
  peakMiB: number;
  counts: string;
}

/** `sks-admin load` of a dump into a fresh base directory, timed as a whole process (startup to exit, the index
 * and prefix-tree builds at the end included). */
export async function loadOurs(dir: string, blocks: number, bytes: number, label: string, sksconf?: string): Promise<OursRun> {
  const base = makeTempDir('bench-load-');
  if (sksconf) writeFileSync(join(base, 'sksconf'), sksconf);
  const args = ['load', '--dir', dir, '--basedir', base];
  if (process.env.BENCH_LOAD_WORKERS) args.push('--workers', process.env.BENCH_LOAD_WORKERS);
  settleDisk();
  const m = await measure([...loaderCommand(), ...args], { ...process.env, SKS_QUIET: '1' });
  const s = m.ms / 1000;
  const run: OursRun = {
    basedir: base, s, rate: blocks / s, mbs: bytes / 1048576 / s, peakMiB: m.peakRssKb / 1024,
    counts: /this run: (.*)/.exec(m.stdout)?.[1] ?? '?',
  };
  console.error(`bench load: ours on the ${label} dump ${s.toFixed(1)} s, ${run.rate.toFixed(0)} keys/s, ` +
    `${run.mbs.toFixed(2)} MB/s, peak RSS ${run.peakMiB.toFixed(0)} MiB; ${run.counts}`);
  return run;
}

/** The public SKS keydump, as issue 2 gives its size: what the public-profile rates are projected onto. */
const PUBLIC_DUMP = { keys: 6_000_000, bytes: 12e9 };

type Dump = Awaited<ReturnType<typeof dumpFor>>;

/** The rows of one dump's load: ours, and SKS's beside them when it was run (`sks`: its seconds, or why none). */
function loadRows(label: string, dump: Dump, ours: OursRun, sks?: { s?: number; note: string }): Row[] {
  const blocks = dump.manifest.blocks;
  const mb = dump.manifest.bytes / 1048576;
  const side = (v: (s: number) => number) => (sks === undefined ? '' : sks.s === undefined ? sks.note : v(sks.s));
  const ratio = sks?.s ? sks.s / ours.s : undefined;
  const rows: Row[] = [
    { metric: `key blocks loaded (${label} dump)`, ours: blocks, sks: side(() => blocks) },
    { metric: `load time (${label} dump)`, unit: 's', ours: ours.s, sks: side((s) => s), ratio },
    { metric: `load rate (${label} dump)`, unit: 'keys/s', ours: ours.rate, sks: side((s) => blocks / s), ratio, target: sks ? '>= 7000, >= 5x SKS' : '>= 7000' },
    { metric: `throughput (${label} dump)`, unit: 'MB/s', ours: ours.mbs, sks: side((s) => mb / s), ratio },
    { metric: `peak RSS of the loader (${label} dump)`, unit: 'MiB', ours: ours.peakMiB, sks: '', target: '< 1024' },
    { metric: `counts (${label} dump)`, ours: ours.counts, sks: '' },
  ];
  if (sks?.s !== undefined && sks.note !== '') rows.push({ metric: `SKS run (${label} dump)`, ours: '', sks: sks.note });
  return rows;
}

/** Ours alone on a dump (one SKS cannot process, or SKS skipped), as rows. */
async function oursAlone(dump: Dump, label: string): Promise<{ rows: Row[]; ours: OursRun }> {
  const ours = await loadOurs(dump.dir, dump.manifest.blocks, dump.manifest.bytes, label);
  return { rows: loadRows(label, dump, ours), ours };
}

/** Ours and real SKS on the same files (a dump SKS can process: no split copies), as rows with ratios. */
async function oursBesideSks(dump: Dump, label: string): Promise<{ rows: Row[]; ours: OursRun; sks?: { s?: number; note: string } }> {
  const blocks = dump.manifest.blocks;
  const ours = await loadOurs(dump.dir, blocks, dump.manifest.bytes, label);
  let sksS: number | undefined;
  let sksNote = '';
  settleDisk();
  const t0 = Date.now();
  try {
    const r = await buildSks({ keyFiles: dump.manifest.files.map((f) => join(dump.dir, f)), tolerateCleandbCrash: true });
    sksS = r.ms / 1000;
    if (r.cleandbCrash) {
      // SKS's time then lacks the rest of its merge pass: its rate is overstated, our ratio understated.
      sksNote = `cleandb crashed mid-merge (${r.cleandbCrash}); SKS time is build + partial cleandb + pbuild`;
      console.error(`bench load: SKS ${sksNote}`);
    }
    console.error(`bench load: SKS on the ${label} dump ${sksS.toFixed(1)} s, ${(blocks / sksS).toFixed(0)} keys/s`);
  } catch (e) {
    // keep our figures when SKS fails
    sksNote = `failed after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${String((e as Error).message).split('\n')[0]}`;
    console.error(`bench load: SKS ${sksNote}`);
  }
  return { rows: loadRows(label, dump, ours, { s: sksS, note: sksNote }), ours, sks: { s: sksS, note: sksNote } };
}

/** The public-profile dump of `keys` keys (the lookup-random part reads the same cached files). */
export function publicProfileParams(keys: number): GenParams {
  return { keys, seed: 'bench', dups: 0, flooded: 0, floodCerts: 0, keysPerFile: 15000, profile: 'public' };
}

export async function runLoadBench(): Promise<Row[]> {
  const keys = Number(process.env.BENCH_LOAD_KEYS ?? 1_000_000);
  const publicKeys = Number(process.env.BENCH_LOAD_PUBLIC_KEYS ?? 1_000_000);
  const params: GenParams = {
    keys,
    seed: 'bench',
    dups: Math.floor(keys / 100),
    flooded: Math.max(1, Math.floor(keys / 250_000)),
    floodCerts: 100_000,
    keysPerFile: 15000,
    // SKS 1.1.6 aborts `sks build` at the first v6 key: both sides get the same v4-only files
    v6: false,
  };
  const withSks = process.env.BENCH_LOAD_SKS !== '0';

  // 1. Ours on the full generated dump: split duplicates to merge and flooded keys to cut.
  const rows: Row[] = (await oursAlone(await dumpFor(params, 'full'), 'full')).rows;

  // 2. Both on the same dump without split duplicates (same seed otherwise): Debian's SKS 1.1.6 `cleandb` aborts
  //    on the generated split copies, so the ratio is measured on files SKS can process.
  if (withSks) rows.push(...(await oursBesideSks(await dumpFor({ ...params, dups: 0 }, 'dups: 0'), 'dups: 0')).rows);
  else rows.push({ metric: 'SKS comparison', ours: '', sks: 'skipped (BENCH_LOAD_SKS=0)' });

  // 3. Keys shaped like the public keydump: bytes per second matter as much as keys per second.
  if (publicKeys > 0) {
    const pub = await dumpFor(publicProfileParams(publicKeys), 'public-profile');
    const { rows: pubRows, ours: run, sks } = withSks ? await oursBesideSks(pub, 'public-profile') : { ...(await oursAlone(pub, 'public-profile')), sks: undefined };
    rows.push(...pubRows);
    // Whichever of keys and bytes takes longer at the measured rates (an extrapolation: 6 times the keys).
    const projected = Math.max(PUBLIC_DUMP.keys / run.rate, PUBLIC_DUMP.bytes / 1048576 / run.mbs) / 60;
    rows.push({
      metric: 'projected: public keydump (6M keys, 12 GB) at these rates', unit: 'min', ours: projected, sks: '', target: '< 15',
    });
    if (process.env.BENCH_LOAD_HOCKEYPUCK !== '0') {
      // The same files with the hockeypuck profile active: SKS's figure is its plain load (it verifies nothing).
      const label = 'public-profile, recon_profiles sks,hockeypuck';
      const hp = await loadOurs(pub.dir, pub.manifest.blocks, pub.manifest.bytes, label, 'recon_profiles: sks,hockeypuck\n');
      rows.push(...loadRows(label, pub, hp, sks).filter((r) => !r.metric.startsWith('key blocks') && !r.metric.startsWith('SKS run')));
      const projectedHp = Math.max(PUBLIC_DUMP.keys / hp.rate, PUBLIC_DUMP.bytes / 1048576 / hp.mbs) / 60;
      rows.push({ metric: `projected: public keydump at the ${label} rates`, unit: 'min', ours: projectedHp, sks: '', target: '< 15' });
    }
  }
  return rows;
}
