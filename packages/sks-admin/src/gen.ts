// `sks-admin gen`: a synthetic SKS-style keydump (sks-dump-0000.pgp ...) of N valid keys, made on every core.
// Layout of the stream (deterministic for given parameters):
//   - key i (0 <= i < keys) at position i; its algorithm is chosen by algoOf(seed, i);
//   - `dups` keys are split: their first copy (user ID 1 + subkey) sits at position i, the second copy (user ID 2)
//     right after key (i + keys/2) mod keys, so a loader must merge them (often across files and batches);
//   - `flooded` keys carry `floodCerts` third-party certifications on their first user ID (CVE-2019-13050 style).
// Two profiles: `default` (small keys, mostly Ed25519; gen-keys.ts) and `public` (keys shaped like the public SKS
// keydump, ~2 KB a key, mostly RSA and DSA/ElGamal; gen-public.ts).
import type { Worker } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { cpus, tmpdir } from 'node:os';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PUBLIC_ALGOS } from './gen-public.js';
import { dumpFileName, readPacketAt, startWorker } from '@sks/keystore';

export interface GenParams {
  keys: number;
  seed: string;
  /** Keys with floodCerts third-party certifications on one user ID. */
  flooded: number;
  floodCerts: number;
  /** Keys written as two split copies that merge to the whole key. */
  dups: number;
  keysPerFile: number;
  /** Include v6 keys (default true; SKS 1.1.6 cannot read them, so dumps for SKS comparisons leave them out). The
   * public profile makes v4 keys only. */
  v6?: boolean;
  /** Which keys: 'default' (small, mostly Ed25519) or 'public' (shaped like the public SKS keydump). */
  profile?: GenProfile;
}

export type GenProfile = 'default' | 'public';
export const GEN_PROFILES: readonly GenProfile[] = ['default', 'public'];

/** Sizes of the key blocks written, in bytes. */
export interface GenSizes {
  mean: number;
  median: number;
  p99: number;
  max: number;
}

/** What a dump holds. `profile` is always written; `profileVersion` and `sizes` are absent from manifests cached
 * before profiles existed. */
export interface GenManifest extends GenParams {
  generator: number;
  /** PUBLIC_PROFILE_VERSION for a public-profile dump. */
  profileVersion?: number;
  /** Key blocks written (keys + dups). */
  blocks: number;
  bytes: number;
  sizes?: GenSizes;
  files: string[];
  /** Keys per primary key algorithm (the profile's names: GenAlgo or PublicAlgo). */
  algos: Record<string, number>;
  ms: number;
}

/** Bump when the output for the same parameters changes (invalidates cached dumps). */
export const GENERATOR_VERSION = 1;
/** The same for the public profile alone (part of its cache id only, so the default profile's caches stay). */
export const PUBLIC_PROFILE_VERSION = 1;

export const DEFAULT_GEN: GenParams = { keys: 1000, seed: 'sks-ts', flooded: 0, floodCerts: 100_000, dups: 0, keysPerFile: 15000 };

/** Which keys are split or flooded: evenly spread, computed the same way in main and workers. */
export function layout(p: GenParams) {
  const half = Math.floor(p.keys / 2);
  const dupStride = p.dups > 0 ? Math.max(1, Math.floor(p.keys / p.dups)) : 0;
  const floodStride = p.flooded > 0 ? Math.max(1, Math.floor(p.keys / p.flooded)) : 0;
  const isDup = (j: number) => dupStride > 0 && j % dupStride === 0 && j / dupStride < p.dups;
  const isFlooded = (j: number) =>
    floodStride > 0 && j % floodStride === floodStride >> 1 && Math.floor(j / floodStride) < p.flooded;
  /** The split key whose second copy follows position i, or -1. */
  const partBAfter = (i: number) => {
    if (dupStride === 0) return -1;
    const j = (i - half + p.keys) % p.keys;
    return isDup(j) ? j : -1;
  };
  return { isDup, isFlooded, partBAfter };
}

export interface ChunkResult {
  chunk: number;
  data: Uint8Array;
  /** Byte length of each block in data, in order. */
  lengths: Uint32Array;
  algos: Record<string, number>;
}


export interface GenRunOptions {
  workers?: number;
  chunkKeys?: number;
  /** Keep the first `keepFiles` dump files already in the output folder (whole files written by an earlier run of
   * the same parameters) and generate from there on. */
  keepFiles?: number;
  onProgress?: (keysDone: number, blocksDone: number, bytes: number) => void;
}


/** Keys a worker makes at a time (a flooded key is big: smaller chunks). */
function defaultChunkKeys(params: GenParams): number {
  return params.floodCerts > 0 && params.flooded > 0 ? 500 : 2000;
}

/** Writes the dump into outDir (created; existing sks-dump-*.pgp files of the same names are replaced). */
export async function generateDump(outDir: string, params: GenParams, opts: GenRunOptions = {}): Promise<GenManifest> {
  if (!Number.isInteger(params.keys) || params.keys < 1) throw new Error('gen: --keys must be a positive whole number');
  if (params.dups > params.keys || params.flooded > params.keys) throw new Error('gen: --dups and --flooded must not exceed --keys');
  if (params.keysPerFile < 1) throw new Error('gen: keys per file must be positive');
  mkdirSync(outDir, { recursive: true });
  const t0 = Date.now();
  const nWorkers = Math.max(1, Math.min(opts.workers ?? cpus().length, 16));
  const chunkKeys = opts.chunkKeys ?? defaultChunkKeys(params);
  const nChunks = Math.ceil(params.keys / chunkKeys);
  const profile = params.profile ?? 'default';
  if (!GEN_PROFILES.includes(profile)) throw new Error(`gen: unknown profile "${String(profile)}"`);
  const algoNames = profile === 'public' ? PUBLIC_ALGOS : ['ed25519', 'v6', 'p256', 'rsa'];
  const manifest: GenManifest = {
    ...params, profile, generator: GENERATOR_VERSION, ...(profile === 'public' ? { profileVersion: PUBLIC_PROFILE_VERSION } : {}),
    blocks: 0, bytes: 0, files: [],
    algos: Object.fromEntries(algoNames.map((a) => [a, 0])), ms: 0,
  };
  /** Every block's length, for the size figures (4 bytes a block). */
  const lengths: Uint32Array[] = [];

  let fileNo = -1;
  let fd = -1;
  let inFile = params.keysPerFile;
  // A resumed run: the kept files are read back for the manifest (block lengths and algorithms), and generation
  // starts at the first key after them, on a chunk boundary.
  const keep = opts.keepFiles ?? 0;
  if (keep > 0) {
    if (params.dups !== 0) throw new Error('gen: a dump with split keys cannot be resumed (its positions are not its keys)');
    if ((keep * params.keysPerFile) % chunkKeys !== 0) throw new Error(`gen: ${keep} kept files do not end on a chunk of ${chunkKeys} keys`);
    for (let f = 0; f < keep; f++) {
      const name = dumpFileName(f);
      const blocks = readBackBlocks(readFileSync(join(outDir, name)));
      if (blocks.length !== params.keysPerFile) throw new Error(`gen: kept file ${name} holds ${blocks.length} keys, not ${params.keysPerFile}`);
      lengths.push(Uint32Array.from(blocks.map((b) => b.length)));
      for (const b of blocks) {
        const a = algoOfBlock(b, profile);
        manifest.algos[a] = (manifest.algos[a] ?? 0) + 1;
        manifest.blocks++;
        manifest.bytes += b.length;
      }
      manifest.files.push(name);
    }
    fileNo = keep - 1;
  }
  const writeBlock = (buf: Uint8Array) => {
    if (inFile >= params.keysPerFile) {
      if (fd >= 0) closeSync(fd);
      fileNo++;
      const name = dumpFileName(fileNo);
      manifest.files.push(name);
      fd = openSync(join(outDir, name), 'w');
      inFile = 0;
    }
    writeSync(fd, buf);
    inFile++;
    manifest.blocks++;
    manifest.bytes += buf.length;
  };

  const pending = new Map<number, ChunkResult>();
  const firstChunk = (keep * params.keysPerFile) / chunkKeys;
  let nextToWrite = firstChunk;
  let keysDone = 0;
  const flush = () => {
    for (let r = pending.get(nextToWrite); r; r = pending.get(nextToWrite)) {
      pending.delete(nextToWrite);
      let off = 0;
      for (const len of r.lengths) {
        writeBlock(r.data.subarray(off, off + len));
        off += len;
      }
      lengths.push(r.lengths);
      for (const [a, n] of Object.entries(r.algos)) manifest.algos[a] = (manifest.algos[a] ?? 0) + n;
      keysDone = Math.min(params.keys, (nextToWrite + 1) * chunkKeys);
      nextToWrite++;
      opts.onProgress?.(keysDone, manifest.blocks, manifest.bytes);
    }
  };

  await new Promise<void>((resolve, reject) => {
    let nextChunk = firstChunk;
    let live = 0;
    let failed = false;
    const workers: Worker[] = [];
    const feed = (w: Worker) => {
      // keep memory bounded: do not run far ahead of the writer
      if (nextChunk < nChunks && nextChunk - nextToWrite < nWorkers * 4) {
        const c = nextChunk++;
        w.postMessage({ chunk: c, start: c * chunkKeys, end: Math.min(params.keys, (c + 1) * chunkKeys) });
        return true;
      }
      return false;
    };
    if (firstChunk >= nChunks) return resolve();
    for (let i = 0; i < Math.min(nWorkers, nChunks - firstChunk); i++) {
      const w = startWorker(import.meta.url, 'gen-worker', params);
      workers.push(w);
      live++;
      w.on('message', (r: ChunkResult) => {
        pending.set(r.chunk, r);
        flush();
        if (!feed(w)) {
          live--;
          void w.terminate();
          if (live === 0 && !failed) resolve();
        }
      });
      w.on('error', (err) => {
        failed = true;
        for (const x of workers) void x.terminate();
        reject(err);
      });
      feed(w);
    }
  });
  flush();
  if (fd >= 0) closeSync(fd);
  if (nextToWrite !== nChunks) throw new Error(`gen: internal error, wrote ${nextToWrite} of ${nChunks} chunks`);
  manifest.sizes = sizeFigures(lengths);
  manifest.ms = Date.now() - t0;
  writeFileSync(join(outDir, 'gen-manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

function sizeFigures(chunks: Uint32Array[]): GenSizes {
  const all = new Uint32Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  if (all.length === 0) return { mean: 0, median: 0, p99: 0, max: 0 };
  all.sort();
  let sum = 0;
  for (const n of all) sum += n;
  const q = (f: number) => all[Math.min(all.length - 1, Math.floor(all.length * f))]!;
  return { mean: Math.round(sum / all.length), median: q(0.5), p99: q(0.99), max: all[all.length - 1]! };
}

/** The key blocks of a dump file written by gen (a block starts at each primary key packet). */
function readBackBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let start = -1;
  for (let off = 0; off < data.length;) {
    const p = readPacketAt(data, off);
    if (!p) throw new Error(`gen: a kept dump file ends inside a packet at byte ${off}`);
    if (p.packet.tag === 6) {
      if (start >= 0) blocks.push(data.subarray(start, off));
      start = off;
    }
    off = p.end;
  }
  if (start >= 0) blocks.push(data.subarray(start));
  return blocks;
}

/** The manifest's algorithm name of a generated key block, read from its primary key packet. */
function algoOfBlock(block: Buffer, profile: GenProfile): string {
  const body = readPacketAt(block, 0)!.packet.body;
  const version = body[0]!;
  const algo = body[5]!;
  /** Bit length of the MPI right after the algorithm byte (RSA n, DSA p). */
  const firstMpiBits = body.readUInt16BE(6);
  if (profile === 'public') {
    if (algo === 1) return firstMpiBits > 2048 ? 'rsa4096' : 'rsa2048';
    if (algo === 17) return firstMpiBits > 1024 ? 'dsa2048' : 'dsa1024';
    if (algo === 22) return 'ed25519';
    if (algo === 19) return 'p256';
  } else {
    if (version === 6) return 'v6';
    if (algo === 22) return 'ed25519';
    if (algo === 19) return 'p256';
    if (algo === 1) return 'rsa';
  }
  throw new Error(`gen: a kept key block has an algorithm (${algo}, v${version}) the ${profile} profile does not make`);
}

/** The cache id's parameters. The default profile's stay as they were before profiles existed (its cached dumps
 * stay valid); another profile adds its name and version. */
function cacheKey(params: GenParams): object {
  const { profile, ...rest } = params;
  if (profile === undefined || profile === 'default') return { v: GENERATOR_VERSION, ...rest };
  return { v: GENERATOR_VERSION, ...rest, profile, pv: PUBLIC_PROFILE_VERSION };
}

/** Where cachedDump keeps the dump of these parameters. */
export function cacheDirOf(params: GenParams): string {
  const root = process.env.SKS_GEN_CACHE ?? join(tmpdir(), 'sks-gen-cache');
  const id = createHash('sha256').update(JSON.stringify(cacheKey(params))).digest('hex').slice(0, 16);
  const profile = params.profile ?? 'default';
  return join(root, `${profile === 'default' ? '' : profile + '-'}keys${params.keys}-${id}`);
}

/** A generated dump for these parameters, made once and kept under the temp dir for reuse by benchmarks and tests
 * (SKS_GEN_CACHE chooses another folder). */
export async function cachedDump(params: GenParams, opts: GenRunOptions = {}): Promise<{ dir: string; manifest: GenManifest; cached: boolean }> {
  const dir = cacheDirOf(params);
  const mf = join(dir, 'gen-manifest.json');
  if (existsSync(mf)) return { dir, manifest: JSON.parse(readFileSync(mf, 'utf8')) as GenManifest, cached: true };
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const keepFiles = adoptInterrupted(dir, tmp, params, opts.chunkKeys ?? defaultChunkKeys(params));
  const manifest = await generateDump(tmp, params, { ...opts, keepFiles });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, manifest, cached: false };
}

/** A big dump takes an hour or more: when an earlier run for the same parameters was interrupted (its process is
 * gone, its `.tmp-PID` folder left), its whole files are moved to `tmp` and kept (up to a chunk boundary; the file
 * being written when it stopped is dropped). Returns how many files to keep. */
function adoptInterrupted(dir: string, tmp: string, params: GenParams, chunkKeys: number): number {
  if (params.dups !== 0) return 0;
  const parent = join(dir, '..');
  const base = `${dir.slice(parent.length + 1)}.tmp-`;
  const stale = (existsSync(parent) ? readdirSync(parent) : [])
    .filter((n) => n.startsWith(base) && /^\d+$/.test(n.slice(base.length)) && !existsSync(`/proc/${n.slice(base.length)}`))
    .map((n) => ({ path: join(parent, n), files: readdirSync(join(parent, n)).filter((f) => /^sks-dump-\d+\.pgp$/.test(f)).length }))
    .sort((x, y) => y.files - x.files);
  const best = stale[0];
  if (!best) return 0;
  // the last file may be incomplete; then the largest count of whole files that ends on a chunk boundary
  let keep = Math.max(0, best.files - 1);
  while (keep > 0 && (keep * params.keysPerFile) % chunkKeys !== 0) keep--;
  keep = Math.min(keep, Math.floor(params.keys / params.keysPerFile));
  if (keep === 0) return 0;
  renameSync(best.path, tmp);
  for (const f of readdirSync(tmp)) {
    const m = /^sks-dump-(\d+)\.pgp$/.exec(f);
    if (!m || Number(m[1]) >= keep) rmSync(join(tmp, f), { force: true });
  }
  for (const other of stale.slice(1)) rmSync(other.path, { recursive: true, force: true });
  return keep;
}
