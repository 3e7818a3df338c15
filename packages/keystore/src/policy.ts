// Flooded-key defence (CVE-2019-13050) and other refusals, applied on every path (load, add, recon).
// Every cut keeps the packet order and depends only on the key's packets, so two servers with the same policy
// store the same packets and compute the same digest (recon converges between them).
import { TAG, type Packet } from './openpgp/types.js';
import { keyIdOf, fingerprintOf, parseSignature } from './openpgp/key.js';
import { keyParts, flattenParts, KeyStructureError } from './openpgp/merge.js';
import { PacketError } from './openpgp/packet.js';
import { hashTagMatches, readPublicKey, readSignature, verifySignature, type SignedTarget } from './openpgp/verify/index.js';
import { ATTESTATION_KEY_SIGNATURE, judgeAttestations } from './openpgp/attestations.js';
import type { Settings } from './config/settings.js';

export interface Policy {
  maxKeyBytes: number;
  maxInputKeyBytes: number;
  maxPacketBytes: number;
  maxCertsPerUid: number;
  dropUserAttributes: boolean;
  /** Which third-party certifications a user ID keeps (setting third_party_certs); 'newest' when absent. */
  thirdPartyCerts?: ThirdPartyCertRule;
  /** Characters of user-ID text indexed for word search per key (setting word_index_max_chars). Not a cut: the
   * key is stored whole, only search reads less of it. */
  wordIndexMaxChars?: number;
  /** Drop self-signatures (issued by the primary key) that fail cryptographic verification (setting
   * verify_self_signatures). */
  verifySelfSignatures?: boolean;
  /** Recon profiles whose digest sets the store keeps (setting recon_profiles); only `sks` when absent. Every
   * writer must name the same ones, or the sets it does not know of fall behind (see store/profile-forms.ts). */
  reconProfiles?: readonly string[];
}

/** The rules of setting third_party_certs (see its doc in config/settings.ts). */
export type ThirdPartyCertRule = 'newest' | 'plausible' | 'none' | 'attested';
const CERT_RULES: readonly ThirdPartyCertRule[] = ['newest', 'plausible', 'none', 'attested'];

export function policyFromSettings(s: Settings): Policy {
  if (!(CERT_RULES as readonly string[]).includes(s.third_party_certs)) {
    throw new Error(`third_party_certs is one of ${CERT_RULES.join(', ')}, not "${s.third_party_certs}"`);
  }
  return {
    maxKeyBytes: s.max_key_bytes,
    maxInputKeyBytes: s.max_input_key_bytes,
    maxPacketBytes: s.max_packet_bytes,
    maxCertsPerUid: s.max_certs_per_uid,
    dropUserAttributes: s.drop_user_attributes,
    wordIndexMaxChars: s.word_index_max_chars,
    thirdPartyCerts: s.third_party_certs as ThirdPartyCertRule,
    reconProfiles: s.recon_profiles,
    verifySelfSignatures: s.verify_self_signatures,
  };
}

/** What policy removed from a key, for the record (stored with the key and logged). */
export interface PolicyCut {
  /** e.g. 'certs-per-uid', 'packet-too-large', 'user-attribute'. */
  rule: string;
  /** How many packets that rule removed. */
  packets: number;
  detail: string;
}

export type PolicyOutcome =
  | { ok: true; key: Packet[]; cuts: PolicyCut[] }
  | { ok: false; reason: RefusalReason; detail: string };

/** Why a key is refused as a whole. */
export type RefusalReason =
  | 'secret-key'
  | 'key-too-large'
  | 'primary-packet-too-large'
  | 'malformed'
  | 'no-primary-key'
  | 'unsupported-version'
  | 'blocklisted';

/** Applies the policy to one canonical key. Deterministic: the same input always gives the same packets, so two
 * servers with the same policy compute the same digest. Blocklist is checked by the store, not here. The cap on a key
 * as received (maxInputKeyBytes) is checked where input arrives, before any parsing work (store/prepare.ts and the
 * loader's scanner); here only the size after policy (maxKeyBytes) counts. */
export function applyPolicy(key: Packet[], policy: Policy): PolicyOutcome {
  const first = key[0];
  if (!first) return { ok: false, reason: 'no-primary-key', detail: 'no packets' };
  if (first.tag === TAG.SECRET_KEY || key.some((p) => p.tag === TAG.SECRET_KEY || p.tag === TAG.SECRET_SUBKEY)) {
    return { ok: false, reason: 'secret-key', detail: 'secret key material is never accepted; send only the public key' };
  }
  if (first.tag !== TAG.PUBLIC_KEY) return { ok: false, reason: 'no-primary-key', detail: `key starts with packet tag ${first.tag}` };
  const version = first.body[0];
  if (version !== 2 && version !== 3 && version !== 4 && version !== 6) {
    return { ok: false, reason: 'unsupported-version', detail: `public key version ${version} is not supported` };
  }
  if (first.body.length > policy.maxPacketBytes) {
    return { ok: false, reason: 'primary-packet-too-large', detail: `primary key packet of ${first.body.length} bytes exceeds max_packet_bytes` };
  }
  let parts;
  try {
    parts = keyParts(key);
  } catch (e) {
    if (e instanceof KeyStructureError || e instanceof PacketError) return { ok: false, reason: 'malformed', detail: e.message };
    throw e;
  }
  const cuts: PolicyCut[] = [];
  const cut = (rule: string, packets: number, detail: string) => {
    if (packets > 0) cuts.push({ rule, packets, detail });
  };
  const fits = (p: Packet) => p.body.length <= policy.maxPacketBytes;

  // 1. Oversized packets: a component whose own packet is too large goes with its signatures.
  let tooLarge = 0;
  parts.selfsigs = parts.selfsigs.filter((s) => fits(s) || (tooLarge++, false));
  for (const list of [parts.uids, parts.subkeys]) {
    for (let i = list.length - 1; i >= 0; i--) {
      const c = list[i]!;
      if (!fits(c.packet)) {
        tooLarge += 1 + c.sigs.length;
        list.splice(i, 1);
        continue;
      }
      c.sigs = c.sigs.filter((s) => fits(s) || (tooLarge++, false));
    }
  }
  cut('packet-too-large', tooLarge, `packets over max_packet_bytes (${policy.maxPacketBytes}) removed`);

  // 2. User attributes (photo IDs), when the operator drops them.
  if (policy.dropUserAttributes) {
    let dropped = 0;
    parts.uids = parts.uids.filter((u) => u.packet.tag !== TAG.USER_ATTRIBUTE || ((dropped += 1 + u.sigs.length), false));
    cut('user-attribute', dropped, 'user attributes are not kept (drop_user_attributes)');
  }

  // 2b. Self-signatures that do not verify: anyone can write the primary's key ID into a signature, and the flood
  //     cap below never counts self-signatures, so forged ones are dropped here when the operator asks for it.
  if (policy.verifySelfSignatures) {
    const outcome = dropForgedSelfSignatures(first, parts);
    if (!outcome.ok) return outcome;
    cut('forged-self-sigs', outcome.dropped, 'signatures naming the primary key as issuer that do not verify with it');
  }

  // 3. Which certifications a user ID keeps at all (third_party_certs), before the flood cap.
  const rule = policy.thirdPartyCerts ?? 'newest';
  if (rule !== 'newest') {
    const outcome = filterCertifications(first, parts.uids, rule);
    if (!outcome.ok) return outcome;
    if (rule === 'none') cut('third-party-certs', outcome.dropped, 'third-party certifications are not kept (third_party_certs: none)');
    else if (rule === 'attested') {
      cut('unattested-certs', outcome.dropped, 'third-party certifications the key owner has not attested (third_party_certs: attested)');
      cut('stale-attestations', outcome.stale, 'attestation signatures that do not verify or that a newer one replaced');
    } else cut('implausible-sigs', outcome.dropped, 'signatures whose hash tag does not match their user ID, or of a type that does not belong there');
  }

  // 4. Certification flooding (CVE-2019-13050): keep self-signatures and the newest third-party certifications.
  //    Only a user ID with more signatures than the cap can be over it: the others are not parsed at all.
  let flooded = 0;
  let floodedUids = 0;
  let self: { keyId: string; fingerprint: string } | undefined;
  for (const u of parts.uids) {
    if (u.sigs.length <= policy.maxCertsPerUid) continue;
    if (!self) {
      const id = primaryIdentity(first);
      if (!id.ok) return id;
      self = id;
    }
    const { keyId, fingerprint } = self;
    const third: Array<{ sig: Packet; created: number }> = [];
    for (const s of u.sigs) {
      const info = parseSignature(s.body, keyId, fingerprint);
      if (!info || !info.self) third.push({ sig: s, created: info?.created ?? 0 });
    }
    if (third.length <= policy.maxCertsPerUid) continue;
    // Newest first; ties broken by bytes so the choice never depends on arrival order.
    third.sort((a, b) => b.created - a.created || Buffer.compare(a.sig.body, b.sig.body));
    const dropped = new Set(third.slice(policy.maxCertsPerUid).map((t) => t.sig));
    u.sigs = u.sigs.filter((s) => !dropped.has(s));
    flooded += dropped.size;
    floodedUids++;
  }
  cut('certs-per-uid', flooded, `kept the newest ${policy.maxCertsPerUid} third-party certifications on ${floodedUids} user ID(s)`);

  const out = cuts.length ? flattenParts(parts) : key;
  let size = 0;
  for (const p of out) size += p.body.length + 6;
  if (size > policy.maxKeyBytes) {
    return { ok: false, reason: 'key-too-large', detail: `key of ${size} bytes (after policy) exceeds max_key_bytes (${policy.maxKeyBytes})` };
  }
  return { ok: true, key: out, cuts };
}

/** Signature types that belong on a user ID: certifications and their revocation. */
const UID_SIG_TYPES = new Set([0x10, 0x11, 0x12, 0x13, 0x30]);

/** third_party_certs 'none' or 'plausible' on every user ID (see the setting). Depends on the packets alone, so two
 * servers with the same rule keep the same signatures. A hash tag is no proof (anyone can compute it over public
 * data); it removes forgeries made without even that, and signatures damaged or moved to another user ID. */
function filterCertifications(primary: Packet, uids: Array<{ packet: Packet; sigs: Packet[] }>, rule: 'plausible' | 'none' | 'attested'):
  { ok: true; dropped: number; stale: number } | { ok: false; reason: RefusalReason; detail: string } {
  const self = primaryIdentity(primary);
  if (!self.ok) return self;
  const material = rule !== 'none' ? readPublicKey(primary.body) : undefined;
  let dropped = 0;
  let stale = 0;
  for (const u of uids) {
    const target = { kind: u.packet.tag === TAG.USER_ID ? 'user-id' as const : 'user-attribute' as const, body: u.packet.body };
    if (rule === 'attested') {
      // Self-signatures stay, but for attestations that do not verify or are superseded; a third-party
      // certification stays only if the owner's current attestation lists it. No readable primary key: nothing
      // can be verified, so nothing third-party is attested.
      const infos = u.sigs.map((s) => parseSignature(s.body, self.keyId, self.fingerprint));
      const verdict = material?.ok
        ? judgeAttestations(material.key, target, u.sigs.filter((_, i) => infos[i]?.self).map((s) => s.body))
        : undefined;
      u.sigs = u.sigs.filter((s, i) => {
        if (infos[i]?.self) {
          if (verdict?.stale.has(s.body) || (!verdict && s.body[1] === ATTESTATION_KEY_SIGNATURE)) {
            stale++;
            return false;
          }
          return true;
        }
        const keep = verdict?.attests(s.body) ?? false;
        if (!keep) dropped++;
        return keep;
      });
      continue;
    }
    u.sigs = u.sigs.filter((s) => {
      const info = parseSignature(s.body, self.keyId, self.fingerprint);
      let keep: boolean;
      if (rule === 'none') keep = info !== null && info.self;
      else if (!material?.ok) keep = true; // a primary key we cannot read: no tag can be checked, nothing is judged
      else {
        const sig = readSignature(s.body);
        keep = sig.ok && UID_SIG_TYPES.has(sig.sig.type) && hashTagMatches(material.key, target, sig.sig);
      }
      if (!keep) dropped++;
      return keep;
    });
  }
  return { ok: true, dropped, stale };
}

/** verify_self_signatures: every signature whose issuer is the primary key is verified with it, over what it sits
 * on; those that fail are dropped. What cannot be judged (a primary or subkey whose algorithm we cannot read) is
 * kept. Depends on the packets alone. */
function dropForgedSelfSignatures(primary: Packet, parts: ReturnType<typeof keyParts>):
  { ok: true; dropped: number } | { ok: false; reason: RefusalReason; detail: string } {
  const self = primaryIdentity(primary);
  if (!self.ok) return self;
  const material = readPublicKey(primary.body);
  if (!material.ok) return { ok: true, dropped: 0 };
  const key = material.key;
  let dropped = 0;
  const keepIfValid = (sigs: Packet[], target: SignedTarget | undefined): Packet[] => sigs.filter((s) => {
    if (!target || !parseSignature(s.body, self.keyId, self.fingerprint)?.self) return true;
    const read = readSignature(s.body, { attestations: true, allHashes: true });
    if (read.ok && verifySignature(key, key, target, read.sig)) return true;
    dropped++;
    return false;
  });
  parts.selfsigs = keepIfValid(parts.selfsigs, { kind: 'key' });
  for (const u of parts.uids) {
    u.sigs = keepIfValid(u.sigs, { kind: u.packet.tag === TAG.USER_ID ? 'user-id' : 'user-attribute', body: u.packet.body });
  }
  for (const sk of parts.subkeys) {
    const sub = readPublicKey(sk.packet.body);
    sk.sigs = keepIfValid(sk.sigs, sub.ok ? { kind: 'subkey', key: sub.key } : undefined);
  }
  return { ok: true, dropped };
}

/** The primary key's fingerprint and key ID, or the refusal of a key whose primary cannot be read. */
function primaryIdentity(primary: Packet):
  { ok: true; keyId: string; fingerprint: string } | { ok: false; reason: RefusalReason; detail: string } {
  try {
    const fingerprint = fingerprintOf(primary.body);
    return { ok: true, fingerprint, keyId: keyIdOf(primary.body, fingerprint) };
  } catch (e) {
    if (e instanceof PacketError) return { ok: false, reason: 'malformed', detail: e.message };
    throw e;
  }
}
