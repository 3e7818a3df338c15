// Which genuine certifications survive a flood of forged ones, under each third_party_certs rule. The forgeries are
// what anyone can make without a private key: a genuine certification of the same user ID re-dated into the future
// under another issuer — "naive" ones with the hash tag left as it was, "smart" ones with the tag recomputed (it is
// computed over public data). Measured on a real Debian key; the rules decide on the packets alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import {
  TAG, applyPolicy, canonicalizeKey, defaultSettings, parseSignature, policyFromSettings, readPackets, splitKeys,
  keyIdOf, fingerprintOf, verify, type Packet, type Policy,
} from '../src/index.js';
import { DEBIAN_KEYRING, keyBlocks } from '../../../test/support/keyrings.js';

const HASHES: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

/** A Debian key and one of its user IDs with at least 3 third-party v4 certifications. */
function subject(): { packets: Packet[]; uid: number; genuine: Packet[] } {
  for (const block of keyBlocks(readFileSync(DEBIAN_KEYRING))) {
    const packets = canonicalizeKey(splitKeys(readPackets(block))[0]!);
    const fp = fingerprintOf(packets[0]!.body);
    const keyId = keyIdOf(packets[0]!.body, fp);
    for (let i = 1; i < packets.length; i++) {
      if (packets[i]!.tag !== TAG.USER_ID) continue;
      const sigs: Packet[] = [];
      for (let j = i + 1; j < packets.length && packets[j]!.tag === TAG.SIGNATURE; j++) sigs.push(packets[j]!);
      const genuine = sigs.filter((s) => {
        const info = parseSignature(s.body, keyId, fp);
        return s.body[0] === 4 && info && !info.self && info.type >= 0x10 && info.type <= 0x13 && HASHES[s.body[3]!];
      });
      if (genuine.length >= 3) return { packets, uid: i, genuine };
    }
  }
  throw new Error('no Debian key with three third-party certifications on a user ID');
}

/** A genuine certification re-dated to `when` and given another issuer; with `smart`, its hash tag recomputed. */
function forge(primary: Packet, uid: Packet, genuine: Packet, when: number, smart: boolean): Packet {
  const b = Buffer.from(genuine.body);
  const hashedLen = b.readUInt16BE(4);
  for (let at = 6; at < 6 + hashedLen;) {
    const len = b[at]!; // subpacket lengths under 192 in these keys
    if ((b[at + 1]! & 0x7f) === 2) b.writeUInt32BE(when, at + 2);
    if ((b[at + 1]! & 0x7f) === 16) randomBytes(8).copy(b, at + 2);
    at += 1 + len;
  }
  const unhashedAt = 6 + hashedLen;
  const unhashedLen = b.readUInt16BE(unhashedAt);
  for (let at = unhashedAt + 2; at < unhashedAt + 2 + unhashedLen;) {
    const len = b[at]!;
    if ((b[at + 1]! & 0x7f) === 16) randomBytes(8).copy(b, at + 2);
    at += 1 + len;
  }
  if (smart) {
    const key = verify.readPublicKey(primary.body);
    const sig = verify.readSignature(b);
    assert.ok(key.ok && sig.ok);
    const data = verify.signedData(key.key, { kind: 'user-id', body: uid.body }, sig.sig);
    createHash(HASHES[b[3]!]!).update(data).digest().copy(b, unhashedAt + 2 + unhashedLen, 0, 2);
  }
  return { tag: TAG.SIGNATURE, body: b };
}

function survivors(rule: Policy['thirdPartyCerts'], smart: boolean): { genuine: number; forged: number; cut: string[] } {
  const { packets, uid, genuine } = subject();
  const future = 2_000_000_000; // 2033
  const forged = Array.from({ length: 50 }, (_, i) => forge(packets[0]!, packets[uid]!, genuine[i % genuine.length]!, future + i, smart));
  const flooded = canonicalizeKey([...packets.slice(0, uid + 1), ...forged, ...packets.slice(uid + 1)]);
  const policy: Policy = { ...policyFromSettings(defaultSettings()), maxCertsPerUid: genuine.length, thirdPartyCerts: rule };
  const out = applyPolicy(flooded, policy);
  assert.ok(out.ok, !out.ok ? out.detail : '');
  const kept = new Set(out.key.map((p) => p.body.toString('hex')));
  return {
    genuine: genuine.filter((g) => kept.has(g.body.toString('hex'))).length,
    forged: forged.filter((f) => kept.has(f.body.toString('hex'))).length,
    cut: out.cuts.map((c) => `${c.rule}:${c.packets}`),
  };
}

test('newest (default): a naive flood of future-dated forgeries pushes out every genuine certification', () => {
  const { genuine } = subject();
  const r = survivors('newest', false);
  assert.equal(r.genuine, 0, JSON.stringify(r));
  assert.equal(r.forged, genuine.length);
});

test('plausible: naive forgeries are dropped and every genuine certification survives', () => {
  const { genuine } = subject();
  const r = survivors('plausible', false);
  assert.equal(r.forged, 0, JSON.stringify(r));
  assert.equal(r.genuine, genuine.length, JSON.stringify(r));
  assert.ok(r.cut.some((c) => c.startsWith('implausible-sigs:')), JSON.stringify(r.cut));
});

test('plausible: forgeries with a recomputed hash tag still push the genuine ones out (what the rule cannot do)', () => {
  const r = survivors('plausible', true);
  assert.equal(r.genuine, 0, JSON.stringify(r));
});

test('none: no third-party certification is kept, genuine or forged; self-signatures stay', () => {
  const r = survivors('none', true);
  assert.equal(r.genuine, 0);
  assert.equal(r.forged, 0);
  assert.ok(r.cut.some((c) => c.startsWith('third-party-certs:')), JSON.stringify(r.cut));
  const { packets } = subject();
  const out = applyPolicy(packets, { ...policyFromSettings(defaultSettings()), thirdPartyCerts: 'none' });
  assert.ok(out.ok);
  const fp = fingerprintOf(packets[0]!.body);
  const keyId = keyIdOf(packets[0]!.body, fp);
  const selfBefore = packets.filter((p) => p.tag === TAG.SIGNATURE && parseSignature(p.body, keyId, fp)?.self).length;
  const selfAfter = out.key.filter((p) => p.tag === TAG.SIGNATURE && parseSignature(p.body, keyId, fp)?.self).length;
  assert.equal(selfAfter, selfBefore);
});

test('attested: without an attestation on the user ID no third-party certification is kept, forged or genuine (real attestations: integration/attestations.test.ts)', () => {
  const r = survivors('attested', true);
  assert.equal(r.genuine, 0);
  assert.equal(r.forged, 0);
  assert.ok(r.cut.some((c) => c.startsWith('unattested-certs:')), JSON.stringify(r.cut));
});

test('plausible keeps every signature of an untouched Debian key (nothing genuine is judged implausible)', () => {
  const policy: Policy = { ...policyFromSettings(defaultSettings()), thirdPartyCerts: 'plausible' };
  let keys = 0;
  let implausible = 0;
  for (const block of keyBlocks(readFileSync(DEBIAN_KEYRING)).slice(0, 150)) {
    const out = applyPolicy(canonicalizeKey(splitKeys(readPackets(block))[0]!), policy);
    if (!out.ok) continue;
    keys++;
    implausible += out.cuts.find((c) => c.rule === 'implausible-sigs')?.packets ?? 0;
  }
  assert.ok(keys > 100);
  assert.ok(implausible <= 2, `${implausible} signatures on ${keys} untouched keys judged implausible`);
});

/** A self-signature of the user ID, re-dated to `when` with its hash tag recomputed: it names the primary key as
 * issuer and looks right to anyone who does not verify it. */
function forgeSelf(packets: Packet[], uid: number, when: number): Packet {
  const fp = fingerprintOf(packets[0]!.body);
  const keyId = keyIdOf(packets[0]!.body, fp);
  let selfSig: Packet | undefined;
  for (let j = uid + 1; j < packets.length && packets[j]!.tag === TAG.SIGNATURE; j++) {
    const info = parseSignature(packets[j]!.body, keyId, fp);
    if (info?.self && packets[j]!.body[0] === 4 && HASHES[packets[j]!.body[3]!]) selfSig = packets[j];
  }
  assert.ok(selfSig, 'a v4 self-signature on the user ID');
  const b = Buffer.from(selfSig.body);
  const hashedLen = b.readUInt16BE(4);
  for (let at = 6; at < 6 + hashedLen;) {
    const len = b[at]!;
    if ((b[at + 1]! & 0x7f) === 2) b.writeUInt32BE(when, at + 2);
    at += 1 + len;
  }
  const key = verify.readPublicKey(packets[0]!.body);
  const sig = verify.readSignature(b);
  assert.ok(key.ok && sig.ok);
  const data = verify.signedData(key.key, { kind: 'user-id', body: packets[uid]!.body }, sig.sig);
  const unhashedAt = 6 + hashedLen;
  createHash(HASHES[b[3]!]!).update(data).digest().copy(b, unhashedAt + 2 + b.readUInt16BE(unhashedAt), 0, 2);
  return { tag: TAG.SIGNATURE, body: b };
}

test('verify_self_signatures: forged self-signatures are dropped (the flood cap never counts them); off, they all stay', () => {
  const { packets, uid } = subject();
  const forged = Array.from({ length: 300 }, (_, i) => forgeSelf(packets, uid, 2_000_000_000 + i));
  const flooded = canonicalizeKey([...packets.slice(0, uid + 1), ...forged, ...packets.slice(uid + 1)]);
  const base: Policy = { ...policyFromSettings(defaultSettings()), maxCertsPerUid: 5 };
  const kept = (out: ReturnType<typeof applyPolicy>) => {
    assert.ok(out.ok, out.ok ? '' : out.detail);
    const bodies = new Set(out.key.map((p) => p.body.toString('hex')));
    return forged.filter((f) => bodies.has(f.body.toString('hex'))).length;
  };
  assert.equal(kept(applyPolicy(flooded, base)), forged.length, 'without verification every forgery is kept');
  const verified = applyPolicy(flooded, { ...base, verifySelfSignatures: true });
  assert.equal(kept(verified), 0);
  assert.ok(verified.ok);
  assert.deepEqual(verified.cuts.find((c) => c.rule === 'forged-self-sigs')?.packets, forged.length);
  // what was genuine is all there
  const clean = applyPolicy(packets, { ...base, verifySelfSignatures: true });
  assert.ok(clean.ok);
  assert.equal(clean.cuts.find((c) => c.rule === 'forged-self-sigs'), undefined);
});

test('verify_self_signatures keeps every self-signature of Debian\'s keyring (RIPEMD-160 and v3 ones included)', () => {
  const policy: Policy = { ...policyFromSettings(defaultSettings()), verifySelfSignatures: true };
  let keys = 0;
  let dropped = 0;
  for (const block of keyBlocks(readFileSync(DEBIAN_KEYRING))) {
    const out = applyPolicy(canonicalizeKey(splitKeys(readPackets(block))[0]!), policy);
    if (!out.ok) continue;
    keys++;
    dropped += out.cuts.find((c) => c.rule === 'forged-self-sigs')?.packets ?? 0;
  }
  assert.equal(keys, 905);
  assert.equal(dropped, 0, `${dropped} self-signatures of ${keys} untouched keys judged forged`);
});
