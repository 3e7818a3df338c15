// A cursor over a packet body for the readers of key material and signatures: each read either returns the bytes
// or throws ReadError (caught by the reader, which then reports the packet as unreadable).

export class ReadError extends Error {}

export class ByteReader {
  constructor(readonly b: Buffer, public at = 0, private readonly what = 'packet') {}

  take(n: number): Buffer {
    if (this.at + n > this.b.length) throw new ReadError(`${this.what} is truncated`);
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  /** An MPI's bytes, their count from the bit count (not checked against the value, as go-crypto reads it). */
  mpi(): Buffer {
    const head = this.take(2);
    return this.take((head.readUInt16BE(0) + 7) >> 3);
  }
}
