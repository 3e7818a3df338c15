// A key's ready summary, stored beside it (table key_summaries and keys.crc; schema version 5): what lookups write
// about a key without parsing it, or, for an mr index, without reading it at all. Computed from the key's packets and description when the key is written, in the same
// transaction, so it cannot drift from data. Issue 17: an uncached op=index parsed every packet and every
// third-party signature of each key (describeKey) only to write two short lines.
//
// The machine-readable index lines are SKS's (HKP draft §5.2, SKS mRindex.ml), byte for byte; sks-db pins them
// against real SKS (sks-compat.test.ts). They live here because the store writes them.
import { TAG, type KeyInfo, type Packet } from '../openpgp/types.js';
import { crc24 } from '../openpgp/armor.js';
import { LISTING_MIN_SIGNATURES, keyListing, signatureCount, sksKeyBits, userIdsPrimaryFirst } from './listing.js';

/** mr escaping as SKS does it: bytes >= 128 and ':' become %XX, '%' becomes '%%' (SKS's own quirk, kept so our
 * lines equal SKS's byte for byte), everything else is copied. */
export function escapeMr(raw: Uint8Array): string {
  let out = '';
  for (const b of raw) {
    if (b === 0x25) out += '%%';
    else if (b >= 128 || b === 0x3a) out += '%' + b.toString(16).toUpperCase();
    else out += String.fromCharCode(b);
  }
  return out;
}

function t(v: number | null | undefined): string {
  return v === null || v === undefined || v === 0 ? '' : String(v);
}

/** Key expiry as SKS's machine-readable index reports it (observed on SKS 1.1.6, and as its mRindex.ml reads):
 * of all self-certifications (0x10..0x13) of user IDs that carry a key-expiration time, the one created last sets
 * it, even when a newer self-certification without an expiry lifted it (GnuPG, and KeyInfo.expires, then say
 * "never"). Without one, a v3 key's validity period counts. */
export function sksKeyExpiry(info: KeyInfo, primaryBody: Uint8Array | undefined): number | null {
  let newest = 0;
  let delta: number | null = null;
  for (const u of info.userIds) {
    if (u.kind !== 'uid') continue;
    for (const s of u.signatures) {
      if (!s.self || s.type < 0x10 || s.type > 0x13 || s.keyExpires === null || s.created <= newest) continue;
      newest = s.created;
      delta = s.keyExpires;
    }
  }
  if (delta !== null) return info.created + delta;
  if (info.version <= 3 && primaryBody && primaryBody.length >= 7) {
    const days = (primaryBody[5]! << 8) | primaryBody[6]!;
    return days > 0 ? info.created + days * 86400 : null;
  }
  return null;
}

/** Machine-readable lines of one key: `pub:` then one `uid:`/`uat:` line per user ID. `packets` are the key's own
 * (raw user ID bytes, because the escaping works on bytes); without them the lines come from `info` alone. */
export function mrLines(info: KeyInfo, packets: readonly Packet[]): string[] {
  const raws = packets.filter((p) => p.tag === TAG.USER_ID || p.tag === TAG.USER_ATTRIBUTE);
  // v3 fingerprints do not contain the key ID, so SKS gives the long key ID for them.
  const id = info.fingerprint.length === 32 ? info.keyId : info.fingerprint;
  const expiry = sksKeyExpiry(info, packets[0]?.body);
  const lines = [`pub:${id}:${info.algorithm}:${sksKeyBits(info)}:${info.created}:${t(expiry)}:${info.revoked ? 'r' : ''}`];
  info.userIds.forEach((u, i) => {
    if (u.kind === 'uat') {
      lines.push('uat::::');
      return;
    }
    const raw = raws[i]?.tag === TAG.USER_ID ? raws[i]!.body : Buffer.from(u.text, 'utf8');
    lines.push(`uid:${escapeMr(raw)}:${t(u.created)}:${t(u.expires)}:`);
  });
  return lines;
}

/** The name a key goes by (vindex signer names): its primary user ID in SKS's order, else its first one. */
export function primaryUserId(info: KeyInfo): string | undefined {
  return userIdsPrimaryFirst(info).find((u) => u.kind === 'uid')?.text;
}

/** A key's first user ID: SKS names a signer by it when a subkey made the signature (index.ml get_uid). */
export function firstUserId(info: KeyInfo): string | undefined {
  return info.userIds.find((u) => u.kind === 'uid')?.text;
}

/** What the store keeps beside a key: its mr lines, each ending in '\n', as an index answer holds them, its
 * name (null: no user ID), the primary key's creation time (the order of multi-key answers), and the CRC-24 of its
 * stored bytes, the armor's checksum line (armorBytes). */
export interface KeySummary {
  mrLines: string;
  name: string | null;
  /** Its first user ID (null: none): a signer's name in vindex when the signature is by one of its subkeys. */
  firstUid: string | null;
  created: number;
  crc: number;
  /** Its vindex listing and card facts (listing.ts) as stored, facts as JSON: for keys of at least
   * LISTING_MIN_SIGNATURES signatures, else null. */
  listing: { facts: string; vindex: string; signers: string } | null;
}

/** The summary of a key: `data` is its stored bytes (writePackets of `packets`). */
export function keySummary(info: KeyInfo, packets: readonly Packet[], data: Uint8Array): KeySummary {
  return { mrLines: mrLines(info, packets).join('\n') + '\n', name: primaryUserId(info) ?? null,
    firstUid: firstUserId(info) ?? null, created: info.created, crc: crc24(data), listing: storedListing(info) };
}

/** What key_listings keeps of a key, or null when it has too few signatures to be worth it. */
export function storedListing(info: KeyInfo): KeySummary['listing'] {
  if (signatureCount(info) < LISTING_MIN_SIGNATURES) return null;
  const l = keyListing(info);
  return { facts: JSON.stringify(l.facts), vindex: l.vindex, signers: l.signers };
}
