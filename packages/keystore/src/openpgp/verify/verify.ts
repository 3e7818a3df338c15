// Signature verification with node's own crypto: the data a signature covers (RFC 9580 §5.2.4), its two-byte hash
// tag, and the signature value for RSA, DSA, ECDSA (NIST, brainpool and secp256k1 curves) and EdDSA (legacy and
// native Ed25519/Ed448). Outcomes follow Hockeypuck 2.3's library (go-crypto on Go 1.23: packet/public_key.go
// VerifySignature and friends); where that differs from the RFC the comment says so.
//
// Cost: a key's KeyObject is made once (JWK where node imports it cheaply: RSA, Ed25519/Ed448, P-256; DER otherwise)
// and kept on its PublicKeyMaterial; node hashes the signed data itself for RSA, DSA and ECDSA.
import { createPublicKey, hash as oneShotHash, createHash, verify as nodeVerify, constants, type KeyObject } from 'node:crypto';
import { bigIntOf as toBig, modInverse, modPow } from '../../bigint.js';
import { canSign, keyHashPrefix, PK_ALGO, type PublicKeyMaterial } from './key-material.js';
import { HASH_NAMES, type SignaturePacket } from './signature-packet.js';

/** What a signature is made over, besides the primary key (§5.2.4). */
export type SignedTarget =
  /** direct-key signatures and key revocations */
  | { kind: 'key' }
  /** certifications of a user ID (or attribute) and their revocations: the packet body */
  | { kind: 'user-id'; body: Buffer }
  | { kind: 'user-attribute'; body: Buffer }
  /** subkey bindings, subkey revocations and primary key bindings (back-signatures) */
  | { kind: 'subkey'; key: PublicKeyMaterial };

export interface VerifyOptions {
  /** Accept RSA signatures over a SHA-3 digest. RFC 9580 allows them; Go 1.23's crypto/rsa has no DigestInfo for
   * SHA-3, so Hockeypuck 2.3 finds every such signature invalid. */
  rsaSha3: boolean;
}

export const RFC_VERIFY: VerifyOptions = { rsaSha3: true };

function keyPart(k: PublicKeyMaterial): Buffer[] {
  return [keyHashPrefix(k.version, k.hashedBody.length), k.hashedBody];
}

/** The bytes hashed for `sig` over `target` of `primary`: salt (v6), key, target, the signature's trailer. */
export function signedData(primary: PublicKeyMaterial, target: SignedTarget, sig: SignaturePacket): Buffer {
  const parts: Buffer[] = sig.salt ? [sig.salt, ...keyPart(primary)] : keyPart(primary);
  if (target.kind === 'subkey') {
    parts.push(...keyPart(target.key));
  } else if (target.kind !== 'key') {
    if (sig.version === 3) {
      // v3 certifications hash the user ID without a header
      parts.push(target.body);
    } else {
      const head = Buffer.allocUnsafe(5);
      head[0] = target.kind === 'user-id' ? 0xb4 : 0xd1;
      head.writeUInt32BE(target.body.length, 1);
      parts.push(head, target.body);
    }
  }
  parts.push(sig.trailer);
  return Buffer.concat(parts);
}

function digest(hashAlgo: number, data: Buffer): Buffer {
  const name = HASH_NAMES[hashAlgo]!;
  return typeof oneShotHash === 'function' ? oneShotHash(name, data, 'buffer') : createHash(name).update(data).digest();
}

/** Whether the signature's two-byte hash tag matches the data it sits on: how Hockeypuck judges a third-party
 * signature it cannot verify ("plausible", resolve.go). */
export function hashTagMatches(primary: PublicKeyMaterial, target: SignedTarget, sig: SignaturePacket): boolean {
  const d = digest(sig.hashAlgo, signedData(primary, target, sig));
  return d[0] === sig.hashTag[0] && d[1] === sig.hashTag[1];
}

/** Verifies `sig`, made by `signer`, over `target` of `primary`. go-crypto checks the hash tag only for v3 and v6
 * signatures, and wants the signature's algorithm to be the signer's exactly. */
export function verifySignature(
  signer: PublicKeyMaterial, primary: PublicKeyMaterial, target: SignedTarget, sig: SignaturePacket,
  options: VerifyOptions = RFC_VERIFY,
): boolean {
  if (!canSign(signer) || signer.algorithm !== sig.pubAlgo) return false;
  const data = signedData(primary, target, sig);
  if (sig.version !== 4) {
    const d = digest(sig.hashAlgo, data);
    if (d[0] !== sig.hashTag[0] || d[1] !== sig.hashTag[1]) return false;
  }
  return verifyValue(signer, sig, data, options);
}

// ---------------------------------------------------------------------------------------------------------------
// Signature values

function verifyValue(signer: PublicKeyMaterial, sig: SignaturePacket, data: Buffer, options: VerifyOptions): boolean {
  const m = signer.material;
  const hashName = HASH_NAMES[sig.hashAlgo]!;
  switch (m.kind) {
    case 'rsa': {
      if (!options.rsaSha3 && (sig.hashAlgo === 12 || sig.hashAlgo === 14)) return false;
      return verifyRsa(signer, m.n, m.e, sig.hashAlgo, data, sig.value[0]!);
    }
    case 'dsa':
      return verifyDsa(signer, m, sig.hashAlgo, data, sig.value[0]!, sig.value[1]!);
    case 'ecdsa': {
      const key = cached(signer, 'ecdsa', () => ecdsaKeyObject(m.curve.nodeName!, m.point));
      return tryVerify(hashName, data, key, derSequence([derInteger(sig.value[0]!), derInteger(sig.value[1]!)]));
    }
    case 'eddsa-legacy': {
      let value: Buffer;
      if (m.curve.kind === 'ed25519') {
        const [r, s] = sig.value as [Buffer, Buffer];
        if (r.length > 32 || s.length > 32) return false;
        value = Buffer.concat([leftPad(r, 32), leftPad(s, 32)]);
      } else {
        // Ed448 in the legacy format: the native signature, prefixed, in the first MPI
        const r = sig.value[0]!;
        if (r.length !== 115) return false;
        value = r.subarray(1);
      }
      const key = cached(signer, 'eddsa', () => okpKeyObject(m.curve.kind === 'ed25519' ? 'Ed25519' : 'Ed448', m.point));
      return tryVerify(null, digest(sig.hashAlgo, data), key, value);
    }
    case 'native': {
      if (signer.algorithm !== PK_ALGO.ED25519 && signer.algorithm !== PK_ALGO.ED448) return false;
      const key = cached(signer, 'eddsa', () => okpKeyObject(signer.algorithm === PK_ALGO.ED25519 ? 'Ed25519' : 'Ed448', m.point));
      return tryVerify(null, digest(sig.hashAlgo, data), key, sig.value[0]!);
    }
    default:
      return false;
  }
}

function cached<T>(key: PublicKeyMaterial, name: string, make: () => T): T | null {
  key.cache ??= new Map();
  if (key.cache.has(name)) return key.cache.get(name) as T | null;
  let value: T | null;
  try {
    value = make();
  } catch {
    value = null; // node cannot import it: treated as a key that verifies nothing
  }
  key.cache.set(name, value);
  return value;
}

function tryVerify(hashName: string | null, data: Buffer, key: KeyObject | null, value: Buffer): boolean {
  if (!key) return false;
  try {
    return nodeVerify(hashName, data, key, value);
  } catch {
    return false;
  }
}

const b64u = (b: Buffer) => b.toString('base64url');

function okpKeyObject(crv: 'Ed25519' | 'Ed448', point: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv, x: b64u(point) }, format: 'jwk' });
}

function ecdsaKeyObject(curve: string, point: Buffer): KeyObject {
  if (curve === 'prime256v1') {
    // JWK: about half the cost of DER for P-256 (and more for the others, so they go by DER)
    return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: b64u(point.subarray(1, 33)), y: b64u(point.subarray(33)) }, format: 'jwk' });
  }
  const spki = derSequence([
    derSequence([derOid(OID_EC_PUBLIC_KEY), derOid(NAMED_CURVE_OIDS[curve]!)]),
    derBitString(point),
  ]);
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

// DER-encoded OIDs (content bytes): id-ecPublicKey, id-dsa, and the named curves by OpenSSL name.
const OID_EC_PUBLIC_KEY = Buffer.from('2a8648ce3d0201', 'hex');
const OID_DSA = Buffer.from('2a8648ce380401', 'hex');
const NAMED_CURVE_OIDS: Readonly<Record<string, Buffer>> = {
  prime256v1: Buffer.from('2a8648ce3d030107', 'hex'),
  secp384r1: Buffer.from('2b81040022', 'hex'),
  secp521r1: Buffer.from('2b81040023', 'hex'),
  secp256k1: Buffer.from('2b8104000a', 'hex'),
  brainpoolP256r1: Buffer.from('2b2403030208010107', 'hex'),
  brainpoolP384r1: Buffer.from('2b240303020801010b', 'hex'),
  brainpoolP512r1: Buffer.from('2b240303020801010d', 'hex'),
};

// ---------------------------------------------------------------------------------------------------------------
// RSA (PKCS #1 v1.5)

/** DigestInfo prefixes (RFC 8017 §9.2 note 1; SHA-3: NIST OIDs 2.16.840.1.101.3.4.2.8 and .10). */
const DIGEST_INFO: Readonly<Record<string, string>> = {
  md5: '3020300c06082a864886f70d020505000410',
  ripemd160: '3021300906052b2403020105000414',
  sha1: '3021300906052b0e03021a05000414',
  sha224: '302d300d06096086480165030402040500041c',
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
  'sha3-256': '3031300d060960864801650304020805000420',
  'sha3-512': '3051300d060960864801650304020a05000440',
};

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function leftPad(b: Buffer, size: number): Buffer {
  if (b.length >= size) return b;
  const out = Buffer.alloc(size);
  b.copy(out, size - b.length);
  return out;
}

function verifyRsa(signer: PublicKeyMaterial, nBytes: Buffer, eBytes: Buffer, hashAlgo: number, data: Buffer, sigBytes: Buffer): boolean {
  const hashName = HASH_NAMES[hashAlgo]!;
  const n = stripZeros(nBytes);
  const k = n.length;
  // Go pads a short signature to the modulus length and refuses a longer one (crypto/rsa VerifyPKCS1v15)
  if (k === 0 || sigBytes.length > k || (n[k - 1]! & 1) === 0) return false;
  const s = leftPad(sigBytes, k);
  const e = eBytes.length ? eBytes.readUIntBE(0, eBytes.length) : 0;
  const bits = (k - 1) * 8 + (32 - Math.clz32(n[0]!));
  if (bits >= 1024 && bits <= 16384 && e >= 3 && (e & 1) === 1) {
    const key = cached(signer, 'rsa', () => createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(stripZeros(eBytes)) }, format: 'jwk' }));
    if (key) {
      try {
        return nodeVerify(hashName, data, { key, padding: constants.RSA_PKCS1_PADDING }, s);
      } catch {
        // fall through to the arithmetic below
      }
    }
  }
  // Keys OpenSSL will not take (small or huge moduli, exponents below 3): the same check in BigInt.
  const prefix = DIGEST_INFO[hashName];
  if (!prefix) return false;
  const t = Buffer.concat([Buffer.from(prefix, 'hex'), digest(hashAlgo, data)]);
  if (k < t.length + 11) return false;
  const nInt = toBig(n);
  const sInt = toBig(s);
  if (sInt >= nInt) return false;
  const em = leftPad(Buffer.from(modPow(sInt, BigInt(e), nInt).toString(16).padStart(2 * k, '0'), 'hex'), k);
  const expected = Buffer.alloc(k, 0xff);
  expected[0] = 0;
  expected[1] = 1;
  expected[k - t.length - 1] = 0;
  t.copy(expected, k - t.length);
  return em.equals(expected);
}

// ---------------------------------------------------------------------------------------------------------------
// DSA

function verifyDsa(
  signer: PublicKeyMaterial, m: { p: Buffer; q: Buffer; g: Buffer; y: Buffer }, hashAlgo: number, data: Buffer, rBytes: Buffer, sBytes: Buffer,
): boolean {
  const hashName = HASH_NAMES[hashAlgo]!;
  const p = stripZeros(m.p);
  const q = stripZeros(m.q);
  const qBits = q.length ? (q.length - 1) * 8 + (32 - Math.clz32(q[0]!)) : 0;
  const pBits = p.length ? (p.length - 1) * 8 + (32 - Math.clz32(p[0]!)) : 0;
  // Go's dsa.Verify refuses a subgroup whose size is not whole bytes; OpenSSL takes only 160, 224 and 256 bits.
  if (qBits === 0 || qBits % 8 !== 0 || pBits === 0) return false;
  if ((qBits === 160 || qBits === 224 || qBits === 256) && pBits <= 10000 && (p[p.length - 1]! & 1) === 1) {
    const key = cached(signer, 'dsa', () => createPublicKey({
      key: derSequence([
        derSequence([derOid(OID_DSA), derSequence([derInteger(m.p), derInteger(m.q), derInteger(m.g)])]),
        derBitString(derInteger(m.y)),
      ]),
      format: 'der', type: 'spki',
    }));
    if (key) {
      try {
        return nodeVerify(hashName, data, key, derSequence([derInteger(rBytes), derInteger(sBytes)]));
      } catch {
        // e.g. a digest OpenSSL will not pair with DSA (MD5 in a v3 signature): computed below
      }
    }
  }
  const P = toBig(p);
  const Q = toBig(q);
  const r = toBig(rBytes);
  const s = toBig(sBytes);
  if (r < 1n || r >= Q || s < 1n || s >= Q) return false;
  const w = modInverse(s, Q);
  if (w === null) return false;
  const z = toBig(digest(hashAlgo, data).subarray(0, qBits / 8));
  const u1 = (z * w) % Q;
  const u2 = (r * w) % Q;
  const v = ((modPow(toBig(m.g), u1, P) * modPow(toBig(m.y), u2, P)) % P) % Q;
  return v === r;
}

// ---------------------------------------------------------------------------------------------------------------
// Minimal DER, for SubjectPublicKeyInfo and (r, s) signatures

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function der(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content]);
}

const derSequence = (items: Buffer[]) => der(0x30, Buffer.concat(items));
const derOid = (oid: Buffer) => der(0x06, oid);
const derBitString = (content: Buffer) => der(0x03, Buffer.concat([Buffer.from([0]), content]));

/** A non-negative INTEGER from big-endian bytes: no superfluous leading zeros, one zero before a high bit. */
function derInteger(bytes: Buffer): Buffer {
  let v = stripZeros(bytes);
  if (v.length === 0) v = Buffer.from([0]);
  else if (v[0]! & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return der(0x02, v);
}
