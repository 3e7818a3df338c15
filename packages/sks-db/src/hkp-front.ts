// The lookup front: every connection to the HKP port starts here. Plain GET/HEAD /pks/lookup requests, nearly all
// of a keyserver's traffic, are read and answered straight on the socket; at the first request that is anything
// else (a body, Expect, Upgrade, another path, a header we do not parse) the connection is handed, with the bytes
// not yet answered, to node's http server, which serves it from then on (express routes, body limits, 100-continue).
//
// Why not node's http server for everything: its per-request objects cost more than answering a cached lookup.
// Measured with wrk on 2 cores (64 connections, 334-byte answer): node http 27 000 req/s, this front 49 000.
//
// What the front does itself, as node's server would: keep-alive (HTTP/1.1 by default, HTTP/1.0 when asked),
// pipelined requests answered in order, a header timeout answered with 408, idle keep-alive connections closed,
// and a cap on header size (larger headers go to node's server, which refuses them with 431).
import net from 'node:net';
import type http from 'node:http';
import { STATUS_CODES } from 'node:http';
import { SERVER_HEADER, VIA_HEADER } from './http-util.js';

/** An answer ready to send: everything but the Date and Connection headers, which the front adds. */
export interface FrontReply {
  status: number;
  /** Status line and header lines, Content-Length included, up to Date (see replyHead). */
  head: Buffer;
  /** The body, in chunks: copied into one wire buffer with the head when small (COPY_BELOW_BYTES), else written as
   * they are (cached buffers are not copied). */
  body: Buffer[];
  /** 0, or: this reply is the sender's alone, used once, and `head` and a one-chunk `body` lie back to back in one
   * buffer with this many free bytes before `head`. The front then moves the head into that room and writes its
   * Date and Connection lines after it, and sends the reply as it lies, with no copy (when they fit). */
  headroom: number;
}

export interface FrontOptions {
  /** Answers the query string (without '?') of a GET/HEAD /pks/lookup; refusals come back as error replies.
   * `undefined` leaves the request to node's http server. */
  answer(query: string, method: 'GET' | 'HEAD'): FrontReply | undefined;
  /** The node http server that takes over connections the front does not serve. Not listening itself. */
  fallback: http.Server;
  /** A request's header must arrive within this time (request_header_timeout_ms). */
  headerTimeoutMs: number;
  /** Idle keep-alive connections are closed after this time (keepalive_timeout_ms). */
  keepAliveTimeoutMs: number;
  /** A connection whose waiting answers the client does not read for this long is closed (send_timeout_ms). */
  sendTimeoutMs: number;
  /** The process's send turn, shared by its fronts; one of the front's own when not given. */
  turn?: SendTurn;
  /** Called when answer() throws (the client gets a 500 and the connection is closed). */
  onError?(err: unknown): void;
}

/** Header blocks longer than this go to node's server (whose limit, 16 KiB, answers 431). */
const MAX_HEADER_BYTES = 16 * 1024;
/** Stop reading a connection while this much of its answers waits to be sent (a client that does not read). */
const MAX_PENDING_WRITE_BYTES = 1 << 20;

const HEADER_END = Buffer.from('\r\n\r\n');
// A request line the front serves: GET or HEAD of /pks/lookup (with or without a query), HTTP/1.0 or 1.1.
const REQUEST_LINE = /^(GET|HEAD) \/pks\/lookup(?:\?([\x21-\x7e]*))? HTTP\/1\.([01])$/;
// Header fields that need node's server: a body, 100-continue, protocol changes, chunked requests.
const NEEDS_NODE = new Set(['content-length', 'transfer-encoding', 'expect', 'upgrade', 'http2-settings']);

interface Conn {
  socket: net.Socket;
  onData(d: Buffer): void;
  onDrain(): void;
  onError(): void;
  onClose(): void;
  /** Bytes received and not yet answered. */
  pending: Buffer | undefined;
  /** Chunks of a request header that arrives in pieces, joined once its end is seen (no copying per piece). */
  pieces: Buffer[];
  piecesBytes: number;
  /** When the first byte of the request being received arrived (0: none under way). */
  requestStartMs: number;
  /** When the last answer was sent or the connection opened. */
  idleSinceMs: number;
  /** Answer bytes waiting at the last sweep, and since when they have not shrunk (0: nothing waiting). */
  lastWaiting: number;
  stalledSinceMs: number;
}

/** The head of an answer up to the Date header: status line, Server, Via, then `headers` (lines ending in CRLF,
 * Content-Length included). Built once per cached reply, so answering does not encode strings. */
export function replyHead(status: number, headers: string): Buffer {
  return Buffer.from(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\nServer: ${SERVER_HEADER}\r\nVia: ${VIA_HEADER}\r\n${headers}`, 'latin1');
}

/** The end of every head: Date and Connection headers, rebuilt once per second. */
let tailSecond = -1;
let tailKeepAlive = Buffer.alloc(0);
let tailClose = Buffer.alloc(0);
function headTail(nowMs: number, keepAlive: boolean, keepAliveS: number): Buffer {
  const second = Math.floor(nowMs / 1000);
  if (second !== tailSecond) {
    tailSecond = second;
    const date = `Date: ${new Date(second * 1000).toUTCString()}\r\n`;
    tailKeepAlive = Buffer.from(`${date}Connection: keep-alive\r\nKeep-Alive: timeout=${keepAliveS}\r\n\r\n`, 'latin1');
    tailClose = Buffer.from(`${date}Connection: close\r\n\r\n`, 'latin1');
  }
  return keepAlive ? tailKeepAlive : tailClose;
}

/** Answers up to this size are copied into one buffer and sent with one write; larger ones go out as they are. */
export const COPY_BELOW_BYTES = 16 * 1024;

/** Answers of one turn waiting to be sent are sent once they reach this size: two uncached op=get answers (30 KB
 * on average), or some twenty mr indexes. Holding more in a turn made large answers slower (issue 17, measured). */
export const TURN_FLUSH_BYTES = 64 * 1024;

/** Writes a reply with the front's Date and Connection lines (`tail`) after its head; returns the bytes written. */
function writeReply(s: net.Socket, reply: FrontReply, tail: Buffer, withBody: boolean): number {
  const { head } = reply;
  if (withBody && reply.headroom >= tail.length && reply.body.length === 1) {
    // the head moves back into its room and the tail follows it, right before the body: one buffer, as it lies
    const total = tail.length + head.length + reply.body[0]!.length;
    const wire = Buffer.from(head.buffer, head.byteOffset - tail.length, total);
    wire.copyWithin(0, tail.length, tail.length + head.length);
    tail.copy(wire, head.length);
    s.write(wire);
    return total;
  }
  const chunks = withBody ? [head, tail, ...reply.body] : [head, tail];
  let total = 0;
  for (const b of chunks) total += b.length;
  if (total <= COPY_BELOW_BYTES) {
    // copied now: a kept small reply may be a view of the front's reply log, reused by the next admission
    s.write(Buffer.concat(chunks, total));
  } else {
    for (const b of chunks) s.write(b); // corked for the turn: the chunks leave in one writev
  }
  return total;
}

export interface Front {
  server: net.Server;
  /** Closes the listening socket and every connection the front still holds. */
  close(): Promise<void>;
}

/** The answers of one turn of the event loop go out together at its end (each socket corked until then), or sooner
 * once TURN_FLUSH_BYTES wait. Sent one by one, each answer woke its client at once, and the client's next request
 * interrupted the answers still to compute: a wake-up and a task switch per request, as much CPU as an uncached mr
 * index itself (issue 17). A turn answers only requests that arrived together, so none waits long.
 *
 * One per process, shared by its fronts, so that `onFlushed` learns whether every answer written since the last
 * flush has left for the kernel (a socket's write copies it there unless the socket's buffer is full): then the
 * memory those answers were written in can be written again (see WireArena in server.ts). */
export class SendTurn {
  private readonly corked = new Set<net.Socket>();
  private bytes = 0;
  /** False once a socket released or flushed since the last flush kept some of its answers waiting. */
  private allSent = true;

  /** `onFlushed(allSent)` runs after each flush. */
  constructor(private readonly onFlushed?: (allSent: boolean) => void) {}

  /** Holds the socket's writes until the turn's end (or TURN_FLUSH_BYTES). */
  cork(s: net.Socket): void {
    if (this.corked.has(s)) return;
    if (this.corked.size === 0) setImmediate(this.flush);
    this.corked.add(s);
    s.cork();
  }

  /** Counts bytes written to corked sockets; flushes once TURN_FLUSH_BYTES wait. */
  wrote(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes >= TURN_FLUSH_BYTES) this.flush();
  }

  /** Sends what the socket holds now, before it leaves the front (handed to node's http server). */
  release(s: net.Socket): void {
    if (!this.corked.delete(s)) return;
    s.uncork();
    if (s.writableLength > 0) this.allSent = false;
  }

  readonly flush = (): void => {
    for (const s of this.corked) {
      s.uncork();
      if (s.writableLength > 0) this.allSent = false;
    }
    this.corked.clear();
    this.bytes = 0;
    const allSent = this.allSent;
    this.allSent = true;
    this.onFlushed?.(allSent);
  };
}

export function createFront(opts: FrontOptions): Front {
  const conns = new Set<Conn>();
  const keepAliveS = Math.max(1, Math.round(opts.keepAliveTimeoutMs / 1000));

  const turn = opts.turn ?? new SendTurn();

  /** Gives the connection, with its unanswered bytes, to node's http server. */
  const handOff = (c: Conn) => {
    conns.delete(c);
    const s = c.socket;
    turn.release(s); // answers already given go out before node's server writes its own
    s.removeListener('data', c.onData);
    s.removeListener('drain', c.onDrain);
    s.removeListener('error', c.onError);
    s.removeListener('close', c.onClose);
    s.pause();
    if (c.pending && c.pending.length > 0) s.unshift(c.pending);
    c.pending = undefined;
    opts.fallback.emit('connection', s);
    s.resume();
  };

  /** Answers the complete requests in c.pending, in order; hands off at the first one the front does not serve. */
  const serve = (c: Conn) => {
    const s = c.socket;
    while (c.pending && c.pending.length > 0) {
      const buf = c.pending;
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > MAX_HEADER_BYTES) handOff(c);
        return;
      }
      if (end > MAX_HEADER_BYTES) return handOff(c);
      const text = buf.toString('latin1', 0, end);
      const lineEnd = text.indexOf('\r\n');
      const m = REQUEST_LINE.exec(lineEnd < 0 ? text : text.slice(0, lineEnd));
      if (!m) return handOff(c);
      let connection = '';
      if (lineEnd >= 0) {
        for (const line of text.slice(lineEnd + 2).split('\r\n')) {
          const colon = line.indexOf(':');
          // A line without a name, or folded onto the previous one: node's parser decides what to make of it.
          if (colon <= 0 || line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) return handOff(c);
          const name = line.slice(0, colon).toLowerCase();
          if (NEEDS_NODE.has(name)) {
            if (name !== 'content-length' || line.slice(colon + 1).trim() !== '0') return handOff(c);
          } else if (name === 'connection') {
            connection += `${line.slice(colon + 1).toLowerCase()},`;
          }
        }
      }
      let reply: FrontReply | undefined;
      try {
        reply = opts.answer(m[2] ?? '', m[1] as 'GET' | 'HEAD');
      } catch (err) {
        opts.onError?.(err);
        conns.delete(c);
        s.end('HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (!reply) return handOff(c);
      const http10 = m[3] === '0';
      const keepAlive = http10 ? /(^|[\s,])keep-alive\s*,/.test(connection) : !/(^|[\s,])close\s*,/.test(connection);
      c.pending = end + 4 < buf.length ? buf.subarray(end + 4) : undefined;
      c.requestStartMs = c.pending ? Date.now() : 0;
      const now = Date.now();
      const tail = headTail(now, keepAlive, keepAliveS);
      turn.cork(s);
      turn.wrote(writeReply(s, reply, tail, m[1] === 'GET'));
      c.idleSinceMs = now;
      if (!keepAlive) {
        conns.delete(c);
        s.end();
        return;
      }
      if (s.writableLength > MAX_PENDING_WRITE_BYTES) {
        s.pause();
        return;
      }
    }
  };

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const c: Conn = {
      socket, pending: undefined, pieces: [], piecesBytes: 0, requestStartMs: 0, idleSinceMs: Date.now(), lastWaiting: 0, stalledSinceMs: 0,
      onData: () => {}, onDrain: () => {}, onError: () => {}, onClose: () => {},
    };
    c.onData = (d: Buffer) => {
      if (!c.pending) {
        c.pending = d;
        c.requestStartMs = Date.now();
        serve(c);
        return;
      }
      // The header so far had no end: keep the piece, and join only once the end has come or the size cap is
      // passed (a header sent a byte at a time would otherwise be copied again with every byte).
      const prev = c.pieces.length > 0 ? c.pieces[c.pieces.length - 1]! : c.pending;
      const seam = Buffer.concat([prev.subarray(Math.max(0, prev.length - 3)), d]);
      c.pieces.push(d);
      c.piecesBytes += d.length;
      if (seam.indexOf(HEADER_END) < 0 && c.pending.length + c.piecesBytes <= MAX_HEADER_BYTES) return;
      c.pending = Buffer.concat([c.pending, ...c.pieces], c.pending.length + c.piecesBytes);
      c.pieces = [];
      c.piecesBytes = 0;
      serve(c);
    };
    c.onDrain = () => {
      if (socket.isPaused() && conns.has(c)) {
        socket.resume();
        serve(c);
      }
    };
    c.onError = () => socket.destroy();
    c.onClose = () => conns.delete(c);
    socket.on('data', c.onData);
    socket.on('drain', c.onDrain);
    socket.on('error', c.onError);
    socket.on('close', c.onClose);
    conns.add(c);
  });

  // One sweep for all connections, as node's server checks its own (connectionsCheckingInterval).
  const sweepMs = Math.max(100, Math.min(1000, Math.floor(Math.min(opts.headerTimeoutMs, opts.keepAliveTimeoutMs) / 4)));
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of conns) {
      // A connection still sending an answer is neither idle nor late with its request; but one whose client reads
      // nothing of it for sendTimeoutMs is closed.
      const waiting = c.socket.writableLength;
      if (waiting > 0) {
        if (c.stalledSinceMs === 0 || waiting < c.lastWaiting) c.stalledSinceMs = now;
        c.lastWaiting = waiting;
        if (opts.sendTimeoutMs > 0 && now - c.stalledSinceMs > opts.sendTimeoutMs) {
          conns.delete(c);
          c.socket.destroy();
        }
        continue;
      }
      c.stalledSinceMs = 0;
      if (c.requestStartMs > 0 && opts.headerTimeoutMs > 0 && now - c.requestStartMs > opts.headerTimeoutMs) {
        conns.delete(c);
        c.socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        c.socket.destroySoon();
      } else if (c.requestStartMs === 0 && opts.keepAliveTimeoutMs > 0 && now - c.idleSinceMs > opts.keepAliveTimeoutMs) {
        conns.delete(c);
        c.socket.destroy();
      }
    }
  }, sweepMs);
  sweep.unref();

  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(sweep);
        server.close(() => resolve());
        for (const c of conns) c.socket.destroy();
        conns.clear();
      }),
  };
}
