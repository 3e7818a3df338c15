// Worker thread of `load`: parses, canonicalizes, applies policy to and digests the key blocks of one batch
// (prepareKey), and derives the rows the store writes for each key (storedForm: encoded description, key IDs,
// addresses, words), so the main thread only binds SQL parameters.
import { parentPort, workerData } from 'node:worker_threads';
import { readPackets, splitKeys, prepareKey, storedForm, PackedWriter, type Policy, type PreparedBlock } from '@sks/keystore';

export interface PrepareRequest {
  batch: number;
  data: Uint8Array;
  /** Byte length of each block in data. */
  lengths: number[];
}

/** Buffers of earlier replies, committed and handed back for the worker to pack into again (their pages are mapped
 * already: a fresh buffer per batch cost a page fault per 4 KiB written, on both threads). */
export interface RecycleMessage {
  recycle: ArrayBuffer;
}

export interface PrepareReply {
  batch: number;
  /** One entry per input block, its prepared keys (normally one), in PackedWriter's layout (read them with
   * PackedBlockReader): one transferred buffer instead of thousands of objects to copy. A view of a larger
   * ArrayBuffer: hand that back (RecycleMessage) once the batch is stored. */
  packed: Uint8Array;
  /** The request's data buffer, transferred back for the next batch's blocks. */
  input: ArrayBuffer;
}

const policy = (workerData as { policy: Policy } | null)?.policy as Policy;

/** The prepared keys of one key block: one per primary key in it, or one refusal for a block that is no key. */
function prepareBlock(block: Buffer, pol: Policy): PreparedBlock[] {
  let groups;
  try {
    groups = splitKeys(readPackets(block));
  } catch (e) {
    return [{ ok: false, reason: 'malformed', detail: (e as Error).message }];
  }
  if (groups.length === 0) return [{ ok: false, reason: 'no-primary-key', detail: 'a key block without a primary key packet' }];
  return groups.map((g) => prepareKey(g, pol));
}

/** Prepares each block of `data`. With `lean`, each key carries its stored form instead of its description (the
 * description is a large object graph, slow to copy between threads; the store needs only the stored form). */
export function prepareBlocks(data: Buffer, lengths: number[], pol: Policy, lean = false): PreparedBlock[][] {
  const results: PreparedBlock[][] = [];
  let off = 0;
  for (const len of lengths) {
    results.push(prepareBlock(data.subarray(off, off + len), pol).map((r) => {
      if (r.ok) {
        if (lean) {
          r.key.stored = storedForm(r.key.info!, r.key.packets!, r.key.data, pol.wordIndexMaxChars);
          delete r.key.info;
        }
        delete r.key.packets; // cheaper to re-parse the few merged keys than to copy every key's packets
      }
      return r;
    }));
    off += len;
  }
  return results;
}

/** Prepares each block of `data` and packs it as soon as it is prepared (no object of a key outlives its block). */
export function prepareAndPack(data: Buffer, lengths: number[], pol: Policy, reuse?: ArrayBuffer): Uint8Array {
  const w = new PackedWriter(data.length * 2 + 65536, reuse);
  let off = 0;
  for (const len of lengths) {
    const keys = prepareBlock(data.subarray(off, off + len), pol);
    off += len;
    w.block(keys.length);
    for (const r of keys) {
      if (r.ok) r.key.stored = storedForm(r.key.info!, r.key.packets!, r.key.data, pol.wordIndexMaxChars);
      w.key(r);
    }
  }
  return w.finish();
}

if (parentPort) {
  /** Buffers handed back by the main thread, largest last. */
  const spare: ArrayBuffer[] = [];
  parentPort.on('message', (m: PrepareRequest | RecycleMessage) => {
    if ('recycle' in m) {
      spare.push(m.recycle);
      spare.sort((a, b) => a.byteLength - b.byteLength);
      if (spare.length > 4) spare.shift();
      return;
    }
    const data = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength);
    let packed: Uint8Array;
    try {
      packed = prepareAndPack(data, m.lengths, policy, spare.pop());
    } catch (e) {
      // never expected (prepareKey catches per key); report the whole batch as malformed rather than die
      const w = new PackedWriter();
      for (const _ of m.lengths) {
        w.block(1);
        w.key({ ok: false, reason: 'malformed', detail: (e as Error).message });
      }
      packed = w.finish();
    }
    const reply: PrepareReply = { batch: m.batch, packed, input: m.data.buffer as ArrayBuffer };
    parentPort!.postMessage(reply, [packed.buffer as ArrayBuffer, m.data.buffer as ArrayBuffer]);
  });
}
