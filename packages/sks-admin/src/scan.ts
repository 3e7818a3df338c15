// Splits a keydump into key blocks by reading packet headers only (RFC 9580 §4.2), streaming through a window of
// the file so a 12 GB dump is never held in memory. Parsing the packets is the workers' job (prepareKey).
// A block is a primary key packet (tag 6, or 5 for a secret key, which policy refuses) and every packet up to the
// next one. Garbage between keys is skipped to the next plausible public key packet and reported as one bad item.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';

export type ScanItem =
  | { kind: 'block'; data: Buffer; offset: number }
  | { kind: 'bad'; reason: 'malformed' | 'key-too-large'; detail: string; offset: number };

interface Header {
  tag: number;
  /** Header length + body length. */
  total: number;
  /** Offset of the body from the header start. */
  hdrLen: number;
}

/** packetSpan's answers other than a length. */
const NEED_MORE = -1;
const BAD = -2;

/** The header decoding behind packetHeader, without an object per packet (the hot loop meets ~10 packets a key):
 * header length plus body length of the packet at buf[p], NEED_MORE if the header is not all in buf[..end), BAD if
 * this is not a header a key may contain. */
function packetSpan(buf: Buffer, p: number, end: number): number {
  if (p >= end) return NEED_MORE;
  const h = buf[p]!;
  if ((h & 0x80) === 0) return BAD;
  if (h & 0x40) {
    if (p + 1 >= end) return NEED_MORE;
    const b0 = buf[p + 1]!;
    if (b0 < 192) return 2 + b0;
    if (b0 < 224) return p + 2 >= end ? NEED_MORE : 3 + ((b0 - 192) << 8) + buf[p + 2]! + 192;
    if (b0 === 255) return p + 5 >= end ? NEED_MORE : 6 + buf.readUInt32BE(p + 2);
    return BAD; // partial body lengths: not allowed in key material
  }
  const lt = h & 3;
  if (lt === 0) return p + 1 >= end ? NEED_MORE : 2 + buf[p + 1]!;
  if (lt === 1) return p + 2 >= end ? NEED_MORE : 3 + buf.readUInt16BE(p + 1);
  if (lt === 2) return p + 4 >= end ? NEED_MORE : 5 + buf.readUInt32BE(p + 1);
  return BAD; // indeterminate length
}

/** The tag of the packet whose header starts with byte h (a valid header byte). */
function tagOf(h: number): number {
  return h & 0x40 ? h & 0x3f : (h >> 2) & 0x0f;
}

/** Header at buf[p]; null if more bytes are needed; 'bad' if this is not a packet header a key may contain. */
export function packetHeader(buf: Buffer, p: number, end: number): Header | null | 'bad' {
  const total = packetSpan(buf, p, end);
  if (total === NEED_MORE) return null;
  if (total === BAD) return 'bad';
  return { tag: tagOf(buf[p]!), total, hdrLen: headerLength(buf, p) };
}

/** Length of the header of the packet at buf[p], once packetSpan has found the header whole. */
function headerLength(buf: Buffer, p: number): number {
  const h = buf[p]!;
  if (h & 0x40) {
    const b0 = buf[p + 1]!;
    return b0 < 192 ? 2 : b0 < 224 ? 3 : 6;
  }
  return 2 + [0, 1, 3][h & 3]!;
}

const isPrimary = (tag: number) => tag === 6 || tag === 5;

/** A key packet header we would resynchronise on: tag 6 with a version byte of 3, 4, 5 or 6 and a sane length. */
function plausibleKeyAt(buf: Buffer, p: number, end: number): boolean | null {
  const h = packetHeader(buf, p, end);
  if (h === null) return null;
  if (h === 'bad' || h.tag !== 6 || h.total - h.hdrLen < 6 || h.total > 1 << 20) return false;
  if (p + h.hdrLen >= end) return null;
  const v = buf[p + h.hdrLen]!;
  return v >= 3 && v <= 6;
}

export interface ScannerOptions {
  /** Bytes read per system call (the window grows for a larger key). */
  readBytes?: number;
  /** Key blocks larger than this are skipped without being held, and reported as 'key-too-large'. */
  maxBlockBytes: number;
  /** A block's data is a view of the scanner's window, valid only until the next call (the caller copies it where
   * it needs it: one copy less per key). Default: a copy of its own. */
  views?: boolean;
  /** A window to read into (e.g. the previous file's, see `window`), used when at least readBytes long: its pages
   * are mapped already. */
  window?: Buffer;
}

/** Reads key blocks of a binary stream, from a file (streamed) or from a buffer. */
export class KeyBlockScanner {
  private buf: Buffer;
  /** File offset of buf[0]. */
  private base: number;
  private pos = 0;
  private end = 0;
  private eof = false;
  private fd = -1;
  readonly size: number;
  /** True when reading a decoded buffer (armored input) rather than a file. */
  readonly decoded: boolean;
  private readonly readBytes: number;

  private constructor(source: { fd: number; size: number } | { data: Buffer }, start: number, private readonly opts: ScannerOptions) {
    this.readBytes = opts.readBytes ?? 8 << 20;
    this.decoded = 'data' in source;
    if ('data' in source) {
      this.buf = source.data;
      this.size = source.data.length;
      this.base = 0;
      this.pos = start;
      this.end = source.data.length;
      this.eof = true;
    } else {
      this.fd = source.fd;
      this.size = source.size;
      this.buf = opts.window && opts.window.length >= this.readBytes ? opts.window : Buffer.allocUnsafe(this.readBytes);
      this.base = start;
    }
  }

  static file(path: string, start: number, opts: ScannerOptions): KeyBlockScanner {
    const fd = openSync(path, 'r');
    return new KeyBlockScanner({ fd, size: fstatSync(fd).size }, start, opts);
  }

  static buffer(data: Buffer, start: number, opts: ScannerOptions): KeyBlockScanner {
    return new KeyBlockScanner({ data }, start, opts);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /** The read window (to hand to the next file's scanner once this one is done with it). */
  get window(): Buffer | undefined {
    return this.decoded ? undefined : this.buf;
  }

  /** Absolute offset of the next unread byte. */
  get offset(): number {
    return this.base + this.pos;
  }

  /** Makes at least `need` bytes from pos available if the stream has them (moving the window to start at pos). */
  private fill(need: number): void {
    if (this.eof || this.end - this.pos >= need) return;
    if (this.pos > 0) {
      this.buf.copy(this.buf, 0, this.pos, this.end);
      this.end -= this.pos;
      this.base += this.pos;
      this.pos = 0;
    }
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < need && !this.eof) {
      const n = readSync(this.fd, this.buf, this.end, this.buf.length - this.end, this.base + this.end);
      if (n === 0) this.eof = true;
      this.end += n;
    }
  }

  /** Skips `n` bytes from pos without holding them. */
  private skip(n: number): void {
    const avail = this.end - this.pos;
    if (n <= avail || this.fd < 0) {
      this.pos += Math.min(n, avail);
      return;
    }
    this.base += this.pos + n; // drop the window; reading goes on after the skipped bytes
    this.pos = 0;
    this.end = 0;
  }

  /** Next key block, bad region, or null at the end. */
  next(): ScanItem | null {
    for (;;) {
      this.fill(6);
      if (this.pos >= this.end) return null;
      const total = packetSpan(this.buf, this.pos, this.end);
      if (total < 0) return this.resync(total === NEED_MORE ? 'truncated packet header at end of file' : 'not an OpenPGP packet header');
      if (isPrimary(tagOf(this.buf[this.pos]!))) return this.block();
      // a packet outside any key (e.g. a trust packet at the start): skip it
      this.fill(total);
      if (this.end - this.pos < total) return this.resync('truncated packet at end of file');
      this.pos += total;
    }
  }

  private block(): ScanItem {
    const offset = this.offset;
    let len = 0; // bytes of the block, from this.pos (fill keeps them when it moves the window)
    for (;;) {
      if (this.end - this.pos < len + 6) this.fill(len + 6);
      const p = this.pos + len;
      if (p >= this.end) break;
      const total = packetSpan(this.buf, p, this.end);
      if (total < 0) break; // the block ends here; the next call resyncs
      if (len > 0 && isPrimary(tagOf(this.buf[p]!))) break;
      if (len + total > this.opts.maxBlockBytes) {
        this.pos += len;
        return this.oversize(offset, len);
      }
      if (this.end - this.pos < len + total) {
        this.fill(len + total);
        if (this.end - this.pos < len + total) break; // truncated at the end of the stream
      }
      len += total;
    }
    if (len === 0) return this.resync('truncated packet');
    const view = this.buf.subarray(this.pos, this.pos + len);
    const data = this.opts.views ? view : Buffer.from(view);
    this.pos += len;
    return { kind: 'block', data, offset };
  }

  /** Skips the rest of a key that exceeds maxBlockBytes: its remaining packets up to the next primary key. */
  private oversize(offset: number, seen: number): ScanItem {
    let total = seen;
    for (;;) {
      this.fill(6);
      if (this.pos >= this.end) break;
      const span = packetSpan(this.buf, this.pos, this.end);
      if (span < 0 || isPrimary(tagOf(this.buf[this.pos]!))) break;
      total += span;
      this.skip(span);
    }
    return {
      kind: 'bad', reason: 'key-too-large', offset,
      detail: `a key of ${total} bytes as received, more than max_input_key_bytes ${this.opts.maxBlockBytes}`,
    };
  }

  /** Skips to the next plausible public key packet header. */
  private resync(why: string): ScanItem {
    const offset = this.offset;
    this.pos++;
    for (;;) {
      this.fill(16);
      if (this.pos >= this.end) break;
      const ok = plausibleKeyAt(this.buf, this.pos, this.end);
      if (ok) break;
      if (ok === null && this.eof) {
        this.pos = this.end;
        break;
      }
      this.pos++;
    }
    return { kind: 'bad', reason: 'malformed', offset, detail: `${why} at byte ${offset}; skipped ${this.offset - offset} bytes` };
  }
}
