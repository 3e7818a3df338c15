// Hockeypuck's ValidSelfSigned (openpgp/resolve.go) with its SigInfo checks (pubkey.go, userid.go, subkey.go) and
// the verify/plausify calls they make (verify.go): self-signatures are verified, third-party signatures only
// "plausified" by their two-byte hash tag and kept where their type fits their place; user IDs and subkeys without a
// valid self-signature go, and a hard revocation of the key takes every user ID and third-party signature with it
// (HIP-5). Drops are logged under the names of Hockeypuck's recon filters (hkp/sks/recon.go sksDefaultFilters).
import type { Packet } from '../../openpgp/types.js';
import { canSign, type PublicKeyMaterial } from '../../openpgp/verify/key-material.js';
import { isCertificationType, SIG_TYPE, type SignaturePacket } from '../../openpgp/verify/signature-packet.js';
import { hashTagMatches, verifySignature, type SignedTarget, type VerifyOptions } from '../../openpgp/verify/verify.js';
import type { DropLog } from '../profile.js';
import type { KeyTree, SignedPacket } from './read.js';

/** The outcome of checking one signature: fine, or why not. `martian`: Hockeypuck's ErrInvalidPacketType, a
 * signature of a type (or version) that cannot sit where it does. */
type Check = { ok: true } | { ok: false; martian: boolean; why: string };

const OK: Check = { ok: true };
const martian = (why: string): Check => ({ ok: false, martian: true, why });
const invalid = (why: string): Check => ({ ok: false, martian: false, why });

/** go-crypto reads key packets of version 4 and up as PublicKey, 2 and 3 as PublicKeyV3; Hockeypuck's checks
 * branch on that, and on the signature's form likewise. */
const isV4Form = (k: PublicKeyMaterial) => k.version >= 4;
const isV4Sig = (s: SignaturePacket) => s.version >= 4;

/** How a signature is checked: verified as the key's own (self) or only plausified by its hash tag (third party). */
interface Checker {
  self: boolean;
  options: VerifyOptions;
}

function check(c: Checker, primary: PublicKeyMaterial, target: SignedTarget, sig: SignaturePacket): Check {
  const good = c.self ? verifySignature(primary, primary, target, sig, c.options) : hashTagMatches(primary, target, sig);
  if (good) return OK;
  return invalid(c.self ? 'signature does not verify' : 'hash tag does not match');
}

/** Direct-key signatures and revocations on the primary key (verifyPrimaryKeySelfSig, plausifyPrimaryKeySig). */
function checkOnPrimary(c: Checker, pk: PublicKeyMaterial, sig: SignaturePacket): Check {
  if (isV4Form(pk)) {
    if (isV4Sig(sig)) {
      if (sig.type !== SIG_TYPE.KEY_REVOCATION && sig.type !== SIG_TYPE.DIRECT_KEY) return martian(`type 0x${hex(sig.type)} on the primary key`);
      return check(c, pk, { kind: 'key' }, sig);
    }
    // a v4 key may carry a v3 revocation of itself, nothing else in v3 form
    if (pk.version === 4 && sig.type === SIG_TYPE.KEY_REVOCATION) return check(c, pk, { kind: 'key' }, sig);
    return martian(`v3 signature of type 0x${hex(sig.type)} on the primary key`);
  }
  if (isV4Sig(sig)) return invalid('v4 signature on a v3 key');
  if (sig.type !== SIG_TYPE.KEY_REVOCATION) return martian(`type 0x${hex(sig.type)} on the primary key`);
  return check(c, pk, { kind: 'key' }, sig);
}

/** Signatures on a user ID (verifyUserIDSelfSig, plausifyUserIDSig): any type is checked; the type decides later. */
function checkOnUserId(c: Checker, pk: PublicKeyMaterial, uid: Packet, sig: SignaturePacket): Check {
  if (!isV4Form(pk) && isV4Sig(sig)) return invalid('v4 signature on a v3 key');
  return check(c, pk, { kind: 'user-id', body: uid.body }, sig);
}

/** Signatures on a subkey (verifySubKeySelfSig, plausifySubKeySig). A v4 binding of a signing subkey needs the
 * subkey's own back-signature (go-crypto VerifyKeySignature); a v3 one may bind only a subkey that cannot sign. */
function checkOnSubkey(c: Checker, pk: PublicKeyMaterial, sub: PublicKeyMaterial, sig: SignaturePacket): Check {
  const target: SignedTarget = { kind: 'subkey', key: sub };
  if (isV4Form(pk)) {
    if (!isV4Form(sub)) return invalid('v3 subkey of a v4 key');
    if (isV4Sig(sig)) {
      const checked = check(c, pk, target, sig);
      if (!checked.ok || !c.self || !sig.signsFlag) return checked;
      if (!sig.embedded) return invalid('signing subkey is missing cross-signature');
      if (!verifySignature(sub, pk, target, sig.embedded, c.options)) return invalid('cross-signature does not verify');
      return OK;
    }
    if (sub.version !== 4) return martian('v3 signature on a v6 subkey');
    if (c.self && canSign(sub)) return invalid('signing subkey may not have a v3 binding signature');
    return check(c, pk, target, sig);
  }
  if (isV4Sig(sig)) return invalid('v4 signature on a v3 key');
  if (isV4Form(sub)) return invalid('v4 subkey of a v3 key');
  return check(c, pk, target, sig);
}

const hex = (n: number) => n.toString(16).padStart(2, '0');

/** Hockeypuck's self-signature test: the issuer key ID is the tail of the fingerprint (HasPrefix on the reversed
 * hex strings, pubkey.go SigInfo). For v4 keys that is the key ID; a v3 key's key ID is not the tail of its MD5
 * fingerprint, so no signature on a v3 key counts as its own. */
function issuedByPrimary(pk: PublicKeyMaterial, sig: SignaturePacket): boolean {
  return sig.issuerKeyId!.equals(pk.fingerprint.subarray(pk.fingerprint.length - 8));
}

/** A revocation with no reason, reason 0 (none given) or 2 (key compromised) is hard (resolve.go, HIP-5). */
const isHardRevocation = (sig: SignaturePacket) => sig.revocationReason === null || sig.revocationReason === 0 || sig.revocationReason === 2;

/** Types that count on each component, for its own signatures and for third-party ones alike (pubkey.go, userid.go
 * SigInfo); a subkey takes a third party's revocation only (subkey.go). */
const PRIMARY_TYPES = (t: number) => t === SIG_TYPE.KEY_REVOCATION || t === SIG_TYPE.DIRECT_KEY;
const USER_ID_TYPES = (t: number) => t === SIG_TYPE.CERT_REVOCATION || isCertificationType(t);
const SUBKEY_TYPES = (t: number) => t === SIG_TYPE.SUBKEY_REVOCATION || t === SIG_TYPE.SUBKEY_BINDING;
const SUBKEY_THIRD_PARTY_TYPES = (t: number) => t === SIG_TYPE.SUBKEY_REVOCATION;

/** One component's signatures sorted as ValidSelfSigned sorts them. */
interface Sorted {
  /** valid self-signatures of a type that counts for the component (revocations and certifications/bindings) */
  selfValid: SignedPacket[];
  /** third-party signatures that are plausible and of a type that fits */
  thirdKept: SignedPacket[];
  /** the others, with the rule that drops each; logged only if the component stays (else it is all `unbound`) */
  dropped: Array<{ rule: string; why: string }>;
}

function sortSignatures(
  sigs: SignedPacket[], pk: PublicKeyMaterial, options: VerifyOptions, where: string,
  checkOne: (c: Checker, sig: SignaturePacket) => Check, selfCounts: (t: number) => boolean, thirdFits: (t: number) => boolean,
): Sorted {
  const out: Sorted = { selfValid: [], thirdKept: [], dropped: [] };
  for (const s of sigs) {
    const self = issuedByPrimary(pk, s.sig);
    const checked = checkOne({ self, options }, s.sig);
    if (self) {
      if (!checked.ok) out.dropped.push({ rule: checked.martian ? 'structuralMartian' : 'invalidSelfSig', why: `self-signature on ${where}: ${checked.why}` });
      else if (selfCounts(s.sig.type)) out.selfValid.push(s);
      // A valid self-signature of another type is neither an error nor kept by Hockeypuck.
      else out.dropped.push({ rule: 'structuralMartian', why: `valid self-signature of type 0x${hex(s.sig.type)} on ${where}` });
    } else if (checked.ok && thirdFits(s.sig.type)) {
      out.thirdKept.push(s);
    } else {
      // named by whether the type would fit there (how the oracle names SigInfo's silent drops)
      out.dropped.push({ rule: thirdFits(s.sig.type) ? 'implausible' : 'structuralMartian', why: `third-party signature of type 0x${hex(s.sig.type)} on ${where}` });
    }
  }
  return out;
}

function logDropped(drops: DropLog, sorted: Sorted): void {
  for (const d of sorted.dropped) drops.add(d.rule, 1, d.why);
}

/** Runs ValidSelfSigned over a read key: the packets Hockeypuck keeps, or null when nothing valid is left. */
export function validSelfSigned(tree: KeyTree, options: VerifyOptions, drops: DropLog): Packet[] | null {
  const pk = tree.key;
  const onPrimary = sortSignatures(
    tree.sigs, pk, options, 'the primary key', (c, sig) => checkOnPrimary(c, pk, sig), PRIMARY_TYPES, PRIMARY_TYPES,
  );
  logDropped(drops, onPrimary);
  const hard = onPrimary.selfValid.some((s) => s.sig.type === SIG_TYPE.KEY_REVOCATION && isHardRevocation(s.sig));
  const out: Packet[] = [tree.packet, ...onPrimary.selfValid.map((s) => s.packet)];
  if (hard) drops.add('hardRevokedCruft', onPrimary.thirdKept.length, 'third-party signatures on a hard-revoked key');
  else for (const sig of onPrimary.thirdKept) out.push(sig.packet);
  const certs = onPrimary.selfValid.length;

  let uids = 0;
  for (const u of tree.uids) {
    if (hard) {
      drops.add('hardRevokedCruft', 1 + u.sigs.length, 'user IDs of a hard-revoked key');
      continue;
    }
    const sorted = sortSignatures(
      u.sigs, pk, options, 'a user ID', (c, sig) => checkOnUserId(c, pk, u.packet, sig), USER_ID_TYPES, USER_ID_TYPES,
    );
    if (keepComponent(u, 'user ID', sorted, false, drops, out)) uids++;
  }
  let subkeys = 0;
  for (const sk of tree.subkeys) {
    const sorted = sortSignatures(
      sk.sigs, pk, options, 'a subkey', (c, sig) => checkOnSubkey(c, pk, sk.key, sig), SUBKEY_TYPES, SUBKEY_THIRD_PARTY_TYPES,
    );
    if (keepComponent(sk, 'subkey', sorted, hard, drops, out)) subkeys++;
  }
  if (uids === 0 && subkeys === 0 && certs === 0) return null;
  return out;
}

/** A user ID or subkey goes whole (`unbound`) when no valid self-signature counts for it; else it is kept with its
 * counted self-signatures and, unless the key is hard-revoked, the fitting third-party ones (appended to `out`). */
function keepComponent(
  node: { packet: Packet; sigs: SignedPacket[] }, what: string, sorted: Sorted, hard: boolean, drops: DropLog, out: Packet[],
): boolean {
  if (sorted.selfValid.length === 0) {
    drops.add('unbound', 1 + node.sigs.length, `${what} without a valid self-signature, with its signatures`);
    return false;
  }
  logDropped(drops, sorted);
  if (hard) {
    drops.add('hardRevokedCruft', sorted.thirdKept.length, 'third-party signatures on a hard-revoked key');
    sorted.thirdKept = [];
  }
  out.push(node.packet);
  for (const sig of keepInOrder(node.sigs, sorted)) out.push(sig);
  return true;
}

function keepInOrder(sigs: SignedPacket[], sorted: Sorted): Packet[] {
  if (sorted.selfValid.length + sorted.thirdKept.length === sigs.length) return sigs.map((s) => s.packet);
  const keep = new Set([...sorted.selfValid, ...sorted.thirdKept]);
  return sigs.filter((s) => keep.has(s)).map((s) => s.packet);
}
