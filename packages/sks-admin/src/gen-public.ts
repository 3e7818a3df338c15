// The `public` generator profile: keys shaped like the public SKS keydump (about 6 million keys in about 12 GB, so
// ~2 KB a key, mostly RSA and DSA/ElGamal, more user IDs and certifications than the default profile, a heavy tail).
// A loader's cost on such keys is in bytes as much as in keys, which the small default keys do not show.
//
// Like the default profile every key is a pure function of (seed, index) and a real, valid v4 key (SKS 1.1.6 reads
// no v6). What a key gets, drawn from its own deterministic streams:
//   primary algorithm (per mille; creation years):
//     RSA-2048 460 (2003-2023)            RSA-4096 60 (2008-2023)          DSA-1024 + ElGamal 270 (1998-2012)
//     DSA-2048/256 + ElGamal 50 (2008-15)  Ed25519 + Curve25519 130 (2015-23) ECDSA P-256 + ECDH 30 (2014-2023)
//     (the real dump has more RSA-4096, maybe 15%: each of its signatures costs four RSA-2048 ones, a quarter of the
//     generation time at 8%, and to a loader, which checks no signature, only its bytes matter);
//   user IDs: 1 (60%), 2 (25%), 3 (9%), 4-6 (5%), 7-12 (1%), each self-certified with GnuPG's usual subpackets;
//     3% of the keys with two or more also revoke one;
//   third-party certifications per user ID, heavy-tailed (certCount): none (74%), 1-3 (18%), 4-10 (5.6%), 11-40 (2%),
//     41-150 (0.36%), 151-500 (1 in 2500), made by signer keys of the same dump (signerPool);
//   a JPEG photo ID (user attribute of 1.5-30 KB, mostly under 5 KB) on 3% of the keys;
//   encryption subkeys: none (6%), one (82%), two (12%: the older one revoked or expired when the newer came);
//   a key revocation on 3% of the keys; a key expiration (1-5 years) on 12%, so most of those have expired.
// Measured on 5000 keys: mean ~2 KB, median ~1.6 KB, 99th percentile ~9 KB, the largest ~60 KB (a few hundred
// certifications); about 1.7 user IDs, 1.05 subkeys and 3.2 third-party certifications a key.
// The packets are in SKS's canonical order and written with SKS's packet headers, so a dump looks like one written by
// SKS and a store keeps every key as it is: nothing comes near the default policy limits (no packet over 32 KB, at
// most 500 third-party certifications on a user ID, keys far below max_key_bytes).
//
// Cost: signatures dominate. One signature costs (one core): RSA-2048 ~0.3 ms, RSA-4096 ~1.1 ms (a 4-prime modulus:
// the same public key, a CRT private operation ~3.5 times faster than with two primes), DSA-1024 ~0.08 ms (its
// modular power runs in OpenSSL, see powG), Ed25519 ~0.04 ms. A key costs ~1.5 ms of CPU in all (~0.75 ms RSA, ~0.3
// ms DSA, the rest hashing, buffers, GC), plus ~2.5 s per worker for the RSA pools. Certifications come mostly from
// DSA-1024 and Ed25519 signers for that reason.
import { packetOrder, writePackets } from '@sks/keystore';
import { sign, type KeyObject } from 'node:crypto';
import {
  Drbg, DOMAINS, FIRST, KDF_SHA256_AES128, LAST, OID_CV25519, OID_ED25519, OID_P256, bn, componentHashPrefix,
  floodSignerPool, h256, keyHashPrefix, mpi, newFormatLength, p256Key, p256Sign, pooledEdKey, pubKey, rsaPool,
  signatureBody, subpacket, u32,
  PUBLIC_ALGOS, type GenOptions, type GeneratedKey, type KeySpec, type PubKey, type PublicAlgo, type RsaMaterial, type Signer,
} from './gen-keys.js';
import {
  DSA_GROUPS, ELG_POOL, RFC5114_1024_160, RFC5114_2048_256, big, dsaSign, elgGroup, elgY, powG, rsa4096Pool, type ElgBits,
} from './gen-public-math.js';

export { PUBLIC_ALGOS, type PublicAlgo };
export { DSA_GROUPS, rsa4096Pool };

export interface PublicGenOptions extends GenOptions {
  /** RSA-4096 key pool, shared by all keys (see rsa4096Pool). */
  rsa4096Pool: RsaMaterial[];
}

const DAY = 86400;
const YEAR = 365 * DAY;
const utc = (year: number) => Date.UTC(year, 0, 1) / 1000;
/** Keys are created before this ... */
const LAST_CREATED = utc(2024);
/** ... and later self-signatures, revocations and certifications are made before about this (all in the past). */
const LAST_EVENT = utc(2025);
/** Key material comes from pools (RSA moduli, ElGamal values, Ed25519 keys), so two key packets differ by their
 * creation time alone. Creation times are congruent to the key's index modulo TICK (24 days), which keeps every
 * primary key and subkey of a dump of up to TICK keys distinct; random times would collide (a few in 300 000 keys). */
const TICK = 1 << 21;
/** For the test that a dump bigger than TICK keys still has no two keys alike. */
export const CREATION_TICK = TICK;

/** A dump bigger than TICK keys (the network's 6 million) would give keys i and i + TICK the same creation time now
 * and then (one chance in a few hundred) and, through the pools, the same key packet: ~700 Ed25519 primaries, and
 * RSA subkeys equal to another key's primary. So each era of TICK keys (index / TICK) takes its pooled material
 * (RSA moduli, Ed25519 keys, ElGamal values) from pools seeded for that era. Era 0 uses the seed's own pools, so the
 * keys of a dump of up to TICK keys are what they always were. */
function eraOf(index: number): number {
  return Math.floor(index / TICK);
}

function eraSeed(seed: string, index: number): string {
  const era = eraOf(index);
  return era === 0 ? seed : `${seed}:era${era}`;
}

const eraRsaPools = new Map<string, RsaMaterial[]>();
function rsaPoolOf(algo: 'rsa2048' | 'rsa4096', index: number, opts: PublicGenOptions): RsaMaterial[] {
  if (eraOf(index) === 0) return algo === 'rsa2048' ? opts.rsaPool : opts.rsa4096Pool;
  const seed = eraSeed(opts.seed, index);
  const id = `${seed}:${algo}`;
  let pool = eraRsaPools.get(id);
  if (!pool) {
    pool = algo === 'rsa2048' ? rsaPool(seed) : rsa4096Pool(seed);
    eraRsaPools.set(id, pool);
  }
  return pool;
}

const ALGOS: Array<{ algo: PublicAlgo; perMille: number; from: number; to: number }> = [
  { algo: 'rsa2048', perMille: 460, from: 2003, to: 2024 },
  { algo: 'rsa4096', perMille: 60, from: 2008, to: 2024 },
  { algo: 'dsa1024', perMille: 270, from: 1998, to: 2013 },
  { algo: 'dsa2048', perMille: 50, from: 2008, to: 2016 },
  { algo: 'ed25519', perMille: 130, from: 2015, to: 2024 },
  { algo: 'p256', perMille: 30, from: 2014, to: 2024 },
];

// ---------------------------------------------------------------------------------------------------------------
// Packets as SKS writes them: the key store's writePackets (old-format headers with the shortest length for tags
// below 16, a new-format header with a 5-byte length for user attributes).

function sksPacket(tag: number, body: Buffer): Buffer {
  return writePackets([{ tag, body }]);
}


// ---------------------------------------------------------------------------------------------------------------
// A key's head: what a certification by this key needs to know (algorithm, creation, whether it is revoked or
// expires), drawn from a stream of its own so that signer keys are cheap to rebuild.

export interface PublicHead {
  algo: PublicAlgo;
  created: number;
  revoked: boolean;
  /** Key expiration in seconds after creation, 0 = never. */
  expiresAfter: number;
}

export function publicHead(seed: string, index: number): PublicHead {
  const rng = new Drbg(`${seed}:public:${index}:head`);
  let r = rng.int(1000);
  const a = ALGOS.find((x) => (r -= x.perMille) < 0)!;
  const from = utc(a.from);
  const created = from + TICK * rng.int(Math.floor((Math.min(utc(a.to), LAST_CREATED) - from) / TICK)) + (index % TICK);
  const revoked = rng.int(1000) < 30;
  const expiresAfter = rng.int(100) < 12 ? YEAR + rng.int(4 * YEAR) : 0;
  return { algo: a.algo, created, revoked, expiresAfter };
}

interface Primary {
  key: PubKey;
  signer: Signer;
}

function v4Body(created: number, algo: number, ...fields: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([4]), u32(created), Buffer.from([algo]), ...fields]);
}

function rsaBody(created: number, m: RsaMaterial): Buffer {
  return v4Body(created, 1, mpi(big(m.n)), mpi(big(m.e)));
}

function signerOf(key: PubKey, algo: number, signDigest: Signer['signDigest']): Signer {
  return { version: 4, algo, fingerprint: key.fingerprint, keyId: key.keyId, signDigest };
}

function rsaSigner(key: PubKey, priv: KeyObject): Signer {
  return signerOf(key, 1, (_digest, hashedData) => mpi(sign('sha256', hashedData, priv)));
}

function primaryKey(seed: string, index: number, head: PublicHead, opts: PublicGenOptions): Primary {
  const t = head.created;
  switch (head.algo) {
    case 'rsa2048':
    case 'rsa4096': {
      const pool = rsaPoolOf(head.algo, index, opts);
      const m = pool[index % pool.length]!;
      const key = pubKey(4, rsaBody(t, m));
      return { key, signer: rsaSigner(key, m.key) };
    }
    case 'dsa1024':
    case 'dsa2048': {
      const grp = head.algo === 'dsa1024' ? RFC5114_1024_160 : RFC5114_2048_256;
      const x = (bn(h256(seed, ':dsa:', String(index))) % (grp.q - 1n)) + 1n;
      const key = pubKey(4, v4Body(t, 17, mpi(big(grp.p)), mpi(big(grp.q)), mpi(big(grp.g)), mpi(big(powG(grp, x)))));
      return { key, signer: signerOf(key, 17, (digest) => dsaSign(grp, x, digest)) };
    }
    case 'ed25519': {
      const { priv, pub } = pooledEdKey(eraSeed(seed, index), index);
      const key = pubKey(4, v4Body(t, 22, Buffer.from([OID_ED25519.length]), OID_ED25519,
        mpi(Buffer.concat([Buffer.from([0x40]), pub]))));
      return {
        key,
        signer: signerOf(key, 22, (digest) => {
          const s = sign(null, digest, priv);
          return Buffer.concat([mpi(s.subarray(0, 32)), mpi(s.subarray(32))]);
        }),
      };
    }
    case 'p256': {
      const k = p256Key(h256(seed, ':p256:', String(index)));
      const key = pubKey(4, v4Body(t, 19, Buffer.from([OID_P256.length]), OID_P256, mpi(k.pub)));
      return { key, signer: signerOf(key, 19, (digest) => p256Sign(k.d, digest)) };
    }
  }
}

/** An encryption subkey packet body matching the primary's family. */
function subkeyBody(algo: PublicAlgo, created: number, n: number, index: number, rng: Drbg, opts: PublicGenOptions): Buffer {
  switch (algo) {
    case 'rsa2048':
    case 'rsa4096': {
      const pool = rsaPoolOf(algo, index, opts);
      return rsaBody(created, pool[(index + 1 + n) % pool.length]!);
    }
    case 'dsa1024':
    case 'dsa2048': {
      // GnuPG paired DSA-1024 mostly with ElGamal-2048 (earlier 1024, some chose up to 4096)
      const r = rng.int(100);
      const bits: ElgBits = algo === 'dsa2048' ? (r < 70 ? 2048 : 3072) : r < 15 ? 1024 : r < 80 ? 2048 : r < 88 ? 3072 : 4096;
      const grp = elgGroup(bits);
      return v4Body(created, 16, mpi(big(grp.p)), mpi(big(grp.g)), mpi(big(elgY(eraSeed(opts.seed, index), bits, rng.int(ELG_POOL)))));
    }
    case 'ed25519': // any 32 bytes are an X25519 public key (RFC 7748 §5)
      return v4Body(created, 18, Buffer.from([OID_CV25519.length]), OID_CV25519,
        mpi(Buffer.concat([Buffer.from([0x40]), rng.bytes(32)])), KDF_SHA256_AES128);
    case 'p256':
      return v4Body(created, 18, Buffer.from([OID_P256.length]), OID_P256, mpi(p256Key(rng.bytes(32)).pub), KDF_SHA256_AES128);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Signers of third-party certifications: keys of the same dump (so a dump certifies itself like the real web of
// trust, and GnuPG can check every certification of a dump that holds the first few hundred keys). Chosen among the
// first keys that sign cheaply and are neither revoked nor expiring, a few of each kind; a popular few sign most.

type SignerKind = 'dsa' | 'rsa' | 'ed';
/** How many signers of each kind, and the share of certifications (per cent) each kind makes. */
const SIGNER_KINDS: Record<SignerKind, { count: number; percent: number }> = {
  dsa: { count: 48, percent: 55 },
  rsa: { count: 48, percent: 10 },
  ed: { count: 32, percent: 35 },
};

interface PoolSigner {
  index: number;
  head: PublicHead;
  /** Made on first use. */
  signer?: Signer;
}

function kindOf(algo: PublicAlgo): SignerKind | undefined {
  if (algo === 'dsa1024') return 'dsa'; // DSA-2048 signs at the cost of RSA-2048 with a fifth of the bytes
  if (algo === 'rsa2048') return 'rsa';
  if (algo === 'ed25519') return 'ed';
  return undefined;
}

const signerPools = new Map<string, Record<SignerKind, PoolSigner[]>>();

function signerPool(seed: string): Record<SignerKind, PoolSigner[]> {
  const cached = signerPools.get(seed);
  if (cached) return cached;
  const pool: Record<SignerKind, PoolSigner[]> = { dsa: [], rsa: [], ed: [] };
  const kinds = Object.keys(SIGNER_KINDS) as SignerKind[];
  // about a third of the keys qualify for each kind, so this stops within the first few hundred keys
  for (let j = 0; kinds.some((k) => pool[k].length < SIGNER_KINDS[k].count); j++) {
    const head = publicHead(seed, j);
    const kind = kindOf(head.algo);
    if (!kind || head.revoked || head.expiresAfter > 0 || pool[kind].length >= SIGNER_KINDS[kind].count) continue;
    pool[kind].push({ index: j, head });
  }
  signerPools.set(seed, pool);
  return pool;
}

/** The indexes of the keys that make the third-party certifications of a dump with this seed, ascending. */
export function publicSignerIndexes(seed: string): number[] {
  return Object.values(signerPool(seed)).flat().map((s) => s.index).sort((a, b) => a - b);
}

function pickSigner(pool: Record<SignerKind, PoolSigner[]>, rng: Drbg): PoolSigner {
  let r = rng.int(100);
  const kind = (Object.keys(SIGNER_KINDS) as SignerKind[]).find((k) => (r -= SIGNER_KINDS[k].percent) < 0)!;
  const list = pool[kind];
  const u = rng.int(65536) / 65536;
  return list[Math.floor(list.length * u * u)]!; // skewed: the first few signers of a kind make most certifications
}

/** Third-party certifications on one user ID: most none, a heavy tail up to a few hundred (mean ~1.7). */
function certCount(rng: Drbg): number {
  const r = rng.int(10000);
  if (r < 7400) return 0;
  if (r < 9200) return 1 + rng.int(3);
  if (r < 9760) return 4 + rng.int(7);
  if (r < 9960) return 11 + rng.int(30);
  if (r < 9996) return 41 + rng.int(110);
  return 151 + rng.int(350);
}

// ---------------------------------------------------------------------------------------------------------------
// User IDs, photo IDs, signatures

const COMMENTS = ['work', 'home', 'Debian', 'old key', 'signing only', 'Jabber', 'university', 'PGP Global Directory'];
const MORE_DOMAINS = [...DOMAINS, 'users.example', 'uni-example.edu', 'mail.example.de', 'example.co.uk'];

function uidCount(rng: Drbg): number {
  const r = rng.int(100);
  if (r < 60) return 1;
  if (r < 85) return 2;
  if (r < 94) return 3;
  if (r < 99) return 4 + rng.int(3);
  return 7 + rng.int(6);
}

function uidText(rng: Drbg, index: number, n: number): Buffer {
  const f = FIRST[rng.int(FIRST.length)]!;
  const l = LAST[rng.int(LAST.length)]!;
  const d = MORE_DOMAINS[rng.int(MORE_DOMAINS.length)]!;
  const mail = `${f.toLowerCase()}.${l.toLowerCase().replace('ü', 'ue')}${index}${n ? '.' + n : ''}@${d}`;
  const style = rng.int(100);
  if (style < 5) return Buffer.from(`${f} ${l}${n ? ' ' + n : ''}`, 'utf8');
  if (style < 10) return Buffer.from(`<${mail}>`, 'utf8');
  if (style < 30) return Buffer.from(`${f} ${l} (${COMMENTS[rng.int(COMMENTS.length)]}) <${mail}>`, 'utf8');
  return Buffer.from(`${f} ${l} <${mail}>`, 'utf8');
}

/** A user attribute with one JPEG image subpacket: a JFIF header, derived bytes, the end-of-image marker. Photo IDs
 * are mostly a few KB, a few much larger. */
function photoBody(rng: Drbg): Buffer {
  const r = rng.int(100);
  const size = r < 85 ? 1500 + rng.int(3500) : r < 98 ? 5000 + rng.int(7000) : 12000 + rng.int(18000);
  const jfif = Buffer.from('ffd8ffe000104a46494600010101004800480000', 'hex'); // SOI, APP0 "JFIF" 1.1, 72 dpi
  const jpeg = Buffer.concat([jfif, rng.bytes(size - jfif.length - 2), Buffer.from([0xff, 0xd9])]);
  // image header: length 16 (little-endian), version 1, format 1 = JPEG, 12 reserved zero bytes
  const image = Buffer.concat([Buffer.from([1, 0x10, 0x00, 0x01, 0x01]), Buffer.alloc(12), jpeg]);
  // A user attribute subpacket's length (RFC 9580 5.2.3.7): two octets would do up to 16319, but GnuPG switches to
  // five at 8384 like packet lengths, and openpgp.js hashes a user attribute re-encoded that way.
  return Buffer.concat([newFormatLength(image.length), image]);
}

/** The hashed subpackets GnuPG puts in a self-certification: flags, preferences, no-modify, primary user ID. */
function selfCertSubpackets(primary: boolean, expiresAfter: number): Buffer[] {
  return [
    ...(expiresAfter > 0 ? [subpacket(9, u32(expiresAfter))] : []),
    subpacket(27, Buffer.from([0x03])),
    subpacket(11, Buffer.from([9, 8, 7, 3, 2])),
    subpacket(21, Buffer.from([8, 2, 9, 10, 11])),
    subpacket(22, Buffer.from([2, 3, 1])),
    subpacket(30, Buffer.from([0x01])),
    subpacket(23, Buffer.from([0x80])),
    ...(primary ? [subpacket(25, Buffer.from([1]))] : []),
  ];
}

const REASONS = [
  [0, ''], [1, 'superseded by a new key'], [2, 'key material compromised'], [3, 'no longer used'],
] as const;
function reason(rng: Drbg, codes: readonly number[]): Buffer {
  const [code, text] = REASONS[codes[rng.int(codes.length)]!]!;
  return subpacket(29, Buffer.concat([Buffer.from([code]), Buffer.from(text, 'utf8')]));
}

interface Component {
  tag: number;
  body: Buffer;
  /** Signature packet bodies, in order. */
  sigs: Buffer[];
}

function writeComponents(list: Component[]): Buffer[] {
  return list.flatMap((c) => [sksPacket(c.tag, c.body), ...c.sigs.map((s) => sksPacket(2, s))]);
}

// ---------------------------------------------------------------------------------------------------------------
// Keys

/** Builds key `spec.index` of a public-profile dump made with `opts.seed`. */
export function generatePublicKey(spec: KeySpec, opts: PublicGenOptions): GeneratedKey {
  const { index } = spec;
  const { seed } = opts;
  const head = publicHead(seed, index);
  const me = primaryKey(seed, index, head, opts);
  const rng = new Drbg(`${seed}:public:${index}:body`);
  const { created, expiresAfter } = head;
  const keyPrefix = keyHashPrefix(me.key);
  const signers = signerPool(seed);

  // Later self-signatures (more user IDs, a photo, a new subkey) come within 4 years, or within a month on a key
  // that expires, so each is made while the key is valid; revocations come after all of them.
  const window = Math.min(expiresAfter > 0 ? 30 * DAY : 4 * YEAR, LAST_EVENT - created);
  const later = () => created + 1 + rng.int(window);
  /** A time after t, within `within` seconds and before LAST_EVENT where t leaves room. */
  const after = (t: number, within: number) => t + 1 + rng.int(Math.max(1, Math.min(within, LAST_EVENT - t)));
  let lastSelf = created;
  const selfSig = (type: number, t: number, data: Buffer, subs: Buffer[]) => {
    lastSelf = Math.max(lastSelf, t);
    return signatureBody(me.signer, type, t, data, subs);
  };

  const uids: Component[] = [];
  const nUids = spec.split ? Math.max(2, uidCount(rng)) : uidCount(rng);
  for (let u = 0; u < nUids; u++) {
    const body = uidText(rng, index, u);
    const t = u === 0 ? created : later();
    const data = Buffer.concat([keyPrefix, componentHashPrefix(13, body)]);
    const sigs = [selfSig(0x13, t, data, selfCertSubpackets(u === 0, expiresAfter))];
    // third-party certifications at increasing times after both keys exist, none by the key itself
    const n = certCount(rng);
    const span = Math.max(1, Math.min(6 * YEAR, LAST_EVENT - t));
    const times = Array.from({ length: n }, () => t + rng.int(span)).sort((a, b) => a - b);
    let prev = t;
    for (const time of times) {
      const s = pickSigner(signers, rng);
      const type = rng.int(100) < 80 ? 0x10 : rng.int(4) === 0 ? 0x12 : 0x13;
      if (s.index === index) continue;
      s.signer ??= primaryKey(seed, s.index, s.head, opts).signer;
      prev = Math.max(time, s.head.created + DAY, prev + 1);
      sigs.push(signatureBody(s.signer, type, prev, data, []));
    }
    if (u === 0 && spec.floodCerts > 0) {
      const flood = floodSignerPool(seed);
      for (let c = 0; c < spec.floodCerts; c++) sigs.push(signatureBody(flood[c % flood.length]!, 0x10, t + 60 + c, data, []));
    }
    uids.push({ tag: 13, body, sigs });
  }
  if (nUids >= 2 && rng.int(100) < 3) {
    // a user ID given up later: its revocation follows its self-certification
    const c = uids[nUids - 1]!;
    const t = after(lastSelf, YEAR);
    c.sigs.splice(1, 0, signatureBody(me.signer, 0x30, t, Buffer.concat([keyPrefix, componentHashPrefix(13, c.body)]),
      [reason(rng, [0, 3])]));
  }
  if (rng.int(1000) < 30) {
    const body = photoBody(rng);
    uids.push({ tag: 17, body, sigs: [selfSig(0x13, later(), Buffer.concat([keyPrefix, componentHashPrefix(17, body)]),
      selfCertSubpackets(false, expiresAfter))] });
  }

  const subkeys: Component[] = [];
  const r = rng.int(100);
  const nSubs = r < 6 ? 0 : r < 88 ? 1 : 2;
  // a whole number of TICKs after the first, so that it too keeps the index in its creation time
  const renewed = nSubs === 2 ? created + TICK * (1 + rng.int(Math.max(1, Math.floor(window / TICK)))) : 0;
  for (let n = 0; n < nSubs; n++) {
    const t = n === 0 ? created : renewed;
    const body = subkeyBody(head.algo, t, n, index, rng, opts);
    const data = Buffer.concat([keyPrefix, keyHashPrefix(pubKey(4, body))]);
    // the first of two subkeys was superseded when the second was made: revoked then, or expiring then
    const superseded = n === 0 && nSubs === 2;
    const retire = superseded ? rng.int(2) : -1;
    let expires = expiresAfter > 0 ? expiresAfter - (t - created) : 0;
    if (retire === 1) expires = renewed - t + rng.int(30 * DAY) + 1;
    const sigs = [selfSig(0x18, t, data, [...(expires > 0 ? [subpacket(9, u32(expires))] : []), subpacket(27, Buffer.from([0x0c]))])];
    if (retire === 0 || (nSubs === 1 && rng.int(100) < 2)) {
      const when = retire === 0 ? after(renewed, DAY) : after(lastSelf, YEAR);
      sigs.push(signatureBody(me.signer, 0x28, when, data, [reason(rng, [1, 2, 3])]));
    }
    subkeys.push({ tag: 14, body, sigs });
  }

  const direct: Buffer[] = [];
  if (head.revoked) {
    const t = after(lastSelf, 2 * YEAR);
    direct.push(signatureBody(me.signer, 0x20, t, keyPrefix, [reason(rng, [0, 1, 2, 3])]));
  }

  // SKS's canonical order, as a dump written by SKS has it
  uids.sort(packetOrder); // SKS's order of the components' own packets
  subkeys.sort(packetOrder);
  const top = [sksPacket(6, me.key.body), ...direct.map((s) => sksPacket(2, s))];
  const fingerprint = me.key.fingerprint.toString('hex').toUpperCase();
  if (spec.split) {
    return {
      index, algo: head.algo, fingerprint,
      block: Buffer.concat([...top, ...writeComponents([uids[0]!, ...subkeys])]),
      partB: Buffer.concat([...top, ...writeComponents(uids.slice(1))]),
    };
  }
  return { index, algo: head.algo, fingerprint, block: Buffer.concat([...top, ...writeComponents([...uids, ...subkeys])]) };
}
