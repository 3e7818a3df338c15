// The recon wire format (SPEC §3; SKS reconMessages.ml, cMarshal.ml).
// Every message is a 4-byte big-endian length, then a body whose first byte is the type. Integers are 4-byte
// big-endian; a string is a length then bytes; a set/array is a count then items; a bitstring is a bit count then
// a string of its bytes; a field element (ZZp) is 17 raw little-endian bytes.
// The config check after the Config exchange is a bare string ("passed", or "failed" and a reason), which has the
// same framing as a message: 4-byte length, then bytes.
import { zzp } from '@sks/keystore';

export const MSG = {
  ReconRqstPoly: 0,
  ReconRqstFull: 1,
  Elements: 2,
  FullElements: 3,
  SyncFail: 4,
  Done: 5,
  Flush: 6,
  Error: 7,
  DbRqst: 8,
  DbRepl: 9,
  Config: 10,
} as const;

export type ReconMessage =
  | { type: 'ReconRqstPoly'; prefix: string; size: number; samples: bigint[] }
  | { type: 'ReconRqstFull'; prefix: string; elements: bigint[] }
  | { type: 'Elements'; elements: bigint[] }
  | { type: 'FullElements'; elements: bigint[] }
  | { type: 'SyncFail' }
  | { type: 'Done' }
  | { type: 'Flush' }
  | { type: 'Error'; text: string }
  | { type: 'DbRqst'; text: string }
  | { type: 'DbRepl'; text: string }
  | { type: 'Config'; pairs: Array<[string, string]> };

/** Raised for bytes that are not a well-formed message; the session ends with this text in the log. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

// --- encoding -------------------------------------------------------------------------------------------------

class Writer {
  private parts: Buffer[] = [];
  int(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    this.parts.push(b);
    return this;
  }
  byte(n: number): this {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  string(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
    return this.int(b.length).raw(b);
  }
  bitstring(prefix: string): this {
    return this.int(prefix.length).string(bitsToBytes(prefix));
  }
  zzp(x: bigint): this {
    return this.raw(zzp.toLE17(x));
  }
  zzpArray(xs: readonly bigint[]): this {
    this.int(xs.length);
    const out = Buffer.alloc(xs.length * zzp.ZZP_BYTES);
    xs.forEach((x, i) => zzp.toLE17(x, out, i * zzp.ZZP_BYTES));
    return this.raw(out);
  }
  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** '0'/'1' characters to bytes, most significant bit first, the last byte padded with zero bits. */
export function bitsToBytes(prefix: string): Buffer {
  const out = Buffer.alloc(Math.ceil(prefix.length / 8));
  for (let i = 0; i < prefix.length; i++) if (prefix[i] === '1') out[i >> 3]! |= 1 << (7 - (i & 7));
  return out;
}

export function bytesToBits(bytes: Buffer, bits: number): string {
  let s = '';
  for (let i = 0; i < bits; i++) s += (bytes[i >> 3]! >> (7 - (i & 7))) & 1 ? '1' : '0';
  return s;
}

/** A message body (type byte first), without the length prefix. */
export function encodeBody(msg: ReconMessage): Buffer {
  const w = new Writer().byte(MSG[msg.type]);
  switch (msg.type) {
    case 'ReconRqstPoly':
      return w.bitstring(msg.prefix).int(msg.size).zzpArray(msg.samples).done();
    case 'ReconRqstFull':
      return w.bitstring(msg.prefix).zzpArray(msg.elements).done();
    case 'Elements':
    case 'FullElements':
      return w.zzpArray(msg.elements).done();
    case 'SyncFail':
    case 'Done':
    case 'Flush':
      return w.done();
    case 'Error':
    case 'DbRqst':
    case 'DbRepl':
      return w.string(msg.text).done();
    case 'Config':
      w.int(msg.pairs.length);
      for (const [k, v] of msg.pairs) w.string(k).string(v);
      return w.done();
  }
}

/** A framed message: 4-byte length, then the body. */
export function encodeMessage(msg: ReconMessage): Buffer {
  return frame(encodeBody(msg));
}

/** A framed bare string (the config check). */
export function encodeString(s: string): Buffer {
  return frame(Buffer.from(s, 'latin1'));
}

export function frame(body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length);
  return Buffer.concat([head, body]);
}

/** A 4-byte big-endian integer as a string, how SKS writes numbers in Config ("http port", "bitquantum", "mbar"). */
export function intString(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b.toString('latin1');
}

export function parseIntString(s: string | undefined): number | undefined {
  if (s === undefined || s.length !== 4) return undefined;
  return Buffer.from(s, 'latin1').readUInt32BE(0);
}

// --- decoding -------------------------------------------------------------------------------------------------

class Reader {
  off = 0;
  constructor(private readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.off + n > this.b.length) {
      throw new ProtocolError(`message ends inside ${what} (needs ${n} bytes at offset ${this.off} of ${this.b.length})`);
    }
  }
  byte(what: string): number {
    this.need(1, what);
    return this.b[this.off++]!;
  }
  int(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }
  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const v = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }
  string(what: string): string {
    return this.bytes(this.int(what + ' length'), what).toString('latin1');
  }
  bitstring(): string {
    const bits = this.int('prefix bit count');
    const bytes = this.bytes(this.int('prefix length'), 'prefix');
    if (bytes.length !== Math.ceil(bits / 8)) {
      throw new ProtocolError(`prefix of ${bits} bits sent in ${bytes.length} bytes`);
    }
    return bytesToBits(bytes, bits);
  }
  zzpArray(what: string): bigint[] {
    const n = this.int(what + ' count');
    // Check the length before allocating: a forged count must not make us reserve memory.
    this.need(n * zzp.ZZP_BYTES, what);
    const out = new Array<bigint>(n);
    for (let i = 0; i < n; i++) {
      const x = zzp.fromLE(this.b, this.off, zzp.ZZP_BYTES);
      if (x >= zzp.P) throw new ProtocolError(`${what} holds a number outside the field`);
      out[i] = x;
      this.off += zzp.ZZP_BYTES;
    }
    return out;
  }
  end(type: string): void {
    if (this.off !== this.b.length) {
      throw new ProtocolError(`${type} message has ${this.b.length - this.off} unexpected trailing bytes`);
    }
  }
}

/** Decodes one message body (type byte first). Throws ProtocolError on anything malformed. */
export function decodeBody(body: Buffer): ReconMessage {
  const r = new Reader(body);
  const t = r.byte('message type');
  let msg: ReconMessage;
  switch (t) {
    case MSG.ReconRqstPoly: {
      const prefix = r.bitstring();
      const size = r.int('size');
      const samples = r.zzpArray('samples');
      msg = { type: 'ReconRqstPoly', prefix, size, samples };
      break;
    }
    case MSG.ReconRqstFull: {
      const prefix = r.bitstring();
      msg = { type: 'ReconRqstFull', prefix, elements: r.zzpArray('elements') };
      break;
    }
    case MSG.Elements:
      msg = { type: 'Elements', elements: r.zzpArray('elements') };
      break;
    case MSG.FullElements:
      msg = { type: 'FullElements', elements: r.zzpArray('elements') };
      break;
    case MSG.SyncFail:
      msg = { type: 'SyncFail' };
      break;
    case MSG.Done:
      msg = { type: 'Done' };
      break;
    case MSG.Flush:
      msg = { type: 'Flush' };
      break;
    case MSG.Error:
      msg = { type: 'Error', text: r.string('error text') };
      break;
    case MSG.DbRqst:
      msg = { type: 'DbRqst', text: r.string('text') };
      break;
    case MSG.DbRepl:
      msg = { type: 'DbRepl', text: r.string('text') };
      break;
    case MSG.Config: {
      const n = r.int('config pair count');
      if (n > 1000) throw new ProtocolError(`Config with ${n} pairs`);
      const pairs: Array<[string, string]> = [];
      for (let i = 0; i < n; i++) pairs.push([r.string('config key'), r.string('config value')]);
      msg = { type: 'Config', pairs };
      break;
    }
    default:
      throw new ProtocolError(`unknown message type ${t}`);
  }
  r.end(msg.type);
  return msg;
}

/** Splits a captured byte stream into frames (length-prefixed bodies). */
export function splitFrames(stream: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < stream.length) {
    if (off + 4 > stream.length) throw new ProtocolError('stream ends inside a length');
    const len = stream.readUInt32BE(off);
    if (off + 4 + len > stream.length) throw new ProtocolError('stream ends inside a message');
    out.push(stream.subarray(off + 4, off + 4 + len));
    off += 4 + len;
  }
  return out;
}

/** Short description of a message for logs (never lists elements). */
export function describe(msg: ReconMessage): string {
  switch (msg.type) {
    case 'ReconRqstPoly':
      return `ReconRqst_Poly(prefix '${msg.prefix}', size ${msg.size})`;
    case 'ReconRqstFull':
      return `ReconRqst_Full(prefix '${msg.prefix}', ${msg.elements.length} elements)`;
    case 'Elements':
    case 'FullElements':
      return `${msg.type}(${msg.elements.length})`;
    case 'Error':
      return `Error(${JSON.stringify(msg.text.slice(0, 200))})`;
    default:
      return msg.type;
  }
}
