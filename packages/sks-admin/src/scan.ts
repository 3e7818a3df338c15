// Splits a keydump into key blocks by reading packet headers only (RFC 9580 §4.2), streaming through a window of
// the file so a 12 GB dump is never held in memory. Parsing the packets is the workers' job (prepareKey).
// A block is a primary key packet (tag 6, or 5 for a secret key, which policy refuses) and every packet up to the
// next one. Garbage between keys is skipped to the next plausible public key packet and reported as one bad item.
import { openSync, readSync, closeSync, fstatSync } from 'node:fs';
import {
  packetSpan, packetHeaderLength, packetTag, headerProblem, newFormatLength, partialChunkLength,
  HEADER_INCOMPLETE, NOT_A_HEADER, PARTIAL_LENGTH,
} from '@sks/keystore';

export type ScanItem =
  | { kind: 'block'; data: Buffer; offset: number }
  | { kind: 'bad'; reason: 'malformed' | 'key-too-large'; detail: string; offset: number };

const isPrimary = (tag: number) => tag === 6 || tag === 5;

/** A key packet header we would resynchronise on: tag 6 with a version byte of 3, 4, 5 or 6 and a sane length. */
function plausibleKeyAt(buf: Buffer, p: number, end: number): boolean | null {
  const total = packetSpan(buf, p, end);
  if (total === HEADER_INCOMPLETE) return null;
  if (total < 0 || packetTag(buf[p]!) !== 6 || total > 1 << 20) return false;
  const hdrLen = packetHeaderLength(buf, p);
  if (total - hdrLen < 6) return false;
  if (p + hdrLen >= end) return null;
  const v = buf[p + hdrLen]!;
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
      if (total === HEADER_INCOMPLETE) return this.resync('truncated packet header at end of file');
      if (total < 0) return this.resync(headerProblem(total, this.buf, this.pos));
      if (isPrimary(packetTag(this.buf[this.pos]!))) return this.block();
      // a packet outside any key (e.g. a trust packet at the start): skip it
      this.fill(total);
      if (this.end - this.pos < total) return this.resync('truncated packet at end of file');
      this.pos += total;
    }
  }

  /** The key block at pos. A key with a packet that cannot be read (a length form keys may not use, or cut off by
   * the end of the stream) is one bad item as a whole, as the parser behind /pks/add refuses it as a whole; bytes
   * that are no packet header at all end the key before them (garbage between keys, skipped by the next call). */
  private block(): ScanItem {
    const offset = this.offset;
    let len = 0; // bytes of the block, from this.pos (fill keeps them when it moves the window)
    for (;;) {
      if (this.end - this.pos < len + 6) this.fill(len + 6);
      const p = this.pos + len;
      if (p >= this.end) break;
      const total = packetSpan(this.buf, p, this.end);
      if (total === NOT_A_HEADER) break;
      if (total < 0) {
        const why = total === HEADER_INCOMPLETE ? 'truncated packet header' : headerProblem(total, this.buf, p);
        return this.badKey(offset, len, why);
      }
      if (len > 0 && isPrimary(packetTag(this.buf[p]!))) break;
      if (len + total > this.opts.maxBlockBytes) return this.oversize(offset, len, total);
      if (this.end - this.pos < len + total) {
        this.fill(len + total);
        if (this.end - this.pos < len + total) return this.badKey(offset, len, 'packet cut off by the end of the file');
      }
      len += total;
    }
    const view = this.buf.subarray(this.pos, this.pos + len);
    const data = this.opts.views ? view : Buffer.from(view);
    this.pos += len;
    return { kind: 'block', data, offset };
  }

  /** Refuses the key at `offset` whose packet `seen` bytes into it cannot be read. A packet with partial body lengths
   * is skipped exactly, chunk by chunk, and the rest of the key with it; anything else is skipped to the next
   * plausible key. */
  private badKey(offset: number, seen: number, why: string): ScanItem {
    this.pos += seen;
    const detail = `key at byte ${offset}: ${why}`;
    const skipped = packetSpan(this.buf, this.pos, this.end) === PARTIAL_LENGTH && this.skipRestOfKey();
    if (!skipped) return this.resync(detail, offset);
    return { kind: 'bad', reason: 'malformed', offset, detail: `${detail}; skipped ${this.offset - offset} bytes` };
  }

  /** Skips a key that exceeds maxBlockBytes at its packet of `span` bytes, `seen` bytes into it: that packet (the
   * primary key packet itself when seen is 0) and the rest of the key up to the next primary key. */
  private oversize(offset: number, seen: number, span: number): ScanItem {
    this.pos += seen;
    this.skip(span);
    this.skipRestOfKey();
    const size = this.offset - offset;
    const detail = `a key of ${size} bytes as received, more than max_input_key_bytes ${this.opts.maxBlockBytes}`;
    return { kind: 'bad', reason: 'key-too-large', offset, detail };
  }

  /** Skips packets from pos, without holding them, up to the next primary key packet or the end of the stream.
   * False when it stops at bytes that are no packet it can skip (the next call resyncs from there). */
  private skipRestOfKey(): boolean {
    for (;;) {
      this.fill(6);
      if (this.pos >= this.end) return true;
      const span = packetSpan(this.buf, this.pos, this.end);
      if (span === PARTIAL_LENGTH) {
        this.skipPartialPacket();
        continue;
      }
      if (span < 0) return false;
      if (isPrimary(packetTag(this.buf[this.pos]!))) return true;
      this.skip(span);
    }
  }

  /** Skips the packet at pos whose body comes in chunks with partial body lengths (RFC 9580 §4.2.1.4). */
  private skipPartialPacket(): void {
    this.skip(1); // the packet tag
    for (;;) {
      this.fill(5);
      const span = newFormatLength(this.buf, this.pos, this.end);
      if (span === HEADER_INCOMPLETE) return; // the stream ends inside the packet
      if (span !== PARTIAL_LENGTH) {
        this.skip(span);
        return;
      }
      this.skip(1 + partialChunkLength(this.buf[this.pos]!));
    }
  }

  /** Skips to the next plausible public key packet header; the bad item starts at `from` (default: here). */
  private resync(why: string, from = this.offset): ScanItem {
    const at = this.offset;
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
    const detail = `${why} at byte ${at}; skipped ${this.offset - from} bytes`;
    return { kind: 'bad', reason: 'malformed', offset: from, detail };
  }
}
