// The SKS key digest (keyHash.ml): MD5 over sorted (tag, length, body) of all non-trust packets. Recon's set element.
// OWNER: keystore-openpgp helper.
import type { Packet } from './types.js';

/** 16-byte SKS digest of a key as stored. */
export function sksDigest(key: Packet[]): Buffer {
  throw new Error('not implemented');
}
