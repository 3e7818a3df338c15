// third_party_certs: attested against real attestations made by Sequoia (`sq key attest-certifications`, Debian's
// sq package): the certifications the key owner attested survive, one made after the attestation and a flood of
// forged future-dated ones do not, and an attestation of nothing (`--none`) withdraws them all. The digests are
// Sequoia's; our side only reads them.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  TAG, applyPolicy, canonicalizeKey, defaultSettings, fingerprintOf, keyIdOf, parseSignature, policyFromSettings,
  readPackets, splitKeys, toBinary, type Packet, type Policy,
} from '../../src/index.js';
import { certificationDigest } from '../../src/openpgp/attestations.js';
import { makeTempDir } from '../../../../test/support/tmp.js';

const dir = makeTempDir('attest-');
const sq = (...args: string[]) => execFileSync('sq', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const file = (name: string) => join(dir, name);
const UID = 'Alice <alice@example.org>';

let attested: Packet[]; // Bob's and Carol's certifications attested, Dave's made afterwards
let withdrawn: Packet[]; // then attested --none
let issuers: { bob: string; carol: string; dave: string };

/** sq writes armor; the keys are read as our store reads an upload. */
const packetsOf = (name: string) => readPackets(toBinary(readFileSync(file(name))));

function keyOf(name: string): Packet[] {
  return canonicalizeKey(splitKeys(packetsOf(name))[0]!);
}

function keyIdOfFile(name: string): string {
  const [primary] = splitKeys(packetsOf(name))[0]!;
  return keyIdOf(primary!.body, fingerprintOf(primary!.body));
}

before(() => {
  for (const who of ['alice', 'bob', 'carol', 'dave']) {
    const name = who[0]!.toUpperCase() + who.slice(1);
    sq('key', 'generate', '--userid', `${name} <${who}@example.org>`, '--export', `${who}.key`);
  }
  writeFileSync(file('by-bob.pgp'), sq('certify', 'bob.key', 'alice.key', UID));
  writeFileSync(file('by-carol.pgp'), sq('certify', 'carol.key', 'alice.key', UID));
  writeFileSync(file('alice-certified.key'), sq('keyring', 'merge', 'alice.key', 'by-bob.pgp', 'by-carol.pgp'));
  writeFileSync(file('alice-attested.key'), sq('key', 'attest-certifications', '--all', 'alice-certified.key'));
  writeFileSync(file('by-dave.pgp'), sq('certify', 'dave.key', 'alice.key', UID));
  writeFileSync(file('alice-all.key'), sq('keyring', 'merge', 'alice-attested.key', 'by-dave.pgp'));
  writeFileSync(file('alice.pgp'), sq('key', 'extract-cert', 'alice-all.key'));
  attested = keyOf('alice.pgp');
  // a later attestation of nothing (sq dates it a second later at least)
  execFileSync('sleep', ['1.1']);
  writeFileSync(file('alice-none.key'), sq('key', 'attest-certifications', '--none', 'alice-all.key'));
  writeFileSync(file('alice-none.pgp'), sq('key', 'extract-cert', 'alice-none.key'));
  withdrawn = keyOf('alice-none.pgp');
  for (const who of ['bob', 'carol', 'dave']) writeFileSync(file(`${who}.pgp`), sq('key', 'extract-cert', `${who}.key`));
  issuers = { bob: keyIdOfFile('bob.pgp'), carol: keyIdOfFile('carol.pgp'), dave: keyIdOfFile('dave.pgp') };
});

const policy = (rule: Policy['thirdPartyCerts']): Policy => ({ ...policyFromSettings(defaultSettings()), thirdPartyCerts: rule });

/** Issuer key IDs of the third-party certifications on the user ID, and the count of attestation signatures. */
function onUid(packets: Packet[]): { third: string[]; attestations: number } {
  const fp = fingerprintOf(packets[0]!.body);
  const keyId = keyIdOf(packets[0]!.body, fp);
  const at = packets.findIndex((p) => p.tag === TAG.USER_ID && p.body.toString() === UID);
  const third: string[] = [];
  let attestations = 0;
  for (let i = at + 1; i < packets.length && packets[i]!.tag === TAG.SIGNATURE; i++) {
    const info = parseSignature(packets[i]!.body, keyId, fp);
    if (info?.self && packets[i]!.body[1] === 0x16) attestations++;
    else if (info && !info.self) third.push(info.issuerKeyId);
  }
  return { third: third.sort(), attestations };
}

test('Sequoia lists our digest of each certification it attested (the digest rule is the same on both sides)', () => {
  const { third, attestations } = onUid(attested);
  assert.equal(attestations, 1);
  assert.equal(third.length, 3);
  // the attestation's digests, read raw: SHA-512 ones after the subpacket header
  const at = attested.findIndex((p) => p.tag === TAG.USER_ID && p.body.toString() === UID);
  const sigs = attested.slice(at + 1).filter((p, i, all) => all.slice(0, i + 1).every((q) => q.tag === TAG.SIGNATURE));
  const attestation = sigs.find((s) => s.body[1] === 0x16)!;
  const bob = sigs.find((s) => parseSignature(s.body, '', '')?.issuerKeyId === issuers.bob)!;
  const dave = sigs.find((s) => parseSignature(s.body, '', '')?.issuerKeyId === issuers.dave)!;
  const hex = attestation.body.toString('hex');
  assert.ok(hex.includes(certificationDigest(bob.body, attestation.body[3]!)!.toString('hex')), 'Bob\'s certification is listed');
  assert.ok(!hex.includes(certificationDigest(dave.body, attestation.body[3]!)!.toString('hex')), 'Dave\'s is not');
});

test('attested: the owner\'s attested certifications are kept; one made after the attestation is cut', () => {
  const out = applyPolicy(attested, policy('attested'));
  assert.ok(out.ok, out.ok ? '' : out.detail);
  const { third, attestations } = onUid(out.key);
  assert.deepEqual(third, [issuers.bob, issuers.carol].sort());
  assert.equal(attestations, 1, 'the attestation itself is kept');
  assert.deepEqual(out.cuts.map((c) => `${c.rule}:${c.packets}`), ['unattested-certs:1']);
  // the other rules keep all three
  const newest = applyPolicy(attested, policy('newest'));
  assert.ok(newest.ok);
  assert.equal(onUid(newest.key).third.length, 3);
});

test('attested: a flood of forged future-dated certifications pushes out nothing the owner attested', () => {
  const at = attested.findIndex((p) => p.tag === TAG.USER_ID && p.body.toString() === UID);
  const bob = attested.find((p) => p.tag === TAG.SIGNATURE && parseSignature(p.body, '', '')?.issuerKeyId === issuers.bob)!;
  const forged = Array.from({ length: 500 }, (_, i) => {
    const b = Buffer.from(bob.body);
    // re-date (creation time is the first hashed subpacket sq writes: 5-byte header + 4 bytes) and re-issue
    const hashedLen = b.readUInt16BE(4);
    for (let o = 6; o < 6 + hashedLen;) {
      const len = b[o]!;
      const type = b[o + 1]! & 0x7f;
      if (type === 2) b.writeUInt32BE(2_000_000_000 + i, o + 2);
      if (type === 16) randomBytes(8).copy(b, o + 2);
      o += 1 + len;
    }
    return { tag: TAG.SIGNATURE, body: b };
  });
  const flooded = canonicalizeKey([...attested.slice(0, at + 1), ...forged, ...attested.slice(at + 1)]);
  const tight: Policy = { ...policy('attested'), maxCertsPerUid: 2 };
  const out = applyPolicy(flooded, tight);
  assert.ok(out.ok);
  assert.deepEqual(onUid(out.key).third, [issuers.bob, issuers.carol].sort(), 'exactly the attested certifications');
  // under newest, the same flood leaves none of the genuine ones
  const newest = applyPolicy(flooded, { ...tight, thirdPartyCerts: 'newest' });
  assert.ok(newest.ok);
  assert.ok(!onUid(newest.key).third.includes(issuers.bob) && !onUid(newest.key).third.includes(issuers.carol));
});

test('attested: a newer attestation of nothing withdraws every certification, and the superseded attestation goes', () => {
  assert.equal(onUid(withdrawn).attestations, 2);
  const out = applyPolicy(withdrawn, policy('attested'));
  assert.ok(out.ok);
  const { third, attestations } = onUid(out.key);
  assert.deepEqual(third, []);
  assert.equal(attestations, 1, 'only the newest attestation stays');
  assert.ok(out.cuts.some((c) => c.rule === 'stale-attestations' && c.packets === 1), JSON.stringify(out.cuts));
});

test('attested: an attestation that does not verify attests nothing', () => {
  const broken = attested.map((p) => {
    if (p.tag !== TAG.SIGNATURE || p.body[1] !== 0x16) return p;
    const b = Buffer.from(p.body);
    b[b.length - 1]! ^= 0x01; // the signature value
    return { tag: p.tag, body: b };
  });
  const out = applyPolicy(broken, policy('attested'));
  assert.ok(out.ok);
  assert.deepEqual(onUid(out.key), { third: [], attestations: 0 });
});
