// Merging two copies of the same key packet-wise, exactly as SKS does (keyMerge.ml: yminsky.merge, yminsky.dedup).
// OWNER: keystore-openpgp helper.
import type { Packet } from './types.js';

/** Canonical form of one key as SKS stores it (dedup'd, trust packets dropped). */
export function canonicalizeKey(key: Packet[]): Packet[] {
  throw new Error('not implemented');
}

/** Merges two copies of the same primary key (same primary key packet). Throws if the primary keys differ. */
export function mergeKeys(a: Packet[], b: Packet[]): Packet[] {
  throw new Error('not implemented');
}
