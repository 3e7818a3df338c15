// Worker thread of `load`: parses, canonicalizes, applies policy to and digests the key blocks of one batch
// (prepareKey), so the main thread only writes to SQLite.
import { parentPort, workerData } from 'node:worker_threads';
import { readPackets, splitKeys, prepareKey, type Policy, type PreparedBlock } from '@sks/keystore';

export interface PrepareRequest {
  batch: number;
  data: Uint8Array;
  /** Byte length of each block in data. */
  lengths: number[];
}

export interface PrepareReply {
  batch: number;
  /** One entry per input block: its prepared keys (normally one). */
  results: PreparedBlock[][];
}

const policy = (workerData as { policy: Policy } | null)?.policy as Policy;

export function prepareBlocks(data: Buffer, lengths: number[], pol: Policy): PreparedBlock[][] {
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
      if (r.ok) delete r.key.packets; // cheaper to re-parse the few merged keys than to copy every key's packets
      return r;
    }));
  }
  return results;
}

if (parentPort) {
  parentPort.on('message', (m: PrepareRequest) => {
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    let results: PreparedBlock[][];
    try {
      results = prepareBlocks(data, m.lengths, policy);
    } catch (e) {
      // never expected (prepareKey catches per key); report the whole batch as malformed rather than die
      results = m.lengths.map(() => [{ ok: false, reason: 'malformed', detail: (e as Error).message }]);
    }
    const reply: PrepareReply = { batch: m.batch, results };
    parentPort!.postMessage(reply);
  });
}
