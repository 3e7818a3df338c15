// POST /pks/hashquery: how a recon peer fetches the keys it lacks (recon SPEC §5, SKS dbserver.ml).
// Request: int count, then count strings (int length + bytes), each a 16-byte SKS digest.
// Response: int count, then count strings, each one key as binary packets; content type pgp/keys; the body is
// followed by "\r\n" like every SKS body. Ints are 4-byte big-endian. Unknown digests are skipped silently.
import type { Request, Response } from 'express';
import type { DbContext } from './context.js';
import { HttpError, readBody, sendSks } from './http-util.js';

/** Decodes a hashquery request body into digests (lower-case hex). Throws HttpError 400/413 on bad input. */
export function parseHashqueryBody(body: Buffer, maxKeys: number): string[] {
  if (body.length < 4) throw new HttpError(400, 'hashquery body is shorter than its 4-byte count');
  const count = body.readUInt32BE(0);
  if (count > maxKeys) {
    throw new HttpError(413, `hashquery asks for ${count} keys; at most ${maxKeys} per request (max_hashquery_keys)`);
  }
  const out: string[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new HttpError(400, `hashquery body ends inside digest ${i + 1} of ${count}`);
    const len = body.readUInt32BE(off);
    off += 4;
    if (len !== 16) throw new HttpError(400, `hashquery digest ${i + 1} is ${len} bytes long; digests are 16 bytes`);
    if (off + len > body.length) throw new HttpError(400, `hashquery body ends inside digest ${i + 1} of ${count}`);
    out.push(body.subarray(off, off + len).toString('hex'));
    off += len;
  }
  if (off !== body.length) throw new HttpError(400, `hashquery body has ${body.length - off} bytes after the last digest`);
  return out;
}

/** Encodes keys as the hashquery response (without the trailing CRLF). */
export function encodeHashqueryResponse(keys: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32BE(keys.length);
  parts.push(head);
  for (const k of keys) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(k.length);
    parts.push(len, k);
  }
  return Buffer.concat(parts);
}

/** Decodes a hashquery response (as a client would): the keys, ignoring a trailing CRLF. */
export function decodeHashqueryResponse(body: Buffer): Buffer[] {
  const count = body.readUInt32BE(0);
  const keys: Buffer[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    const len = body.readUInt32BE(off);
    off += 4;
    keys.push(body.subarray(off, off + len));
    off += len;
  }
  return keys;
}

export async function handleHashquery(ctx: DbContext, req: Request, res: Response): Promise<void> {
  const body = await readBody(req, ctx.settings.max_body_bytes);
  const digests = parseHashqueryBody(body, ctx.settings.max_hashquery_keys);
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  for (const d of digests) {
    if (seen.has(d)) continue;
    seen.add(d);
    const k = ctx.store.getByDigest(d);
    if (k) keys.push(k.data);
  }
  ctx.logger.debug('hashquery answered', { asked: digests.length, found: keys.length });
  sendSks(res, { type: 'pgp/keys', body: encodeHashqueryResponse(keys), count: keys.length });
}
