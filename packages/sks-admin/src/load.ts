// `sks-admin load`: loads SKS keydump files (binary or armored) into the key store, fast and resumable.
// Main thread: reads files (scan.ts splits key blocks by packet headers) and writes batches to SQLite. Worker
// threads: parse, canonicalize, apply policy, digest (prepareKey). Each batch is one transaction that also records
// the file's progress (byte offset after the batch), so after Ctrl-C or kill -9 a rerun resumes after the last
// committed batch, and a rerun on finished files changes nothing.
import { readdirSync, readFileSync, statSync, realpathSync, openSync, readSync, closeSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { toBinary, PackedBlockReader, type FileIdentity, type KeyStore, type Logger, type Policy, type PreparedBlock } from '@sks/keystore';
import { KeyBlockScanner, type ScanItem } from './scan.js';
import { prepareBlocks, type PrepareReply, type PrepareRequest, type RecycleMessage } from './load-worker.js';
import { startWorker } from '@sks/keystore';
import { Progress } from './progress.js';

export const DUMP_FILE_RE = /\.(pgp|gpg|asc)$/i;

/** The dump files of a folder (*.pgp, *.gpg, *.asc), in natural name order (sks-dump-2 before sks-dump-10). */
export function findDumpFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && DUMP_FILE_RE.test(e.name))
    .map((e) => e.name)
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
    .map((n) => resolve(join(dir, n)));
}

export interface LoadOptions {
  store: KeyStore;
  files: string[];
  policy: Policy;
  /** Worker threads preparing keys; 0 prepares on the main thread. Default: one per CPU core. */
  workers?: number;
  batchKeys?: number;
  batchBytes?: number;
  /** Show progress on stderr (default true). */
  progress?: boolean;
  logger?: Logger;
  /** Aborting stops reading; batches already read are still committed. */
  signal?: AbortSignal;
  /** Called after every committed batch (tests use it to interrupt at a known point). */
  onBatch?: (committed: number) => void;
}

export interface LoadSummary {
  files: number;
  /** Files already fully loaded by an earlier run (left alone). */
  skippedFiles: number;
  /** This run: read (key blocks), inserted, updated, unchanged, rejected, rejected:<reason>. */
  run: Record<string, number>;
  /** Totals recorded for these files over every run (equal to a clean load's counts after a resumed load). */
  totals: Record<string, number>;
  /** Bytes read in this run. */
  bytes: number;
  ms: number;
  interrupted: boolean;
}

function fileIdentity(path: string): FileIdentity {
  const st = statSync(path);
  return { path: realpathSync(path), size: st.size, mtimeMs: Math.trunc(st.mtimeMs) };
}

/** Opens a scanner over a file: binary files are streamed; armored files (.asc, or starting with "-----BEGIN")
 * are decoded whole and their offsets count decoded bytes. */
function openScanner(path: string, size: number, start: number, maxBlockBytes: number, window?: Buffer): KeyBlockScanner {
  let armored = /\.asc$/i.test(path);
  if (!armored && size > 0) {
    const head = readHead(path, 64);
    armored = /^\s*-----BEGIN PGP/.test(head.toString('latin1'));
  }
  if (armored) {
    const data = toBinary(readFileSync(path, 'utf8'));
    return KeyBlockScanner.buffer(data, start, { maxBlockBytes, views: true });
  }
  return KeyBlockScanner.file(path, start, { maxBlockBytes, views: true, window });
}

function readHead(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    return b.subarray(0, readSync(fd, b, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

interface Slot {
  /** A bad region found by the scanner; otherwise the next block of the prepared results. */
  bad?: Extract<ScanItem, { kind: 'bad' }>;
}

/** The prepared blocks of a batch, read in order, one block (its keys) per call. */
interface Prepared {
  next(): PreparedBlock[];
  /** Called once the batch is stored: nothing reads the prepared blocks after that. */
  release?(): void;
}

interface Batch {
  file: FileIdentity;
  endOffset: number;
  slots: Slot[];
  bytes: number;
  prepared: Promise<Prepared>;
}

/** A batch's key blocks in file order, made one at a time as the store takes them (so each dies young). */
function* batchBlocks(slots: Slot[], prepared: Prepared): Generator<PreparedBlock> {
  for (const s of slots) {
    if (s.bad) yield { ok: false, reason: s.bad.reason, detail: s.bad.detail };
    else yield* prepared.next();
  }
}

export async function loadFiles(opts: LoadOptions): Promise<LoadSummary> {
  const t0 = Date.now();
  const { store, policy } = opts;
  const batchKeys = opts.batchKeys ?? 2000;
  const batchBytes = opts.batchBytes ?? 8 << 20;
  const nWorkers = Math.max(0, opts.workers ?? cpus().length);
  const maxInflight = Math.max(2, nWorkers * 2);
  const run: Record<string, number> = {};
  const bump = (k: string, n = 1) => (run[k] = (run[k] ?? 0) + n);

  // workers
  const workers: Worker[] = [];
  /** Batch data buffers the workers handed back, to fill again (their pages are mapped already). */
  const inputs: ArrayBuffer[] = [];
  const waiting = new Map<number, { resolve: (r: Prepared) => void; reject: (e: Error) => void }>();
  /** Batches sent to each worker and not answered yet. */
  const pending: number[] = [];
  let workerError: Error | undefined;
  for (let i = 0; i < nWorkers; i++) {
    const w = startWorker(import.meta.url, 'load-worker', { policy });
    pending.push(0);
    w.on('message', (r: PrepareReply) => {
      pending[i]!--;
      if (inputs.length < maxInflight + 1) inputs.push(r.input);
      const p = waiting.get(r.batch);
      waiting.delete(r.batch);
      const reader = new PackedBlockReader(r.packed);
      p?.resolve({
        next: () => reader.next(),
        // the packed buffer goes back to its worker for a later batch (no view of it outlives the commit)
        release: () => {
          const m: RecycleMessage = { recycle: r.packed.buffer as ArrayBuffer };
          if (!workerError) w.postMessage(m, [m.recycle]);
        },
      });
    });
    w.on('error', (e) => {
      workerError = e;
      for (const p of waiting.values()) p.reject(e);
      waiting.clear();
    });
    workers.push(w);
  }
  let batchNo = 0;
  /** Sends a batch's blocks (data: their bytes one after another, in an ArrayBuffer of its own) to a worker. */
  const prepare = (data: Uint8Array, lengths: number[]): Promise<Prepared> => {
    if (workers.length === 0) {
      const results = prepareBlocks(Buffer.from(data.buffer, data.byteOffset, data.byteLength), lengths, policy);
      let i = 0;
      return Promise.resolve({ next: () => results[i++]! });
    }
    if (workerError) return Promise.reject(workerError);
    const id = batchNo++;
    // The worker with the fewest batches waiting (a batch with a flooded key can take a worker far longer than the
    // others; round robin would queue more batches behind it while the other worker idles).
    let wi = id % workers.length;
    for (let i = 0; i < workers.length; i++) if (pending[i]! < pending[wi]!) wi = i;
    pending[wi]!++;
    const w = workers[wi]!;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      const msg: PrepareRequest = { batch: id, data, lengths };
      w.postMessage(msg, [data.buffer as ArrayBuffer]);
    });
  };

  // files
  const ids = opts.files.map(fileIdentity);
  let totalBytes = 0;
  const starts = ids.map((id) => {
    const p = store.loadProgress(id);
    const start = p ? p.offset : 0;
    totalBytes += Math.max(0, id.size - start);
    return start;
  });
  const progress = new Progress('load', process.stderr, { quiet: opts.progress === false });
  let bytesDone = 0;
  let keysDone = 0;
  let committed = 0;
  let skippedFiles = 0;
  const queue: Batch[] = [];
  /** The scanners' read window, passed from file to file. */
  let window: Buffer | undefined;

  const commit = async (b: Batch) => {
    const prepared = await b.prepared;
    const counts = store.loadKeyBlocks(batchBlocks(b.slots, prepared),
      { file: b.file, offset: b.endOffset, counters: b.slots.length ? { read: b.slots.length } : {} });
    prepared.release?.();
    bump('read', b.slots.length);
    for (const [k, n] of Object.entries(counts)) bump(k, n);
    bytesDone += b.bytes;
    keysDone += b.slots.length;
    committed++;
    progress.update({ keys: keysDone, bytes: bytesDone, totalBytes });
    opts.onBatch?.(committed);
  };

  let interrupted = false;
  try {
    for (let f = 0; f < ids.length; f++) {
      const id = ids[f]!;
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      if (starts[f]! >= id.size && store.loadProgress(id)) {
        // done by an earlier run (binary files end at their size; armored ones are marked with it when done)
        skippedFiles++;
        continue;
      }
      const scanner = openScanner(id.path, id.size, starts[f]!, policy.maxInputKeyBytes, window);
      let lastQueuedOffset = store.loadProgress(id) ? starts[f]! : -1;
      // armored files count decoded bytes; progress uses the file size as the unit either way
      const scale = scanner.size > 0 ? id.size / scanner.size : 1;
      try {
        for (;;) {
          if (opts.signal?.aborted) {
            interrupted = true;
            break;
          }
          const startOff = scanner.offset;
          const slots: Slot[] = [];
          const lengths: number[] = [];
          // The blocks' bytes, copied here as they are scanned (the scanner's data are views of its window). Room for
          // a whole batch at once: pages never written are never touched, and the buffer is transferred, not copied.
          const room = Math.min(batchBytes, 64 << 20) + 65536;
          const spare = inputs.pop();
          let data = spare && spare.byteLength >= room ? new Uint8Array(spare) : new Uint8Array(room);
          let bytes = 0;
          while (slots.length < batchKeys && bytes < batchBytes) {
            const it = scanner.next();
            if (!it) break;
            if (it.kind === 'block') {
              slots.push({});
              if (bytes + it.data.length > data.length) {
                const bigger = new Uint8Array(Math.max(data.length * 2, bytes + it.data.length));
                bigger.set(data.subarray(0, bytes));
                data = bigger;
              }
              data.set(it.data, bytes);
              lengths.push(it.data.length);
              bytes += it.data.length;
            } else {
              slots.push({ bad: it });
            }
          }
          const endOffset = scanner.offset;
          if (slots.length === 0) {
            // End of the file. An armored file's offsets count decoded bytes, so mark it done with its file size;
            // trailing bytes without keys or an empty file are recorded too. Queued behind the file's batches, so
            // the file is never marked done before all its keys are committed.
            const doneOffset = scanner.decoded ? id.size : endOffset;
            if (doneOffset !== lastQueuedOffset) {
              queue.push({ file: id, endOffset: doneOffset, slots: [], bytes: 0, prepared: Promise.resolve({ next: () => [] }) });
            }
            break;
          }
          lastQueuedOffset = endOffset;
          queue.push({
            file: id, endOffset, slots, bytes: Math.round((endOffset - startOff) * scale), prepared: prepare(data.subarray(0, bytes), lengths),
          });
          while (queue.length >= maxInflight) await commit(queue.shift()!);
        }
      } finally {
        scanner.close();
        window = scanner.window ?? window;
      }
      if (interrupted) break;
    }
    while (queue.length > 0) await commit(queue.shift()!);
  } finally {
    // a failure leaves uncommitted batches behind; they are read again on the next run
    for (const b of queue) b.prepared.catch(() => undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  progress.done({ keys: keysDone, bytes: bytesDone, totalBytes });

  const totals: Record<string, number> = {};
  for (const id of ids) {
    const p = store.loadProgress(id);
    for (const [k, n] of Object.entries(p?.counters ?? {})) totals[k] = (totals[k] ?? 0) + n;
  }
  return { files: ids.length, skippedFiles, run, totals, bytes: bytesDone, ms: Date.now() - t0, interrupted };
}

/** One line per figure, as printed at the end of a load. */
export function formatSummary(s: LoadSummary): string {
  const line = (c: Record<string, number>) => {
    const reasons = Object.entries(c)
      .filter(([k]) => k.startsWith('rejected:'))
      .map(([k, n]) => `${k.slice(9)} ${n}`)
      .join(', ');
    return `read ${c.read ?? 0}, stored ${c.inserted ?? 0}, merged ${c.updated ?? 0}, unchanged ${c.unchanged ?? 0}, ` +
      `rejected ${c.rejected ?? 0}${reasons ? ` (${reasons})` : ''}`;
  };
  const secs = s.ms / 1000;
  const out = [
    `${s.interrupted ? 'interrupted' : 'done'}: ${s.files} files (${s.skippedFiles} already loaded), ${secs.toFixed(1)} s, ` +
      `${((s.run.read ?? 0) / Math.max(secs, 0.001)).toFixed(0)} keys/s, ${(s.bytes / 1048576 / Math.max(secs, 0.001)).toFixed(1)} MB/s`,
    `this run: ${line(s.run)}`,
    `all runs: ${line(s.totals)}`,
  ];
  if (s.interrupted) out.push('rerun the same command to resume where this run stopped');
  return out.join('\n');
}
