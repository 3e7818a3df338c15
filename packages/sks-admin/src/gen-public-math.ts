// The public profile's key material that costs real arithmetic (gen-public.ts uses it): RSA-4096 moduli of four
// primes, the DSA groups of RFC 5114 with deterministic DSA signatures, and ElGamal public values in the MODP groups.
import { checkPrimeSync, createDiffieHellman, createPrivateKey, getDiffieHellman, type DiffieHellman } from 'node:crypto';
import { Drbg, bn, h256, modInv, mpi, type RsaMaterial } from './gen-keys.js';

/** Big-endian bytes of a non-negative integer, without leading zeros. */
export function big(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

// RSA-4096 pool: four 1024-bit primes per modulus. The public key is an ordinary 4096-bit RSA key; only the private
// operation (CRT over four primes, which OpenSSL supports) is cheaper. Primes are found by walking odd numbers from a
// derived start and testing with OpenSSL (checkPrimeSync), so the pool takes a fraction of a second, not minutes.

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
function derInt(v: bigint): Buffer {
  let b = big(v);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return Buffer.concat([Buffer.from([0x02]), derLength(b.length), b]);
}
function derSeq(parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

const E = 65537n;

function rsaPrime(bits: number, rng: Drbg): bigint {
  const b = rng.bytes(bits / 8);
  b[0]! |= 0xe0; // the top three bits set: four such primes make a modulus of the full 4096 bits
  b[b.length - 1]! |= 1;
  for (let c = bn(b); ; c += 2n) {
    if ((c - 1n) % E !== 0n && checkPrimeSync(c)) return c;
  }
}

function multiPrimeRsa(primes: number, bits: number, rng: Drbg): RsaMaterial {
  const ps: bigint[] = [];
  while (ps.length < primes) {
    const p = rsaPrime(bits / primes, rng);
    if (!ps.includes(p)) ps.push(p);
  }
  const n = ps.reduce((a, p) => a * p, 1n);
  const d = modInv(E, ps.reduce((a, p) => a * (p - 1n), 1n));
  const [p, q, ...others] = ps as [bigint, bigint, ...bigint[]];
  // RSAPrivateKey, version 1 (multi-prime) with otherPrimeInfos (RFC 8017 A.1.2)
  let product = p * q;
  const other = others.map((r) => {
    const info = derSeq([derInt(r), derInt(d % (r - 1n)), derInt(modInv(product, r))]);
    product *= r;
    return info;
  });
  const der = derSeq([derInt(1n), derInt(n), derInt(E), derInt(d), derInt(p), derInt(q), derInt(d % (p - 1n)),
    derInt(d % (q - 1n)), derInt(modInv(q, p)), derSeq(other)]);
  return { n, e: E, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs1' }) };
}

/** RSA-4096 pool derived from the seed (every RSA-4096 key reuses its material with its own creation time). */
export function rsa4096Pool(seed: string, size = 3): RsaMaterial[] {
  const rng = new Drbg(`${seed}:rsa4096-pool`);
  return Array.from({ length: size }, () => multiPrimeRsa(4, 4096, rng));
}


// ---------------------------------------------------------------------------------------------------------------
// DSA and ElGamal. DSA uses the published groups of RFC 5114 (2.1: 1024-bit p, 160-bit q; 2.3: 2048-bit p, 256-bit
// q; values as OpenSSL's dh_rfc5114 parameters print them) with the private x derived per key, and signs with a
// nonce derived from x and the digest (node's DSA signatures are random, which would break determinism). The
// modular powers g^x and g^k run in OpenSSL through a DiffieHellman object: setPrivateKey then generateKeys computes
// g^priv mod p (documented in node), ~5 times faster than BigInt. ElGamal subkeys use the MODP groups of RFC 2409 and
// RFC 3526 that node ships (g = 2); nobody decrypts, but y = g^x mod p is a real public value.

export interface Group {
  p: bigint;
  g: bigint;
  /** Order of g (DSA groups only). */
  q: bigint;
  dh: DiffieHellman;
}

function group(p: Buffer, g: Buffer, q = 0n): Group {
  return { p: bn(p), g: bn(g), q, dh: createDiffieHellman(p, g) };
}

/** g^e mod p in OpenSSL. */
export function powG(grp: Group, e: bigint): bigint {
  grp.dh.setPrivateKey(big(e));
  return bn(grp.dh.generateKeys());
}

export const RFC5114_1024_160 = group(
  Buffer.from('B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C013EC' +
    'B4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0A151AF5F0DC8B4BD45BF' +
    '37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371', 'hex'),
  Buffer.from('A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213160217' +
    'B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28AD662A4D18E73AFA32D779' +
    'D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5', 'hex'),
  0xF518AA8781A8DF278ABA4E7D64B7CB9D49462353n,
);

export const RFC5114_2048_256 = group(
  Buffer.from('87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA3016C3D9' +
    '1134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B6C5BFC11D45F9088B941F5' +
    '4EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0EF13C6D9A51BFA4AB3AD8347796524D8EF6A167' +
    'B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F263' +
    '75D7014103A4B54330C198AF126116D2276E11715F693877FAD7EF09CADB094AE91E1A1597', 'hex'),
  Buffer.from('3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555BE3A6C' +
    '1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B777DE62AAAB8A8628AC376' +
    'D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B' +
    '7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B52' +
    '3D1DB246C32F63078490F00EF8D647D148D47954515E2327CFEF98C582664B4C0F6CC41659', 'hex'),
  0x8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3n,
);

/** The DSA groups, for the test that checks they are what they claim (q prime, q | p-1, g of order q). */
export const DSA_GROUPS = { 1024: RFC5114_1024_160, 2048: RFC5114_2048_256 } as const;

export type ElgBits = 1024 | 2048 | 3072 | 4096;
const ELG_GROUP_NAMES: Record<ElgBits, string> = { 1024: 'modp2', 2048: 'modp14', 3072: 'modp15', 4096: 'modp16' };
const elgGroups = new Map<ElgBits, Group>();
export function elgGroup(bits: ElgBits): Group {
  let grp = elgGroups.get(bits);
  if (!grp) {
    const named = getDiffieHellman(ELG_GROUP_NAMES[bits]);
    grp = group(named.getPrime(), named.getGenerator());
    elgGroups.set(bits, grp);
  }
  return grp;
}

/** ElGamal public values from a pool of ELG_POOL per group and seed (a 4096-bit power costs ~1 ms; subkeys reuse
 * them with their own creation times, so fingerprints still differ). */
export const ELG_POOL = 256;
const elgPool = new Map<string, bigint>();
export function elgY(seed: string, bits: ElgBits, slot: number): bigint {
  const k = `${seed}:${bits}:${slot}`;
  let y = elgPool.get(k);
  if (y === undefined) {
    y = powG(elgGroup(bits), bn(h256(seed, ':elgamal:', String(bits), ':', String(slot))));
    elgPool.set(k, y);
  }
  return y;
}

export function dsaSign(grp: Group, x: bigint, digest: Buffer): Buffer {
  const qBytes = big(grp.q).length;
  const z = bn(digest.subarray(0, qBytes)); // the leftmost bits of the hash, as many as q has (FIPS 186-4 4.6)
  for (let ctr = 0; ; ctr++) {
    const k = (bn(h256(big(x), digest, String(ctr))) % (grp.q - 1n)) + 1n;
    const r = powG(grp, k) % grp.q;
    if (r === 0n) continue;
    const s = (modInv(k, grp.q) * ((z + x * r) % grp.q)) % grp.q;
    if (s === 0n) continue;
    return Buffer.concat([mpi(big(r)), mpi(big(s))]);
  }
}
