// Small HTTP helpers shared by every route: SKS-style replies, bounded body reading, errors with a status.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '@sks/hkp';
import { errorPage } from './layout.js';

export { htmlQuote, page } from './layout.js';

export { HttpError, queryParam, wantsMachineReadable } from '@sks/hkp';

const TITLES: Record<number, string> = {
  400: 'Bad request',
  404: 'No results found',
  405: 'Method not allowed',
  408: 'Request timeout',
  413: 'Request Entity Too Large',
  415: 'Unsupported media type',
  422: 'Unprocessable key material',
  429: 'Too many requests',
  500: 'Error handling request',
  501: 'Not implemented',
  503: 'Service unavailable',
};

/** What SKS ends every answer's body with; its length is part of Content-Length. */
export const BODY_END = Buffer.from('\r\n');

/** An answer as SKS's wserver sends it: a body of a type, with the HKP result count and a download name. Both the
 * lookup front (hkp-front.ts, raw sockets) and node's http responses (sendSks) write it. */
export interface SksReply {
  status?: number;
  type: string;
  body: string | Buffer;
  count?: number;
  filename?: string;
  /** Set when the body is the armor of one key, kept in the per-key cache under this digest: caches of whole
   * replies keep the digest, not the bytes a second time. */
  armoredDigest?: string;
}

export const SERVER_HEADER = 'sks_www/1.1.6';
export const VIA_HEADER = '1.1 sks-ts';

/** The headers of a reply besides Server, Via, Content-Length, Date and Connection, in the order they are sent. */
export function replyHeaders(r: Omit<SksReply, 'body'>): Array<[string, string]> {
  const h: Array<[string, string]> = [
    ['Cache-Control', 'no-cache'],
    ['Pragma', 'no-cache'],
    ['Expires', '0'],
    ['Access-Control-Allow-Origin', '*'],
  ];
  if (r.count !== undefined && r.count >= 0) h.push(['X-HKP-Results-Count', String(r.count)]);
  h.push(['Content-Type', r.type]); // exactly as given (express's res.set would add a charset)
  if (r.filename) h.push(['Content-Disposition', `attachment; filename=${r.filename}`]);
  return h;
}

/** The body of a reply as sent: SKS ends every body with CRLF. One buffer, so it goes out in the same write as the
 * header (a write() before end() costs a second syscall and TCP segment per answer). */
function replyBody(r: SksReply): Buffer {
  const body = Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  return Buffer.concat([body, BODY_END], body.length + BODY_END.length);
}

/** Sends a reply the way SKS's wserver does: no-cache headers, CORS open, result count, body followed by CRLF. */
export function sendSks(res: ServerResponse, reply: SksReply): void {
  // Plain node calls (no express helpers), usable from any handler.
  res.statusCode = reply.status ?? 200;
  for (const [name, value] of replyHeaders(reply)) res.setHeader(name, value);
  const body = replyBody(reply);
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

/** An error as an HTML page of the site (layout.ts: the title as <h1>, as SKS, then what to do), or as plain text for
 * machine-readable requests. */
export function errorReply(status: number, message: string, machineReadable = false, title = TITLES[status] ?? 'Error', search?: string): SksReply {
  if (machineReadable) return { status, type: 'text/plain; charset=UTF-8', body: `${title}: ${message}` };
  return { status, type: 'text/html; charset=UTF-8', body: errorPage(status, title, message, search) };
}

/** Sends an error (see errorReply); a response already under way is cut off instead. */
export function sendError(res: ServerResponse, status: number, message: string, machineReadable = false, title = TITLES[status] ?? 'Error', search?: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendSks(res, errorReply(status, message, machineReadable, title, search));
}

/** Bytes of an over-limit request body read and thrown away after the 413 (times the limit), so a client that sends
 * its whole body before reading the answer gets the 413 instead of a reset connection (EPIPE); a client sending more
 * than this is cut off. */
const DRAIN_FACTOR = 8;

/** Longest the rest of an over-limit body is read after the 413 before the connection is cut. */
const DRAIN_MS = 30_000;

/** Closes the connection of a refused request once its body has been read to the end (see readBody), so the client
 * reads the answer instead of a reset; at most DRAIN_MS later. */
export function closeAfterBody(req: IncomingMessage): void {
  const socket = req.socket;
  if (req.complete) {
    socket.destroySoon();
    return;
  }
  const timer = setTimeout(() => socket.destroy(), DRAIN_MS);
  timer.unref();
  req.once('end', () => {
    clearTimeout(timer);
    socket.destroySoon();
  });
  req.once('close', () => clearTimeout(timer));
  req.resume();
}

/** Reads a request body up to `limit` bytes; larger bodies end in a 413 before being buffered further. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const overLimit = (message: string) => {
      failed = true;
      // Keep reading (and discarding) the body: closing now would reset the connection under a client still
      // sending, and it would never see the 413. The answer goes out meanwhile; the connection stays usable.
      let drained = 0;
      req.on('data', (c: Buffer) => {
        drained += c.length;
        if (drained > DRAIN_FACTOR * limit) req.socket.destroy();
      });
      req.resume();
      reject(new HttpError(413, message));
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      overLimit(`the request body of ${declared} bytes exceeds the limit of ${limit} bytes (max_body_bytes)`);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        chunks.length = 0;
        overLimit(`the request body exceeds the limit of ${limit} bytes (max_body_bytes)`);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(new HttpError(400, `the request body could not be read: ${err.message}`));
    });
  });
}

