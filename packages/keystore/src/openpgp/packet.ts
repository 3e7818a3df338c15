// Lean packet walker for bulk speed: binary in, packets out; packets back to bytes with the headers SKS writes.
// OWNER: keystore-openpgp helper. Contract below is fixed; bodies to be written.
import type { Packet } from './types.js';

/** Raised for truncated or malformed packet streams; `offset` is where reading failed. */
export class PacketError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'PacketError';
  }
}

/** Parses a binary OpenPGP packet stream (old and new header formats, partial lengths). Throws PacketError. */
export function readPackets(data: Buffer): Packet[] {
  throw new Error('not implemented');
}

/** Serialises packets exactly as SKS writes them (same header format choices), so output bytes match SKS. */
export function writePackets(packets: Packet[]): Buffer {
  throw new Error('not implemented');
}
