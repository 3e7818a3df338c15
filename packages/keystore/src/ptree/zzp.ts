// Arithmetic in F_p, the prime field SKS reconciles in (SKS zZp.ml), with JavaScript BigInt.
// An element is written on the wire and in the tree as 17 bytes, little-endian; a 16-byte key digest becomes an
// element by reading its bytes little-endian (so its 17-byte form is the digest followed by a zero byte).

/** The 129-bit prime of SKS's recon field. */
export const P = 530512889551602322505127520352579437339n;
export const ZZP_BYTES = 17;

/** mbar = 5 in SKS: six sample points; points 0..4 solve the system, point 5 checks the answer. */
export const NUM_SAMPLES = 6;

/** Sample point i is ((i+1) div 2) × (+1 if i even, −1 if odd), mod p: 0, −1, 1, −2, 2, −3. */
export const SAMPLE_POINTS: readonly bigint[] = Array.from({ length: NUM_SAMPLES }, (_, i) => {
  const mag = BigInt((i + 1) >> 1);
  return i % 2 === 0 ? mag : (P - mag) % P;
});

const MASK64 = (1n << 64n) - 1n;

/** Reduces any integer into [0, p). */
export function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

export function add(a: bigint, b: bigint): bigint {
  const r = a + b;
  return r >= P ? r - P : r;
}

export function sub(a: bigint, b: bigint): bigint {
  const r = a - b;
  return r < 0n ? r + P : r;
}

export function mul(a: bigint, b: bigint): bigint {
  return (a * b) % P;
}

export function neg(a: bigint): bigint {
  return a === 0n ? 0n : P - a;
}

/** Multiplicative inverse by the extended Euclidean algorithm (much faster than a^(p-2) with BigInt). */
export function inv(a: bigint): bigint {
  let r0 = P;
  let r1 = mod(a);
  if (r1 === 0n) throw new RangeError('zero has no inverse in F_p');
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0);
}

export function div(a: bigint, b: bigint): bigint {
  return mul(a, inv(b));
}

export function pow(base: bigint, exp: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  let e = exp;
  while (e > 0n) {
    if (e & 1n) result = (result * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return result;
}

/** Reads a little-endian element of `len` bytes (16 for a digest, 17 on the wire) at `off`. */
export function fromLE(buf: Buffer, off = 0, len = ZZP_BYTES): bigint {
  if (len === 16 || len === 17) {
    let v = buf.readBigUInt64LE(off) | (buf.readBigUInt64LE(off + 8) << 64n);
    if (len === 17) v |= BigInt(buf[off + 16]!) << 128n;
    return v;
  }
  let v = 0n;
  for (let i = len - 1; i >= 0; i--) v = (v << 8n) | BigInt(buf[off + i]!);
  return v;
}

/** Writes an element as 17 little-endian bytes into `out` at `off` (allocating when no buffer is given). */
export function toLE17(x: bigint, out: Buffer = Buffer.alloc(ZZP_BYTES), off = 0): Buffer {
  out.writeBigUInt64LE(x & MASK64, off);
  out.writeBigUInt64LE((x >> 64n) & MASK64, off + 8);
  out[off + 16] = Number(x >> 128n);
  return out;
}

/** A 16-byte key digest as a field element. */
export function digestToZ(digest: Buffer, off = 0): bigint {
  return fromLE(digest, off, 16);
}

/** The 16-byte digest of an element read from the wire: its low 16 bytes (the 17th is zero for real digests). */
export function zToDigest(x: bigint): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64LE(x & MASK64, 0);
  b.writeBigUInt64LE((x >> 64n) & MASK64, 8);
  return b;
}

/** The six factors (point_i − x) an element contributes to every node on its path. */
export function factorsOf(x: bigint): bigint[] {
  const f = new Array<bigint>(NUM_SAMPLES);
  for (let i = 0; i < NUM_SAMPLES; i++) f[i] = sub(SAMPLE_POINTS[i]!, x);
  return f;
}

/** Six sample values as 6 × 17 little-endian bytes (the stored and wire form). */
export function samplesToBuffer(values: readonly bigint[]): Buffer {
  const out = Buffer.alloc(values.length * ZZP_BYTES);
  values.forEach((v, i) => toLE17(v, out, i * ZZP_BYTES));
  return out;
}

export function samplesFromBuffer(buf: Buffer): bigint[] {
  const n = buf.length / ZZP_BYTES;
  const out = new Array<bigint>(n);
  for (let i = 0; i < n; i++) out[i] = fromLE(buf, i * ZZP_BYTES, ZZP_BYTES);
  return out;
}
