// The index build of a bulk load's end on a second thread (index-worker-thread.ts), so the main thread can compute
// the prefix tree meanwhile.
import { availableParallelism } from 'node:os';
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { startWorker } from '../../worker-thread.js';

/** Page cache (KiB) of a connection while it builds indexes, which is also the memory of SQLite's sorter: it sorts
 * runs of this size (on helper threads, PRAGMA threads) and merges them. Small runs sort in the CPU's caches; one run
 * of 128 MiB (the loader's page cache) sorted 2-3 times slower. Measured on the indexes of 1M generated keys, one at a
 * time: 11.5 s with 128 MiB and no helper threads, 5.3 s with 4 MiB, 4.3 s with 2 MiB and two threads. */
export const INDEX_SORT_CACHE_KIB = 2048;

/** Helper threads for SQLite's sorter while indexes are built. */
export function sortThreads(): number {
  return Math.min(4, availableParallelism());
}

/** Runs CREATE INDEX statements in one transaction on a connection of a worker thread of its own. wait() blocks
 * until the worker has committed or failed and returns its error message, if any. */
export function startIndexWorker(file: string, sql: string[]): { wait(): string | undefined } {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  let worker;
  try {
    worker = startWorker(import.meta.url, 'index-worker-thread', {
      file, sql, cacheSize: -INDEX_SORT_CACHE_KIB, threads: sortThreads(), state, port: port2,
    }, [port2]);
  } catch (e) {
    return { wait: () => String((e as Error).message) };
  }
  worker.unref();
  worker.on('error', () => undefined); // reported through `state`; an error before the try still ends the wait below
  worker.on('exit', () => {
    if (Atomics.load(state, 0) === 0) {
      Atomics.store(state, 0, 2);
      Atomics.notify(state, 0);
    }
  });
  return {
    wait: () => {
      while (Atomics.load(state, 0) === 0) Atomics.wait(state, 0, 0, 200);
      const m = Atomics.load(state, 0) === 1 ? undefined : (receiveMessageOnPort(port1)?.message ?? 'the index worker died');
      port1.close();
      return m === undefined ? undefined : String(m);
    },
  };
}
