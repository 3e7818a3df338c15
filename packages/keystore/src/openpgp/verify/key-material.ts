// Public key material of a key or subkey packet, read as Hockeypuck 2.3's OpenPGP library reads it (ProtonMail
// go-crypto, vendored in Hockeypuck: packet/public_key.go, public_key_v3.go): the algorithms, curves and checks it
// knows, and the bytes a signature over the key hashes. A packet this refuses is one Hockeypuck drops as unparseable.
import { createHash, hash as oneShotHash } from 'node:crypto';
import { ByteReader, ReadError } from './byte-reader.js';

/** OpenPGP public-key algorithm numbers (RFC 9580 §9.1). */
export const PK_ALGO = {
  RSA: 1, RSA_ENCRYPT: 2, RSA_SIGN: 3, ELGAMAL: 16, DSA: 17, ECDH: 18, ECDSA: 19, EDDSA_LEGACY: 22,
  X25519: 25, X448: 26, ED25519: 27, ED448: 28,
} as const;

/** A named curve as go-crypto knows it (internal/ecc/curve_info.go): its OID, what it may be used for, and for the
 * short Weierstrass curves the field prime and coefficients that decide whether a point lies on it. */
export interface Curve {
  name: string;
  oid: string;
  /** weierstrass: ECDSA and ECDH; x25519/x448: ECDH only; ed25519/ed448: legacy EdDSA only. */
  kind: 'weierstrass' | 'x25519' | 'x448' | 'ed25519' | 'ed448';
  /** OpenSSL's name of the curve (weierstrass curves). */
  nodeName?: string;
  p?: bigint;
  a?: bigint;
  b?: bigint;
}

const hexInt = (h: string) => BigInt(`0x${h}`);
const P256 = hexInt('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff');
const P384 = hexInt('fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff');
const P521 = (1n << 521n) - 1n;

/** The curves go-crypto reads, in its table's order. Curve constants: SEC 2 and RFC 5639 (a test checks them
 * against OpenSSL's explicit parameters). */
export const CURVES: readonly Curve[] = [
  { name: 'P256', oid: '2a8648ce3d030107', kind: 'weierstrass', nodeName: 'prime256v1', p: P256, a: P256 - 3n,
    b: hexInt('5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b') },
  { name: 'P384', oid: '2b81040022', kind: 'weierstrass', nodeName: 'secp384r1', p: P384, a: P384 - 3n,
    b: hexInt('b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef') },
  { name: 'P521', oid: '2b81040023', kind: 'weierstrass', nodeName: 'secp521r1', p: P521, a: P521 - 3n,
    b: hexInt('51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00') },
  { name: 'SecP256k1', oid: '2b8104000a', kind: 'weierstrass', nodeName: 'secp256k1',
    p: hexInt('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f'), a: 0n, b: 7n },
  { name: 'Curve25519', oid: '2b060104019755010501', kind: 'x25519' },
  { name: 'Curve448', oid: '2b656f', kind: 'x448' },
  { name: 'Ed25519', oid: '2b06010401da470f01', kind: 'ed25519' },
  { name: 'Ed448', oid: '2b6571', kind: 'ed448' },
  { name: 'BrainpoolP256', oid: '2b2403030208010107', kind: 'weierstrass', nodeName: 'brainpoolP256r1',
    p: hexInt('a9fb57dba1eea9bc3e660a909d838d726e3bf623d52620282013481d1f6e5377'),
    a: hexInt('7d5a0975fc2c3057eef67530417affe7fb8055c126dc5c6ce94a4b44f330b5d9'),
    b: hexInt('26dc5c6ce94a4b44f330b5d9bbd77cbf958416295cf7e1ce6bccdc18ff8c07b6') },
  { name: 'BrainpoolP384', oid: '2b240303020801010b', kind: 'weierstrass', nodeName: 'brainpoolP384r1',
    p: hexInt('8cb91e82a3386d280f5d6f7e50e641df152f7109ed5456b412b1da197fb71123acd3a729901d1a71874700133107ec53'),
    a: hexInt('7bc382c63d8c150c3c72080ace05afa0c2bea28e4fb22787139165efba91f90f8aa5814a503ad4eb04a8c7dd22ce2826'),
    b: hexInt('04a8c7dd22ce28268b39b55416f0447c2fb77de107dcd2a62e880ea53eeb62d57cb4390295dbc9943ab78696fa504c11') },
  { name: 'BrainpoolP512', oid: '2b240303020801010d', kind: 'weierstrass', nodeName: 'brainpoolP512r1',
    p: hexInt('aadd9db8dbe9c48b3fd4e6ae33c9fc07cb308db3b3c9d20ed6639cca703308717d4d9b009bc66842aecda12ae6a380e62881ff2f2d82c68528aa6056583a48f3'),
    a: hexInt('7830a3318b603b89e2327145ac234cc594cbdd8d3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94ca'),
    b: hexInt('3df91610a83441caea9863bc2ded5d5aa8253aa10a2ef1c98b9ac8b57f1117a72bf2c7b9e7c1ac4d77fc94cadc083e67984050b75ebae5dd2809bd638016f723') },
];

const CURVE_BY_OID = new Map(CURVES.map((c) => [c.oid, c]));

/** Whether an uncompressed point 04 || X || Y lies on a short Weierstrass curve, as Go's elliptic.Unmarshal decides
 * (exact length, coordinates below p, y² = x³ + ax + b). */
export function onCurve(curve: Curve, point: Buffer): boolean {
  const p = curve.p!;
  const size = (p.toString(2).length + 7) >> 3;
  if (point.length !== 1 + 2 * size || point[0] !== 4) return false;
  const x = BigInt(`0x${point.toString('hex', 1, 1 + size)}`);
  const y = BigInt(`0x${point.toString('hex', 1 + size)}`);
  if (x >= p || y >= p) return false;
  return (y * y - (x * x * x + curve.a! * x + curve.b!)) % p === 0n;
}

/** Key material by algorithm. Integers are the bytes of their MPIs as written (go-crypto keeps them as read). */
export type Material =
  | { kind: 'rsa'; n: Buffer; e: Buffer }
  | { kind: 'dsa'; p: Buffer; q: Buffer; g: Buffer; y: Buffer }
  | { kind: 'elgamal'; p: Buffer; g: Buffer; y: Buffer }
  | { kind: 'ecdsa'; curve: Curve; point: Buffer }
  | { kind: 'ecdh'; curve: Curve; point: Buffer }
  | { kind: 'eddsa-legacy'; curve: Curve; point: Buffer }
  | { kind: 'native'; point: Buffer };

/** A public key or subkey packet as read. */
export interface PublicKeyMaterial {
  /** Packet version: 2 and 3 are read alike (RSA only), 4, or 6. */
  version: number;
  created: number;
  algorithm: number;
  material: Material;
  /** Bytes a signature over this key hashes after the 0x99 (or v6: 0x9b) prefix and length: the packet re-serialised
   * from what was read, as go-crypto does. For a well-formed packet that is its body (v2 keys are written as v3,
   * bytes after the key material are left out). */
  hashedBody: Buffer;
  /** v3: MD5 over the RSA modulus and exponent; v4: SHA-1 over the hashed form; v6: SHA-256. */
  fingerprint: Buffer;
  /** The 8 bytes a signature names as its issuer: v3 the low 64 bits of the modulus, v4 the fingerprint's last 8,
   * v6 its first 8. */
  keyId: Buffer;
  /** Cache for the verifier (node KeyObject and friends), filled on first use. */
  cache?: Map<string, unknown>;
}

export type KeyReadResult = { ok: true; key: PublicKeyMaterial } | { ok: false; error: string };

/** A key packet reader: go-crypto's curve OID field besides the common reads. */
class Reader extends ByteReader {
  constructor(b: Buffer, at: number) {
    super(b, at, 'key material');
  }
  /** A curve OID with its one-byte length; lengths 0 and 0xff are reserved. */
  oid(): Buffer {
    const len = this.take(1)[0]!;
    if (len === 0 || len === 0xff) throw new ReadError('curve OID length is reserved');
    return this.take(len);
  }
}


const SHA_HASHES = new Set([8, 9, 10, 11, 12, 14]);
const KDF_CIPHERS = new Set([2, 3, 7, 8, 9]);

function readMaterial(r: Reader, algorithm: number, version: number): Material {
  switch (algorithm) {
    case PK_ALGO.RSA: case PK_ALGO.RSA_ENCRYPT: case PK_ALGO.RSA_SIGN: {
      const n = r.mpi();
      const e = r.mpi();
      if (e.length > 3) throw new ReadError('large public exponent');
      return { kind: 'rsa', n, e };
    }
    case PK_ALGO.DSA:
      return { kind: 'dsa', p: r.mpi(), q: r.mpi(), g: r.mpi(), y: r.mpi() };
    case PK_ALGO.ELGAMAL:
      return { kind: 'elgamal', p: r.mpi(), g: r.mpi(), y: r.mpi() };
    case PK_ALGO.ECDSA: {
      const curve = curveOf(r.oid());
      const point = r.mpi();
      if (curve.kind !== 'weierstrass') throw new ReadError(`curve ${curve.name} cannot sign with ECDSA`);
      if (!onCurve(curve, point)) throw new ReadError(`point not on curve ${curve.name}`);
      return { kind: 'ecdsa', curve, point };
    }
    case PK_ALGO.ECDH: {
      const curve = curveOf(r.oid());
      if (version === 6 && curve.kind === 'x25519') throw new ReadError('v6 key with the legacy Curve25519 OID');
      const point = r.mpi();
      const kdf = r.oid();
      if (curve.kind === 'ed25519' || curve.kind === 'ed448') throw new ReadError(`curve ${curve.name} cannot do ECDH`);
      if (kdf.length < 3) throw new ReadError('unsupported ECDH KDF length');
      if (kdf[0] !== 1) throw new ReadError('unsupported ECDH KDF reserved field');
      if (!SHA_HASHES.has(kdf[1]!)) throw new ReadError(`unsupported ECDH KDF hash ${kdf[1]}`);
      if (!KDF_CIPHERS.has(kdf[2]!)) throw new ReadError(`unsupported ECDH KDF cipher ${kdf[2]}`);
      // go-crypto checks only the length of a Montgomery point, and nothing of a Weierstrass one here.
      if (curve.kind === 'x25519' && point.length !== 33) throw new ReadError('bad Curve25519 point length');
      if (curve.kind === 'x448' && point.length !== 57) throw new ReadError('bad X448 point length');
      return { kind: 'ecdh', curve, point };
    }
    case PK_ALGO.EDDSA_LEGACY: {
      if (version === 6) throw new ReadError('v6 key with legacy EdDSA');
      const curve = curveOf(r.oid());
      if (curve.kind !== 'ed25519' && curve.kind !== 'ed448') throw new ReadError(`curve ${curve.name} cannot sign with EdDSA`);
      const point = r.mpi();
      if (point.length === 0) throw new ReadError('empty EdDSA public key');
      if (point[0] !== 0x40) throw new ReadError(`unsupported EdDSA compression ${point[0]}`);
      if (point.length !== (curve.kind === 'ed25519' ? 33 : 58)) throw new ReadError('bad EdDSA point length');
      return { kind: 'eddsa-legacy', curve, point: point.subarray(1) };
    }
    case PK_ALGO.X25519: return { kind: 'native', point: r.take(32) };
    case PK_ALGO.X448: return { kind: 'native', point: r.take(56) };
    case PK_ALGO.ED25519: return { kind: 'native', point: r.take(32) };
    case PK_ALGO.ED448: return { kind: 'native', point: r.take(57) };
    default:
      throw new ReadError(`public key algorithm ${algorithm}`);
  }
}

function curveOf(oid: Buffer): Curve {
  const c = CURVE_BY_OID.get(oid.toString('hex'));
  if (!c) throw new ReadError(`unknown curve OID ${oid.toString('hex')}`);
  return c;
}

/** Reads a public key (tag 6) or subkey (tag 14) packet body. v5 packets are refused, as by go-crypto built without
 * its v5 tag. */
export function readPublicKey(body: Buffer): KeyReadResult {
  try {
    return { ok: true, key: read(body) };
  } catch (e) {
    if (e instanceof ReadError) return { ok: false, error: e.message };
    throw e;
  }
}

function read(body: Buffer): PublicKeyMaterial {
  const version = body[0];
  if (version === undefined) throw new ReadError('empty key packet');
  if (version === 2 || version === 3) {
    if (body.length < 8) throw new ReadError('key material is truncated');
    const r = new Reader(body, 8);
    const algorithm = body[7]!;
    if (algorithm !== PK_ALGO.RSA && algorithm !== PK_ALGO.RSA_ENCRYPT && algorithm !== PK_ALGO.RSA_SIGN) {
      throw new ReadError(`public key algorithm ${algorithm} in a v3 key`);
    }
    const n = r.mpi();
    const e = r.mpi();
    if (n.length < 8) throw new ReadError('v3 public key modulus is too short');
    if (e.length > 3) throw new ReadError('large public exponent');
    const hashedBody = Buffer.concat([Buffer.from([3]), body.subarray(1, r.at)]);
    return {
      version, created: body.readUInt32BE(1), algorithm, material: { kind: 'rsa', n, e }, hashedBody,
      fingerprint: createHash('md5').update(n).update(e).digest(), keyId: n.subarray(n.length - 8),
    };
  }
  if (version === 5) throw new ReadError('v5 keys are not read');
  if (version !== 4 && version !== 6) throw new ReadError(`public key version ${version}`);
  const head = version === 6 ? 10 : 6;
  if (body.length < head) throw new ReadError('key material is truncated');
  const algorithm = body[5]!;
  const r = new Reader(body, head);
  const material = readMaterial(r, algorithm, version);
  let hashedBody = body.subarray(0, r.at);
  if (version === 6) {
    // go-crypto writes the material's length itself instead of keeping the one read
    hashedBody = Buffer.from(hashedBody);
    hashedBody.writeUInt32BE(r.at - head, 6);
  }
  const fingerprint = digestOf(version === 6 ? 'sha256' : 'sha1', Buffer.concat([keyHashPrefix(version, hashedBody.length), hashedBody]));
  return {
    version, created: body.readUInt32BE(1), algorithm, material, hashedBody, fingerprint,
    keyId: version === 6 ? fingerprint.subarray(0, 8) : fingerprint.subarray(12, 20),
  };
}

/** One-shot hash where node has it (cheaper than a Hash object for inputs this small). */
function digestOf(algorithm: string, data: Buffer): Buffer {
  return typeof oneShotHash === 'function' ? oneShotHash(algorithm, data, 'buffer') : createHash(algorithm).update(data).digest();
}

/** The bytes before a key's body when a signature (or a fingerprint) hashes it (RFC 9580 §5.2.4). */
export function keyHashPrefix(version: number, length: number): Buffer {
  if (version === 6) {
    const b = Buffer.alloc(5);
    b[0] = 0x9b;
    b.writeUInt32BE(length, 1);
    return b;
  }
  return Buffer.from([0x99, length >> 8, length & 0xff]);
}

/** Whether go-crypto lets this key make signatures at all (PublicKey.CanSign / PublicKeyV3.CanSign). */
export function canSign(key: PublicKeyMaterial): boolean {
  if (key.version < 4) return key.algorithm !== PK_ALGO.RSA_ENCRYPT;
  return key.algorithm !== PK_ALGO.RSA_ENCRYPT && key.algorithm !== PK_ALGO.ELGAMAL && key.algorithm !== PK_ALGO.ECDH;
}
