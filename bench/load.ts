// Load benchmark: a generated keydump (BENCH_LOAD_KEYS keys, default 1 000 000; made once and cached under the temp
// dir) loaded by `sks-admin load` into a fresh base directory, and by real SKS 1.1.6 (`sks build` + `cleandb` +
// `pbuild`, as test/support/sks.ts buildSks runs them) from the same files.
//   BENCH_LOAD_KEYS=100000      dump size
//   BENCH_LOAD_SKS=0            skip SKS (it is slow at a million keys)
//   BENCH_LOAD_WORKERS=N        loader worker threads (default: one per core)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
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

export async function runLoadBench(): Promise<Row[]> {
  const keys = Number(process.env.BENCH_LOAD_KEYS ?? 1_000_000);
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
  const gp = new Progress('bench gen');
  const { dir, manifest, cached } = await cachedDump(params, {
    onProgress: (k, _b, bytes) => gp.update({ keys: k, bytes, totalBytes: undefined }),
  });
  if (!cached) gp.done({ keys: manifest.keys, bytes: manifest.bytes });
  console.error(`bench load: dump of ${manifest.keys} keys (${manifest.blocks} blocks, ${(manifest.bytes / 1048576).toFixed(0)} MB) in ${dir}` +
    `${cached ? ' (cached)' : `, generated in ${(manifest.ms / 1000).toFixed(0)} s`}`);
  const mb = manifest.bytes / 1048576;

  const base = makeTempDir('bench-load-');
  const args = ['load', '--dir', dir, '--basedir', base];
  if (process.env.BENCH_LOAD_WORKERS) args.push('--workers', process.env.BENCH_LOAD_WORKERS);
  const ours = await measure([...loaderCommand(), ...args], { ...process.env, SKS_QUIET: '1' });
  const counts = /this run: (.*)/.exec(ours.stdout)?.[1] ?? '?';
  const oursS = ours.ms / 1000;
  console.error(`bench load: ours ${oursS.toFixed(1)} s, ${(manifest.blocks / oursS).toFixed(0)} keys/s, ` +
    `${(mb / oursS).toFixed(2)} MB/s, peak RSS ${(ours.peakRssKb / 1024).toFixed(0)} MiB; ${counts}`);

  let sksS: number | undefined;
  let sksNote = 'skipped';
  if (process.env.BENCH_LOAD_SKS !== '0') {
    const files = manifest.files.map((f) => join(dir, f));
    const t0 = Date.now();
    try {
      const r = await buildSks({ keyFiles: files, tolerateCleandbCrash: true });
      sksS = r.ms / 1000;
      if (r.cleandbCrash) {
        // SKS's time then lacks the rest of its merge pass: its rate is overstated, our ratio understated.
        sksNote = `cleandb crashed mid-merge (${r.cleandbCrash}); SKS time is build + partial cleandb + pbuild`;
        console.error(`bench load: SKS ${sksNote}`);
      }
    } catch (e) {
      // keep our figures when SKS fails (Debian's cleandb crashes on some large inputs)
      sksNote = `failed after ${((Date.now() - t0) / 1000).toFixed(0)} s: ${String((e as Error).message).split('\n')[0]}`;
      console.error(`bench load: SKS ${sksNote}`);
    }
  }
  const rate = (s: number | undefined) => (s === undefined ? sksNote : manifest.blocks / s);
  const rows: Row[] = [
    { metric: 'key blocks loaded', ours: manifest.blocks, sks: sksS === undefined ? sksNote : manifest.blocks },
    { metric: 'load time', unit: 's', ours: oursS, sks: sksS ?? sksNote, ratio: sksS ? sksS / oursS : undefined },
    {
      metric: 'load rate', unit: 'keys/s', ours: manifest.blocks / oursS, sks: rate(sksS),
      ratio: sksS ? sksS / oursS : undefined, target: '>= 7000, >= 5x SKS',
    },
    { metric: 'throughput', unit: 'MB/s', ours: mb / oursS, sks: sksS ? mb / sksS : sksNote },
    { metric: 'peak RSS of the loader', unit: 'MiB', ours: ours.peakRssKb / 1024, sks: '', target: '< 1024' },
    { metric: 'counts', ours: counts, sks: '' },
  ];
  if (sksS !== undefined && sksNote !== 'skipped') rows.push({ metric: 'SKS run', ours: '', sks: sksNote });
  return rows;
}
