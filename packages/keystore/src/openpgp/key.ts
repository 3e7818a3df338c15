// Keys from packets: split a stream into keys, describe a key (fingerprints, key IDs, user IDs, dates, revocation).
// Nothing here verifies signatures (SKS does not either): a keyserver stores what it is given and lets clients judge.
import { createHash, hash } from 'node:crypto';
import { TAG, type KeyInfo, type Packet, type SignatureInfo, type SubkeyInfo, type UserIdInfo } from './types.js';
import { PacketError } from './packet.js';

/** Splits a packet stream into keys, each starting at a primary public key packet (tag 6). Secret keys are
 * returned as their own groups so policy can refuse them; packets before the first key are dropped. */
export function splitKeys(packets: Packet[]): Packet[][] {
  const keys: Packet[][] = [];
  let current: Packet[] | null = null;
  for (const p of packets) {
    if (p.tag === TAG.PUBLIC_KEY || p.tag === TAG.SECRET_KEY) {
      current = [p];
      keys.push(current);
    } else if (current) {
      current.push(p);
    }
  }
  return keys;
}

/** Reads a multiprecision integer's bit count and returns the offset after it. */
function mpiEnd(body: Buffer, at: number): { bits: number; end: number } {
  if (at + 2 > body.length) throw new PacketError('key material ends inside an MPI', at);
  const bits = body.readUInt16BE(at);
  const end = at + 2 + ((bits + 7) >> 3);
  if (end > body.length) throw new PacketError('key material ends inside an MPI', at);
  return { bits, end };
}

/** Hex digest of head + body: one-shot crypto.hash where there is one (about half the cost of a Hash object for
 * inputs this small; the loader computes several per key). */
function hexHash(algorithm: string, head: Buffer, body: Buffer): string {
  if (typeof hash === 'function') return hash(algorithm, Buffer.concat([head, body]), 'hex');
  return createHash(algorithm).update(head).update(body).digest('hex');
}

/** Fingerprint (upper-case hex) of a public key or subkey packet body, v3/v4/v6. */
export function fingerprintOf(keyPacketBody: Buffer): string {
  const version = keyPacketBody[0];
  if (version === 4) {
    const head = Buffer.from([0x99, keyPacketBody.length >> 8, keyPacketBody.length & 0xff]);
    return hexHash('sha1', head, keyPacketBody).toUpperCase();
  }
  if (version === 6 || version === 5) {
    const head = Buffer.alloc(5);
    head[0] = version === 6 ? 0x9b : 0x9a;
    head.writeUInt32BE(keyPacketBody.length, 1);
    return hexHash('sha256', head, keyPacketBody).toUpperCase();
  }
  if (version === 2 || version === 3) {
    // v3: MD5 over the bodies of the RSA modulus and exponent, without their length prefixes.
    const n = mpiEnd(keyPacketBody, 8);
    const e = mpiEnd(keyPacketBody, n.end);
    return createHash('md5')
      .update(keyPacketBody.subarray(10, n.end))
      .update(keyPacketBody.subarray(n.end + 2, e.end))
      .digest('hex')
      .toUpperCase();
  }
  throw new PacketError(`unsupported key version ${version}`, 0);
}

/** Long key ID (16 upper-case hex) of a key packet body (pass its fingerprint when known: saves hashing again). */
export function keyIdOf(keyPacketBody: Buffer, fingerprint?: string): string {
  const version = keyPacketBody[0];
  if (version === 2 || version === 3) {
    const n = mpiEnd(keyPacketBody, 8);
    return keyPacketBody.subarray(n.end - 8, n.end).toString('hex').toUpperCase();
  }
  const fp = fingerprint ?? fingerprintOf(keyPacketBody);
  return version === 4 ? fp.slice(-16) : fp.slice(0, 16);
}

// Curve OIDs (DER body, hex) → size in bits as GnuPG reports it.
const CURVE_BITS: Record<string, number> = {
  '2a8648ce3d030107': 256, // NIST P-256
  '2b81040022': 384, // NIST P-384
  '2b81040023': 521, // NIST P-521
  '2b8104000a': 256, // secp256k1
  '2b2403030208010107': 256, // brainpoolP256r1
  '2b240303020801010b': 384, // brainpoolP384r1
  '2b240303020801010d': 512, // brainpoolP512r1
  '2b06010401da470f01': 255, // Ed25519 (legacy EdDSA)
  '2b060104019755010501': 255, // Curve25519 (legacy ECDH)
  '2b6571': 448, // Ed448
  '2b656f': 448, // X448
};

const FIXED_BITS: Record<number, number> = { 25: 255, 26: 448, 27: 255, 28: 448 };

interface KeyPacketInfo {
  version: number;
  created: number;
  /** v3 keys carry their validity in the key packet (days; 0 = forever). */
  v3ValidDays: number;
  algorithm: number;
  bits: number;
}

function parseKeyPacket(body: Buffer): KeyPacketInfo {
  const version = body[0]!;
  if (body.length < 6) throw new PacketError('key packet too short', 0);
  const created = body.readUInt32BE(1);
  if (version === 2 || version === 3) {
    if (body.length < 10) throw new PacketError('v3 key packet too short', 0);
    const algorithm = body[7]!;
    return { version, created, v3ValidDays: body.readUInt16BE(5), algorithm, bits: mpiEnd(body, 8).bits };
  }
  if (version !== 4 && version !== 5 && version !== 6) throw new PacketError(`unsupported key version ${version}`, 0);
  const algorithm = body[5]!;
  const material = version === 4 ? 6 : 10;
  // A key packet without key material is no key (a 6-byte v6 "key" was stored before). v5/v6 state the material's
  // length in four octets: it must be there and match.
  if (body.length <= material) throw new PacketError(`v${version} key packet has no key material`, 0);
  if (version !== 4 && body.readUInt32BE(6) !== body.length - 10) {
    throw new PacketError(`v${version} key packet says ${body.readUInt32BE(6)} octets of key material, has ${body.length - 10}`, 0);
  }
  let bits = FIXED_BITS[algorithm] ?? 0;
  if (algorithm === 1 || algorithm === 2 || algorithm === 3 || algorithm === 16 || algorithm === 17 || algorithm === 20) {
    bits = mpiEnd(body, material).bits;
  } else if (algorithm === 18 || algorithm === 19 || algorithm === 22) {
    const oidLen = body[material] ?? 0;
    bits = CURVE_BITS[body.subarray(material + 1, material + 1 + oidLen).toString('hex')] ?? 0;
  }
  return { version, created, v3ValidDays: 0, algorithm, bits };
}

/** Reads a signature's type, times and issuer. Returns null for signatures too damaged to read (skipped, as SKS's
 * presentation filter skips them). */
export function parseSignature(body: Buffer, primaryKeyId: string, primaryFingerprint: string): SignatureInfo | null {
  try {
    const version = body[0];
    if (version === 2 || version === 3) {
      if (body[1] !== 5 || body.length < 19) return null;
      const issuerKeyId = body.subarray(7, 15).toString('hex').toUpperCase();
      return {
        type: body[2]!, issuerKeyId, issuerFingerprint: '', created: body.readUInt32BE(3), expires: null,
        keyExpires: null, self: issuerKeyId === primaryKeyId,
      };
    }
    if (version !== 4 && version !== 5 && version !== 6) return null;
    const type = body[1]!;
    const lenBytes = version === 4 ? 2 : 4;
    let at = 4;
    const sig: SignatureInfo = {
      type, issuerKeyId: '', issuerFingerprint: '', created: 0, expires: null, keyExpires: null, self: false,
    };
    let expiresIn: number | null = null;
    for (let area = 0; area < 2; area++) {
      if (at + lenBytes > body.length) return null;
      const len = lenBytes === 2 ? body.readUInt16BE(at) : body.readUInt32BE(at);
      at += lenBytes;
      const end = at + len;
      if (end > body.length) return null;
      while (at < end) {
        let sl = body[at]!;
        if (sl < 192) at += 1;
        else if (sl < 255) {
          sl = ((sl - 192) << 8) + body[at + 1]! + 192;
          at += 2;
        } else {
          sl = body.readUInt32BE(at + 1);
          at += 5;
        }
        if (sl < 1 || at + sl > end) return null;
        const st = body[at]! & 0x7f;
        // the subpacket's data: body[d, e) (read in place; a subarray per subpacket cost a third of the parse)
        const d = at + 1;
        const e = at + sl;
        const n = e - d;
        // Times and expiry count only from the hashed area; issuer may sit in either.
        if (area === 0 && st === 2 && n >= 4) sig.created = body.readUInt32BE(d);
        else if (area === 0 && st === 3 && n >= 4) expiresIn = body.readUInt32BE(d);
        else if (area === 0 && st === 9 && n >= 4) sig.keyExpires = body.readUInt32BE(d);
        else if (area === 0 && st === 25 && n >= 1) sig.primaryUid = body[d] !== 0;
        else if (st === 16 && n >= 8 && !sig.issuerKeyId) sig.issuerKeyId = body.toString('hex', d, d + 8).toUpperCase();
        else if (st === 33 && n >= 21 && !sig.issuerFingerprint) sig.issuerFingerprint = body.toString('hex', d + 1, e).toUpperCase();
        else if (st === 26) sig.policyUrl = body.toString('utf8', d, e);
        else if (st === 20 && n >= 8 && (body[d]! & 0x80) !== 0) {
          const nameLen = body.readUInt16BE(d + 4);
          const valueLen = body.readUInt16BE(d + 6);
          if (8 + nameLen + valueLen <= n) {
            sig.notation = {
              name: body.toString('utf8', d + 8, d + 8 + nameLen), value: body.toString('utf8', d + 8 + nameLen, d + 8 + nameLen + valueLen),
            };
          }
        } else if (st === 12 && n >= 22) sig.revocationKey = body.toString('hex', d + 2, e).toUpperCase();
        at += sl;
      }
    }
    if (!sig.issuerKeyId && sig.issuerFingerprint) {
      sig.issuerKeyId = sig.issuerFingerprint.length === 40 ? sig.issuerFingerprint.slice(-16) : sig.issuerFingerprint.slice(0, 16);
    }
    if (expiresIn) sig.expires = sig.created + expiresIn;
    sig.self = sig.issuerFingerprint ? sig.issuerFingerprint === primaryFingerprint : sig.issuerKeyId === primaryKeyId;
    return sig;
  } catch {
    return null;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: false });

function userIdText(p: Packet): string {
  if (p.tag === TAG.USER_ID) return decoder.decode(p.body);
  // User attribute: subpacket type 1 is an image.
  let at = 0;
  let sl = p.body[at] ?? 0;
  if (sl >= 192 && sl < 255) at += 2;
  else if (sl === 255) at += 5;
  else at += 1;
  return p.body[at] === 1 ? '[photo]' : '[user attribute]';
}

const isCertification = (t: number) => t >= 0x10 && t <= 0x13;

/** Everything the HKP index, search and WKD need to know of a key. Does not verify signatures (as SKS). */
export function describeKey(key: Packet[]): KeyInfo {
  const primary = key[0];
  if (!primary || (primary.tag !== TAG.PUBLIC_KEY && primary.tag !== TAG.SECRET_KEY)) {
    throw new PacketError('a key must start with a public key packet', 0);
  }
  const kp = parseKeyPacket(primary.body);
  const fingerprint = fingerprintOf(primary.body);
  const keyId = keyIdOf(primary.body, fingerprint);
  const info: KeyInfo = {
    version: kp.version, fingerprint, keyId, algorithm: kp.algorithm, bits: kp.bits, created: kp.created,
    expires: kp.v3ValidDays ? kp.created + kp.v3ValidDays * 86400 : null, revoked: false,
    signatures: [], userIds: [], subkeys: [],
  };
  let uid: UserIdInfo | null = null;
  let sub: SubkeyInfo | null = null;
  // Key expiry comes from the newest self-certification (or direct-key signature) that carries one.
  let expirySigTime = -1;
  let subBindingTime = -1;
  for (let i = 1; i < key.length; i++) {
    const p = key[i]!;
    if (p.tag === TAG.USER_ID || p.tag === TAG.USER_ATTRIBUTE) {
      uid = { kind: p.tag === TAG.USER_ID ? 'uid' : 'uat', text: userIdText(p), created: null, expires: null, revoked: false, signatures: [] };
      info.userIds.push(uid);
      sub = null;
    } else if (p.tag === TAG.PUBLIC_SUBKEY || p.tag === TAG.SECRET_SUBKEY) {
      let skp: KeyPacketInfo;
      try {
        skp = parseKeyPacket(p.body);
      } catch {
        continue;
      }
      const subFingerprint = fingerprintOf(p.body);
      sub = {
        version: skp.version, fingerprint: subFingerprint, keyId: keyIdOf(p.body, subFingerprint), algorithm: skp.algorithm,
        bits: skp.bits, created: skp.created, expires: null, revoked: false, signatures: [],
      };
      subBindingTime = -1;
      info.subkeys.push(sub);
      uid = null;
    } else if (p.tag === TAG.SIGNATURE) {
      const s = parseSignature(p.body, keyId, fingerprint);
      if (!s) continue;
      if (sub) {
        sub.signatures.push(s);
        if (s.type === 0x28 && (s.self || !s.issuerKeyId)) sub.revoked = true;
        if (s.type === 0x18 && s.self && s.created >= subBindingTime) {
          subBindingTime = s.created;
          sub.expires = s.keyExpires ? sub.created + s.keyExpires : null;
        }
      } else if (uid) {
        uid.signatures.push(s);
        if (s.self && isCertification(s.type) && (uid.created === null || s.created >= uid.created)) {
          uid.created = s.created;
          uid.expires = s.expires;
          uid.primary = s.primaryUid === true;
          if (s.created >= expirySigTime) {
            expirySigTime = s.created;
            info.expires = s.keyExpires ? kp.created + s.keyExpires : null;
          }
        }
      } else {
        info.signatures.push(s);
        if (s.type === 0x20 && (s.self || !s.issuerKeyId)) info.revoked = true;
        if (s.type === 0x1f && s.self && s.keyExpires && s.created >= expirySigTime) {
          expirySigTime = s.created;
          info.expires = kp.created + s.keyExpires;
        }
      }
    }
  }
  // A user ID is revoked when its newest self-signature is a certification revocation.
  for (const u of info.userIds) {
    let newestCert = -1;
    let newestRev = -1;
    for (const s of u.signatures) {
      if (!s.self) continue;
      if (isCertification(s.type)) newestCert = Math.max(newestCert, s.created);
      else if (s.type === 0x30) newestRev = Math.max(newestRev, s.created);
    }
    u.revoked = newestRev >= 0 && newestRev >= newestCert;
  }
  return info;
}
