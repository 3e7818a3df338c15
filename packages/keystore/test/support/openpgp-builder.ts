// Builds OpenPGP keys packet by packet with node:crypto, for tests and for the keyrings behind the Hockeypuck
// vectors: real key material and real signatures (RFC 9580 §5.2.4), with hooks to break any of them on purpose.
import {
  createDiffieHellman, createHash, createPrivateKey, generateKeyPairSync, getDiffieHellman, sign as nodeSign, type KeyObject,
} from 'node:crypto';
import { writePackets, type Packet } from '../../src/index.js';

export type Algo =
  | { kind: 'rsa'; bits: number; e?: number }
  | { kind: 'dsa'; bits: number; qBits: number }
  | { kind: 'ecdsa'; curve: EcCurve }
  | { kind: 'eddsa-legacy' }
  | { kind: 'ed25519' }
  | { kind: 'ed448' }
  | { kind: 'elgamal' }
  | { kind: 'ecdh'; curve: EcCurve | 'cv25519' }
  | { kind: 'x25519' }
  | { kind: 'x448' };

export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1' | 'brainpoolP256r1' | 'brainpoolP384r1' | 'brainpoolP512r1';

const CURVE_OIDS: Record<EcCurve | 'cv25519' | 'ed25519', string> = {
  'P-256': '2a8648ce3d030107', 'P-384': '2b81040022', 'P-521': '2b81040023', secp256k1: '2b8104000a',
  brainpoolP256r1: '2b2403030208010107', brainpoolP384r1: '2b240303020801010b', brainpoolP512r1: '2b240303020801010d',
  cv25519: '2b060104019755010501', ed25519: '2b06010401da470f01',
};

export const HASH = { md5: 1, sha1: 2, ripemd160: 3, sha256: 8, sha384: 9, sha512: 10, sha224: 11, 'sha3-256': 12, 'sha3-512': 14 } as const;
export type HashName = keyof typeof HASH;

export interface Key {
  algo: Algo;
  /** OpenPGP algorithm number */
  pkAlgo: number;
  version: 3 | 4 | 6;
  created: number;
  /** key packet body */
  body: Buffer;
  /** node private key, or null for material that cannot sign here */
  priv: KeyObject | null;
  fingerprint: Buffer;
  keyId: Buffer;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding helpers

export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An MPI of big-endian bytes (leading zeros stripped). */
export function mpi(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  const v = bytes.subarray(i);
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  return Buffer.concat([u16(bits), v]);
}

/** A signature subpacket (type may carry the critical bit 0x80). */
export function sub(type: number, data: Buffer): Buffer {
  const len = data.length + 1;
  let head: Buffer;
  if (len < 192) head = Buffer.from([len]);
  else if (len < 16320) head = Buffer.from([((len - 192) >> 8) + 192, (len - 192) & 0xff]);
  else head = Buffer.concat([Buffer.from([255]), u32(len)]);
  return Buffer.concat([head, Buffer.from([type]), data]);
}

export const SP = {
  created: (t: number) => sub(2, u32(t)),
  sigExpires: (s: number) => sub(3, u32(s)),
  exportable: (v: number) => sub(4, Buffer.from([v])),
  keyExpires: (s: number) => sub(9, u32(s)),
  issuer: (id: Buffer) => sub(16, id),
  issuerFpr: (k: Key) => sub(33, Buffer.concat([Buffer.from([k.version]), k.fingerprint])),
  keyFlags: (f: number) => sub(27, Buffer.from([f])),
  primaryUid: () => sub(25, Buffer.from([1])),
  reason: (code: number, text = '') => sub(29, Buffer.concat([Buffer.from([code]), Buffer.from(text)])),
  notation: (name: string, value: Buffer) => sub(20, Buffer.concat([Buffer.from([0x80, 0, 0, 0]), u16(name.length), u16(value.length), Buffer.from(name), value])),
  embedded: (sigBody: Buffer) => sub(32, sigBody),
  prefs: () => Buffer.concat([sub(11, Buffer.from([9, 8, 7])), sub(21, Buffer.from([10, 9, 8])), sub(22, Buffer.from([2, 1]))]),
};

const stripZeros = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

/** Reads the TLVs of a DER SEQUENCE's content (enough for SPKI and (r, s) signatures). */
function derItems(b: Buffer): Array<{ tag: number; content: Buffer }> {
  const out: Array<{ tag: number; content: Buffer }> = [];
  let o = 0;
  while (o < b.length) {
    const tag = b[o]!;
    let len = b[o + 1]!;
    let h = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[o + 2 + i]!;
      h = 2 + n;
    }
    out.push({ tag, content: b.subarray(o + h, o + h + len) });
    o += h + len;
  }
  return out;
}

function spkiParts(spki: Buffer): { algParams: Buffer[]; key: Buffer } {
  const [seq] = derItems(spki);
  const [alg, bits] = derItems(seq!.content);
  const algItems = derItems(alg!.content);
  const params = algItems[1]?.tag === 0x30 ? derItems(algItems[1].content).map((i) => i.content) : algItems.slice(1).map((i) => i.content);
  return { algParams: params, key: bits!.content.subarray(1) };
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

const PK: Record<Algo['kind'], number> = {
  rsa: 1, dsa: 17, ecdsa: 19, 'eddsa-legacy': 22, ed25519: 27, ed448: 28, elgamal: 16, ecdh: 18, x25519: 25, x448: 26,
};

const KDF = Buffer.from([1, 8, 7]); // reserved 1, SHA-256, AES-128 (written with its length byte by oidField)

/** A key pair as DER (SubjectPublicKeyInfo, PKCS #8): node's JWK export of Ed25519 can hang in a generation loop. */
function derPair(type: string, options: object): { publicKey: Buffer; privateKey: Buffer } {
  const generate = generateKeyPairSync as (t: string, o: object) => { publicKey: Buffer; privateKey: Buffer };
  return generate(type, { ...options, publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
}

/** Fresh key material for `algo` and the public key packet body of `version` (v3: RSA only). */
export function makeKey(algo: Algo, created: number, version: 3 | 4 | 6 = 4): Key {
  let material: Buffer;
  let priv: KeyObject | null = null;
  const keep = (pair: { publicKey: Buffer; privateKey: Buffer }) => {
    priv = createPrivateKey({ key: pair.privateKey, format: 'der', type: 'pkcs8' });
    return spkiParts(pair.publicKey);
  };
  switch (algo.kind) {
    case 'rsa': {
      const { key } = keep(derPair('rsa', { modulusLength: algo.bits, publicExponent: algo.e ?? 65537 }));
      const [n, e] = derItems(derItems(key)[0]!.content).map((i) => stripZeros(i.content));
      material = Buffer.concat([mpi(n!), mpi(e!)]);
      break;
    }
    case 'dsa': {
      const { algParams, key } = keep(derPair('dsa', { modulusLength: algo.bits, divisorLength: algo.qBits }));
      const y = derItems(key)[0]!.content;
      material = Buffer.concat([...algParams.map((x) => mpi(x)), mpi(y)]);
      break;
    }
    case 'ecdsa': case 'ecdh': {
      if (algo.kind === 'ecdh' && algo.curve === 'cv25519') {
        const { key } = keep(derPair('x25519', {}));
        // legacy Curve25519 ECDH: 0x40-prefixed native point; the secret would be stored reversed (unused here)
        material = Buffer.concat([oidField(CURVE_OIDS.cv25519), mpi(Buffer.concat([Buffer.from([0x40]), key])), oidField(KDF)]);
        priv = null;
        break;
      }
      const namedCurve = algo.curve === 'P-256' ? 'prime256v1' : algo.curve === 'P-384' ? 'secp384r1' : algo.curve === 'P-521' ? 'secp521r1' : algo.curve;
      const { key } = keep(derPair('ec', { namedCurve }));
      material = Buffer.concat([oidField(CURVE_OIDS[algo.curve as EcCurve]), mpi(key), ...(algo.kind === 'ecdh' ? [oidField(KDF)] : [])]);
      if (algo.kind === 'ecdh') priv = null;
      break;
    }
    case 'eddsa-legacy': {
      const { key } = keep(derPair('ed25519', {}));
      material = Buffer.concat([oidField(CURVE_OIDS.ed25519), mpi(Buffer.concat([Buffer.from([0x40]), key]))]);
      break;
    }
    case 'ed25519': case 'ed448': case 'x25519': case 'x448': {
      const { key } = keep(derPair(algo.kind as 'ed25519', {}));
      material = key;
      if (algo.kind === 'x25519' || algo.kind === 'x448') priv = null;
      break;
    }
    case 'elgamal': {
      const group = getDiffieHellman('modp14');
      const dh = createDiffieHellman(group.getPrime(), Buffer.from([2]));
      material = Buffer.concat([mpi(group.getPrime()), mpi(Buffer.from([2])), mpi(dh.generateKeys())]);
      break;
    }
  }
  return keyFromMaterial(algo, version, created, material, priv);
}

function oidField(oid: string | Buffer): Buffer {
  const b = typeof oid === 'string' ? Buffer.from(oid, 'hex') : oid;
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** A key from raw material bytes (for hand-made, possibly broken, material). */
export function keyFromMaterial(algo: Algo, version: 3 | 4 | 6, created: number, material: Buffer, priv: KeyObject | null = null, pkAlgo = PK[algo.kind]): Key {
  let body: Buffer;
  let fingerprint: Buffer;
  let keyId: Buffer;
  if (version === 3) {
    body = Buffer.concat([Buffer.from([3]), u32(created), u16(0), Buffer.from([pkAlgo]), material]);
    const nLen = (material.readUInt16BE(0) + 7) >> 3;
    const n = material.subarray(2, 2 + nLen);
    const e = material.subarray(4 + nLen);
    fingerprint = createHash('md5').update(n).update(e).digest();
    keyId = n.subarray(n.length - 8);
  } else if (version === 6) {
    body = Buffer.concat([Buffer.from([6]), u32(created), Buffer.from([pkAlgo]), u32(material.length), material]);
    fingerprint = createHash('sha256').update(Buffer.concat([Buffer.from([0x9b]), u32(body.length), body])).digest();
    keyId = fingerprint.subarray(0, 8);
  } else {
    body = Buffer.concat([Buffer.from([4]), u32(created), Buffer.from([pkAlgo]), material]);
    fingerprint = createHash('sha1').update(Buffer.concat([Buffer.from([0x99]), u16(body.length), body])).digest();
    keyId = fingerprint.subarray(12);
  }
  return { algo, pkAlgo, version, created, body, priv, fingerprint, keyId };
}

// ---------------------------------------------------------------------------------------------------------------
// Signatures

export type Target =
  | { kind: 'key' }
  | { kind: 'uid'; uid: Buffer }
  | { kind: 'uat'; body: Buffer }
  | { kind: 'subkey'; subkey: Key };

export interface SigSpec {
  /** who signs (and whose key material the signature's algorithm names) */
  signer: Key;
  /** the key the signature is about (the primary) */
  primary: Key;
  target: Target;
  type: number;
  hash?: HashName;
  version?: 3 | 4 | 6;
  created?: number;
  /** hashed subpackets after the creation time (default: issuer fingerprint in v4) */
  hashed?: Buffer[];
  /** unhashed subpackets (default: issuer key ID) */
  unhashed?: Buffer[];
  /** replace the whole hashed area (no creation time unless given) */
  hashedRaw?: Buffer;
  /** make the signature value from the digest instead of signing with the signer's private key */
  sign?: (digest: Buffer, data: Buffer) => Buffer;
  /** break it on purpose */
  tamper?: { hashTag?: boolean; value?: boolean; pkAlgo?: number; hashId?: number };
}

function keyHash(k: Key): Buffer {
  if (k.version === 6) return Buffer.concat([Buffer.from([0x9b]), u32(k.body.length), k.body]);
  return Buffer.concat([Buffer.from([0x99]), u16(k.body.length), k.body]);
}

function targetBytes(t: Target, version: number): Buffer {
  switch (t.kind) {
    case 'key': return Buffer.alloc(0);
    case 'subkey': return keyHash(t.subkey);
    case 'uid': return version === 3 ? t.uid : Buffer.concat([Buffer.from([0xb4]), u32(t.uid.length), t.uid]);
    case 'uat': return version === 3 ? t.body : Buffer.concat([Buffer.from([0xd1]), u32(t.body.length), t.body]);
  }
}

/** A signature packet body made by the spec. */
export function makeSig(s: SigSpec): Buffer {
  const version = s.version ?? 4;
  const hash = s.hash ?? 'sha256';
  const hashId = s.tamper?.hashId ?? HASH[hash];
  const created = s.created ?? s.primary.created + 100;
  const pkAlgo = s.tamper?.pkAlgo ?? s.signer.pkAlgo;
  const signed = Buffer.concat([keyHash(s.primary), targetBytes(s.target, version)]);
  let head: Buffer;
  let trailer: Buffer;
  if (version === 3) {
    const hashedPart = Buffer.concat([Buffer.from([s.type]), u32(created)]);
    trailer = hashedPart;
    head = Buffer.concat([Buffer.from([3, 5]), hashedPart, s.signer.keyId, Buffer.from([pkAlgo, hashId])]);
  } else {
    const hashedArea = s.hashedRaw ?? Buffer.concat([SP.created(created), ...(s.hashed ?? [SP.issuerFpr(s.signer)])]);
    const hashedPart = Buffer.concat([Buffer.from([version, s.type, pkAlgo, hashId]), version === 6 ? u32(hashedArea.length) : u16(hashedArea.length), hashedArea]);
    trailer = Buffer.concat([hashedPart, Buffer.from([version, 0xff]), u32(hashedPart.length)]);
    const unhashed = Buffer.concat(s.unhashed ?? [SP.issuer(s.signer.keyId)]);
    head = Buffer.concat([hashedPart, version === 6 ? u32(unhashed.length) : u16(unhashed.length), unhashed]);
  }
  const data = Buffer.concat([signed, trailer]);
  const digest = createHash(hash).update(data).digest();
  const tag = Buffer.from(digest.subarray(0, 2));
  if (s.tamper?.hashTag) tag[0]! ^= 0xff;
  let value = s.sign ? s.sign(digest, data) : signValue(s.signer, hash, data, digest);
  if (s.tamper?.value) value = flipLast(value);
  return Buffer.concat([head, tag, value]);
}

function flipLast(b: Buffer): Buffer {
  const c = Buffer.from(b);
  c[c.length - 1]! ^= 0x01;
  return c;
}

/** The algorithm-specific signature value (§5.2.3). */
function signValue(k: Key, hash: HashName, data: Buffer, digest: Buffer): Buffer {
  if (!k.priv) throw new Error(`key of ${k.algo.kind} cannot sign`);
  switch (k.algo.kind) {
    case 'rsa':
      return mpi(nodeSign(hash, data, k.priv));
    case 'dsa': case 'ecdsa': {
      const [seq] = derItems(nodeSign(hash, data, k.priv));
      const [r, s] = derItems(seq!.content);
      return Buffer.concat([mpi(r!.content), mpi(s!.content)]);
    }
    case 'eddsa-legacy': {
      const sig = nodeSign(null, digest, k.priv);
      return Buffer.concat([mpi(sig.subarray(0, 32)), mpi(sig.subarray(32))]);
    }
    case 'ed25519': case 'ed448':
      return nodeSign(null, digest, k.priv);
    default:
      throw new Error(`no signing with ${k.algo.kind}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Whole keys

export const TAGS = { SIG: 2, PUBKEY: 6, MARKER: 10, TRUST: 12, UID: 13, SUBKEY: 14, UAT: 17 } as const;

export const pkt = (tag: number, body: Buffer): Packet => ({ tag, body });

/** A user ID packet and its positive self-certification. */
export function selfCertified(primary: Key, uid: string, more: Partial<SigSpec> = {}): Packet[] {
  const body = Buffer.from(uid);
  return [
    pkt(TAGS.UID, body),
    pkt(TAGS.SIG, makeSig({
      signer: primary, primary, target: { kind: 'uid', uid: body }, type: 0x13,
      hashed: [SP.issuerFpr(primary), SP.keyFlags(0x03), SP.prefs()], ...more,
    })),
  ];
}

/** A subkey packet and its binding (with a back-signature when it signs). */
export function boundSubkey(primary: Key, subkey: Key, more: Partial<SigSpec> = {}, flags = 0x0c): Packet[] {
  const hashed = [SP.issuerFpr(primary), SP.keyFlags(flags)];
  if (flags & 0x02) {
    hashed.push(SP.embedded(makeSig({ signer: subkey, primary, target: { kind: 'subkey', subkey }, type: 0x19 })));
  }
  return [
    pkt(TAGS.SUBKEY, subkey.body),
    pkt(TAGS.SIG, makeSig({ signer: primary, primary, target: { kind: 'subkey', subkey }, type: 0x18, hashed, ...more })),
  ];
}

/** Serialises packets as a keyring (SKS's headers: old format below tag 16). */
export function keyring(keys: Packet[][]): Buffer {
  return Buffer.concat(keys.map((k) => writePackets(k)));
}
