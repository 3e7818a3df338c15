// Keys from packets: split a stream into keys, describe a key (fingerprints, key IDs, user IDs, dates, revocation).
// OWNER: keystore-openpgp helper.
import type { KeyInfo, Packet } from './types.js';

/** Splits a packet stream into keys, each starting at a primary public key packet (tag 6). Secret keys are
 * returned as their own groups so policy can refuse them; packets before the first key are dropped. */
export function splitKeys(packets: Packet[]): Packet[][] {
  throw new Error('not implemented');
}

/** Fingerprint (upper-case hex) of a public key or subkey packet body, v3/v4/v6. */
export function fingerprintOf(keyPacketBody: Buffer): string {
  throw new Error('not implemented');
}

/** Long key ID (16 upper-case hex) of a key packet body. */
export function keyIdOf(keyPacketBody: Buffer): string {
  throw new Error('not implemented');
}

/** Everything the HKP index, search and WKD need to know of a key. Does not verify signatures (as SKS). */
export function describeKey(key: Packet[]): KeyInfo {
  throw new Error('not implemented');
}
