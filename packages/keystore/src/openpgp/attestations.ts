// First-party attested third-party certifications (1PA3PC; draft-ietf-openpgp-rfc4880bis-10 §5.2.3.30, Hockeypuck
// issue #270): the key owner signs, on a user ID, an attestation key signature (type 0x16) listing digests of the
// third-party certifications it wants published. Only the owner can make one, so a flood of certifications nobody
// attested cannot push out those the owner chose. Sequoia makes them (`sq key attest-certifications`); Hagrid serves
// what they attest. Decided on the key's packets alone (the attestation is verified against the primary key the
// packets carry), so two servers with the same rule keep the same packets.
import { createHash } from 'node:crypto';
import { HASH_NAMES, readSignature, type SignaturePacket } from './verify/signature-packet.js';
import { verifySignature, type SignedTarget } from './verify/verify.js';
import type { PublicKeyMaterial } from './verify/key-material.js';

export const ATTESTATION_KEY_SIGNATURE = 0x16;

/** The digest an attestation lists for a (v4) certification: the certification hashed as a third-party
 * confirmation hashes the signature it confirms (RFC 4880 §5.2.4): 0x88, a four-octet length, then the signature
 * packet with its unhashed subpacket area left out (its length set to zero). Undefined for other versions. */
export function certificationDigest(certBody: Buffer, hashAlgo: number): Buffer | undefined {
  const name = HASH_NAMES[hashAlgo];
  if (!name || certBody[0] !== 4 || certBody.length < 8) return undefined;
  const hashedEnd = 6 + certBody.readUInt16BE(4);
  if (hashedEnd + 2 > certBody.length) return undefined;
  const rest = hashedEnd + 2 + certBody.readUInt16BE(hashedEnd);
  if (rest > certBody.length) return undefined;
  const length = hashedEnd + 2 + (certBody.length - rest);
  const head = Buffer.alloc(5);
  head[0] = 0x88;
  head.writeUInt32BE(length, 1);
  return createHash(name).update(head).update(certBody.subarray(0, hashedEnd)).update(Buffer.from([0, 0]))
    .update(certBody.subarray(rest)).digest();
}

export interface AttestationVerdict {
  /** Attestation signatures to keep: the valid ones of the newest creation time. */
  current: Set<Buffer>;
  /** Attestation signatures that are invalid or superseded. */
  stale: Set<Buffer>;
  /** Whether a certification is attested by `current`. */
  attests(certBody: Buffer): boolean;
}

/** Judges the attestations among `selfSigs` (signature bodies issued by the primary key) on one user ID. */
export function judgeAttestations(primary: PublicKeyMaterial, target: SignedTarget, selfSigs: Buffer[]): AttestationVerdict {
  const valid: Array<{ body: Buffer; sig: SignaturePacket }> = [];
  const stale = new Set<Buffer>();
  for (const body of selfSigs) {
    if (body[1] !== ATTESTATION_KEY_SIGNATURE) continue;
    const read = readSignature(body, { attestations: true });
    if (read.ok && read.sig.type === ATTESTATION_KEY_SIGNATURE && verifySignature(primary, primary, target, read.sig)) {
      valid.push({ body, sig: read.sig });
    } else {
      stale.add(body);
    }
  }
  const newest = valid.reduce((m, v) => Math.max(m, v.sig.created), -1);
  const current = new Set<Buffer>();
  // digests by hash algorithm: each attestation lists digests made with its own
  const listed = new Map<number, Set<string>>();
  for (const v of valid) {
    if (v.sig.created !== newest) {
      stale.add(v.body);
      continue;
    }
    current.add(v.body);
    const size = createHash(HASH_NAMES[v.sig.hashAlgo]!).digest().length;
    const all = v.sig.attested ?? Buffer.alloc(0);
    if (all.length % size !== 0) continue; // malformed list: it attests nothing
    const set = listed.get(v.sig.hashAlgo) ?? new Set<string>();
    for (let o = 0; o < all.length; o += size) set.add(all.subarray(o, o + size).toString('hex'));
    listed.set(v.sig.hashAlgo, set);
  }
  return {
    current,
    stale,
    attests(certBody: Buffer): boolean {
      for (const [hashAlgo, set] of listed) {
        const d = certificationDigest(certBody, hashAlgo);
        if (d && set.has(d.toString('hex'))) return true;
      }
      return false;
    },
  };
}
