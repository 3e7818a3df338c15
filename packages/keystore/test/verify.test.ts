// The signature verifier against signatures node:crypto (OpenSSL) and GnuPG made: each algorithm verifies, a changed
// byte does not, hash tags tell which user ID a signature was made over, and the BigInt paths (keys OpenSSL will not
// take) agree with OpenSSL where both can run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { verify } from '../src/index.js';
import { makeKey, makeSig, HASH, type Algo, type HashName, type Key, type SigSpec } from './support/openpgp-builder.js';

const { readPublicKey, readSignature, verifySignature, hashTagMatches, onCurve, CURVES, RFC_VERIFY } = verify;

function material(k: Key): verify.PublicKeyMaterial {
  const read = readPublicKey(k.body);
  assert.ok(read.ok, read.ok ? '' : read.error);
  return read.key;
}

function sig(body: Buffer): verify.SignaturePacket {
  const read = readSignature(body);
  assert.ok(read.ok, read.ok ? '' : read.error);
  return read.sig;
}

const uid = Buffer.from('Verifier Test <verify@test.example>');
const other = Buffer.from('Someone Else <else@test.example>');

/** A key of `algo` with a self-certification of `uid` over `hash`, read back. */
function certified(algo: Algo, hash: HashName = 'sha256', spec: Partial<SigSpec> = {}) {
  const key = makeKey(algo, 1_500_000_000);
  const body = makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, hash, ...spec });
  return { key, pk: material(key), sig: sig(body) };
}

const ALGOS: Array<[string, Algo, HashName]> = [
  ['RSA-2048', { kind: 'rsa', bits: 2048 }, 'sha256'],
  ['RSA-1024 over SHA-1', { kind: 'rsa', bits: 1024 }, 'sha1'],
  ['DSA-1024/160', { kind: 'dsa', bits: 1024, qBits: 160 }, 'sha1'],
  ['DSA-2048/256 over SHA-512', { kind: 'dsa', bits: 2048, qBits: 256 }, 'sha512'],
  ['ECDSA P-256', { kind: 'ecdsa', curve: 'P-256' }, 'sha256'],
  ['ECDSA P-384', { kind: 'ecdsa', curve: 'P-384' }, 'sha384'],
  ['ECDSA P-521', { kind: 'ecdsa', curve: 'P-521' }, 'sha512'],
  ['ECDSA secp256k1', { kind: 'ecdsa', curve: 'secp256k1' }, 'sha256'],
  ['ECDSA brainpoolP256r1', { kind: 'ecdsa', curve: 'brainpoolP256r1' }, 'sha256'],
  ['ECDSA brainpoolP512r1', { kind: 'ecdsa', curve: 'brainpoolP512r1' }, 'sha512'],
  ['EdDSA (legacy Ed25519)', { kind: 'eddsa-legacy' }, 'sha256'],
  ['Ed25519', { kind: 'ed25519' }, 'sha3-256'],
  ['Ed448', { kind: 'ed448' }, 'sha512'],
];

for (const [name, algo, hash] of ALGOS) {
  test(`a ${name} self-certification made by node:crypto verifies, and not once one byte of its value changes`, () => {
    const good = certified(algo, hash);
    assert.equal(verifySignature(good.pk, good.pk, { kind: 'user-id', body: uid }, good.sig), true);
    assert.equal(verifySignature(good.pk, good.pk, { kind: 'user-id', body: other }, good.sig), false);
    const bad = certified(algo, hash, { tamper: { value: true } });
    assert.equal(verifySignature(bad.pk, bad.pk, { kind: 'user-id', body: uid }, bad.sig), false);
  });
}

test('the curve constants are the ones OpenSSL gives as explicit parameters, and a generated point lies on its curve', () => {
  for (const c of CURVES.filter((x) => x.kind === 'weierstrass')) {
    const { publicKey } = generateKeyPairSync('ec', {
      namedCurve: c.nodeName!, paramEncoding: 'explicit',
      publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    });
    const hex = publicKey.toString('hex');
    for (const v of [c.p!, c.a!, c.b!]) {
      const h = v.toString(16);
      assert.ok(hex.includes(h.length % 2 ? `0${h}` : h), `${c.name}: ${h.slice(0, 16)}... not in OpenSSL's parameters`);
    }
    const point = publicKey.subarray(publicKey.length - 1 - 2 * ((c.p!.toString(2).length + 7) >> 3));
    assert.equal(onCurve(c, point), true, c.name);
    const moved = Buffer.from(point);
    moved[moved.length - 1]! ^= 1;
    assert.equal(onCurve(c, moved), false, c.name);
  }
});

test('a third-party certification\'s hash tag matches the user ID it was made over and not another', () => {
  const signer = makeKey({ kind: 'ed25519' }, 1_500_000_000);
  const target = makeKey({ kind: 'rsa', bits: 1024 }, 1_500_000_100);
  const s = sig(makeSig({ signer, primary: target, target: { kind: 'uid', uid }, type: 0x10 }));
  const pk = material(target);
  assert.equal(hashTagMatches(pk, { kind: 'user-id', body: uid }, s), true);
  assert.equal(hashTagMatches(pk, { kind: 'user-id', body: other }, s), false);
});

test('a subkey binding verifies over its own subkey only, and its back-signature with the subkey', () => {
  const primary = makeKey({ kind: 'rsa', bits: 2048 }, 1_500_000_000);
  const subkey = makeKey({ kind: 'ecdsa', curve: 'P-256' }, 1_500_000_100);
  const another = makeKey({ kind: 'ecdsa', curve: 'P-256' }, 1_500_000_200);
  const back = makeSig({ signer: subkey, primary, target: { kind: 'subkey', subkey }, type: 0x19 });
  const binding = sig(makeSig({ signer: primary, primary, target: { kind: 'subkey', subkey }, type: 0x18, hashed: [Buffer.from([2, 27, 2]), Buffer.concat([Buffer.from([back.length + 1, 32]), back])] }));
  const [p, s, a] = [material(primary), material(subkey), material(another)];
  assert.equal(binding.signsFlag, true);
  assert.equal(verifySignature(p, p, { kind: 'subkey', key: s }, binding), true);
  assert.equal(verifySignature(p, p, { kind: 'subkey', key: a }, binding), false);
  assert.ok(binding.embedded);
  assert.equal(verifySignature(s, p, { kind: 'subkey', key: s }, binding.embedded), true);
  assert.equal(verifySignature(a, p, { kind: 'subkey', key: s }, binding.embedded), false);
});

test('RSA keys OpenSSL is not asked to take (768 bits, e = 3) are verified in BigInt, with the same answers', () => {
  for (const algo of [{ kind: 'rsa', bits: 768 }, { kind: 'rsa', bits: 1024, e: 3 }] as const) {
    const good = certified(algo, 'sha1');
    assert.equal(verifySignature(good.pk, good.pk, { kind: 'user-id', body: uid }, good.sig), true);
    const bad = certified(algo, 'sha1', { tamper: { value: true } });
    assert.equal(verifySignature(bad.pk, bad.pk, { kind: 'user-id', body: uid }, bad.sig), false);
  }
});

test('a v3 DSA certification over MD5 (which OpenSSL will not pair with DSA) is verified in BigInt', () => {
  const good = certified({ kind: 'dsa', bits: 1024, qBits: 160 }, 'md5', { version: 3 });
  assert.equal(good.sig.version, 3);
  assert.equal(verifySignature(good.pk, good.pk, { kind: 'user-id', body: uid }, good.sig), true);
  const bad = certified({ kind: 'dsa', bits: 1024, qBits: 160 }, 'md5', { version: 3, tamper: { value: true } });
  assert.equal(verifySignature(bad.pk, bad.pk, { kind: 'user-id', body: uid }, bad.sig), false);
});

test('an RSA signature over SHA3-256 verifies, unless told to judge as Go 1.23 does (no SHA-3 DigestInfo in crypto/rsa)', () => {
  const s = certified({ kind: 'rsa', bits: 2048 }, 'sha3-256');
  assert.equal(verifySignature(s.pk, s.pk, { kind: 'user-id', body: uid }, s.sig, RFC_VERIFY), true);
  assert.equal(verifySignature(s.pk, s.pk, { kind: 'user-id', body: uid }, s.sig, { rsaSha3: false }), false);
});

test('v4 signatures are verified whatever their hash tag, v3 ones only with the right tag (as go-crypto does)', () => {
  const v4 = certified({ kind: 'ed25519' }, 'sha256', { tamper: { hashTag: true } });
  assert.equal(verifySignature(v4.pk, v4.pk, { kind: 'user-id', body: uid }, v4.sig), true);
  const v3 = certified({ kind: 'rsa', bits: 1024 }, 'sha1', { version: 3, tamper: { hashTag: true } });
  assert.equal(verifySignature(v3.pk, v3.pk, { kind: 'user-id', body: uid }, v3.sig), false);
});

test('signatures go-crypto refuses to read are refused with its reason', () => {
  const key = makeKey({ kind: 'ed25519' }, 1_500_000_000);
  const made = (spec: Partial<SigSpec>) => readSignature(makeSig({ signer: key, primary: key, target: { kind: 'uid', uid }, type: 0x13, ...spec }));
  const reason = (r: ReturnType<typeof readSignature>) => (r.ok ? 'read' : r.error);
  assert.equal(reason(made({ hash: 'ripemd160' })), `hash function ${HASH.ripemd160}`);
  assert.equal(reason(made({ hash: 'md5' })), `hash function ${HASH.md5}`);
  assert.equal(reason(made({ hashed: [Buffer.from([3, 0x80 | 100, 1, 2])] })), 'unknown critical signature subpacket type 100');
  assert.equal(reason(made({ unhashed: [Buffer.from([3, 0x80 | 100, 1, 2])] })), 'read');
  assert.equal(reason(made({ hashed: [Buffer.from([2, 4, 0])] })), 'signature with non-exportable certification');
  assert.equal(reason(made({ hashedRaw: Buffer.alloc(0) })), 'no creation time in signature');
});

test('key packets go-crypto refuses to read are refused: v5, an unknown algorithm, an ECDSA point off its curve', () => {
  const ok = makeKey({ kind: 'ecdsa', curve: 'P-256' }, 1_500_000_000);
  assert.equal(readPublicKey(ok.body).ok, true);
  const off = Buffer.from(ok.body);
  off[off.length - 1]! ^= 1;
  const errorOf = (body: Buffer) => {
    const r = readPublicKey(body);
    return r.ok ? 'read' : r.error;
  };
  assert.equal(errorOf(off), 'point not on curve P256');
  assert.equal(errorOf(Buffer.concat([Buffer.from([5]), ok.body.subarray(1)])), 'v5 keys are not read');
  assert.equal(errorOf(Buffer.concat([ok.body.subarray(0, 5), Buffer.from([99]), ok.body.subarray(6)])), 'public key algorithm 99');
});
