// The /pks/hashquery wire format (recon SPEC §5, SKS dbserver.ml and reconComm.ml): how a recon peer fetches the
// keys it lacks. Request: int count, then count strings (int length + 16-byte SKS digest). Response: int count,
// then count strings, each one key as binary packets; SKS appends "\r\n" after the body. Ints are 4-byte
// big-endian. Both directions are decoded with every count and length checked against the bytes present, so no
// body can make a decoder loop or allocate beyond its own size.
import { HttpError } from './http-error.js';

export const DIGEST_BYTES = 16;

/** A hashquery answer that does not follow the format (the peer's fault; the fetch fails, nothing is stored). */
export class HashqueryFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HashqueryFormatError';
  }
}

function strings(parts: Buffer[]): Buffer {
  let size = 4;
  for (const p of parts) size += 4 + p.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(parts.length, 0);
  let off = 4;
  for (const p of parts) {
    off = out.writeUInt32BE(p.length, off);
    off += p.copy(out, off);
  }
  return out;
}

/** The request body asking for these digests. */
export function encodeHashqueryRequest(digests: Buffer[]): Buffer {
  for (const d of digests) if (d.length !== DIGEST_BYTES) throw new TypeError(`a digest is ${DIGEST_BYTES} bytes, got ${d.length}`);
  return strings(digests);
}

/** The digests (lower-case hex) a request body asks for. Throws HttpError 400 for a malformed body and 413 for
 * more than `maxDigests` (setting max_hashquery_keys). */
export function decodeHashqueryRequest(body: Buffer, maxDigests: number): string[] {
  if (body.length < 4) throw new HttpError(400, 'hashquery body is shorter than its 4-byte count');
  const count = body.readUInt32BE(0);
  if (count > maxDigests) {
    throw new HttpError(413, `hashquery asks for ${count} keys; at most ${maxDigests} per request (max_hashquery_keys)`);
  }
  const out: string[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new HttpError(400, `hashquery body ends inside digest ${i + 1} of ${count}`);
    const len = body.readUInt32BE(off);
    off += 4;
    if (len !== DIGEST_BYTES) throw new HttpError(400, `hashquery digest ${i + 1} is ${len} bytes long; digests are ${DIGEST_BYTES} bytes`);
    if (off + len > body.length) throw new HttpError(400, `hashquery body ends inside digest ${i + 1} of ${count}`);
    out.push(body.toString('hex', off, off + len));
    off += len;
  }
  if (off !== body.length) throw new HttpError(400, `hashquery body has ${body.length - off} bytes after the last digest`);
  return out;
}

/** The response body carrying these keys (without SKS's trailing CRLF, which the HTTP layer adds). */
export function encodeHashqueryResponse(keys: Buffer[]): Buffer {
  return strings(keys);
}

/** The keys of a response body; bytes after the last key (SKS's "\r\n") are ignored. At most `maxKeys` keys are
 * accepted (a count above it is refused before anything is read). Throws HashqueryFormatError. */
export function decodeHashqueryResponse(body: Buffer, maxKeys = Number.MAX_SAFE_INTEGER): Buffer[] {
  if (body.length < 4) throw new HashqueryFormatError(`hashquery answer of ${body.length} bytes has no key count`);
  const count = body.readUInt32BE(0);
  if (count > maxKeys) throw new HashqueryFormatError(`hashquery answer claims ${count} keys; at most ${maxKeys} were asked for`);
  // Every key takes at least its 4-byte length: a count the body cannot hold is refused at once.
  if (count * 4 > body.length - 4) throw new HashqueryFormatError(`hashquery answer claims ${count} keys in ${body.length} bytes`);
  const keys: Buffer[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new HashqueryFormatError(`hashquery answer ends inside key ${i + 1} of ${count}`);
    const len = body.readUInt32BE(off);
    off += 4;
    if (len > body.length - off) throw new HashqueryFormatError(`hashquery answer ends inside key ${i + 1} of ${count}`);
    keys.push(body.subarray(off, off + len));
    off += len;
  }
  return keys;
}
