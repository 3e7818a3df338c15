// Worker thread of `gen`: builds the key blocks of one chunk of positions and hands them back in one buffer.
import { parentPort, workerData } from 'node:worker_threads';
import { generateKey, rsaPool, type GeneratedKey, type KeySpec } from './gen-keys.js';
import { generatePublicKey, rsa4096Pool } from './gen-public.js';
import { layout, type GenParams, type ChunkResult } from './gen.js';

const params = workerData as GenParams;
const { isDup, isFlooded, partBAfter } = layout(params);
let make: ((spec: KeySpec) => GeneratedKey) | undefined;

/** The profile's key function, with its key pools made on the first chunk (they take a few seconds). */
function keyMaker(): (spec: KeySpec) => GeneratedKey {
  const opts = { seed: params.seed, rsaPool: rsaPool(params.seed), v6: params.v6 ?? true };
  if (params.profile === 'public') {
    const pub = { ...opts, rsa4096Pool: rsa4096Pool(params.seed) };
    return (spec) => generatePublicKey(spec, pub);
  }
  return (spec) => generateKey(spec, opts);
}

parentPort!.on('message', (m: { chunk: number; start: number; end: number }) => {
  make ??= keyMaker();
  const blocks: Buffer[] = [];
  const algos: Record<string, number> = {};
  for (let i = m.start; i < m.end; i++) {
    const k = make({ index: i, split: isDup(i), floodCerts: isFlooded(i) ? params.floodCerts : 0 });
    blocks.push(k.block);
    algos[k.algo] = (algos[k.algo] ?? 0) + 1;
    const j = partBAfter(i);
    if (j >= 0) {
      const other = make({ index: j, split: true, floodCerts: isFlooded(j) ? params.floodCerts : 0 });
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
