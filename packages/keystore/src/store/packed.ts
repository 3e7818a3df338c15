// Prepared key blocks packed into one byte buffer: how the loader's worker threads hand a batch to the thread that
// owns the store. A structured clone of thousands of small objects and strings costs the receiving thread more
// (deserialisation, then garbage collection of objects that live until their batch commits) than reading them
// from one transferred buffer just before each key is stored, so that every object dies young.
//
// Layout, all integers big-endian: per block a u32 count of keys, then per key
//   u8 1 (ready to store): u8 fingerprint length, fingerprint, 16-byte digest, u8 version, u32 length + data,
//     u32 length + cuts JSON (0: none), u32 length + packed key IDs, u16 count of addresses, each u16 length +
//     UTF-8, u32 length + words (UTF-8), u32 length + mr lines (UTF-8), u8 1 + u32 length + name (UTF-8) or u8 0
//     (no name), u32 CRC-24 of data, u32 creation time, u8 1 + u32 length + first user ID or u8 0, u8 1 + u32
//     length + listing facts (JSON) + u32 length + vindex listing + u32 length + its signers or u8 0 (none), u8
//     count of profile forms, each: u8 name length + name, u8 1 + 16-byte digest + u32 length + dropped indexes
//     (ProfileForm), or u8 0 + u32 length + the refusal's UTF-8
//   u8 0 (refused): u32 length + JSON { reason, detail, fingerprint }
import type { PolicyCut, RefusalReason } from '../policy.js';
import type { PreparedBlock, PreparedKey, ProfileForm, StoredForm } from './types.js';

const DIGEST_BYTES = 16;

class Writer {
  buf: Buffer;
  o = 0;

  constructor(size: number, reuse?: ArrayBuffer) {
    this.buf = reuse && reuse.byteLength >= size ? Buffer.from(reuse) : Buffer.allocUnsafeSlow(size);
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.o + n));
    this.buf.copy(bigger, 0, 0, this.o);
    this.buf = bigger;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.o++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.o = this.buf.writeUInt16BE(v, this.o);
  }

  u32(v: number): void {
    this.room(4);
    this.o = this.buf.writeUInt32BE(v, this.o);
  }

  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.o);
    this.o += b.length;
  }

  /** The bytes of a hex string (an even number of hex digits: a fingerprint we computed). */
  hex(s: string): void {
    this.room(s.length >> 1);
    const n = this.buf.write(s, this.o, 'hex');
    if (n !== s.length >> 1) throw new TypeError('packPreparedBlocks: a fingerprint is not hex');
    this.o += n;
  }

  /** u32 (or u16) length, then the UTF-8 of s. */
  text(s: string, short = false): void {
    // at most 3 bytes per UTF-16 unit: write first, then fill in the length (no separate byteLength pass)
    this.room((short ? 2 : 4) + s.length * 3);
    const at = this.o;
    this.o += short ? 2 : 4;
    const n = this.buf.write(s, this.o, 'utf8');
    if (short) {
      if (n > 0xffff) throw new RangeError('text too long for a u16 length');
      this.buf.writeUInt16BE(n, at);
    } else {
      this.buf.writeUInt32BE(n, at);
    }
    this.o += n;
  }
}

/** Packs prepared key blocks one at a time into one buffer (see the layout above), so that a key's objects die as
 * soon as it is written. The buffer may be one handed back by the reader's side (recycled: its pages are already
 * mapped); finish() returns a view of the used part, whose whole ArrayBuffer is what to transfer. */
export class PackedWriter {
  private readonly w: Writer;

  constructor(sizeHint = 1 << 20, reuse?: ArrayBuffer) {
    this.w = new Writer(sizeHint, reuse);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.w.o;
  }

  /** Starts a block of `keys` keys (normally 1); that many key() calls follow. */
  block(keys: number): void {
    this.w.u32(keys);
  }

  /** One prepared key (it must carry its stored form, PreparedKey.stored) or refusal. */
  key(r: PreparedBlock): void {
    const w = this.w;
    if (!r.ok) {
      w.u8(0);
      w.text(JSON.stringify({ reason: r.reason, detail: r.detail, fingerprint: r.fingerprint }));
      return;
    }
    const k = r.key;
    const s = k.stored;
    if (!s) throw new TypeError('packPreparedBlocks: a key without its stored form');
    if (k.digest.length !== DIGEST_BYTES) throw new TypeError('packPreparedBlocks: a digest is 16 bytes');
    w.u8(1);
    if (k.fprBytes) {
      w.u8(k.fprBytes.length);
      w.bytes(k.fprBytes);
    } else {
      w.u8(k.fingerprint.length >> 1);
      w.hex(k.fingerprint);
    }
    w.bytes(k.digest);
    w.u8(s.version);
    w.u32(k.data.length);
    w.bytes(k.data);
    w.text(k.cuts.length > 0 ? JSON.stringify(k.cuts) : '');
    w.u32(s.keyIds.length);
    w.bytes(s.keyIds);
    w.u16(s.emails.length);
    for (const e of s.emails) w.text(e, true);
    if (typeof s.words === 'string') w.text(s.words);
    else {
      w.u32(s.words.length);
      w.bytes(s.words);
    }
    w.text(s.mrLines);
    w.u8(s.name === null ? 0 : 1);
    if (s.name !== null) w.text(s.name);
    w.u32(s.crc);
    w.u32(s.created);
    w.u8(s.firstUid === null ? 0 : 1);
    if (s.firstUid !== null) w.text(s.firstUid);
    w.u8(s.listing === null ? 0 : 1);
    if (s.listing !== null) {
      w.text(s.listing.facts);
      w.text(s.listing.vindex);
      w.text(s.listing.signers);
    }
    const forms = k.profiles ?? [];
    w.u8(forms.length);
    for (const f of forms) {
      w.u8(f.profile.length);
      w.bytes(Buffer.from(f.profile, 'latin1'));
      if (f.digest) {
        w.u8(1);
        w.bytes(f.digest);
        w.u32(f.dropped?.length ?? 0);
        if (f.dropped) w.bytes(f.dropped);
      } else {
        w.u8(0);
        w.text(f.refusal ?? '');
      }
    }
  }

  /** The packed bytes: a view of the writer's buffer (transfer its ArrayBuffer, or copy the view). */
  finish(): Uint8Array {
    return new Uint8Array(this.w.buf.buffer, this.w.buf.byteOffset, this.w.o);
  }
}

/** Packs the prepared keys of a batch (one entry per input block) into one buffer of its own (transferable). Keys
 * must carry their stored form (PreparedKey.stored). */
export function packPreparedBlocks(results: PreparedBlock[][]): Uint8Array {
  let guess = 64;
  for (const group of results) {
    for (const r of group) guess += 64 + (r.ok ? r.key.data.length * 2 : 256);
  }
  const w = new PackedWriter(guess);
  for (const group of results) {
    w.block(group.length);
    for (const r of group) w.key(r);
  }
  // a copy of the used part only: the transfer then moves no unused capacity
  const v = w.finish();
  return new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}

/** Reads packed blocks back one at a time, in order. The keys' byte fields are views of the buffer; the words stay
 * UTF-8 bytes (the store binds them as text without making strings of them). */
export class PackedBlockReader {
  private readonly b: Buffer;
  private o = 0;

  constructor(packed: Uint8Array) {
    this.b = Buffer.isBuffer(packed) ? packed : Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  }

  get done(): boolean {
    return this.o >= this.b.length;
  }

  /** The keys of the next block (normally one). */
  next(): PreparedBlock[] {
    const b = this.b;
    if (this.o + 4 > b.length) throw new RangeError('packed blocks: read past the end');
    const n = b.readUInt32BE(this.o);
    this.o += 4;
    const out: PreparedBlock[] = [];
    for (let i = 0; i < n; i++) out.push(this.key());
    return out;
  }

  private view(len: number): Buffer {
    const v = this.b.subarray(this.o, this.o + len);
    if (v.length !== len) throw new RangeError('packed blocks: truncated');
    this.o += len;
    return v;
  }

  private u32(): number {
    const v = this.b.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }

  private key(): PreparedBlock {
    const b = this.b;
    const tag = b[this.o++];
    if (tag === 0) {
      const j = JSON.parse(this.view(this.u32()).toString('utf8')) as { reason: RefusalReason; detail: string; fingerprint?: string };
      return { ok: false, reason: j.reason, detail: j.detail, fingerprint: j.fingerprint };
    }
    if (tag !== 1) throw new RangeError(`packed blocks: unknown record ${String(tag)}`);
    const fprLen = b[this.o++]!;
    const fpr = this.view(fprLen);
    const digest = this.view(DIGEST_BYTES);
    const version = b[this.o++]!;
    const data = this.view(this.u32());
    const cutsLen = this.u32();
    const cuts = cutsLen > 0 ? (JSON.parse(this.view(cutsLen).toString('utf8')) as PolicyCut[]) : [];
    const keyIds = this.view(this.u32());
    const nEmails = b.readUInt16BE(this.o);
    this.o += 2;
    const emails: string[] = [];
    for (let i = 0; i < nEmails; i++) {
      const len = b.readUInt16BE(this.o);
      this.o += 2;
      emails.push(this.view(len).toString('utf8'));
    }
    const words = this.view(this.u32());
    const mrLines = this.view(this.u32()).toString('utf8');
    const name = b[this.o++] === 1 ? this.view(this.u32()).toString('utf8') : null;
    const crc = this.u32();
    const created = this.u32();
    const firstUid = b[this.o++] === 1 ? this.view(this.u32()).toString('utf8') : null;
    const listing = b[this.o++] === 1
      ? { facts: this.view(this.u32()).toString('utf8'), vindex: this.view(this.u32()).toString('utf8'), signers: this.view(this.u32()).toString('latin1') }
      : null;
    const nForms = b[this.o++]!;
    let profiles: ProfileForm[] | undefined;
    for (let i = 0; i < nForms; i++) {
      const profile = this.view(b[this.o++]!).toString('latin1');
      if (b[this.o++] === 1) {
        const pd = this.view(DIGEST_BYTES);
        const len = this.u32();
        (profiles ??= []).push({ profile, digest: pd, dropped: len > 0 ? this.view(len) : null });
      } else {
        (profiles ??= []).push({ profile, digest: null, dropped: null, refusal: this.view(this.u32()).toString('utf8') });
      }
    }
    return { ok: true, key: new PackedKey(fpr, digest, data, cuts, { version, keyIds, emails, words, mrLines, name, firstUid, created, crc, listing }, profiles) };
  }
}

/** A key read back from a packed batch. Its hex fingerprint is made only if asked for: the store needs the bytes,
 * and a bulk load asks for the text only of the few keys that are not simply inserted. */
class PackedKey implements PreparedKey {
  constructor(
    readonly fprBytes: Buffer,
    readonly digest: Buffer,
    readonly data: Buffer,
    readonly cuts: PolicyCut[],
    readonly stored: StoredForm,
    readonly profiles?: ProfileForm[],
  ) {}

  get fingerprint(): string {
    return this.fprBytes.toString('hex').toUpperCase();
  }
}
