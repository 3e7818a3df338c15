// The SKS key digest (keyHash.ml): MD5 over sorted (tag, length, body) of all non-trust packets. Recon's set element.
import { createHash } from 'node:crypto';
import { TAG, type Packet } from './types.js';

/** SKS's packet order for hashing: by content tag, then body bytes (OCaml string order = Buffer.compare). */
function hashOrder(a: Packet, b: Packet): number {
  return a.tag - b.tag || Buffer.compare(a.body, b.body);
}

/** 16-byte SKS digest of a key as stored. Duplicate packets count as often as they occur, as in SKS. */
export function sksDigest(key: Packet[]): Buffer {
  const sorted = key.filter((p) => p.tag !== TAG.TRUST).sort(hashOrder);
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
