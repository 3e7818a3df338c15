// The SKS key digest (keyHash.ml): MD5 over sorted (tag, length, body) of all non-trust packets. Recon's set element.
import { createHash, hash } from 'node:crypto';
import { TAG, type Packet } from './types.js';

/** SKS's packet order for hashing: by content tag, then body bytes (OCaml string order = Buffer.compare). */
function hashOrder(a: Packet, b: Packet): number {
  return a.tag - b.tag || Buffer.compare(a.body, b.body);
}

/** 16-byte SKS digest of a key as stored. Duplicate packets count as often as they occur, as in SKS. */
export function sksDigest(key: Packet[]): Buffer {
  const sorted = key.filter((p) => p.tag !== TAG.TRUST).sort(hashOrder);
  if (typeof hash === 'function') {
    // one buffer, one one-shot hash: cheaper than a Hash object fed packet by packet
    let size = 0;
    for (const p of sorted) size += 8 + p.body.length;
    const all = Buffer.allocUnsafe(size);
    let o = 0;
    for (const p of sorted) {
      o = all.writeUInt32BE(p.tag, o);
      o = all.writeUInt32BE(p.body.length, o);
      o += p.body.copy(all, o);
    }
    return hash('md5', all, 'buffer');
  }
  const h = createHash('md5');
  const head = Buffer.allocUnsafe(8);
  for (const p of sorted) {
    head.writeUInt32BE(p.tag, 0);
    head.writeUInt32BE(p.body.length, 4);
    h.update(head);
    h.update(p.body);
  }
  return h.digest();
}
