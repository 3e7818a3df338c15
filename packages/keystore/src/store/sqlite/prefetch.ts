// Reading ahead for a batch write on a store larger than memory. Each key recon stores lands on random leaf pages
// of several indexes (fingerprint, digest, key IDs, e-mail addresses, the prefix tree's elements and nodes): about
// eight pages a key, which SQLite reads one after another inside the write transaction when they are not in the
// OS's file cache. A 100-key batch on a cold 1M-key store read 814 such pages. Reading the same pages first from a
// few threads at once lets the disk answer them in parallel (here 800 random reads: 81 ms one at a time, 41 ms eight
// at a time), and the write then finds them in the file cache. Only a hint: a prefetch that fails or reads the
// wrong page changes nothing but the time the write takes.
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';
import { keyIdsOf, emailsOf, unpackKeyIds } from '../prepare.js';
import { treeTables } from './prefix-tree.js';
import type { UpsertInput } from '../upsert.js';
import type { Logger } from '../../log.js';

/** What one key's write will look up, as plain data for a worker thread (each byte string in an ArrayBuffer of its
 * own: posting a view of a larger buffer would copy all of that buffer). */
export interface KeyProbe {
  fingerprint: Uint8Array;
  digest: Uint8Array;
  shortIds: number[];
  emails: string[];
  /** [element table, node table, digest] of each recon set the key goes into besides `sks`. */
  trees: Array<[string, string, Uint8Array]>;
}

const own = (u: Uint8Array): Uint8Array => new Uint8Array(u);

/** The probes of the keys of a batch that will be written (refused keys write nothing). */
export function probesOf(inputs: readonly UpsertInput[]): KeyProbe[] {
  const out: KeyProbe[] = [];
  for (const { block } of inputs) {
    if (!block.ok) continue;
    const k = block.key;
    const ids = k.stored ? unpackKeyIds(k.stored.keyIds) : k.info ? keyIdsOf(k.info) : [];
    out.push({
      fingerprint: own(k.fprBytes ?? Buffer.from(k.fingerprint, 'hex')),
      digest: own(k.digest),
      shortIds: ids.map(([short]) => short),
      emails: k.stored ? k.stored.emails : k.info ? emailsOf(k.info) : [],
      trees: (k.profiles ?? []).flatMap((f) => {
        if (!f.digest) return [];
        const t = treeTables(f.profile);
        return [[t.element, t.node, own(f.digest)] as [string, string, Uint8Array]];
      }),
    });
  }
  return out;
}

/** Worker threads with read-only connections of their own that run the probes of a batch, each a share of the keys. */
export class PagePrefetcher {
  private workers?: Worker[];
  private failed = false;
  private nextId = 1;
  private readonly pending = new Map<number, { left: number; done: () => void }>();

  constructor(private readonly file: string, private readonly threads: number, private readonly logger?: Logger) {}

  /** Resolves once every probe ran (or at once when the threads could not work: the write goes ahead without). */
  async warm(probes: KeyProbe[]): Promise<void> {
    if (this.failed || probes.length === 0) return;
    const workers = (this.workers ??= this.start());
    const shares: KeyProbe[][] = workers.map(() => []);
    probes.forEach((p, i) => shares[i % shares.length]!.push(p));
    const used = shares.filter((s) => s.length > 0).length;
    const id = this.nextId++;
    await new Promise<void>((done) => {
      this.pending.set(id, { left: used, done });
      shares.forEach((share, w) => {
        if (share.length > 0) workers[w]!.postMessage({ id, probes: share });
      });
    });
  }

  close(): void {
    for (const w of this.workers ?? []) void w.terminate();
    this.workers = undefined;
    this.releaseAll();
  }

  private start(): Worker[] {
    return Array.from({ length: this.threads }, () => {
      const w = startWorker(import.meta.url, 'prefetch-thread', { file: this.file });
      w.unref();
      w.on('message', (m: { id: number }) => this.answered(m.id));
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (code !== 0 && this.workers) this.fail(new Error(`prefetch thread exited with code ${code}`));
      });
      return w;
    });
  }

  private answered(id: number): void {
    const p = this.pending.get(id);
    if (!p || --p.left > 0) return;
    this.pending.delete(id);
    p.done();
  }

  /** A thread that cannot read the store: no more prefetching from this store (the writes do not need it). */
  private fail(e: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.logger?.warn('prefetch threads stopped; writes read their pages themselves', { file: this.file, error: e.message });
    this.close();
  }

  private releaseAll(): void {
    for (const p of this.pending.values()) p.done();
    this.pending.clear();
  }
}
