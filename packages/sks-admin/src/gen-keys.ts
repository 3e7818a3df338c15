// Synthetic OpenPGP keys for benchmarks and tests, built packet by packet with node:crypto (RFC 9580).
// Every key is a pure function of (seed, index): Ed25519/X25519 and P-256 key material is derived from the seed, P-256
// signatures use a derived nonce, RSA keys come from a small pool generated from the seed, v6 salts are derived.
// So the same parameters give the same bytes, which lets benchmarks cache and tests reason about the output.
import { createHash, createPrivateKey, createPublicKey, createECDH, sign, type KeyObject } from 'node:crypto';
import { modInverse, modPow } from '@sks/keystore';

/** Primary key algorithms of the public profile (gen-public.ts), in the shares of the public keydump. */
export type PublicAlgo = 'rsa2048' | 'rsa4096' | 'dsa1024' | 'dsa2048' | 'ed25519' | 'p256';
export const PUBLIC_ALGOS: readonly PublicAlgo[] = ['rsa2048', 'rsa4096', 'dsa1024', 'dsa2048', 'ed25519', 'p256'];

/** Primary key algorithms of the default profile (the public profile has its own, PublicAlgo). */
export type GenAlgo = 'ed25519' | 'v6' | 'p256' | 'rsa';

// ---------------------------------------------------------------------------------------------------------------
// Packet encoding

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** New-format packet header + body. */
export function packet(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xc0 | tag]), newFormatLength(body.length), body]);
}

/** A new-format length (RFC 9580 4.2.1): one, two or five octets. */
export function newFormatLength(n: number): Buffer {
  if (n < 192) return Buffer.from([n]);
  if (n < 8384) return Buffer.from([((n - 192) >> 8) + 192, (n - 192) & 0xff]);
  return Buffer.concat([Buffer.from([0xff]), u32(n)]);
}

/** OpenPGP MPI: bit count then the bytes without leading zeros. */
export function mpi(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]!));
  return Buffer.concat([u16(bits), v]);
}

export function subpacket(type: number, data: Buffer): Buffer {
  const len = data.length + 1;
  if (len >= 192) throw new Error('subpacket too long for this generator');
  return Buffer.concat([Buffer.from([len, type]), data]);
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic randomness

export function h256(...parts: Array<string | Buffer>): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Small deterministic stream of bytes. */
export class Drbg {
  private ctr = 0;
  constructor(private readonly seed: string) {}
  bytes(n: number): Buffer {
    const out: Buffer[] = [];
    let have = 0;
    while (have < n) {
      const b = h256(this.seed, ':', String(this.ctr++));
      out.push(b);
      have += b.length;
    }
    return Buffer.concat(out).subarray(0, n);
  }
  int(max: number): number {
    return this.bytes(4).readUInt32BE() % max;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Big integers (P-256 signatures, RSA pool)

export function bn(b: Buffer): bigint {
  return b.length === 0 ? 0n : BigInt('0x' + b.toString('hex'));
}
function bnBuf(n: bigint, len: number): Buffer {
  return Buffer.from(n.toString(16).padStart(len * 2, '0'), 'hex');
}
export function modInv(a: bigint, m: bigint): bigint {
  const r = modInverse(a, m);
  if (r === null) throw new Error('not invertible');
  return r;
}
function b64u(n: bigint): string {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex').toString('base64url');
}

const SMALL_PRIMES: number[] = (() => {
  const out: number[] = [];
  for (let n = 3; out.length < 300; n += 2) if (out.every((p) => n % p !== 0)) out.push(n);
  return out;
})();

function isProbablePrime(n: bigint, rng: Drbg): boolean {
  for (const p of SMALL_PRIMES) if (n % BigInt(p) === 0n) return n === BigInt(p);
  let d = n - 1n;
  let s = 0;
  while ((d & 1n) === 0n) {
    d >>= 1n;
    s++;
  }
  for (let round = 0; round < 24; round++) {
    const a = (bn(rng.bytes(64)) % (n - 3n)) + 2n;
    let x = modPow(a, d, n);
    if (x === 1n || x === n - 1n) continue;
    let composite = true;
    for (let i = 1; i < s; i++) {
      x = (x * x) % n;
      if (x === n - 1n) {
        composite = false;
        break;
      }
    }
    if (composite) return false;
  }
  return true;
}

function genPrime(bits: number, rng: Drbg): bigint {
  for (;;) {
    const b = rng.bytes(bits / 8);
    b[0]! |= 0xc0;
    b[b.length - 1]! |= 1;
    let c = bn(b);
    // walk odd candidates from a random start, trial division first
    for (let step = 0; step < 2000; step++, c += 2n) {
      if (isProbablePrime(c, rng)) return c;
    }
  }
}

export interface RsaMaterial {
  n: bigint;
  e: bigint;
  key: KeyObject;
}

function genRsa(bits: number, rng: Drbg): RsaMaterial {
  const e = 65537n;
  for (;;) {
    const p = genPrime(bits / 2, rng);
    const q = genPrime(bits / 2, rng);
    if (p === q) continue;
    const phi = (p - 1n) * (q - 1n);
    let d: bigint;
    try {
      d = modInv(e, phi);
    } catch {
      continue;
    }
    const n = p * q;
    const key = createPrivateKey({
      key: {
        kty: 'RSA', n: b64u(n), e: b64u(e), d: b64u(d), p: b64u(p), q: b64u(q),
        dp: b64u(d % (p - 1n)), dq: b64u(d % (q - 1n)), qi: b64u(modInv(q, p)),
      },
      format: 'jwk',
    });
    return { n, e, key };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key material

export const OID_ED25519 = Buffer.from('2b06010401da470f01', 'hex');
export const OID_CV25519 = Buffer.from('2b060104019755010501', 'hex');
export const OID_P256 = Buffer.from('2a8648ce3d030107', 'hex');
export const KDF_SHA256_AES128 = Buffer.from([3, 1, 8, 7]);
const P256_N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

const ZERO32 = Buffer.alloc(32).toString('base64url');

function edKey(seed: Buffer): { priv: KeyObject; pub: Buffer } {
  // JWK import takes the raw private key (the public part is recomputed from d; `x` is required but ignored) and is
  // several times faster than a PKCS#8 DER import under OpenSSL 3.
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: ZERO32 }, format: 'jwk' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return { priv, pub: spki.subarray(spki.length - 32) };
}
/** Ed25519 key material for key `index`: a key pair derived from the seed, cached in a pool of ED_POOL slots, so a
 * dump of up to ED_POOL keys has no two keys with the same key material, and a bigger one reuses material (with
 * another creation time, hence another fingerprint) instead of paying a key pair export per key, which costs three
 * times the two signatures the key needs. */
export const ED_POOL = 65536;
const edPool = new Map<string, { priv: KeyObject; pub: Buffer }>();
export function pooledEdKey(seed: string, index: number): { priv: KeyObject; pub: Buffer } {
  const slot = `${seed}:${index % ED_POOL}`;
  let k = edPool.get(slot);
  if (!k) {
    if (edPool.size >= ED_POOL) edPool.clear();
    k = edKey(h256(seed, ':ed25519:', String(index % ED_POOL)));
    edPool.set(slot, k);
  }
  return k;
}

/** An X25519 public key: every 32-byte string is one (RFC 7748 §5), and nobody holds the private key of a
 * synthetic encryption subkey, so derived bytes serve and save a key generation per key. */
function x25519Pub(seed: Buffer): Buffer {
  return seed;
}
export function p256Key(seed: Buffer): { d: bigint; pub: Buffer } {
  const d = (bn(seed) % (P256_N - 1n)) + 1n;
  const ecdh = createECDH('prime256v1');
  ecdh.setPrivateKey(bnBuf(d, 32));
  return { d, pub: ecdh.getPublicKey() };
}

/** ECDSA P-256 over a SHA-256 digest with a nonce derived from the key and digest (deterministic, like RFC 6979). */
export function p256Sign(d: bigint, digest: Buffer): Buffer {
  const z = bn(digest);
  for (let ctr = 0; ; ctr++) {
    const k = (bn(h256(bnBuf(d, 32), digest, String(ctr))) % (P256_N - 1n)) + 1n;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(bnBuf(k, 32));
    const r = bn(ecdh.getPublicKey().subarray(1, 33)) % P256_N;
    if (r === 0n) continue;
    const s = (modInv(k, P256_N) * ((z + r * d) % P256_N)) % P256_N;
    if (s === 0n) continue;
    return Buffer.concat([mpi(bnBuf(r, 32)), mpi(bnBuf(s, 32))]);
  }
}

export interface Signer {
  version: 4 | 6;
  algo: number;
  fingerprint: Buffer;
  keyId: Buffer;
  /** Signature MPIs / native signature for a SHA-256 digest. */
  signDigest(digest: Buffer, hashedData: Buffer): Buffer;
}

export interface PubKey {
  version: 4 | 6;
  body: Buffer;
  fingerprint: Buffer;
  keyId: Buffer;
}

export function pubKey(version: 4 | 6, body: Buffer): PubKey {
  if (version === 4) {
    const fp = createHash('sha1').update(Buffer.from([0x99])).update(u16(body.length)).update(body).digest();
    return { version, body, fingerprint: fp, keyId: fp.subarray(12) };
  }
  const fp = createHash('sha256').update(Buffer.from([0x9b])).update(u32(body.length)).update(body).digest();
  return { version, body, fingerprint: fp, keyId: fp.subarray(0, 8) };
}

export function keyHashPrefix(k: PubKey): Buffer {
  return k.version === 4
    ? Buffer.concat([Buffer.from([0x99]), u16(k.body.length), k.body])
    : Buffer.concat([Buffer.from([0x9b]), u32(k.body.length), k.body]);
}

/** A user ID's (tag 13) or user attribute's (tag 17) bytes as a v4 certification hashes them. */
export function componentHashPrefix(tag: 13 | 17, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag === 17 ? 0xd1 : 0xb4]), u32(body.length), body]);
}

/** A complete signature packet (v4 or v6, SHA-256) over `data` (the key/uid/subkey hash prefixes). */
function signature(...args: Parameters<typeof signatureBody>): Buffer {
  return packet(2, signatureBody(...args));
}

/** The body of such a signature packet (for callers that write their own packet headers). */
export function signatureBody(
  signer: Signer,
  type: number,
  created: number,
  data: Buffer,
  extraHashed: Buffer[],
  salt?: Buffer,
): Buffer {
  const hashedSubs = Buffer.concat([
    subpacket(2, u32(created)),
    subpacket(33, Buffer.concat([Buffer.from([signer.version]), signer.fingerprint])),
    ...extraHashed,
  ]);
  const unhashedSubs = signer.version === 4 ? subpacket(16, signer.keyId) : Buffer.alloc(0);
  let hashed: Buffer;
  if (signer.version === 4) hashed = Buffer.concat([Buffer.from([4, type, signer.algo, 8]), u16(hashedSubs.length), hashedSubs]);
  else hashed = Buffer.concat([Buffer.from([6, type, signer.algo, 8]), u32(hashedSubs.length), hashedSubs]);
  const trailer = Buffer.concat([Buffer.from([signer.version, 0xff]), u32(hashed.length)]);
  const h = createHash('sha256');
  if (salt) h.update(salt);
  h.update(data).update(hashed).update(trailer);
  const digest = h.digest();
  const sig = signer.signDigest(digest, Buffer.concat([data, hashed, trailer]));
  const parts = [hashed, signer.version === 4 ? u16(unhashedSubs.length) : u32(unhashedSubs.length), unhashedSubs, digest.subarray(0, 2)];
  if (signer.version === 6) parts.push(Buffer.from([salt!.length]), salt!);
  parts.push(sig);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

export const FIRST = ['Alice', 'Bob', 'Carol', 'Dave', 'Erin', 'Frank', 'Grace', 'Heidi', 'Ivan', 'Judy', 'Mallory', 'Niaj',
  'Olivia', 'Peggy', 'Rupert', 'Sybil', 'Trent', 'Victor', 'Walter', 'Yuki', 'Zoe', 'Amir', 'Bea', 'Chen'];
export const LAST = ['Smith', 'Jones', 'Garcia', 'Müller', 'Rossi', 'Dubois', 'Nakamura', 'Kowalski', 'Silva', 'Novak',
  'Hansen', 'Okafor', 'Ivanova', 'Larsen', 'Moreau', 'Tanaka', 'Fischer', 'Costa', 'Berg', 'Weber'];
export const DOMAINS = ['example.org', 'example.net', 'example.com', 'mail.example', 'keys.test'];

const PREFS = [
  subpacket(11, Buffer.from([9, 8, 7])),
  subpacket(21, Buffer.from([8, 10, 9])),
  subpacket(30, Buffer.from([1])),
];

export interface GenOptions {
  seed: string;
  /** RSA key pool, shared by all keys (see rsaPool). */
  rsaPool: RsaMaterial[];
  /** Make some v6 keys (default true). SKS 1.1.6 aborts `sks build` on a v6 key, so SKS comparisons turn it off. */
  v6?: boolean;
}

export interface GeneratedKey {
  index: number;
  algo: GenAlgo | PublicAlgo;
  /** Upper-case hex fingerprint. */
  fingerprint: string;
  /** The key as one block, or part A of a split (duplicate) key. */
  block: Buffer;
  /** For a split key: the second copy (the other user ID), to be placed elsewhere in the dump. */
  partB?: Buffer;
}

export interface KeySpec {
  index: number;
  split: boolean;
  /** Third-party certifications on the first user ID (0 = not flooded). */
  floodCerts: number;
}

/** Which algorithm key `index` uses: mostly Ed25519 v4 like today's keyservers, some v6, P-256 and RSA. */
export function algoOf(seed: string, index: number, flooded: boolean, v6 = true): GenAlgo {
  if (flooded) return 'ed25519';
  const r = h256(seed, ':algo:', String(index)).readUInt16BE() % 100;
  if (r < 2) return 'rsa';
  if (r < 12) return 'p256';
  if (r < 27 && v6) return 'v6';
  return 'ed25519';
}

/** RSA-2048 pool derived from the seed (a few seconds to make; every RSA key in the dump reuses its material with
 * its own creation time, so fingerprints still differ). */
export function rsaPool(seed: string, size = 3): RsaMaterial[] {
  const rng = new Drbg(`${seed}:rsa-pool`);
  return Array.from({ length: size }, () => genRsa(2048, rng));
}

interface Material {
  primary: PubKey;
  signer: Signer;
  sub: PubKey;
}

function material(algo: GenAlgo, rng: Drbg, created: number, opts: GenOptions, index: number): Material {
  const t = u32(created);
  switch (algo) {
    case 'ed25519': {
      const { priv, pub } = pooledEdKey(opts.seed, index);
      const primary = pubKey(4, Buffer.concat([Buffer.from([4]), t, Buffer.from([22, OID_ED25519.length]), OID_ED25519,
        mpi(Buffer.concat([Buffer.from([0x40]), pub]))]));
      const xpub = x25519Pub(rng.bytes(32));
      const sub = pubKey(4, Buffer.concat([Buffer.from([4]), t, Buffer.from([18, OID_CV25519.length]), OID_CV25519,
        mpi(Buffer.concat([Buffer.from([0x40]), xpub])), KDF_SHA256_AES128]));
      const signer: Signer = {
        version: 4, algo: 22, fingerprint: primary.fingerprint, keyId: primary.keyId,
        signDigest: (digest) => {
          const s = sign(null, digest, priv);
          return Buffer.concat([mpi(s.subarray(0, 32)), mpi(s.subarray(32))]);
        },
      };
      return { primary, signer, sub };
    }
    case 'v6': {
      const { priv, pub } = pooledEdKey(opts.seed, index);
      const primary = pubKey(6, Buffer.concat([Buffer.from([6]), t, Buffer.from([27]), u32(32), pub]));
      const xpub = x25519Pub(rng.bytes(32));
      const sub = pubKey(6, Buffer.concat([Buffer.from([6]), t, Buffer.from([25]), u32(32), xpub]));
      const signer: Signer = {
        version: 6, algo: 27, fingerprint: primary.fingerprint, keyId: primary.keyId,
        signDigest: (digest) => sign(null, digest, priv),
      };
      return { primary, signer, sub };
    }
    case 'p256': {
      const k = p256Key(rng.bytes(32));
      const primary = pubKey(4, Buffer.concat([Buffer.from([4]), t, Buffer.from([19, OID_P256.length]), OID_P256, mpi(k.pub)]));
      const e = p256Key(rng.bytes(32));
      const sub = pubKey(4, Buffer.concat([Buffer.from([4]), t, Buffer.from([18, OID_P256.length]), OID_P256, mpi(e.pub),
        KDF_SHA256_AES128]));
      const signer: Signer = {
        version: 4, algo: 19, fingerprint: primary.fingerprint, keyId: primary.keyId,
        signDigest: (digest) => p256Sign(k.d, digest),
      };
      return { primary, signer, sub };
    }
    case 'rsa': {
      const pool = opts.rsaPool;
      const a = pool[index % pool.length]!;
      const b = pool[(index + 1) % pool.length]!;
      const rsaBody = (m: RsaMaterial) => Buffer.concat([Buffer.from([4]), t, Buffer.from([1]),
        mpi(bnBuf(m.n, 256)), mpi(bnBuf(m.e, 3))]);
      const primary = pubKey(4, rsaBody(a));
      const sub = pubKey(4, rsaBody(b));
      const signer: Signer = {
        version: 4, algo: 1, fingerprint: primary.fingerprint, keyId: primary.keyId,
        signDigest: (_digest, hashedData) => mpi(sign('sha256', hashedData, a.key)),
      };
      return { primary, signer, sub };
    }
  }
}

function uidText(rng: Drbg, index: number, n: number): Buffer {
  const f = FIRST[rng.int(FIRST.length)]!;
  const l = LAST[rng.int(LAST.length)]!;
  const d = DOMAINS[rng.int(DOMAINS.length)]!;
  const suffix = n === 0 ? '' : ` (work ${n})`;
  const mail = `${f.toLowerCase()}.${l.toLowerCase().replace('ü', 'ue')}${index}${n ? '-' + n : ''}@${d}`;
  return Buffer.from(`${f} ${l}${suffix} <${mail}>`, 'utf8');
}

/** Third-party signers for flooded keys (Ed25519 v4), derived from the seed. */
const floodSigners = new Map<string, Signer[]>();
export function floodSignerPool(seed: string): Signer[] {
  let pool = floodSigners.get(seed);
  if (!pool) {
    pool = Array.from({ length: 32 }, (_, i) => {
      const { priv, pub } = edKey(h256(seed, ':flood-signer:', String(i)));
      const body = Buffer.concat([Buffer.from([4]), u32(1400000000 + i), Buffer.from([22, OID_ED25519.length]), OID_ED25519,
        mpi(Buffer.concat([Buffer.from([0x40]), pub]))]);
      const k = pubKey(4, body);
      return {
        version: 4 as const, algo: 22, fingerprint: k.fingerprint, keyId: k.keyId,
        signDigest: (digest: Buffer) => {
          const s = sign(null, digest, priv);
          return Buffer.concat([mpi(s.subarray(0, 32)), mpi(s.subarray(32))]);
        },
      };
    });
    floodSigners.set(seed, pool);
  }
  return pool;
}

/** Builds key `spec.index` of the dump made with `opts.seed`. */
export function generateKey(spec: KeySpec, opts: GenOptions): GeneratedKey {
  const { index } = spec;
  const rng = new Drbg(`${opts.seed}:key:${index}`);
  const algo = algoOf(opts.seed, index, spec.floodCerts > 0, opts.v6 ?? true);
  const created = 1262304000 + rng.int(500_000_000); // 2010 .. 2025
  const m = material(algo, rng, created, opts, index);
  const salt = () => (m.primary.version === 6 ? rng.bytes(16) : undefined);
  const keyPkt = packet(6, m.primary.body);
  const keyPrefix = keyHashPrefix(m.primary);
  const uidCount = spec.split ? 2 : 1 + (rng.int(4) === 0 ? 1 : 0);
  const head: Buffer[] = [keyPkt];
  if (m.primary.version === 6) {
    head.push(signature(m.signer, 0x1f, created, keyPrefix, [subpacket(27, Buffer.from([0x03])), ...PREFS], salt()));
  }
  const uidBlocks: Buffer[] = [];
  for (let u = 0; u < uidCount; u++) {
    const uid = uidText(rng, index, u);
    const extra = [subpacket(27, Buffer.from([0x03])), ...PREFS];
    if (u === 0) extra.push(subpacket(25, Buffer.from([1])));
    const parts = [packet(13, uid), signature(m.signer, 0x13, created + u, Buffer.concat([keyPrefix, componentHashPrefix(13, uid)]), extra, salt())];
    if (u === 0 && spec.floodCerts > 0) {
      const signers = floodSignerPool(opts.seed);
      const data = Buffer.concat([keyPrefix, componentHashPrefix(13, uid)]);
      for (let c = 0; c < spec.floodCerts; c++) {
        parts.push(signature(signers[c % signers.length]!, 0x10, created + 60 + c, data, []));
      }
    }
    uidBlocks.push(Buffer.concat(parts));
  }
  const subPkt = packet(14, m.sub.body);
  const binding = signature(m.signer, 0x18, created, Buffer.concat([keyPrefix, keyHashPrefix(m.sub)]),
    [subpacket(27, Buffer.from([0x0c]))], salt());
  const fingerprint = m.primary.fingerprint.toString('hex').toUpperCase();
  if (spec.split) {
    return {
      index, algo, fingerprint,
      block: Buffer.concat([...head, uidBlocks[0]!, subPkt, binding]),
      partB: Buffer.concat([...head, ...uidBlocks.slice(1)]),
    };
  }
  return { index, algo, fingerprint, block: Buffer.concat([...head, ...uidBlocks, subPkt, binding]) };
}
