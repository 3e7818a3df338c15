// Real key data for tests: Debian's debian-keyring package, split into subsets by whole keys.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEBIAN_KEYRING = '/usr/share/keyrings/debian-keyring.gpg';

/** Raw packets of a binary packet stream (header + body bytes each, and the body alone) with their tags. Written here
 * from RFC 9580 §4.2 independently of the key store, so tests do not lean on the code they test. */
export function rawPackets(data: Buffer): Array<{ tag: number; bytes: Buffer; body: Buffer }> {
  const out: Array<{ tag: number; bytes: Buffer; body: Buffer }> = [];
  let off = 0;
  while (off < data.length) {
    const hdr = data[off]!;
    if ((hdr & 0x80) === 0) throw new Error(`not an OpenPGP packet at ${off}`);
    let tag: number;
    let len: number;
    let bodyOff: number;
    if (hdr & 0x40) {
      tag = hdr & 0x3f;
      const b0 = data[off + 1]!;
      if (b0 < 192) { len = b0; bodyOff = off + 2; }
      else if (b0 < 224) { len = ((b0 - 192) << 8) + data[off + 2]! + 192; bodyOff = off + 3; }
      else if (b0 === 255) { len = data.readUInt32BE(off + 2); bodyOff = off + 6; }
      else throw new Error('partial body lengths are not used in keyrings');
    } else {
      tag = (hdr >> 2) & 0x0f;
      const lt = hdr & 3;
      if (lt === 0) { len = data[off + 1]!; bodyOff = off + 2; }
      else if (lt === 1) { len = data.readUInt16BE(off + 1); bodyOff = off + 3; }
      else if (lt === 2) { len = data.readUInt32BE(off + 1); bodyOff = off + 5; }
      else throw new Error('indeterminate length');
    }
    out.push({ tag, bytes: data.subarray(off, bodyOff + len), body: data.subarray(bodyOff, bodyOff + len) });
    off = bodyOff + len;
  }
  return out;
}

/** A packet written with a header form of RFC 9580 §4.2 that SKS never writes: new format with a five-octet length
 * (valid in keys), new format with partial body lengths (a first chunk of 2^k octets, then a definite length; only
 * data packets may use them, §4.2.1.4), or old format with an indeterminate length (the packet runs to the end of
 * the stream; tags below 16 only). */
export function packetWithHeader(tag: number, body: Buffer, form: 'five-octet' | 'partial' | 'indeterminate'): Buffer {
  if (form === 'indeterminate') return Buffer.concat([Buffer.from([0x80 | (tag << 2) | 3]), body]);
  const fiveOctet = (n: number) => Buffer.from([0xff, n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);
  if (form === 'five-octet') return Buffer.concat([Buffer.from([0xc0 | tag]), fiveOctet(body.length), body]);
  if (body.length === 0) throw new Error('a partial body length needs a body');
  const k = Math.min(30, Math.floor(Math.log2(body.length)));
  const first = 2 ** k;
  return Buffer.concat([
    Buffer.from([0xc0 | tag, 0xe0 | k]), body.subarray(0, first), fiveOctet(body.length - first), body.subarray(first),
  ]);
}

/** A key block with packet `which` (by index; default every packet) written in another header form. */
export function withHeaderForm(block: Buffer, form: 'five-octet' | 'partial' | 'indeterminate', which?: number): Buffer {
  const packets = rawPackets(block);
  const rewrite = (i: number) => which === undefined || i === which;
  return Buffer.concat(packets.map((p, i) => (rewrite(i) ? packetWithHeader(p.tag, p.body, form) : p.bytes)));
}

/** Byte ranges of each top-level key (a primary key packet and what follows it) in a binary keyring. */
export function keyBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let start = -1;
  let off = 0;
  for (const p of rawPackets(data)) {
    if (p.tag === 6) {
      if (start >= 0) blocks.push(data.subarray(start, off));
      start = off;
    }
    off += p.bytes.length;
  }
  if (start >= 0) blocks.push(data.subarray(start, off));
  return blocks;
}

/** Writes `parts` files into `dir`, key i going to file i mod parts; returns their paths. */
export function splitKeyring(file: string, parts: number, dir: string): string[] {
  const blocks = keyBlocks(readFileSync(file));
  const out: Buffer[][] = Array.from({ length: parts }, () => []);
  blocks.forEach((b, i) => out[i % parts]!.push(b));
  return out.map((bufs, i) => {
    const p = join(dir, `part-${i}.gpg`);
    writeFileSync(p, Buffer.concat(bufs));
    return p;
  });
}

/** Writes the chosen key blocks (by index) of a keyring into one file. */
export function writeKeySubset(file: string, indexes: number[], out: string): string {
  const blocks = keyBlocks(readFileSync(file));
  writeFileSync(out, Buffer.concat(indexes.map((i) => blocks[i]!)));
  return out;
}
