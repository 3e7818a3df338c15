// Lean packet walker for bulk speed: binary in, packets out; packets back to bytes with the headers SKS writes.
// Bodies are views into the input buffer (no copies) except where partial lengths force a concatenation.
import type { Packet } from './types.js';

/** Raised for truncated or malformed packet streams; `offset` is where reading failed. */
export class PacketError extends Error {
  constructor(message: string, readonly offset: number) {
    super(message);
    this.name = 'PacketError';
  }
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
 * reader then waits for more bytes); throws PacketError for bytes that are not a packet header. */
export function readPacketAt(data: Buffer, offset: number): PacketAt | null {
  const start = offset;
  if (offset >= data.length) return null;
  const ctb = data[offset]!;
  if ((ctb & 0x80) === 0) throw new PacketError(`byte 0x${ctb.toString(16)} is not an OpenPGP packet header`, offset);
  offset++;
  if ((ctb & 0x40) === 0) {
    // Old format: tag in bits 5..2, length type in bits 1..0.
    const tag = (ctb >> 2) & 0x0f;
    const lenType = ctb & 3;
    if (lenType === 3) throw new PacketError('indeterminate-length packets are not accepted in keys', start);
    const lenBytes = 1 << lenType;
    if (offset + lenBytes > data.length) return null;
    let len = 0;
    for (let i = 0; i < lenBytes; i++) len = len * 256 + data[offset + i]!;
    offset += lenBytes;
    if (offset + len > data.length) return null;
    return { packet: { tag, body: data.subarray(offset, offset + len) }, start, end: offset + len };
  }
  // New format: tag in bits 5..0; lengths may be partial (a chain of chunks ending in a definite length).
  const tag = ctb & 0x3f;
  const chunks: Buffer[] = [];
  for (;;) {
    if (offset >= data.length) return null;
    const b0 = data[offset]!;
    let len: number;
    let partial = false;
    if (b0 < 192) {
      len = b0;
      offset += 1;
    } else if (b0 < 224) {
      if (offset + 2 > data.length) return null;
      len = ((b0 - 192) << 8) + data[offset + 1]! + 192;
      offset += 2;
    } else if (b0 === 255) {
      if (offset + 5 > data.length) return null;
      len = data.readUInt32BE(offset + 1);
      offset += 5;
    } else {
      len = 1 << (b0 & 0x1f);
      partial = true;
      offset += 1;
    }
    if (offset + len > data.length) return null;
    chunks.push(data.subarray(offset, offset + len));
    offset += len;
    if (!partial) break;
  }
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  return { packet: { tag, body }, start, end: offset };
}

/** Parses a binary OpenPGP packet stream (old and new header formats, partial lengths). Throws PacketError. */
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
function headerLength(p: Packet): number {
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
  for (const p of packets) size += headerLength(p) + p.body.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of packets) {
    at = writeHeader(p, out, at);
    at += p.body.copy(out, at);
  }
  return out;
}
