// Lean packet walker for bulk speed: binary in, packets out; packets back to bytes with the headers SKS writes.
// Bodies are views into the input buffer (no copies).
//
// The packet-header rules live here once (packetSpan), for every path that reads keys: /pks/add, recon fetches and
// the bulk loader's scanner (sks-admin scan.ts), so a key is accepted or refused alike wherever it comes from.
// Partial body lengths are refused in every packet: a keyserver reads only keys, RFC 9580 §4.2.1.4 allows partial
// lengths for data packets only, SKS 1.1.6 refuses them in any packet (parsePGP.ml parse_new_packet_length raises
// Partial_body_length) and GnuPG refuses them in key packets ("partial length invalid for packet type").
// Old-format indeterminate lengths are refused as SKS refuses them ("Unexpected indeterminate length packet").
import type { Packet } from './types.js';

/** Raised for truncated or malformed packet streams; `offset` is where reading failed. */
export class PacketError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'PacketError';
  }
}

/** packetSpan's answers other than a length; all negative, so `span < 0` tests for any of them. */
export const HEADER_INCOMPLETE = -1;
export const NOT_A_HEADER = -2;
export const PARTIAL_LENGTH = -3;
export const INDETERMINATE_LENGTH = -4;

/** Header length plus body length of the packet whose header starts at buf[p], reading no further than buf[end - 1]
 * (only the header must be there, not the body); or HEADER_INCOMPLETE, NOT_A_HEADER, PARTIAL_LENGTH,
 * INDETERMINATE_LENGTH. A number, not an object: the loader's scanner calls this ~10 times a key in its hot loop. */
export function packetSpan(buf: Buffer, p: number, end: number): number {
  if (p >= end) return HEADER_INCOMPLETE;
  const h = buf[p]!;
  if ((h & 0x80) === 0) return NOT_A_HEADER;
  if (h & 0x40) {
    const n = newFormatLength(buf, p + 1, end);
    return n < 0 ? n : 1 + n;
  }
  // Old format (RFC 9580 §4.2.2): length type in bits 1..0.
  const lt = h & 3;
  if (lt === 0) return p + 1 >= end ? HEADER_INCOMPLETE : 2 + buf[p + 1]!;
  if (lt === 1) return p + 2 >= end ? HEADER_INCOMPLETE : 3 + buf.readUInt16BE(p + 1);
  if (lt === 2) return p + 4 >= end ? HEADER_INCOMPLETE : 5 + buf.readUInt32BE(p + 1);
  return INDETERMINATE_LENGTH;
}

/** The new-format length field at buf[q] (RFC 9580 §4.2.1): its own octets plus the length it gives, or
 * HEADER_INCOMPLETE, or PARTIAL_LENGTH for a partial body length (a chunk of partialChunkLength(buf[q]) octets
 * followed by another length field). */
export function newFormatLength(buf: Buffer, q: number, end: number): number {
  if (q >= end) return HEADER_INCOMPLETE;
  const b0 = buf[q]!;
  if (b0 < 192) return 1 + b0;
  if (b0 < 224) return q + 1 >= end ? HEADER_INCOMPLETE : 2 + ((b0 - 192) << 8) + buf[q + 1]! + 192;
  if (b0 === 255) return q + 4 >= end ? HEADER_INCOMPLETE : 5 + buf.readUInt32BE(q + 1);
  return PARTIAL_LENGTH;
}

/** Octets in the chunk announced by a partial body length octet b0 (224..254). */
export function partialChunkLength(b0: number): number {
  return 2 ** (b0 & 0x1f);
}

/** Length of the header of the packet at buf[p], once packetSpan has found that header whole. */
export function packetHeaderLength(buf: Buffer, p: number): number {
  const h = buf[p]!;
  if (h & 0x40) {
    const b0 = buf[p + 1]!;
    return b0 < 192 ? 2 : b0 < 224 ? 3 : 6;
  }
  return 2 + [0, 1, 3][h & 3]!;
}

/** The tag of a packet whose header starts with byte `h` (a valid header byte). */
export function packetTag(h: number): number {
  return h & 0x40 ? h & 0x3f : (h >> 2) & 0x0f;
}

/** What is wrong with the header at buf[p], for a packetSpan answer below HEADER_INCOMPLETE. */
export function headerProblem(span: number, buf: Buffer, p: number): string {
  if (span === NOT_A_HEADER) return `byte 0x${buf[p]!.toString(16)} is not an OpenPGP packet header`;
  const tag = packetTag(buf[p]!);
  if (span === PARTIAL_LENGTH) return `packet of tag ${tag} has a partial body length, which keys may not use`;
  if (span === INDETERMINATE_LENGTH) return `packet of tag ${tag} has an indeterminate length, which keys may not use`;
  return 'truncated packet header';
}

/** One packet read at a position of a stream, with where the next one starts. */
export interface PacketAt {
  packet: Packet;
  /** Offset of the packet's first header byte. */
  start: number;
  /** Offset just past the packet. */
  end: number;
}

/** Reads the packet starting at `offset`. Returns null when the buffer ends before the packet does (a streaming
 * reader then waits for more bytes); throws PacketError for bytes that are not a packet header keys may use. */
export function readPacketAt(data: Buffer, offset: number): PacketAt | null {
  const span = packetSpan(data, offset, data.length);
  if (span === HEADER_INCOMPLETE) return null;
  if (span < 0) throw new PacketError(headerProblem(span, data, offset), offset);
  const end = offset + span;
  if (end > data.length) return null;
  const body = data.subarray(offset + packetHeaderLength(data, offset), end);
  return { packet: { tag: packetTag(data[offset]!), body }, start: offset, end };
}

/** How many packets a binary stream holds, counting by headers alone (nothing allocated per packet), stopping at
 * `limit` + 1: lets a caller refuse a stream of millions of tiny packets before parsing it into objects. A stream
 * that does not parse is counted up to where it stops (readPackets then says why). */
export function countPackets(data: Buffer, limit: number): number {
  let n = 0;
  for (let p = 0; p < data.length && n <= limit; n++) {
    const span = packetSpan(data, p, data.length);
    if (span < 0) break;
    p += span;
  }
  return n;
}

/** Parses a binary OpenPGP packet stream (old and new header formats; see packetSpan for what is refused). Throws
 * PacketError. */
export function readPackets(data: Buffer): Packet[] {
  const out: Packet[] = [];
  let offset = 0;
  while (offset < data.length) {
    const p = readPacketAt(data, offset);
    if (!p) throw new PacketError(`truncated packet at byte ${offset} of ${data.length}`, offset);
    out.push(p.packet);
    offset = p.end;
  }
  return out;
}

/** Length of the header SKS writes for a packet (see writeHeader). */
function writtenHeaderLength(p: Packet): number {
  if (p.tag >= 16) return 6;
  const n = p.body.length;
  return n < 256 ? 2 : n < 65536 ? 3 : 5;
}

/** Writes a header as SKS's Packet.write_packet does: old format with the shortest of 1/2/4-byte lengths for tags
 * below 16, new format with a 5-byte length otherwise. Output bytes then match what SKS serves. */
function writeHeader(p: Packet, out: Buffer, at: number): number {
  const n = p.body.length;
  if (p.tag >= 16) {
    out[at] = 0xc0 | p.tag;
    out[at + 1] = 0xff;
    out.writeUInt32BE(n, at + 2);
    return at + 6;
  }
  if (n < 256) {
    out[at] = 0x80 | (p.tag << 2);
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 65536) {
    out[at] = 0x80 | (p.tag << 2) | 1;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = 0x80 | (p.tag << 2) | 2;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}

/** Serialises packets exactly as SKS writes them (same header format choices), so output bytes match SKS. */
export function writePackets(packets: Packet[]): Buffer {
  let size = 0;
  for (const p of packets) size += writtenHeaderLength(p) + p.body.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of packets) {
    at = writeHeader(p, out, at);
    at += p.body.copy(out, at);
  }
  return out;
}
