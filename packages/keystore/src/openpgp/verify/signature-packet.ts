// Signature packets (v3 and v4, v6 as far as go-crypto reads it), read as Hockeypuck 2.3's OpenPGP library reads
// them (ProtonMail go-crypto packet/signature.go, signature_v3.go): what it refuses here, Hockeypuck drops as an
// unparseable packet, so the checks and their order follow that code. RFC 9580 §5.2.
import { ByteReader, ReadError } from './byte-reader.js';

/** OpenPGP hash algorithm numbers and node's names for them (RFC 9580 §9.5). */
export const HASH_NAMES: Readonly<Record<number, string>> = {
  1: 'md5', 2: 'sha1', 3: 'ripemd160', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224', 12: 'sha3-256', 14: 'sha3-512',
};

/** Hashes go-crypto reads in a v4 signature (algorithm.HashIdToHashWithSha1); a v3 one may also use MD5. */
const V4_HASHES = new Set([2, 8, 9, 10, 11, 12, 14]);
const V3_HASHES = new Set([1, 2, 8, 9, 10, 11, 12, 14]);
/** v6 salt sizes by hash (RFC 9580 §9.5). */
const V6_SALT: Readonly<Record<number, number>> = { 8: 16, 9: 24, 10: 32, 11: 16, 12: 16, 14: 32 };
/** Algorithms that may sign (go-crypto refuses a signature packet of any other). */
const SIGNING_ALGOS = new Set([1, 3, 17, 19, 22, 27, 28]);

/** Signature types (RFC 9580 §5.2.1). */
export const SIG_TYPE = {
  GENERIC_CERT: 0x10, PERSONA_CERT: 0x11, CASUAL_CERT: 0x12, POSITIVE_CERT: 0x13, SUBKEY_BINDING: 0x18,
  PRIMARY_KEY_BINDING: 0x19, DIRECT_KEY: 0x1f, KEY_REVOCATION: 0x20, SUBKEY_REVOCATION: 0x28, CERT_REVOCATION: 0x30,
} as const;

export const isCertificationType = (t: number) => t >= 0x10 && t <= 0x13;

export interface SignaturePacket {
  /** 3 (also for v2 packets, read alike), 4 or 6. */
  version: number;
  type: number;
  pubAlgo: number;
  hashAlgo: number;
  /** Creation time, Unix seconds. */
  created: number;
  /** The issuer key ID as go-crypto sets it: from the last issuer or issuer-fingerprint subpacket read (hashed area
   * first); always present in a v3 signature, null in a v4 one that names no issuer. */
  issuerKeyId: Buffer | null;
  /** The two bytes of the hash the signer wrote down as a quick check. */
  hashTag: Buffer;
  /** What is hashed after the signed data (§5.2.4): v3 type and time; v4/v6 the hashed part of the packet and
   * its trailer. */
  trailer: Buffer;
  /** v6: the salt hashed before the signed data. */
  salt: Buffer | null;
  /** A hashed key-flags subpacket marks the (sub)key as signing (flag 0x02). */
  signsFlag: boolean;
  /** Reason-for-revocation code from the hashed area, or null when there is none. */
  revocationReason: number | null;
  /** Embedded signature (primary key binding, type 0x19) of a subkey binding. */
  embedded: SignaturePacket | null;
  /** Algorithm-specific signature value: the MPIs as written, or the native bytes of Ed25519/Ed448 (§5.2.3). */
  value: Buffer[];
  /** The hashed Attested Certifications subpacket (type 37) of an attestation key signature (type 0x16): the
   * digests it lists, concatenated; read only with ReadOptions.attestations. */
  attested: Buffer | null;
}

export interface ReadOptions {
  /** Read Attested Certifications subpackets (draft-ietf-openpgp-rfc4880bis-10 §5.2.3.30) instead of refusing a
   * signature that marks one critical, as go-crypto (and so Hockeypuck) does. */
  attestations?: boolean;
  /** Read v4 signatures over every hash of HASH_NAMES (RIPEMD-160 and MD5 too, which RFC 9580 still lets old
   * signatures use) instead of only those go-crypto reads. */
  allHashes?: boolean;
}

export type SignatureReadResult = { ok: true; sig: SignaturePacket } | { ok: false; error: string };

/** Reads a signature packet body. */
export function readSignature(body: Buffer, options: ReadOptions = {}): SignatureReadResult {
  try {
    const version = body[0];
    if (version === undefined) throw new ReadError('empty signature packet');
    return { ok: true, sig: version < 4 ? readV3(body) : readV4(body, options) };
  } catch (e) {
    if (e instanceof ReadError) return { ok: false, error: e.message };
    throw e;
  }
}

function readValue(c: ByteReader, pubAlgo: number): Buffer[] {
  switch (pubAlgo) {
    case 1: case 3: return [c.mpi()];
    case 27: return [c.take(64)];
    case 28: return [c.take(114)];
    default: return [c.mpi(), c.mpi()];
  }
}

function readV3(body: Buffer): SignaturePacket {
  const c = new ByteReader(body, 0, 'signature packet');
  const version = c.take(1)[0]!;
  if (version < 2 || version > 3) throw new ReadError(`signature packet version ${version}`);
  if (c.take(1)[0] !== 5) throw new ReadError('invalid hashed material length');
  const hashed = c.take(5);
  const issuerKeyId = c.take(8);
  const [pubAlgo, hashAlgo] = c.take(2);
  if (pubAlgo !== 1 && pubAlgo !== 3 && pubAlgo !== 17) throw new ReadError(`public key algorithm ${pubAlgo}`);
  if (!V3_HASHES.has(hashAlgo!)) throw new ReadError(`hash function ${hashAlgo}`);
  const hashTag = c.take(2);
  return {
    version: 3, type: hashed[0]!, pubAlgo: pubAlgo!, hashAlgo: hashAlgo!, created: hashed.readUInt32BE(1),
    issuerKeyId, hashTag, trailer: hashed, salt: null, signsFlag: false, revocationReason: null, embedded: null,
    value: readValue(c, pubAlgo!), attested: null,
  };
}

function readV4(body: Buffer, options: ReadOptions = {}): SignaturePacket {
  const c = new ByteReader(body, 0, 'signature packet');
  const version = c.take(1)[0]!;
  if (version === 5) throw new ReadError('v5 signatures are not read');
  if (version !== 4 && version !== 6) throw new ReadError(`signature packet version ${version}`);
  const head = c.take(version === 6 ? 7 : 5);
  const type = head[0]!;
  const pubAlgo = head[1]!;
  const hashAlgo = head[2]!;
  if (!SIGNING_ALGOS.has(pubAlgo)) throw new ReadError(`public key algorithm ${pubAlgo}`);
  const hashOk = version === 4 ? V4_HASHES.has(hashAlgo) || (options.allHashes === true && HASH_NAMES[hashAlgo] !== undefined)
    : V6_SALT_HASHES.has(hashAlgo);
  if (!hashOk) throw new ReadError(`hash function ${hashAlgo}`);
  const hashedLen = version === 6 ? head.readUInt32BE(3) : head.readUInt16BE(3);
  const hashedStart = c.at - (version === 6 ? 7 : 5) - 1;
  const hashed = c.take(hashedLen);
  const hashedPart = body.subarray(hashedStart, c.at);
  const sig: SignaturePacket = {
    version, type, pubAlgo, hashAlgo, created: -1, issuerKeyId: null, hashTag: Buffer.alloc(0),
    trailer: trailerOf(version, hashedPart), salt: null, signsFlag: false, revocationReason: null, embedded: null, value: [],
    attested: null,
  };
  readSubpackets(sig, hashed, true, options);
  const unhashedLen = version === 6 ? c.take(4).readUInt32BE(0) : c.take(2).readUInt16BE(0);
  readSubpackets(sig, c.take(unhashedLen), false, options);
  sig.hashTag = c.take(2);
  if (version === 6) {
    const saltLen = c.take(1)[0]!;
    if (saltLen !== V6_SALT[hashAlgo]) throw new ReadError('unexpected salt size for the given hash algorithm');
    sig.salt = c.take(saltLen);
  }
  sig.value = readValue(c, pubAlgo);
  return sig;
}

const V6_SALT_HASHES = new Set(Object.keys(V6_SALT).map(Number));

/** The hashed part of a v4/v6 signature followed by its trailer: version, 0xff, four-byte length (§5.2.4). */
function trailerOf(version: number, hashedPart: Buffer): Buffer {
  const out = Buffer.allocUnsafe(hashedPart.length + 6);
  hashedPart.copy(out, 0);
  out[hashedPart.length] = version;
  out[hashedPart.length + 1] = 0xff;
  out.writeUInt32BE(hashedPart.length, hashedPart.length + 2);
  return out;
}

/** Subpacket types go-crypto understands; any other marked critical in the hashed area makes it refuse the
 * signature (RFC 9580 §5.2.3.7). */
const KNOWN_SUBPACKETS = new Set([2, 3, 4, 5, 6, 9, 11, 16, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 32, 33, 35, 39]);

function readSubpackets(sig: SignaturePacket, area: Buffer, hashed: boolean, options: ReadOptions = {}): void {
  let at = 0;
  while (at < area.length) {
    let len: number;
    const b0 = area[at]!;
    if (b0 < 192) {
      len = b0;
      at += 1;
    } else if (b0 < 255) {
      if (at + 2 > area.length) throw new ReadError('signature subpacket truncated');
      len = ((b0 - 192) << 8) + area[at + 1]! + 192;
      at += 2;
    } else {
      if (at + 5 > area.length) throw new ReadError('signature subpacket truncated');
      len = area.readUInt32BE(at + 1);
      at += 5;
    }
    if (len > area.length - at) throw new ReadError('signature subpacket truncated');
    if (len === 0) throw new ReadError('zero length signature subpacket');
    const critical = (area[at]! & 0x80) !== 0;
    const type = area[at]! & 0x7f;
    const data = area.subarray(at + 1, at + len);
    at += len;
    // Outside the hashed area go-crypto reads only the issuer subpackets and the embedded signature.
    if (!hashed && type !== 16 && type !== 33 && type !== 32) continue;
    if (type === 37 && options.attestations) {
      if (hashed) sig.attested = sig.attested ? Buffer.concat([sig.attested, data]) : data;
      continue;
    }
    readSubpacket(sig, type, critical, data, hashed);
  }
  if (sig.created < 0) throw new ReadError('no creation time in signature');
}

function readSubpacket(sig: SignaturePacket, type: number, critical: boolean, data: Buffer, hashed: boolean): void {
  const exactly = (n: number, what: string) => {
    if (data.length !== n) throw new ReadError(`${what} subpacket with bad length`);
  };
  switch (type) {
    case 2: exactly(4, 'creation time'); sig.created = data.readUInt32BE(0); break;
    case 3: exactly(4, 'signature expiration'); break;
    case 4: if (data.length === 0 || data[0] === 0) throw new ReadError('signature with non-exportable certification'); break;
    case 5: exactly(2, 'trust'); break;
    case 6: if (data.length === 0 || data[data.length - 1] !== 0) throw new ReadError('regular expression not null-terminated'); break;
    case 9: exactly(4, 'key expiration'); break;
    case 16:
      if (sig.version > 4 && hashed) throw new ReadError('issuer subpacket found in v6 signature');
      exactly(8, 'issuer');
      if (sig.version <= 4) sig.issuerKeyId = data;
      break;
    case 20: {
      if (data.length < 8 || data.length !== 8 + data.readUInt16BE(4) + data.readUInt16BE(6)) {
        throw new ReadError('notation data subpacket with bad length');
      }
      break;
    }
    case 25: exactly(1, 'primary user ID'); break;
    case 27: if (data.length > 0 && (data[0]! & 0x02) !== 0) sig.signsFlag = true; break;
    case 29:
      if (data.length === 0) throw new ReadError('empty revocation reason subpacket');
      sig.revocationReason = data[0]!;
      break;
    case 32: {
      if (sig.embedded) throw new ReadError('cannot have multiple embedded signatures');
      const inner = readV4Embedded(data);
      if (inner.type !== SIG_TYPE.PRIMARY_KEY_BINDING) throw new ReadError(`cross-signature has unexpected type ${inner.type}`);
      sig.embedded = inner;
      break;
    }
    case 33: {
      if (data.length === 0) throw new ReadError('empty issuer fingerprint subpacket');
      const v = data[0]!;
      const l = data.length - 1;
      if ((v >= 5 && l !== 32) || (v < 5 && l !== 20)) throw new ReadError('bad fingerprint length');
      sig.issuerKeyId = v >= 5 ? data.subarray(1, 9) : data.subarray(13, 21);
      break;
    }
    case 35: {
      const v = data[0];
      const l = data.length - 1;
      if (v === undefined || (v >= 5 && l !== 32) || (v < 5 && l !== 20)) throw new ReadError('invalid intended recipient fingerprint');
      break;
    }
    case 39: if (data.length % 2 !== 0) throw new ReadError('invalid aead cipher suite length'); break;
    default:
      if (critical && !KNOWN_SUBPACKETS.has(type)) throw new ReadError(`unknown critical signature subpacket type ${type}`);
  }
}

/** An embedded signature is read as a whole v4/v6 signature (a v3 one is refused there). */
function readV4Embedded(data: Buffer): SignaturePacket {
  if (data[0] !== undefined && data[0] < 4) throw new ReadError(`signature packet version ${data[0]}`);
  return readV4(data);
}
