// The OpenPGP core against real keys and independent implementations: SKS's own digests (vectors from real SKS),
// openpgp.js for fingerprints and key IDs, and SKS's merge rules for split copies of a key. (GnuPG's view, which
// needs GnuPG running, is in integration/gnupg.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import {
  readPackets, writePackets, PacketError, dearmor, armor, armorBytes, armorFrame, armorInto, armoredLength, toBinary, ArmorError, splitKeys, describeKey, crc24,
  canonicalizeKey, mergeKeys, keyParts, flattenParts, sksDigest, applyPolicy, TAG, type Packet, type Policy,
} from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';
import { RECON_VECTORS } from '../../../test/support/fixtures.js';

const VECTORS = join(RECON_VECTORS, 'debian-keyring-sks-digests.json');
const keyring = readFileSync(DEBIAN_KEYRING);
const keys = splitKeys(readPackets(keyring));

const LOOSE: Policy = {
  maxKeyBytes: 4 << 20, maxInputKeyBytes: 64 << 20, maxPacketBytes: 1 << 20, maxCertsPerUid: 1000, dropUserAttributes: false,
};

test('every SKS digest vector matches: 905 debian-keyring keys canonicalized and digested as SKS 1.1.6 did', () => {
  const vectors = JSON.parse(readFileSync(VECTORS, 'utf8')).vectors as Array<{ fingerprint: string; sks_hash: string }>;
  assert.equal(vectors.length, 905);
  const ours = new Map<string, string>();
  for (const k of keys) {
    const c = canonicalizeKey(k);
    ours.set(describeKey(c).fingerprint, sksDigest(c).toString('hex'));
  }
  let matched = 0;
  for (const v of vectors) {
    assert.equal(ours.get(v.fingerprint.toUpperCase()), v.sks_hash.toLowerCase(), `digest of ${v.fingerprint}`);
    matched++;
  }
  assert.equal(matched, 905);
});

test('default policy leaves every debian-keyring key untouched, the largest included', () => {
  let largest = 0;
  for (const k of keys) {
    const c = canonicalizeKey(k);
    const out = applyPolicy(c, LOOSE);
    assert.ok(out.ok, 'accepted');
    assert.deepEqual(out.cuts, []);
    assert.equal(out.key, c);
    largest = Math.max(largest, writePackets(c).length);
  }
  assert.ok(largest > 300_000, `largest key ${largest} bytes`);
});

test('packets written back are byte-identical to the keyring for keys GnuPG wrote in old format', () => {
  // Debian's keyring is written by GnuPG with the same header choices SKS makes for these sizes.
  const blocks = keyBlocks(keyring);
  let identical = 0;
  for (const b of blocks) if (writePackets(readPackets(b)).equals(b)) identical++;
  assert.ok(identical > blocks.length * 0.9, `${identical} of ${blocks.length} identical`);
  // And the rewritten stream always parses to the same packets.
  for (const b of blocks.slice(0, 50)) {
    const p = readPackets(b);
    assert.deepEqual(readPackets(writePackets(p)).map((x) => [x.tag, x.body.toString('hex')]), p.map((x) => [x.tag, x.body.toString('hex')]));
  }
});

test('every length form of RFC 9580 §4.2 is read, and partial and indeterminate lengths are refused in keys', () => {
  const body = Buffer.alloc(700, 7); // 700 = 0x02bc
  const forms = {
    'new, two octets': [0xc0 | 13, ((700 - 192) >> 8) + 192, (700 - 192) & 0xff],
    'new, five octets': [0xc0 | 13, 0xff, 0, 0, 0x02, 0xbc],
    'old, two octets': [0x80 | (13 << 2) | 1, 0x02, 0xbc],
    'old, four octets': [0x80 | (13 << 2) | 2, 0, 0, 0x02, 0xbc],
  };
  // each followed by the one-octet forms, new ("ab") and old ("c")
  const shortOnes = Buffer.from([0xc0 | 13, 2, 0x61, 0x62, 0x80 | (13 << 2), 1, 0x63]);
  for (const [form, header] of Object.entries(forms)) {
    const packets = readPackets(Buffer.concat([Buffer.from(header), body, shortOnes]));
    const want = [[13, body.toString('latin1')], [13, 'ab'], [13, 'c']];
    assert.deepEqual(packets.map((p) => [p.tag, p.body.toString('latin1')]), want, form);
  }
  // A partial body length (512 octets, then a final 188) is for data packets only (§4.2.1.4); SKS 1.1.6 and GnuPG
  // refuse it in keys.
  const partial = Buffer.concat([Buffer.from([0xc0 | 13, 0xe9]), body.subarray(0, 512), Buffer.from([188]), body.subarray(512)]);
  const refused = (why: RegExp) => (e: unknown) => e instanceof PacketError && why.test(e.message);
  assert.throws(() => readPackets(partial), refused(/tag 13 has a partial body length/));
  const indeterminate = Buffer.concat([Buffer.from([0x80 | (13 << 2) | 3]), body]);
  assert.throws(() => readPackets(indeterminate), refused(/tag 13 has an indeterminate length/));
});

test('truncated and garbage packet streams throw PacketError', () => {
  const block = keyBlocks(keyring)[0]!;
  assert.throws(() => readPackets(block.subarray(0, block.length - 3)), PacketError);
  assert.throws(() => readPackets(Buffer.from('hello world')), PacketError);
});

test('armor round-trips, checks the CRC and finds every block in a text', () => {
  const a = keyBlocks(keyring)[1]!;
  const b = keyBlocks(keyring)[2]!;
  const text = `junk before\n${armor(a, 'PUBLIC KEY BLOCK', { Comment: 'x' })}between\n${armor(b)}`;
  const blocks = dearmor(text);
  assert.equal(blocks.length, 2);
  assert.ok(blocks[0]!.equals(a) && blocks[1]!.equals(b));
  assert.ok(toBinary(text).equals(Buffer.concat([a, b])));
  assert.ok(toBinary(a).equals(a));
  const broken = armor(a).replace(/\n=(....)\n/, '\n=AAAA\n');
  assert.throws(() => dearmor(broken), ArmorError);
  assert.throws(() => toBinary('no key here'), ArmorError);
});

test('armor we write is read by openpgp.js and yields the same fingerprint', async () => {
  const block = keyBlocks(keyring)[3]!;
  const key = await openpgp.readKey({ armoredKey: armor(block) });
  assert.equal(key.getFingerprint().toUpperCase(), describeKey(readPackets(block)).fingerprint);
});

test('fingerprints and key IDs of primary keys and subkeys agree with openpgp.js', async () => {
  for (const k of keys.slice(0, 120)) {
    const info = describeKey(k);
    const theirs = await openpgp.readKey({ binaryKey: writePackets(k) });
    assert.equal(info.fingerprint, theirs.getFingerprint().toUpperCase());
    assert.equal(info.keyId, theirs.getKeyID().toHex().toUpperCase());
    const subs = theirs.getSubkeys().map((s) => s.getFingerprint().toUpperCase()).sort();
    assert.deepEqual(info.subkeys.map((s) => s.fingerprint).sort(), subs);
  }
});

/** Splits a canonical key into two overlapping copies (every component in one or both, signatures spread). */
function splitCopies(k: Packet[]): [Packet[], Packet[]] {
  const a: Packet[] = [k[0]!];
  const b: Packet[] = [k[0]!];
  let n = 0;
  let comp: 'a' | 'b' | 'both' = 'both';
  for (const p of k.slice(1)) {
    if (p.tag === TAG.SIGNATURE) {
      n++;
      if (comp === 'a' || (comp === 'both' && n % 2 === 0)) a.push(p);
      else b.push(p);
      if (comp === 'both' && n % 3 === 0) (n % 2 === 0 ? b : a).push(p); // some signatures in both copies
    } else {
      comp = n % 3 === 0 ? 'both' : n % 3 === 1 ? 'a' : 'b';
      if (comp !== 'b') a.push(p);
      if (comp !== 'a') b.push(p);
      n++;
    }
  }
  return [a, b];
}

test('merging split copies of a key gives the whole key (same digest, same packet multiset)', () => {
  let merged = 0;
  for (const k of keys) {
    const whole = canonicalizeKey(k);
    if (whole.length < 6) continue;
    const [a, b] = splitCopies(whole);
    const m = mergeKeys(canonicalizeKey(a), canonicalizeKey(b));
    assert.equal(sksDigest(m).toString('hex'), sksDigest(whole).toString('hex'), describeKey(whole).fingerprint);
    // merging is idempotent and commutative in content
    assert.equal(sksDigest(mergeKeys(m, whole)).toString('hex'), sksDigest(whole).toString('hex'));
    assert.equal(sksDigest(mergeKeys(canonicalizeKey(b), canonicalizeKey(a))).toString('hex'), sksDigest(whole).toString('hex'));
    merged++;
  }
  assert.ok(merged > 800);
});

test('canonicalization drops duplicate packets and trust packets, and refuses what SKS cannot parse', () => {
  const k = canonicalizeKey(keys[5]!);
  const parts = keyParts(k);
  const dup = flattenParts({
    ...parts,
    selfsigs: [...parts.selfsigs, ...parts.selfsigs],
    uids: [parts.uids[0]!, ...parts.uids, { packet: { tag: TAG.TRUST, body: Buffer.from([0, 0]) }, sigs: [] }],
  });
  assert.ok(dup.length > k.length + 2);
  assert.equal(sksDigest(canonicalizeKey(dup)).toString('hex'), sksDigest(k).toString('hex'));
  const uidAfterSubkey = [...k, { tag: TAG.USER_ID, body: Buffer.from('late <x@y>') }];
  if (k.some((p) => p.tag === TAG.PUBLIC_SUBKEY)) assert.throws(() => canonicalizeKey(uidAfterSubkey), /unexpected packet/);
});

test('policy refuses secret keys and unsupported versions, and cuts oversized packets deterministically', () => {
  const k = canonicalizeKey(keys[7]!);
  const secret = [{ tag: TAG.SECRET_KEY, body: k[0]!.body }, ...k.slice(1)];
  const r = applyPolicy(secret, LOOSE);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, 'secret-key');
  const v5 = [{ tag: TAG.PUBLIC_KEY, body: Buffer.concat([Buffer.from([5]), k[0]!.body.subarray(1)]) }];
  const r5 = applyPolicy(v5, LOOSE);
  assert.equal(!r5.ok && r5.reason, 'unsupported-version');
  const big = [...k.slice(0, 1), { tag: TAG.USER_ID, body: Buffer.alloc(3000, 65) }, ...k.slice(1)];
  const cut = applyPolicy(canonicalizeKey(big), { ...LOOSE, maxPacketBytes: 2048 });
  assert.ok(cut.ok);
  assert.equal(cut.ok && cut.cuts[0]!.rule, 'packet-too-large');
  assert.equal(cut.ok && sksDigest(cut.key).toString('hex'), sksDigest(k).toString('hex'));
});

test('policy keeps self-signatures and the newest third-party certifications on a flooded user ID', () => {
  // The largest debian key has many third-party certifications; cap them hard and check what stays.
  const k = keys.map((x) => canonicalizeKey(x)).sort((a, b) => b.length - a.length)[0]!;
  const info = describeKey(k);
  const cap = 3;
  const out = applyPolicy(k, { ...LOOSE, maxCertsPerUid: cap });
  assert.ok(out.ok);
  if (!out.ok) return;
  const after = describeKey(out.key);
  assert.equal(after.userIds.length, info.userIds.length);
  for (const [i, u] of after.userIds.entries()) {
    const before = info.userIds[i]!;
    assert.equal(u.signatures.filter((s) => s.self).length, before.signatures.filter((s) => s.self).length);
    const third = u.signatures.filter((s) => !s.self);
    assert.ok(third.length <= cap);
    const newestBefore = before.signatures.filter((s) => !s.self).map((s) => s.created).sort((a, b) => b - a).slice(0, cap);
    assert.deepEqual(third.map((s) => s.created).sort((a, b) => b - a), newestBefore);
  }
  assert.equal(out.cuts[0]!.rule, 'certs-per-uid');
  // Same input, same output: the digest does not depend on anything but the packets.
  const parts = keyParts(k);
  for (const u of parts.uids) u.sigs.reverse();
  const again = applyPolicy(flattenParts(parts), { ...LOOSE, maxCertsPerUid: cap });
  assert.ok(again.ok);
  assert.equal(again.ok && sksDigest(again.key).toString('hex'), sksDigest(out.key).toString('hex'));
});

test('v6 keys (RFC 9580) are described with their 64-hex fingerprint and leading key ID', async () => {
  const { publicKey } = await openpgp.generateKey({
    type: 'curve25519', userIDs: [{ name: 'V Six', email: 'v6@example.org' }], format: 'binary', config: { v6Keys: true },
  });
  const parsed = await openpgp.readKey({ binaryKey: publicKey });
  const packets = readPackets(Buffer.from(publicKey));
  const k = canonicalizeKey(splitKeys(packets)[0]!);
  const info = describeKey(k);
  assert.equal(info.version, 6);
  assert.equal(info.fingerprint, parsed.getFingerprint().toUpperCase());
  assert.equal(info.fingerprint.length, 64);
  assert.equal(info.keyId, info.fingerprint.slice(0, 16));
  assert.equal(info.userIds[0]!.text, 'V Six <v6@example.org>');
  assert.ok(applyPolicy(k, LOOSE).ok);
});

test('CRC-24 four bytes at a time equals the RFC 9580 §6.1 bit-by-bit definition, at every length modulo 4', () => {
  const reference = (data: Uint8Array): number => {
    let crc = 0xb704ce;
    for (const byte of data) {
      crc ^= byte << 16;
      for (let i = 0; i < 8; i++) {
        crc <<= 1;
        if (crc & 0x1000000) crc ^= 0x1864cfb;
      }
    }
    return crc & 0xffffff;
  };
  for (const len of [0, 1, 2, 3, 4, 5, 6, 7, 8, 63, 64, 65, 1000, 30001]) {
    const data = randomBytes(len);
    assert.equal(crc24(data), reference(data), `length ${len}`);
  }
  // our armor carries the checksum line, and reading it back verifies it
  const armored = armor(Buffer.from('hello'));
  assert.match(armored, /\n=[A-Za-z0-9+/]{4}\n/);
  assert.deepEqual(dearmor(armored)[0], Buffer.from('hello'));
});

test('armorBytes writes the very bytes of armor(): every length around a line end and an encoding step, every key of the keyring', () => {
  const headers = { Comment: 'Hostname: keys.example.org' };
  const frame = armorFrame('PUBLIC KEY BLOCK', headers);
  // armorBytes encodes 12,288 bytes (256 lines) at a time: lengths on both sides of one and of several steps
  const steps = [12288, 3 * 12288, 300000].flatMap((n) => [n - 49, n - 1, n, n + 1, n + 47, n + 48]);
  const cases = [...Array.from({ length: 200 }, (_, n) => randomBytes(n)), randomBytes(30001), ...steps.map((n) => randomBytes(n)), ...keys.slice(0, 300).map((k) => writePackets(k))];
  for (const data of cases) {
    const want = Buffer.from(armor(data, 'PUBLIC KEY BLOCK', headers), 'latin1');
    assert.deepEqual(armorBytes(data, frame), want, `length ${data.length}`);
    assert.deepEqual(armorBytes(data, frame, crc24(data)), want, `length ${data.length}, checksum given`);
    // into a larger buffer at an offset (sks-db writes a reply's head before it): exactly armoredLength bytes there,
    // nothing around them touched
    assert.equal(armoredLength(data.length, frame), want.length, `length ${data.length}: armoredLength`);
    const out = Buffer.alloc(want.length + 40, 0xee);
    assert.equal(armorInto(data, out, 17, frame, crc24(data)), 17 + want.length);
    assert.deepEqual(out.subarray(17, 17 + want.length), want, `length ${data.length}, written at 17`);
    assert.ok(out.subarray(0, 17).every((b) => b === 0xee) && out.subarray(17 + want.length).every((b) => b === 0xee));
  }
  // a header that is not ASCII is sent as UTF-8
  const utf8 = { Comment: 'Hostname: schlüssel.example' };
  assert.deepEqual(armorBytes(Buffer.from('hello'), armorFrame('PUBLIC KEY BLOCK', utf8)), Buffer.from(armor(Buffer.from('hello'), 'PUBLIC KEY BLOCK', utf8), 'utf8'));
});
