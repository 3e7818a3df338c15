// Worker thread of `gen`: builds the key blocks of one chunk of positions and hands them back in one buffer.
import { parentPort, workerData } from 'node:worker_threads';
import { generateKey, rsaPool, type GenOptions } from './gen-keys.js';
import { layout, type GenParams, type ChunkResult } from './gen.js';

const params = workerData as GenParams;
const { isDup, isFlooded, partBAfter } = layout(params);
let opts: GenOptions | undefined;

parentPort!.on('message', (m: { chunk: number; start: number; end: number }) => {
  opts ??= { seed: params.seed, rsaPool: rsaPool(params.seed), v6: params.v6 ?? true };
  const blocks: Buffer[] = [];
  const algos: Record<string, number> = {};
  for (let i = m.start; i < m.end; i++) {
    const k = generateKey({ index: i, split: isDup(i), floodCerts: isFlooded(i) ? params.floodCerts : 0 }, opts);
    blocks.push(k.block);
    algos[k.algo] = (algos[k.algo] ?? 0) + 1;
    const j = partBAfter(i);
    if (j >= 0) {
      const other = generateKey({ index: j, split: true, floodCerts: isFlooded(j) ? params.floodCerts : 0 }, opts);
      blocks.push(other.partB!);
    }
  }
  const data = Buffer.concat(blocks);
  const lengths = Uint32Array.from(blocks.map((b) => b.length));
  // hand over a buffer of our own (not a slice of Node's shared pool) so it can be transferred without a copy
  const own = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : new Uint8Array(data);
  const msg: ChunkResult = { chunk: m.chunk, data: own, lengths, algos };
  parentPort!.postMessage(msg, [own.buffer as ArrayBuffer, lengths.buffer as ArrayBuffer]);
});
