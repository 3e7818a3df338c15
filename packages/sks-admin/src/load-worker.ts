// Worker thread of `load`: parses, canonicalizes, applies policy to and digests the key blocks of one batch
// (prepareKey), and derives the rows the store writes for each key (storedForm: encoded description, key IDs,
// addresses, words), so the main thread only binds SQL parameters.
import { parentPort, workerData } from 'node:worker_threads';
import { readPackets, splitKeys, prepareKey, storedForm, packPreparedBlocks, type Policy, type PreparedBlock } from '@sks/keystore';

export interface PrepareRequest {
  batch: number;
  data: Uint8Array;
  /** Byte length of each block in data. */
  lengths: number[];
}

export interface PrepareReply {
  batch: number;
  /** One entry per input block, its prepared keys (normally one), in packPreparedBlocks' layout (read them with
   * PackedBlockReader): one transferred buffer instead of thousands of objects to copy. */
  packed: Uint8Array;
}

const policy = (workerData as { policy: Policy } | null)?.policy as Policy;

/** Prepares each block of `data`. With `lean`, each key carries its stored form instead of its description (the
 * description is a large object graph, slow to copy between threads; the store needs only the stored form). */
export function prepareBlocks(data: Buffer, lengths: number[], pol: Policy, lean = false): PreparedBlock[][] {
  const results: PreparedBlock[][] = [];
  let off = 0;
  for (const len of lengths) {
    const block = data.subarray(off, off + len);
    off += len;
    let groups;
    try {
      groups = splitKeys(readPackets(block));
    } catch (e) {
      results.push([{ ok: false, reason: 'malformed', detail: (e as Error).message }]);
      continue;
    }
    if (groups.length === 0) {
      results.push([{ ok: false, reason: 'no-primary-key', detail: 'a key block without a primary key packet' }]);
      continue;
    }
    results.push(groups.map((g) => {
      const r = prepareKey(g, pol);
      if (r.ok) {
        delete r.key.packets; // cheaper to re-parse the few merged keys than to copy every key's packets
        if (lean) {
          r.key.stored = storedForm(r.key.info!);
          delete r.key.info;
        }
      }
      return r;
    }));
  }
  return results;
}

if (parentPort) {
  parentPort.on('message', (m: PrepareRequest) => {
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    let packed: Uint8Array;
    try {
      packed = packPreparedBlocks(prepareBlocks(data, m.lengths, policy, true));
    } catch (e) {
      // never expected (prepareKey catches per key); report the whole batch as malformed rather than die
      packed = packPreparedBlocks(m.lengths.map(() => [{ ok: false, reason: 'malformed', detail: (e as Error).message }]));
    }
    const reply: PrepareReply = { batch: m.batch, packed };
    parentPort!.postMessage(reply, [packed.buffer as ArrayBuffer]);
  });
}
