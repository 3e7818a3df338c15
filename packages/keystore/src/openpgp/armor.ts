// ASCII armor (RFC 9580 §6): decode every armored block in a text, encode one.

/** Raised for text that should be armor but cannot be decoded (bad base64, CRC mismatch, missing END line). */
export class ArmorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArmorError';
  }
}

const CRC24_INIT = 0xb704ce;
const CRC24_POLY = 0x1864cfb;

// CRC-24 (RFC 9580 §6.1) four bytes at a time ("slicing by 4"): armoring a 30 KB key on an uncached op=get took
// 75 µs one byte at a time, 22 µs so. The register holds the CRC in its top 24 bits, so the tables are those of a
// 32-bit MSB-first CRC whose polynomial is CRC-24's shifted left by 8; T[k][n] is byte n pushed through 8(k+1) bits.
const CRC24_TABLES = (() => {
  const poly = (CRC24_POLY << 8) | 0;
  const t = [new Int32Array(256), new Int32Array(256), new Int32Array(256), new Int32Array(256)] as const;
  for (let n = 0; n < 256; n++) {
    let c = n << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ poly : c << 1;
    t[0][n] = c;
  }
  for (let k = 1; k < 4; k++) {
    for (let n = 0; n < 256; n++) t[k][n] = (t[k - 1][n]! << 8) ^ t[0][(t[k - 1][n]! >>> 24) & 0xff]!;
  }
  return t;
})();

export function crc24(data: Uint8Array): number {
  const [t0, t1, t2, t3] = CRC24_TABLES;
  let c = (CRC24_INIT << 8) | 0;
  let i = 0;
  const whole = data.length - (data.length & 3);
  for (; i < whole; i += 4) {
    c ^= (data[i]! << 24) | (data[i + 1]! << 16) | (data[i + 2]! << 8) | data[i + 3]!;
    c = t3[(c >>> 24) & 0xff]! ^ t2[(c >>> 16) & 0xff]! ^ t1[(c >>> 8) & 0xff]! ^ t0[c & 0xff]!;
  }
  for (; i < data.length; i++) c = (c << 8) ^ t0[((c >>> 24) ^ data[i]!) & 0xff]!;
  return (c >>> 8) & 0xffffff;
}

const BEGIN = /^-----BEGIN PGP ([A-Z0-9 ,/]+)-----\s*$/;
const HEADER = /^[A-Za-z0-9-]+: /;
const BASE64_LINE = /^[A-Za-z0-9+/=]*$/;

/** Returns the binary contents of every `-----BEGIN PGP ...-----` block in text; checks the CRC when present. */
export function dearmor(text: string): Buffer[] {
  const lines = text.split(/\r?\n/);
  const blocks: Buffer[] = [];
  let i = 0;
  while (i < lines.length) {
    const m = BEGIN.exec(lines[i]!.trim());
    i++;
    if (!m) continue;
    const type = m[1]!;
    // Armor headers run to the first blank line; tolerate writers that omit the blank line when there are none.
    while (i < lines.length && HEADER.test(lines[i]!)) i++;
    if (i < lines.length && lines[i]!.trim() === '') i++;
    const b64: string[] = [];
    let crc: string | null = null;
    let ended = false;
    for (; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line.startsWith('-----END PGP ')) {
        if (line !== `-----END PGP ${type}-----`) throw new ArmorError(`armor END line "${line}" does not match BEGIN PGP ${type}`);
        ended = true;
        i++;
        break;
      }
      if (line === '') continue;
      if (line.startsWith('=') && line.length === 5) {
        crc = line.slice(1);
        continue;
      }
      if (!BASE64_LINE.test(line)) throw new ArmorError(`invalid character in armored data: "${line.slice(0, 40)}"`);
      b64.push(line);
    }
    if (!ended) throw new ArmorError(`armored block "BEGIN PGP ${type}" has no END line`);
    const data = Buffer.from(b64.join(''), 'base64');
    if (crc !== null) {
      const want = Buffer.from(crc, 'base64');
      if (want.length !== 3 || want.readUIntBE(0, 3) !== crc24(data)) throw new ArmorError('armor checksum (CRC-24) does not match the data');
    }
    blocks.push(data);
  }
  return blocks;
}

/** Armors binary data as a PUBLIC KEY BLOCK (or another type), as SKS and GnuPG write it. */
export function armor(data: Buffer, type = 'PUBLIC KEY BLOCK', headers: Record<string, string> = {}): string {
  const parts = [`-----BEGIN PGP ${type}-----\n`];
  for (const [k, v] of Object.entries(headers)) parts.push(`${k}: ${v}\n`);
  parts.push('\n');
  const b64 = data.toString('base64');
  for (let i = 0; i < b64.length; i += 64) parts.push(b64.slice(i, i + 64), '\n');
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(data), 0, 3);
  parts.push('=', crc.toString('base64'), '\n', `-----END PGP ${type}-----\n`);
  return parts.join('');
}

const BASE64_DIGITS = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');

/** Bytes of data base64-encoded per step of armorBytes: 256 lines of 48 bytes, whose 16 KiB of base64 is a string
 * V8 makes in its young generation. One string for a whole key did not scale: the base64 of a key over ~96 KiB is a
 * string over 128 KiB, which V8 allocates in its large-object space, one mapping each; such keys took 0.9 ms to
 * armor instead of 7 µs, and made the average uncached op=get on debian-keyring three times slower (issue 17). */
const ARMOR_CHUNK_BYTES = 48 * 256;

/** The lines around an armored block, as bytes: made once for a block type and header set (armorFrame), so armoring
 * a key does not build them again (a sixth of armoring a 2 KB key). */
export interface ArmorFrame {
  /** BEGIN line, header lines, blank line. */
  head: Buffer;
  /** END line. */
  tail: Buffer;
}

/** The frame of armorBytes for this block type and these headers, as UTF-8: everything else in an armored block is
 * ASCII, so a header that is not (a hostname) comes out as armor()'s text sent as UTF-8. */
export function armorFrame(type = 'PUBLIC KEY BLOCK', headers: Record<string, string> = {}): ArmorFrame {
  let head = `-----BEGIN PGP ${type}-----\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\n`;
  head += '\n';
  return { head: Buffer.from(head, 'utf8'), tail: Buffer.from(`-----END PGP ${type}-----\n`, 'utf8') };
}

/** How many bytes armorInto writes for `dataLength` bytes of data in this frame. */
export function armoredLength(dataLength: number, { head, tail }: ArmorFrame): number {
  const b64 = Math.ceil(dataLength / 3) * 4;
  return head.length + b64 + Math.ceil(b64 / 64) + 6 + tail.length;
}

/** armor() as bytes (UTF-8), ready to send, written into `out` at `at` (armoredLength bytes; returns where they end):
 * the base64 of each chunk of the data (node's native encoder) goes in, then its lines are moved apart in place, last
 * first, to make room for the line ends. No per-line strings, no joined string, no second copy. A server writes the
 * armor straight into the buffer it sends (sks-db's GnuPG op=get), with its HTTP head before it. `frame`: the block's
 * type and headers as armorFrame makes them (a server makes its own once). `crc`: the data's CRC-24 (the store keeps
 * it with the key). */
export function armorInto(data: Buffer, out: Buffer, at: number, { head, tail }: ArmorFrame, crc: number): number {
  let o = at + head.copy(out, at);
  for (let from = 0; from < data.length; from += ARMOR_CHUNK_BYTES) {
    const to = Math.min(data.length, from + ARMOR_CHUNK_BYTES);
    const chars = out.write(data.toString('base64', from, to), o, 'latin1');
    const chunkLines = Math.ceil(chars / 64);
    for (let i = chunkLines - 1; i >= 0; i--) {
      const src = o + i * 64;
      const len = Math.min(64, chars - i * 64);
      const dst = src + i; // line i moves right by the i line ends before it
      if (dst !== src) out.copyWithin(dst, src, src + len);
      out[dst + len] = 0x0a;
    }
    o += chars + chunkLines;
  }
  out[o++] = 0x3d; // '='
  out[o++] = BASE64_DIGITS[crc >>> 18]!;
  out[o++] = BASE64_DIGITS[(crc >>> 12) & 63]!;
  out[o++] = BASE64_DIGITS[(crc >>> 6) & 63]!;
  out[o++] = BASE64_DIGITS[crc & 63]!;
  out[o++] = 0x0a;
  return o + tail.copy(out, o);
}

/** armorInto a buffer of its own. */
export function armorBytes(data: Buffer, frame: ArmorFrame = armorFrame(), crc = crc24(data)): Buffer {
  const out = Buffer.allocUnsafe(armoredLength(data.length, frame));
  armorInto(data, out, 0, frame, crc);
  return out;
}

/** Accepts armored or binary input (what /pks/add and the loader get) and returns binary. Throws ArmorError when
 * text holds no armored block. */
export function toBinary(input: Buffer | string): Buffer {
  if (Buffer.isBuffer(input)) {
    // A binary packet stream starts with a header byte (bit 7 set); anything else is text.
    if (input.length > 0 && (input[0]! & 0x80) !== 0) return input;
    input = input.toString('latin1');
  }
  const blocks = dearmor(input);
  if (blocks.length === 0) throw new ArmorError('no "-----BEGIN PGP PUBLIC KEY BLOCK-----" armored block found');
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks);
}
