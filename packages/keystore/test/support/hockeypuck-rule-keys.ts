// Keys made to hit each rule of Hockeypuck's normalisation once or more (see profiles/hockeypuck/): every algorithm,
// valid and forged self-signatures in v3 and v4 form, missing bindings, hard and soft revocations, user attributes,
// markers, trust and unknown packets, oversized packets and keys, signatures out of place or with a wrong hash tag,
// v3/v5/v6 keys, parse refusals. Run through Hockeypuck's own code (the oracle) they give the rules vectors in
// test/fixtures/hockeypuck/ (make-hockeypuck-vectors.ts writes them).
import { checkPrimeSync, randomBytes } from 'node:crypto';
import { modInverse, modPow, verify, type Packet } from '../../src/index.js';
import {
  boundSubkey, HASH, keyFromMaterial, makeKey, makeSig, mpi, pkt, selfCertified, SP, sub, TAGS, u16, u32,
  type Algo, type Key, type SigSpec,
} from './openpgp-builder.js';

export interface RuleKey {
  /** what the key exercises */
  label: string;
  packets: Packet[];
}

const T0 = 1_600_000_000;
let clock = T0;
/** Distinct creation times, so no two keys made from the same material share a fingerprint. */
const nextTime = () => (clock += 1000);

const uidOf = (name: string) => Buffer.from(`${name} <${name.toLowerCase().replace(/[^a-z0-9]+/g, '.')}@rules.example>`);

/** A primary with one self-certified user ID and an encryption subkey: the plain shape most rules start from. */
function plain(algo: Algo, name: string, opts: { hash?: SigSpec['hash']; sub?: Algo | null } = {}): { key: Key; packets: Packet[] } {
  const key = makeKey(algo, nextTime());
  const packets: Packet[] = [pkt(TAGS.PUBKEY, key.body), ...selfCertified(key, uidOf(name).toString(), { hash: opts.hash })];
  if (opts.sub !== null) {
    const subAlgo = opts.sub ?? { kind: 'ecdh', curve: 'cv25519' };
    packets.push(...boundSubkey(key, makeKey(subAlgo, nextTime()), { hash: opts.hash }));
  }
  return { key, packets };
}

/** A certification of `uid` on `primary` by another key. */
function certBy(signer: Key, primary: Key, uid: Buffer, more: Partial<SigSpec> = {}): Packet {
  return pkt(TAGS.SIG, makeSig({ signer, primary, target: { kind: 'uid', uid }, type: 0x10, ...more }));
}

/** Byte lengths of a signature's value MPIs, as written. */
function valueLengths(body: Buffer): number[] {
  const read = verify.readSignature(body);
  if (!read.ok) throw new Error(read.error);
  return read.sig.value.map((v) => v.length);
}

/** A DSA key with a subgroup of qBits (OpenSSL makes only 160, 224 and 256), with its private x. */
function oddDsaKey(pBits: number, qBits: number, created: number): { key: Key; p: bigint; q: bigint; g: bigint; x: bigint } {
  const big = (b: Buffer) => BigInt(`0x${b.toString('hex')}`);
  const bytes = (n: bigint) => Buffer.from(n.toString(16).padStart(2 * Math.ceil(n.toString(16).length / 2), '0'), 'hex');
  let q: bigint;
  do q = big(randomBytes(Math.ceil(qBits / 8))) >> BigInt(8 * Math.ceil(qBits / 8) - qBits) | (1n << BigInt(qBits - 1)) | 1n;
  while (!checkPrimeSync(bytes(q)));
  let p: bigint;
  do {
    const k = big(randomBytes(pBits / 8)) | (1n << BigInt(pBits - 1));
    p = k - (k % (2n * q)) + 1n;
  } while (p.toString(2).length !== pBits || !checkPrimeSync(bytes(p)));
  let g = 1n;
  for (let h = 2n; g === 1n; h++) g = modPow(h, (p - 1n) / q, p);
  const x = (big(randomBytes(40)) % (q - 1n)) + 1n;
  const y = modPow(g, x, p);
  const key = keyFromMaterial({ kind: 'dsa', bits: pBits, qBits }, 4, created, Buffer.concat([mpi(bytes(p)), mpi(bytes(q)), mpi(bytes(g)), mpi(bytes(y))]));
  return { key, p, q, g, x };
}

/** A DSA signature computed in BigInt (for subgroups OpenSSL will not sign with), the digest cut to whole bytes of
 * q as Go and GnuPG do. */
function bigIntSig(k: { key: Key; p: bigint; q: bigint; g: bigint; x: bigint }, spec: SigSpec): Buffer {
  return makeSig({ ...spec, sign: (digest) => {
    const qBytes = Math.ceil(k.q.toString(2).length / 8);
    const z = BigInt(`0x${digest.subarray(0, qBytes).toString('hex')}`);
    for (;;) {
      const kk = (BigInt(`0x${randomBytes(40).toString('hex')}`) % (k.q - 1n)) + 1n;
      const r = modPow(k.g, kk, k.p) % k.q;
      const s = (modInverse(kk, k.q)! * (z + k.x * r)) % k.q;
      if (r !== 0n && s !== 0n) return Buffer.concat([mpi(Buffer.from(r.toString(16).padStart(64, '0'), 'hex')), mpi(Buffer.from(s.toString(16).padStart(64, '0'), 'hex'))]);
    }
  } });
}

/** An RSA "signature" that is the PKCS #1 encoded digest itself (valid for e = 1). */
function rsaEmSig(key: Key, n: Buffer, target: SigSpec['target']): Buffer {
  return makeSig({ signer: key, primary: key, target, type: 0x13, hash: 'sha256', sign: (digest) => {
    const t = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), digest]);
    const em = Buffer.alloc(n.length, 0xff);
    em[0] = 0;
    em[1] = 1;
    em[n.length - t.length - 1] = 0;
    t.copy(em, n.length - t.length);
    return mpi(em);
  } });
}

export function ruleKeys(): RuleKey[] {
  const out: RuleKey[] = [];
  const add = (label: string, packets: Packet[]) => out.push({ label, packets });
  const signer = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
  const dsaSigner = makeKey({ kind: 'dsa', bits: 2048, qBits: 256 }, nextTime());

  // --- every algorithm, valid -----------------------------------------------------------------------------------
  add('RSA-2048, SHA-256', plain({ kind: 'rsa', bits: 2048 }, 'RSA 2048').packets);
  add('RSA-1024, SHA-1, RSA encryption subkey', plain({ kind: 'rsa', bits: 1024 }, 'RSA 1024', { hash: 'sha1', sub: { kind: 'rsa', bits: 1024 } }).packets);
  add('RSA-3072, SHA-512', plain({ kind: 'rsa', bits: 3072 }, 'RSA 3072', { hash: 'sha512' }).packets);
  add('RSA-4096, SHA-224', plain({ kind: 'rsa', bits: 4096 }, 'RSA 4096', { hash: 'sha224' }).packets);
  add('RSA-2048 with e = 3', plain({ kind: 'rsa', bits: 2048, e: 3 }, 'RSA e3').packets);
  add('RSA-768 (too small for OpenSSL)', plain({ kind: 'rsa', bits: 768 }, 'RSA 768', { hash: 'sha1' }).packets);
  add('RSA-2048, SHA-384', plain({ kind: 'rsa', bits: 2048 }, 'RSA sha384', { hash: 'sha384' }).packets);
  add('DSA-1024/160 + ElGamal, SHA-1', plain({ kind: 'dsa', bits: 1024, qBits: 160 }, 'DSA 1024', { hash: 'sha1', sub: { kind: 'elgamal' } }).packets);
  add('DSA-2048/224, SHA-224', plain({ kind: 'dsa', bits: 2048, qBits: 224 }, 'DSA 2048 224', { hash: 'sha224' }).packets);
  add('DSA-2048/256, SHA-256 + ElGamal', plain({ kind: 'dsa', bits: 2048, qBits: 256 }, 'DSA 2048', { sub: { kind: 'elgamal' } }).packets);
  add('DSA-3072/256, SHA-512 (digest truncated to q)', plain({ kind: 'dsa', bits: 3072, qBits: 256 }, 'DSA 3072', { hash: 'sha512' }).packets);
  add('DSA-1024/160, SHA-256 (digest truncated to q)', plain({ kind: 'dsa', bits: 1024, qBits: 160 }, 'DSA sha256').packets);
  add('ECDSA P-256 + ECDH P-256', plain({ kind: 'ecdsa', curve: 'P-256' }, 'P256', { sub: { kind: 'ecdh', curve: 'P-256' } }).packets);
  add('ECDSA P-384, SHA-384', plain({ kind: 'ecdsa', curve: 'P-384' }, 'P384', { hash: 'sha384', sub: { kind: 'ecdh', curve: 'P-384' } }).packets);
  add('ECDSA P-521, SHA-512', plain({ kind: 'ecdsa', curve: 'P-521' }, 'P521', { hash: 'sha512', sub: { kind: 'ecdh', curve: 'P-521' } }).packets);
  add('ECDSA brainpoolP256r1', plain({ kind: 'ecdsa', curve: 'brainpoolP256r1' }, 'BP256', { sub: { kind: 'ecdh', curve: 'brainpoolP256r1' } }).packets);
  add('ECDSA brainpoolP384r1', plain({ kind: 'ecdsa', curve: 'brainpoolP384r1' }, 'BP384', { hash: 'sha384' }).packets);
  add('ECDSA brainpoolP512r1', plain({ kind: 'ecdsa', curve: 'brainpoolP512r1' }, 'BP512', { hash: 'sha512' }).packets);
  add('ECDSA secp256k1', plain({ kind: 'ecdsa', curve: 'secp256k1' }, 'K256', { sub: { kind: 'ecdh', curve: 'secp256k1' } }).packets);
  add('EdDSA (legacy Ed25519) + Curve25519 ECDH', plain({ kind: 'eddsa-legacy' }, 'EdDSA legacy').packets);
  add('Ed25519 (v4, algorithm 27) + X25519', plain({ kind: 'ed25519' }, 'Ed25519 v4', { sub: { kind: 'x25519' } }).packets);
  add('Ed448 (v4, algorithm 28) + X448, SHA-512', plain({ kind: 'ed448' }, 'Ed448 v4', { hash: 'sha512', sub: { kind: 'x448' } }).packets);

  // --- hash algorithms --------------------------------------------------------------------------------------------
  add('EdDSA self-signatures over SHA3-256', plain({ kind: 'eddsa-legacy' }, 'EdDSA sha3', { hash: 'sha3-256' }).packets);
  add('ECDSA P-256 self-signatures over SHA3-512', plain({ kind: 'ecdsa', curve: 'P-256' }, 'P256 sha3', { hash: 'sha3-512' }).packets);
  add('RSA self-signatures over SHA3-256', plain({ kind: 'rsa', bits: 2048 }, 'RSA sha3', { hash: 'sha3-256' }).packets);
  add('DSA self-signatures over SHA3-256', plain({ kind: 'dsa', bits: 2048, qBits: 256 }, 'DSA sha3', { hash: 'sha3-256' }).packets);
  add('RSA v4 self-signature over MD5', plain({ kind: 'rsa', bits: 2048 }, 'RSA md5', { hash: 'md5' }).packets);
  add('RSA v4 self-signature over RIPEMD-160', plain({ kind: 'rsa', bits: 2048 }, 'RSA ripemd', { hash: 'ripemd160' }).packets);
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'RIPEMD second uid');
    const uid = uidOf('RIPEMD only');
    packets.splice(3, 0, pkt(TAGS.UID, uid), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, hash: 'ripemd160' })));
    add('second user ID self-signed over RIPEMD-160 only', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Third party hashes');
    const uid = packets[1]!.body;
    packets.splice(3, 0,
      certBy(signer, key, uid, { hash: 'md5' }), certBy(signer, key, uid, { hash: 'ripemd160' }), certBy(signer, key, uid, { hash: 'sha3-256' }),
      certBy(dsaSigner, key, uid, { hash: 'sha512' }));
    add('third-party certifications over MD5, RIPEMD-160, SHA3-256, SHA-512', packets);
  }

  // --- forged and broken self-signatures --------------------------------------------------------------------------
  {
    const key = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
    const uid = uidOf('Forged');
    add('forged v4 self-signature (value altered): user ID unbound, key refused', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, tamper: { value: true } })),
    ]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Forged second');
    const uid = uidOf('Forged second uid');
    packets.splice(3, 0, pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, tamper: { value: true } })),
      certBy(signer, key, uid));
    add('second user ID with only a forged self-signature and a third-party certification', packets);
  }
  {
    const { key, packets } = plain({ kind: 'ed25519' }, 'Tag wrong');
    packets.splice(3, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: packets[1]!.body }, type: 0x13, tamper: { hashTag: true }, created: key.created + 5 })));
    add('valid v4 self-signature with a wrong hash tag (go-crypto does not check it in v4)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'dsa', bits: 1024, qBits: 160 }, 'DSA forged', { hash: 'sha1', sub: { kind: 'elgamal' } });
    packets.splice(3, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: packets[1]!.body }, type: 0x13, hash: 'sha1', tamper: { value: true }, created: key.created + 7 })));
    add('DSA: one good and one forged self-signature on a user ID', packets);
  }
  {
    const { key, packets } = plain({ kind: 'ecdsa', curve: 'P-256' }, 'ECDSA forged sub');
    const s2 = makeKey({ kind: 'ecdh', curve: 'P-256' }, nextTime());
    packets.push(...boundSubkey(key, s2, { tamper: { value: true } }));
    add('subkey with a forged binding: subkey unbound', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Algo mismatch');
    packets.splice(3, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: packets[1]!.body }, type: 0x13, tamper: { pkAlgo: 3 }, created: key.created + 9 })));
    add('RSA self-signature naming algorithm 3 (RSA sign-only) on an algorithm-1 key', packets);
  }
  {
    const key = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
    const uid = uidOf('V3 self');
    add('v3 self-certification on a v4 key (SHA-1) and a v3 MD5 one', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x10, version: 3, hash: 'sha1' })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, version: 3, hash: 'md5', created: key.created + 50 })),
    ]);
  }
  {
    const key = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
    const uid = uidOf('V3 self tag');
    add('v3 self-certification with a wrong hash tag (checked in v3): key refused', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x10, version: 3, hash: 'sha1', tamper: { hashTag: true } })),
    ]);
  }
  {
    const key = makeKey({ kind: 'dsa', bits: 1024, qBits: 160 }, nextTime());
    const uid = uidOf('DSA v3 md5');
    add('DSA v3 self-certification over MD5', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, version: 3, hash: 'md5' })),
    ]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'V3 bindings', { sub: null });
    const elg = makeKey({ kind: 'elgamal' }, nextTime());
    const rsaSign = makeKey({ kind: 'rsa', bits: 1024 }, nextTime());
    packets.push(pkt(TAGS.SUBKEY, elg.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: elg }, type: 0x18, version: 3, hash: 'sha1' })));
    packets.push(pkt(TAGS.SUBKEY, rsaSign.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: rsaSign }, type: 0x18, version: 3, hash: 'sha1' })));
    add('v3 bindings: an ElGamal subkey (kept) and an RSA subkey that could sign (unbound)', packets);
  }

  // --- signing subkeys and back-signatures ------------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Signing subkeys', { sub: null });
    packets.push(...boundSubkey(key, makeKey({ kind: 'ed25519' }, nextTime()), {}, 0x02));
    packets.push(...boundSubkey(key, makeKey({ kind: 'ecdsa', curve: 'P-384' }, nextTime()), { hash: 'sha384' }, 0x02));
    packets.push(...boundSubkey(key, makeKey({ kind: 'rsa', bits: 2048 }, nextTime()), {}, 0x02));
    packets.push(...boundSubkey(key, makeKey({ kind: 'dsa', bits: 1024, qBits: 160 }, nextTime()), { hash: 'sha1' }, 0x02));
    add('signing subkeys (Ed25519, P-384, RSA, DSA) with back-signatures', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'No backsig', { sub: null });
    const s1 = makeKey({ kind: 'eddsa-legacy' }, nextTime());
    packets.push(pkt(TAGS.SUBKEY, s1.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: s1 }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x02)] })));
    const s2 = makeKey({ kind: 'eddsa-legacy' }, nextTime());
    const badBack = makeSig({ signer: s2, primary: key, target: { kind: 'subkey', subkey: s2 }, type: 0x19, tamper: { value: true } });
    packets.push(pkt(TAGS.SUBKEY, s2.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: s2 }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x02), SP.embedded(badBack)] })));
    const s3 = makeKey({ kind: 'eddsa-legacy' }, nextTime());
    const back = makeSig({ signer: s3, primary: key, target: { kind: 'subkey', subkey: s3 }, type: 0x19 });
    packets.push(pkt(TAGS.SUBKEY, s3.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: s3 }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x02)], unhashed: [SP.issuer(key.keyId), SP.embedded(back)] })));
    const s4 = makeKey({ kind: 'eddsa-legacy' }, nextTime());
    const wrongType = makeSig({ signer: s4, primary: key, target: { kind: 'subkey', subkey: s4 }, type: 0x18 });
    packets.push(pkt(TAGS.SUBKEY, s4.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: s4 }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x02), SP.embedded(wrongType)] })));
    add('signing subkeys: no back-signature, a forged one, one in the unhashed area, one of type 0x18', packets);
  }

  // --- missing bindings, unbound components ----------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Unbound parts');
    const bare = makeKey({ kind: 'ecdh', curve: 'cv25519' }, nextTime());
    const uid = uidOf('No self sig');
    packets.push(pkt(TAGS.SUBKEY, bare.body));
    packets.splice(3, 0, pkt(TAGS.UID, uid), certBy(signer, key, uid), pkt(TAGS.UID, uidOf('Bare uid')));
    add('user ID without any signature, user ID with only a third-party one, subkey without binding', packets);
  }
  {
    const key = makeKey({ kind: 'ed25519' }, nextTime());
    const sk = makeKey({ kind: 'x25519' }, nextTime());
    add('no user ID, a bound subkey: kept', [pkt(TAGS.PUBKEY, key.body), ...boundSubkey(key, sk)]);
  }
  {
    const key = makeKey({ kind: 'ed25519' }, nextTime());
    add('only a direct-key self-signature: kept', [pkt(TAGS.PUBKEY, key.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x1f, hashed: [SP.issuerFpr(key), SP.keyFlags(0x01)] }))]);
  }
  {
    const key = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
    add('bare primary key: refused', [pkt(TAGS.PUBKEY, key.body)]);
  }
  {
    const key = makeKey({ kind: 'rsa', bits: 2048 }, nextTime());
    const uid = uidOf('Only revoked');
    add('user ID with only a self-revocation (0x30): kept', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x30, hashed: [SP.issuerFpr(key), SP.reason(32)] })),
    ]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Sub revoked only', { sub: null });
    const sk = makeKey({ kind: 'rsa', bits: 1024 }, nextTime());
    packets.push(pkt(TAGS.SUBKEY, sk.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x28, hashed: [SP.issuerFpr(key), SP.reason(3)] })));
    add('subkey with only a self-revocation (0x28): kept', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Expired');
    packets.splice(3, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: packets[1]!.body }, type: 0x13, created: key.created + 10, hashed: [SP.issuerFpr(key), SP.keyExpires(60), SP.sigExpires(30)] })));
    add('expired self-signatures and key expiry: kept (Hockeypuck ignores expiry here)', packets);
  }

  // --- revocations ------------------------------------------------------------------------------------------------
  for (const [label, reason] of [
    ['no reason subpacket', null], ['reason 0 (no reason)', 0], ['reason 2 (compromised)', 2],
    ['reason 1 (superseded)', 1], ['reason 3 (retired)', 3], ['reason 32 (user ID invalid)', 32], ['reason 100 (private)', 100],
  ] as const) {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, `Revoked ${label}`);
    const uid = packets[1]!.body;
    packets.splice(3, 0, certBy(signer, key, uid));
    packets.splice(1, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, hashed: reason === null ? [SP.issuerFpr(key)] : [SP.issuerFpr(key), SP.reason(reason, 'test')] })));
    const sub2 = makeKey({ kind: 'rsa', bits: 1024 }, nextTime());
    packets.push(...boundSubkey(key, sub2), pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'subkey', subkey: sub2 }, type: 0x28 })));
    add(`key revocation, ${label}, with third-party signatures`, packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'V3 revoked');
    packets.splice(1, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, version: 3, hash: 'sha1' })));
    add('v3 key revocation on a v4 key (hard: no reason)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Forged revocation');
    packets.splice(1, 0, pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, tamper: { value: true } })));
    add('forged hard revocation: dropped, key kept whole', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Third party revoked');
    packets.splice(1, 0,
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'key' }, type: 0x20 })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'key' }, type: 0x1f })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'key' }, type: 0x20, tamper: { hashTag: true } })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'key' }, type: 0x10 })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x1f, hashed: [SP.issuerFpr(key), SP.keyExpires(0)] })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x13 })));
    add('on the primary: third-party revocation and direct signature (kept), one with a bad hash tag, a 0x10, a self 0x1F and a self 0x13', packets);
  }
  {
    const key = makeKey({ kind: 'ed25519' }, nextTime());
    const sk = makeKey({ kind: 'x25519' }, nextTime());
    add('hard-revoked key with a direct-key signature and a subkey', [
      pkt(TAGS.PUBKEY, key.body),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, hashed: [SP.issuerFpr(key), SP.reason(0)] })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x1f })),
      ...selfCertified(key, uidOf('Hard dk').toString()),
      ...boundSubkey(key, sk),
    ]);
  }

  // --- packets Hockeypuck does not keep ---------------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'With photo');
    // one image subpacket: a 16-byte JPEG image header, then (not really) JPEG data
    const body = sub(1, Buffer.concat([Buffer.from([0x10, 0x00, 0x01, 0x01]), Buffer.alloc(12), randomBytes(200)]));
    packets.splice(3, 0, pkt(TAGS.UAT, body),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uat', body }, type: 0x13 })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'uat', body }, type: 0x10 })));
    add('user attribute (photo) with a self- and a third-party signature', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Markers');
    const uid = packets[1]!.body;
    packets.splice(2, 0, pkt(TAGS.MARKER, Buffer.from('PGP')));
    packets.splice(4, 0, pkt(TAGS.MARKER, Buffer.from('PGP')), certBy(signer, key, uid));
    packets.push(pkt(TAGS.MARKER, Buffer.from('PGP')));
    add('marker packets between a user ID and its signatures', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Trust packets');
    const uid = packets[1]!.body;
    const uid2 = uidOf('Trust second');
    packets.splice(1, 0, pkt(TAGS.TRUST, Buffer.from([0, 0])));
    packets.splice(3, 0, pkt(TAGS.TRUST, Buffer.from([0, 0])));
    packets.splice(5, 0, pkt(TAGS.TRUST, Buffer.from([0x78, 0])), certBy(signer, key, uid), pkt(TAGS.TRUST, Buffer.from([0x78, 0])));
    packets.push(pkt(TAGS.TRUST, Buffer.from([0, 0])));
    packets.push(pkt(TAGS.UID, uid2), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: uid2 }, type: 0x13 })), pkt(TAGS.TRUST, Buffer.from([0, 0])));
    add('trust packets as GnuPG writes them in a keyring (after the key, user IDs and signatures)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Unknown packets');
    const uid2 = uidOf('After unknown');
    packets.splice(3, 0, pkt(60, Buffer.from('private experimental')), certBy(signer, key, packets[1]!.body));
    packets.push(pkt(TAGS.UID, uid2), pkt(3, Buffer.from([4, 7, 3, 0])), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: uid2 }, type: 0x13 })));
    packets.push(pkt(7, Buffer.from([4, 1, 2, 3])));
    add('unknown packets (tags 60, 3) and a secret subkey packet: dropped, with what follows them', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Duplicates');
    packets.push(packets[1]!, packets[2]!, packets[2]!);
    packets.splice(3, 0, certBy(signer, key, packets[1]!.body));
    packets.push(packets[3]!);
    add('duplicate user ID and signatures (Hockeypuck keeps duplicates on first insert)', packets);
  }

  // --- sizes ------------------------------------------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Oversize');
    const uid = packets[1]!.body;
    const bigNote = (n: number) => [SP.issuerFpr(signer), SP.notation('pad@rules.example', Buffer.alloc(n, 0x61))];
    packets.splice(3, 0,
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'uid', uid }, type: 0x10, hashed: bigNote(8200) })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'uid', uid }, type: 0x10, hashed: bigNote(7800) })));
    const hugeUid = Buffer.concat([Buffer.from('Huge '), Buffer.alloc(8200, 0x62)]);
    packets.push(pkt(TAGS.UID, hugeUid), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: hugeUid }, type: 0x13 })));
    add('signature over 8192 bytes, one just under, a user ID over 8192 (its self-signature lands on the user ID before)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Big subkey', { sub: null });
    const material = Buffer.concat([mpi(Buffer.concat([Buffer.from([0xc0]), randomBytes(8190)])), mpi(Buffer.from([1, 0, 1]))]);
    const big = keyFromMaterial({ kind: 'rsa', bits: 65535 }, 4, nextTime(), material);
    packets.push(pkt(TAGS.SUBKEY, big.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: big }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x0c)] })));
    packets.push(...boundSubkey(key, makeKey({ kind: 'x25519' }, nextTime())));
    add('subkey packet over 8192 bytes (its binding lands on the user ID before)', packets);
  }
  for (const [label, count] of [['just under 1 MiB', 128], ['over 1 MiB', 129]] as const) {
    const { key, packets } = plain({ kind: 'ed25519' }, `Size ${label}`);
    const uid = packets[1]!.body;
    const pad = 7800;
    for (let i = 0; i < count; i++) {
      packets.splice(3, 0, certBy(signer, key, uid, { created: key.created + i, hashed: [SP.issuerFpr(signer), SP.notation('pad@rules.example', Buffer.alloc(pad, 0x30 + (i % 10)))] }));
    }
    add(`key of packets summing to ${label}`, packets);
  }

  // --- signatures out of place, implausible ones ------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Out of place');
    const uid = packets[1]!.body;
    const sk = makeKey({ kind: 'ecdh', curve: 'cv25519' }, nextTime());
    packets.splice(3, 0,
      certBy(signer, key, uid, { type: 0x13 }), certBy(signer, key, uid, { type: 0x30 }), certBy(signer, key, uid, { type: 0x18 }),
      certBy(signer, key, uid, { type: 0x1f }), certBy(signer, key, uid, { tamper: { hashTag: true } }),
      certBy(signer, key, uid, { tamper: { value: true } }), certBy(signer, key, uid, { version: 3, hash: 'sha1', type: 0x12 }),
      certBy(signer, key, uid, { version: 3, hash: 'sha1', tamper: { hashTag: true } }),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x18 })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x13 })));
    packets.push(pkt(TAGS.SUBKEY, sk.body),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x0c)] })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x28 })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x28, tamper: { hashTag: true } })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x18 })),
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x13 })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x13 })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x1f })));
    add('signature types in and out of their place, plausible and not, self and third-party', packets);
  }

  // --- key versions -----------------------------------------------------------------------------------------------
  {
    const key = makeKey({ kind: 'rsa', bits: 1024 }, nextTime(), 3);
    const uid = uidOf('V3 key');
    add('v3 RSA key with a v3 self-signature', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x10, version: 3, hash: 'md5' })),
      certBy(signer, key, uid, { version: 3, hash: 'sha1' }),
    ]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'V3 subkey', { sub: null });
    const v3sub = makeKey({ kind: 'rsa', bits: 1024 }, nextTime(), 3);
    packets.push(pkt(TAGS.SUBKEY, v3sub.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: v3sub }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x0c)] })));
    add('v4 key with a v3 subkey', packets);
  }
  {
    const key = makeKey({ kind: 'ed25519' }, nextTime(), 6);
    const uid = uidOf('V6 key');
    const sk = makeKey({ kind: 'x25519' }, nextTime(), 6);
    const v6 = (target: SigSpec['target'], type: number) => makeSig({
      signer: key, primary: key, target, type, version: 6, hashed: [SP.issuerFpr(key)], unhashed: [],
    });
    add('v6 Ed25519 key with v6 signatures', [
      pkt(TAGS.PUBKEY, key.body), pkt(TAGS.SIG, v6({ kind: 'key' }, 0x1f)), pkt(TAGS.UID, uid), pkt(TAGS.SIG, v6({ kind: 'uid', uid }, 0x13)),
      pkt(TAGS.SUBKEY, sk.body), pkt(TAGS.SIG, v6({ kind: 'subkey', subkey: sk }, 0x18)),
    ]);
  }
  {
    const key = makeKey({ kind: 'ed25519' }, nextTime());
    const v5 = Buffer.concat([Buffer.from([5]), key.body.subarray(1, 6), u32(32), key.body.subarray(6)]);
    add('v5 key packet (unreadable primary)', [pkt(TAGS.PUBKEY, v5), ...selfCertified(key, uidOf('V5').toString())]);
  }

  // --- key material go-crypto refuses -----------------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Bad subkeys', { sub: null });
    const bind = (sk: ReturnType<typeof keyFromMaterial>) => [pkt(TAGS.SUBKEY, sk.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x0c)] }))];
    const t = () => nextTime();
    const p256 = makeKey({ kind: 'ecdh', curve: 'P-256' }, t());
    const offCurve = Buffer.from(p256.body);
    offCurve[offCurve.length - 6]! ^= 1; // a byte of Y (the KDF field follows the point)
    packets.push(...bind(keyFromMaterial({ kind: 'ecdh', curve: 'P-256' }, 4, t(), offCurve.subarray(6))));
    packets.push(...bind(keyFromMaterial({ kind: 'rsa', bits: 0 }, 4, t(), Buffer.from('0123456789'), null, 99)));
    packets.push(...bind(keyFromMaterial({ kind: 'rsa', bits: 1024 }, 4, t(), Buffer.concat([mpi(randomBytes(128)), mpi(Buffer.from([1, 0, 0, 1]))]))));
    packets.push(...bind(keyFromMaterial({ kind: 'ecdh', curve: 'cv25519' }, 4, t(), Buffer.concat([Buffer.from([10]), Buffer.from('2b060104019755010501', 'hex'), mpi(Buffer.concat([Buffer.from([0x40]), randomBytes(32)])), Buffer.from([3, 1, 2, 7])]))));
    packets.push(...bind(keyFromMaterial({ kind: 'ecdh', curve: 'cv25519' }, 4, t(), Buffer.concat([Buffer.from([3]), Buffer.from('2b6570', 'hex'), mpi(randomBytes(32)), Buffer.from([3, 1, 8, 7])]))));
    packets.push(...bind(keyFromMaterial({ kind: 'ecdh', curve: 'P-256' }, 4, t(), Buffer.concat([p256.body.subarray(6, p256.body.length - 4)]))));
    packets.push(...boundSubkey(key, makeKey({ kind: 'x25519' }, t())));
    add('subkeys go-crypto cannot read: P-256 point off the curve, algorithm 99, 4-byte exponent, ECDH with SHA-1 KDF, unknown curve, truncated', packets);
  }
  {
    const ok = makeKey({ kind: 'ecdsa', curve: 'P-256' }, nextTime());
    const body = Buffer.from(ok.body);
    body[body.length - 1]! ^= 1;
    const off = keyFromMaterial({ kind: 'ecdsa', curve: 'P-256' }, 4, ok.created, body.subarray(6), ok.priv);
    add('ECDSA primary with its point off the curve (unreadable primary)', [pkt(TAGS.PUBKEY, off.body), ...selfCertified(off, uidOf('Off curve').toString())]);
  }
  {
    const ok = makeKey({ kind: 'eddsa-legacy' }, nextTime());
    const body = Buffer.from(ok.body);
    body[6 + 10 + 2]! = 0x04;
    add('EdDSA primary with a 0x04 point prefix (unreadable primary)', [pkt(TAGS.PUBKEY, body), ...selfCertified(keyFromMaterial(ok.algo, 4, ok.created, body.subarray(6), ok.priv), uidOf('EdDSA 04').toString())]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'NUL uid');
    const nul = Buffer.from('Nul\0Byte <nul@rules.example>');
    const cp1252 = Buffer.from([0x4d, 0xfc, 0x6c, 0x6c, 0x65, 0x72, 0x20, 0x3c, 0x6d, 0x40, 0x72, 0x2e, 0x65, 0x3e]);
    packets.push(pkt(TAGS.UID, nul), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: nul }, type: 0x13 })));
    packets.push(pkt(TAGS.UID, cp1252), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid: cp1252 }, type: 0x13 })));
    add('user ID with a NUL byte (dropped) and one in Latin-1 (kept)', packets);
  }

  // --- signature packets go-crypto cannot read --------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Unreadable sigs');
    const uid = packets[1]!.body;
    const self = (more: Partial<SigSpec>) => pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, ...more }));
    const t = key.created + 20;
    packets.splice(3, 0,
      self({ created: t + 1, hashed: [SP.issuerFpr(key), sub(0x80 | 100, Buffer.from('critical private'))] }),
      self({ created: t + 2, unhashed: [SP.issuer(key.keyId), sub(0x80 | 100, Buffer.from('critical unhashed'))] }),
      self({ created: t + 3, hashed: [SP.issuerFpr(key), SP.exportable(0)] }),
      self({ created: t + 4, hashed: [SP.issuerFpr(key), SP.exportable(1)] }),
      self({ created: t + 5, hashed: [], unhashed: [] }),
      self({ created: t + 6, hashed: [], unhashed: [SP.issuer(key.keyId)] }),
      self({ hashedRaw: SP.issuerFpr(key), unhashed: [SP.created(t + 7), SP.issuer(key.keyId)] }),
      self({ created: t + 8, hashed: [SP.issuerFpr(key), sub(20, Buffer.from([0x80, 0, 0, 0, 0, 4, 0, 9, 0x61]))] }),
      self({ created: t + 9, hashed: [SP.issuerFpr(key), sub(0x80 | 7, Buffer.from([0]))] }),
      self({ created: t + 10, hashed: [SP.issuerFpr(key), sub(0x80 | 12, Buffer.concat([Buffer.from([0x80, 1]), signer.fingerprint]))] }),
      self({ created: t + 11, hashed: [SP.issuerFpr(key), sub(2, Buffer.from([1, 2, 3]))] }),
      self({ created: t + 12, hashed: [SP.issuerFpr(key), SP.reason(1), SP.reason(2)] }),
      self({ created: t + 13, hashed: [SP.issuerFpr(key), sub(33, Buffer.concat([Buffer.from([4]), key.fingerprint.subarray(0, 19)]))], unhashed: [] }),
      self({ created: t + 14, hashed: [SP.issuerFpr(key), sub(0x80 | 34, Buffer.from([2]))] }),
      self({ created: t + 15, hashed: [SP.issuerFpr(key), sub(6, Buffer.from('no nul'))] }),
      pkt(TAGS.SIG, Buffer.concat([makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: t + 16 }), Buffer.from('trailing')])),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: t + 17 }).subarray(0, 40)),
      pkt(TAGS.SIG, Buffer.concat([Buffer.from([5]), makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: t + 18 }).subarray(1)])));
    add('self-signatures go-crypto reads or refuses: critical unknown subpackets, non-exportable, no issuer, no creation time, bad lengths, trailing bytes, truncated, v5', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Issuer forms');
    const uid = packets[1]!.body;
    packets.splice(3, 0,
      certBy(signer, key, uid, { unhashed: [] }),
      certBy(signer, key, uid, { hashed: [], unhashed: [SP.issuer(signer.keyId)] }),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: key.created + 30, hashed: [SP.issuerFpr(key)], unhashed: [SP.issuer(signer.keyId)] })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: key.created + 31, hashed: [SP.issuer(signer.keyId)], unhashed: [SP.issuerFpr(key)] })));
    add('issuer given by fingerprint only, by key ID only, and conflicting ones (the last read wins)', packets);
  }

  // --- arithmetic edge cases: OpenSSL refuses these keys, the BigInt fallbacks decide ---------------------------
  for (const qBits of [192, 161]) {
    const key = oddDsaKey(1024, qBits, nextTime());
    const uid = uidOf(`DSA q${qBits}`);
    add(`DSA-1024 with a ${qBits}-bit subgroup (Go verifies only whole-byte subgroups)`, [
      pkt(TAGS.PUBKEY, key.key.body), pkt(TAGS.UID, uid),
      pkt(TAGS.SIG, bigIntSig(key, { signer: key.key, primary: key.key, target: { kind: 'uid', uid }, type: 0x13, hash: 'sha256' })),
    ]);
  }
  {
    const rsa = makeKey({ kind: 'rsa', bits: 1024 }, nextTime());
    const n = rsa.body.subarray(8, 8 + 128);
    const e1 = keyFromMaterial({ kind: 'rsa', bits: 1024 }, 4, nextTime(), Buffer.concat([mpi(n), mpi(Buffer.from([1]))]));
    const uid = uidOf('RSA e1');
    add('RSA key with e = 1 and a "signature" equal to the padded digest (Go 1.23 accepts it)', [
      pkt(TAGS.PUBKEY, e1.body), pkt(TAGS.UID, uid), pkt(TAGS.SIG, rsaEmSig(e1, n, { kind: 'uid', uid })),
    ]);
    const even = Buffer.from(n);
    even[even.length - 1]! &= 0xfe;
    const evenKey = keyFromMaterial({ kind: 'rsa', bits: 1024 }, 4, nextTime(), Buffer.concat([mpi(even), mpi(Buffer.from([1]))]));
    add('RSA key with an even modulus (e = 1, padded digest as signature): refused', [
      pkt(TAGS.PUBKEY, evenKey.body), pkt(TAGS.UID, uid), pkt(TAGS.SIG, rsaEmSig(evenKey, even, { kind: 'uid', uid })),
    ]);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 1024 }, 'Short and long MPIs', { hash: 'sha1', sub: null });
    const uid = packets[1]!.body;
    // a signature whose value has a leading zero byte (so its MPI is one byte short), found by trying creation times
    for (let t = 1; ; t++) {
      const body = makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, hash: 'sha1', created: key.created + t });
      if (valueLengths(body)[0]! < 128) {
        packets.push(pkt(TAGS.SIG, body));
        break;
      }
    }
    const long = makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, hash: 'sha1', created: key.created + 1000 });
    const value = long.subarray(long.length - 128);
    packets.push(pkt(TAGS.SIG, Buffer.concat([long.subarray(0, long.length - 130), u16(1024 + 8), Buffer.from([0]), value])));
    add('RSA self-signatures: one with a short value (left-padded), one with a superfluous zero byte (refused)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'eddsa-legacy' }, 'EdDSA short R');
    const uid = packets[1]!.body;
    for (let t = 1; ; t++) {
      const body = makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, created: key.created + t });
      if (valueLengths(body).some((n) => n < 32)) {
        packets.splice(3, 0, pkt(TAGS.SIG, body));
        break;
      }
    }
    add('EdDSA self-signature with an R or S shorter than 32 bytes (left-padded)', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Issuer lies');
    const uid = packets[1]!.body;
    packets.splice(3, 0,
      pkt(TAGS.SIG, makeSig({ signer, primary: key, target: { kind: 'uid', uid }, type: 0x13, hashed: [], unhashed: [SP.issuer(key.keyId)] })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x10, hashed: [], unhashed: [SP.issuer(signer.keyId)] })));
    const sk = makeKey({ kind: 'ed25519' }, nextTime());
    packets.push(...boundSubkey(key, sk), pkt(TAGS.SIG, makeSig({ signer: sk, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x18 })));
    add('a signature by another key naming ours as issuer, one of ours naming another, a subkey binding itself', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Two revocations');
    packets.splice(1, 0,
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, hashed: [SP.issuerFpr(key), SP.reason(1)] })),
      pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'key' }, type: 0x20, created: key.created + 500, hashed: [SP.issuerFpr(key), SP.reason(2)] })));
    add('a soft and a hard key revocation: hard wins', packets);
  }
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Embedded v3', { sub: null });
    const sk = makeKey({ kind: 'rsa', bits: 1024 }, nextTime());
    const v3back = makeSig({ signer: sk, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x19, version: 3, hash: 'sha1' });
    packets.push(pkt(TAGS.SUBKEY, sk.body), pkt(TAGS.SIG, makeSig({ signer: key, primary: key, target: { kind: 'subkey', subkey: sk }, type: 0x18, hashed: [SP.issuerFpr(key), SP.keyFlags(0x02), SP.embedded(v3back)] })));
    add('signing subkey whose back-signature is a v3 signature (binding unreadable)', packets);
  }

  // --- realistic: many certifications -----------------------------------------------------------------------------
  {
    const { key, packets } = plain({ kind: 'rsa', bits: 2048 }, 'Well connected');
    const uid = packets[1]!.body;
    const signers = [signer, dsaSigner, makeKey({ kind: 'eddsa-legacy' }, nextTime()), makeKey({ kind: 'ecdsa', curve: 'P-256' }, nextTime())];
    for (const [i, s] of signers.entries()) packets.splice(3, 0, certBy(s, key, uid, { type: 0x10 + i, hash: i % 2 ? 'sha1' : 'sha512' }));
    add('certifications by RSA, DSA, EdDSA and ECDSA keys', packets);
  }
  return out;
}
