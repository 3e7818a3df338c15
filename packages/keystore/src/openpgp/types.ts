// The shapes every package sees of OpenPGP key material. Owned by the key-store library.

/** One OpenPGP packet: its content tag and body. Headers are re-written canonically (see packet.ts). */
export interface Packet {
  tag: number;
  body: Buffer;
}

export const TAG = {
  SIGNATURE: 2,
  SECRET_KEY: 5,
  PUBLIC_KEY: 6,
  SECRET_SUBKEY: 7,
  TRUST: 12,
  USER_ID: 13,
  PUBLIC_SUBKEY: 14,
  USER_ATTRIBUTE: 17,
} as const;

export interface SignatureInfo {
  /** Signature type (0x10..0x13 certifications, 0x18 subkey binding, 0x20 key revocation, 0x28, 0x30 ...). */
  type: number;
  /** Issuer key ID, 16 upper-case hex digits ('' if the signature names none). */
  issuerKeyId: string;
  /** Issuer fingerprint (upper-case hex) when the signature carries one. */
  issuerFingerprint: string;
  /** Creation time, Unix seconds (0 if absent). */
  created: number;
  /** Expiry time of the signature itself, Unix seconds, or null. */
  expires: number | null;
  /** Key expiration time set by this (self-)signature: seconds after the key's (or subkey's) creation, as the
   * subpacket gives it (RFC 9580 §5.2.3.13), or null. */
  keyExpires: number | null;
  /** Issued by the primary key itself. */
  self: boolean;
  /** The hashed "primary user ID" flag (subpacket 25) is set. */
  primaryUid?: boolean;
  /** What the verbose index shows under the signature, as SKS shows it: the last policy URL (subpacket 26), the
   * last human-readable notation (20) and the last revocation key (12) of the signature, hashed area first. */
  policyUrl?: string;
  notation?: { name: string; value: string };
  /** Fingerprint (upper-case hex) of a designated revoker. */
  revocationKey?: string;
}

export interface UserIdInfo {
  kind: 'uid' | 'uat';
  /** The user ID as text (UTF-8, invalid bytes replaced); for a user attribute a description like '[photo]'. */
  text: string;
  /** Newest self-signature's creation, Unix seconds, or null when there is none. */
  created: number | null;
  expires: number | null;
  revoked: boolean;
  /** The newest self-certification of this user ID flags it as the primary one. */
  primary?: boolean;
  signatures: SignatureInfo[];
}

export interface SubkeyInfo {
  version: number;
  fingerprint: string;
  keyId: string;
  algorithm: number;
  bits: number;
  created: number;
  expires: number | null;
  revoked: boolean;
  /** Binding and revocation signatures (and any other signature) that follow the subkey packet, in stored order. */
  signatures: SignatureInfo[];
}

export interface KeyInfo {
  version: number;
  /** Upper-case hex: 32 digits (v3), 40 (v4) or 64 (v6). */
  fingerprint: string;
  /** Long key ID, 16 upper-case hex digits. */
  keyId: string;
  /** OpenPGP public-key algorithm number (1 RSA, 17 DSA, 18 ECDH, 19 ECDSA, 22 EdDSA, 25/27 X25519/Ed25519 ...). */
  algorithm: number;
  /** Key size in bits (RSA/DSA modulus, curve size for EC). */
  bits: number;
  created: number;
  expires: number | null;
  revoked: boolean;
  /** Direct-key and revocation signatures on the primary key. */
  signatures: SignatureInfo[];
  userIds: UserIdInfo[];
  subkeys: SubkeyInfo[];
}
