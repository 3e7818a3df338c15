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

// Table-driven CRC-24 (one lookup per byte): armoring large keys on every op=get must stay cheap.
const CRC24_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 16;
    for (let j = 0; j < 8; j++) {
      c <<= 1;
      if (c & 0x1000000) c ^= CRC24_POLY;
    }
    t[i] = c & 0xffffff;
  }
  return t;
})();

function crc24(data: Buffer): number {
  let crc = CRC24_INIT;
  for (let i = 0; i < data.length; i++) crc = ((crc << 8) ^ CRC24_TABLE[((crc >> 16) ^ data[i]!) & 0xff]!) & 0xffffff;
  return crc;
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
